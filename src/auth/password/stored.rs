//! Parsing stored PHC strings: accepted algorithms, cost limits, and
//! whether a hash is outdated.
//!
//! The limits keep a bad users file from turning each login into a denial
//! of service: a verification costs at most about 17 times our own scheme in
//! CPU, or 256 MiB of memory per hashing worker.

use pbkdf2::password_hash;
use pbkdf2::phc::PasswordHash;
use pbkdf2::{Algorithm, Params};

use super::{OUTPUT_LEN, PBKDF2_ITERATIONS, PasswordError, SALT_LEN};

/// Most PBKDF2 iterations a stored hash may ask for (about 17 × our cost).
pub const MAX_PBKDF2_ITERATIONS: u32 = 10_000_000;
/// Most memory an Argon2id hash may ask for, in KiB (256 MiB).
pub const MAX_ARGON2_M_COST: u32 = 256 * 1024;
/// Most passes an Argon2id hash may ask for.
pub const MAX_ARGON2_T_COST: u32 = 10;
/// Most lanes an Argon2id hash may ask for.
pub const MAX_ARGON2_P_COST: u32 = 16;
/// Longest PHC string accepted before parsing.
const MAX_PHC_LEN: usize = 512;

/// A parsed, accepted stored hash.
pub(super) enum Scheme {
    Pbkdf2Sha256(Params),
    Argon2id,
}

/// Parses a stored hash and checks its algorithm and cost limits.
pub(super) fn parse_phc(phc: &str) -> Result<(PasswordHash, Scheme), PasswordError> {
    if phc.len() > MAX_PHC_LEN {
        return Err(PasswordError::Malformed(
            password_hash::Error::EncodingInvalid,
        ));
    }
    let hash = PasswordHash::new(phc).map_err(|e| PasswordError::Malformed(e.into()))?;
    if hash.salt.is_none() || hash.hash.is_none() {
        return Err(PasswordError::Malformed(
            password_hash::Error::EncodingInvalid,
        ));
    }
    let scheme = match hash.algorithm.as_str() {
        Algorithm::PBKDF2_SHA256_ID => parse_pbkdf2(&hash)?,
        "argon2id" => parse_argon2id(&hash)?,
        other => return Err(PasswordError::UnsupportedAlgorithm(other.to_owned())),
    };
    Ok((hash, scheme))
}

/// PBKDF2-SHA256 parameters within [`MAX_PBKDF2_ITERATIONS`].
fn parse_pbkdf2(hash: &PasswordHash) -> Result<Scheme, PasswordError> {
    let params = Params::try_from(hash).map_err(PasswordError::Malformed)?;
    if params.rounds() > MAX_PBKDF2_ITERATIONS {
        return Err(PasswordError::TooCostly("pbkdf2 iterations above 10000000"));
    }
    Ok(Scheme::Pbkdf2Sha256(params))
}

/// Argon2id parameters within the memory, pass and lane limits.
fn parse_argon2id(hash: &PasswordHash) -> Result<Scheme, PasswordError> {
    let params = argon2::Params::try_from(hash).map_err(PasswordError::Malformed)?;
    if params.m_cost() > MAX_ARGON2_M_COST {
        return Err(PasswordError::TooCostly("argon2 memory above 256 MiB"));
    }
    if params.t_cost() > MAX_ARGON2_T_COST {
        return Err(PasswordError::TooCostly("argon2 passes above 10"));
    }
    if params.p_cost() > MAX_ARGON2_P_COST {
        return Err(PasswordError::TooCostly("argon2 lanes above 16"));
    }
    Ok(Scheme::Argon2id)
}

/// Whether a verified hash should be replaced by one of our scheme.
pub(super) fn is_outdated(hash: &PasswordHash, scheme: &Scheme) -> bool {
    match scheme {
        Scheme::Argon2id => true,
        Scheme::Pbkdf2Sha256(params) => {
            let salt_len = hash.salt.as_ref().map_or(0, |s| s.len());
            params.rounds() < PBKDF2_ITERATIONS
                || params.output_len() != OUTPUT_LEN
                || salt_len < SALT_LEN
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::{PasswordError, check_phc, verify_password};

    const SALT: &str = "c2FsdHNhbHRzYWx0c2FsdA";
    const HASH32: &str = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";

    #[derive(Debug, Clone, Copy, PartialEq)]
    enum Kind {
        Malformed,
        Unsupported,
        TooCostly,
    }

    fn kind(error: &PasswordError) -> Option<Kind> {
        match error {
            PasswordError::Malformed(_) => Some(Kind::Malformed),
            PasswordError::UnsupportedAlgorithm(_) => Some(Kind::Unsupported),
            PasswordError::TooCostly(_) => Some(Kind::TooCostly),
            _ => None,
        }
    }

    /// Checks that malformed, unsupported and too costly PHC strings are
    /// errors of the right kind from both `check_phc` and `verify_password`.
    #[test]
    fn bad_phc_strings_are_errors() {
        let long = format!("$pbkdf2-sha256$i=600000,l=32${SALT}${}", "A".repeat(600));
        let cases: Vec<(String, Kind)> = vec![
            (String::new(), Kind::Malformed),
            ("not a hash".into(), Kind::Malformed),
            ("$".into(), Kind::Malformed),
            ("$pbkdf2-sha256$".into(), Kind::Malformed),
            ("$pbkdf2-sha256$i=600000,l=32".into(), Kind::Malformed),
            (
                format!("$pbkdf2-sha256$i=600000,l=32${SALT}"),
                Kind::Malformed,
            ),
            (
                format!("$pbkdf2-sha256$i=600000,l=32${SALT}$!!!!"),
                Kind::Malformed,
            ),
            (
                format!("$pbkdf2-sha256$i=600000,l=32${SALT}${HASH32}="),
                Kind::Malformed,
            ),
            (
                format!("$pbkdf2-sha256$i=abc,l=32${SALT}${HASH32}"),
                Kind::Malformed,
            ),
            (
                format!("$pbkdf2-sha256$i=-1,l=32${SALT}${HASH32}"),
                Kind::Malformed,
            ),
            (
                format!("$pbkdf2-sha256$i=999,l=32${SALT}${HASH32}"),
                Kind::Malformed,
            ),
            (
                format!("$pbkdf2-sha256$i=600000,l=64${SALT}${HASH32}"),
                Kind::Malformed,
            ),
            (
                format!("$pbkdf2-sha256$i=600000,x=1${SALT}${HASH32}"),
                Kind::Malformed,
            ),
            (
                format!("$pbkdf2-sha256$v=1$i=600000,l=32${SALT}${HASH32}"),
                Kind::Malformed,
            ),
            (
                format!("$pbkdf2-sha256$i=600000,l=32$c2E${HASH32}"),
                Kind::Malformed,
            ),
            (
                format!("$pbkdf2-sha256$i=99999999999,l=32${SALT}${HASH32}"),
                Kind::Malformed,
            ),
            (long, Kind::Malformed),
            (
                format!("$pbkdf2-sha512$i=600000,l=32${SALT}${HASH32}"),
                Kind::Unsupported,
            ),
            (
                format!("$argon2i$v=19$m=19456,t=2,p=1${SALT}${HASH32}"),
                Kind::Unsupported,
            ),
            (
                format!("$scrypt$ln=17,r=8,p=1${SALT}${HASH32}"),
                Kind::Unsupported,
            ),
            (
                format!("$pbkdf2-sha256$i=10000001,l=32${SALT}${HASH32}"),
                Kind::TooCostly,
            ),
            (
                format!("$argon2id$v=19$m=4194304,t=1,p=1${SALT}${HASH32}"),
                Kind::TooCostly,
            ),
            (
                format!("$argon2id$v=19$m=19456,t=11,p=1${SALT}${HASH32}"),
                Kind::TooCostly,
            ),
            (
                format!("$argon2id$v=19$m=19456,t=2,p=17${SALT}${HASH32}"),
                Kind::TooCostly,
            ),
            (
                format!("$argon2id$v=19$m=1,t=2,p=1${SALT}${HASH32}"),
                Kind::Malformed,
            ),
        ];
        for (phc, expected) in &cases {
            let checked = check_phc(phc).expect_err(phc);
            assert_eq!(kind(&checked), Some(*expected), "{phc}: {checked}");
            let verified = verify_password("any password at all", phc).expect_err(phc);
            assert_eq!(kind(&verified), Some(*expected), "{phc}: {verified}");
        }
    }

    /// Checks that the error message never repeats the stored hash.
    #[test]
    fn errors_do_not_echo_the_hash() {
        let phc = format!("$pbkdf2-sha256$i=abc,l=32${SALT}${HASH32}");
        let message = check_phc(&phc).unwrap_err().to_string();
        assert!(
            !message.contains(HASH32) && !message.contains(SALT),
            "{message}"
        );
    }
}
