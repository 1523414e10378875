//! Password policy, hashing and verification.
//!
//! Our scheme is PBKDF2-HMAC-SHA256 with [`PBKDF2_ITERATIONS`] iterations, a
//! 16-byte random salt and a 32-byte output, stored as a PHC string
//! (`$pbkdf2-sha256$i=600000,l=32$<salt>$<hash>`). Argon2id PHC strings are
//! accepted too, so a users file produced by another tool keeps working.
//!
//! Every successful verification of a hash that is not exactly our scheme
//! reports `needs_rehash`, Argon2id included: one scheme in the users file
//! means one cost to calibrate, and it keeps a login for a known user as
//! expensive as [`dummy_verify`] for an unknown one.
//!
//! The primitives come from the `pbkdf2` and `argon2` crates; both compare
//! the derived output with the stored one in constant time (`phc::Output`'s
//! `PartialEq` is `subtle::ConstantTimeEq`).

mod pool;
mod stored;

pub use pool::{HashObserver, HashOp, HashPool, PoolError};
pub use stored::{MAX_ARGON2_M_COST, MAX_ARGON2_P_COST, MAX_ARGON2_T_COST, MAX_PBKDF2_ITERATIONS};

use std::fmt;
use std::sync::LazyLock;

use argon2::Argon2;
use pbkdf2::password_hash::{self, CustomizedPasswordHasher, PasswordVerifier};
use pbkdf2::{Params, Pbkdf2};
use rand::TryRng;
use rand::rngs::SysRng;
use sha2::Sha256;
use zeroize::Zeroize;

use stored::{Scheme, is_outdated, parse_phc};

/// PBKDF2-HMAC-SHA256 iterations for new hashes (OWASP 2023 recommendation).
pub const PBKDF2_ITERATIONS: u32 = 600_000;
/// Length of the random salt of new hashes, in bytes.
pub const SALT_LEN: usize = 16;
/// Length of the derived key of new hashes, in bytes.
pub const OUTPUT_LEN: usize = 32;
/// Fewest characters (Unicode scalar values) a new password may have.
pub const MIN_PASSWORD_CHARS: usize = 12;
/// Most bytes (UTF-8) a password may have.
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// Errors of password policy, hashing and verification.
///
/// No variant carries the password or the stored hash.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// The password has fewer than [`MIN_PASSWORD_CHARS`] characters.
    #[error("password must be at least {min} characters")]
    TooShort {
        /// The minimum number of characters.
        min: usize,
    },
    /// The password is longer than [`MAX_PASSWORD_BYTES`] bytes.
    #[error("password must be at most {max} bytes long")]
    TooLong {
        /// The maximum number of bytes.
        max: usize,
    },
    /// The stored hash is not a well-formed PHC string for its algorithm.
    #[error("malformed password hash: {0}")]
    Malformed(password_hash::Error),
    /// The stored hash names an algorithm we do not accept.
    #[error("unsupported password hash algorithm `{0}` (expected pbkdf2-sha256 or argon2id)")]
    UnsupportedAlgorithm(String),
    /// The stored hash asks for more work than a login may cost.
    #[error("password hash parameters too costly: {0}")]
    TooCostly(&'static str),
    /// The operating system's random number generator failed.
    #[error("the system random number generator failed")]
    Rng,
    /// The hashing library refused to hash.
    #[error("password hashing failed: {0}")]
    Hash(password_hash::Error),
}

/// A password held in memory: `Debug` prints `Password(***)`, there is no
/// `Display`, and the bytes are zeroed on drop.
pub struct Password(String);

impl Password {
    /// Wraps a password.
    pub fn new(password: impl Into<String>) -> Self {
        Self(password.into())
    }

    /// The password itself, for hashing. Never log it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for Password {
    fn from(password: String) -> Self {
        Self(password)
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

impl Drop for Password {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// The outcome of a verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Verified {
    /// The password matches the hash.
    pub ok: bool,
    /// The password matched and the hash should be replaced by
    /// [`hash_password`]'s output (it is not PBKDF2-SHA256 with at least
    /// [`PBKDF2_ITERATIONS`] iterations, a 32-byte output and a 16-byte salt).
    pub needs_rehash: bool,
}

/// Checks a new password against the policy: at least [`MIN_PASSWORD_CHARS`]
/// characters and at most [`MAX_PASSWORD_BYTES`] bytes.
pub fn check_policy(password: &str) -> Result<(), PasswordError> {
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(PasswordError::TooLong {
            max: MAX_PASSWORD_BYTES,
        });
    }
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(PasswordError::TooShort {
            min: MIN_PASSWORD_CHARS,
        });
    }
    Ok(())
}

/// PBKDF2-HMAC-SHA256 of `password` and `salt` into `out`, as the `pbkdf2`
/// crate computes it for our hashes. `iterations` must be at least 1.
pub fn pbkdf2_sha256(password: &[u8], salt: &[u8], iterations: u32, out: &mut [u8]) {
    pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, iterations, out);
}

/// Hashes `password` with our scheme and a fresh random salt, as a PHC string.
///
/// This does not apply [`check_policy`] (a rehash on login must work for
/// passwords set under an older policy); new passwords go through it first.
pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    let mut salt = [0u8; SALT_LEN];
    SysRng
        .try_fill_bytes(&mut salt)
        .map_err(|_| PasswordError::Rng)?;
    hash_with_salt(password, &salt)
}

/// Hashes `password` with our scheme and the given salt.
fn hash_with_salt(password: &str, salt: &[u8]) -> Result<String, PasswordError> {
    let params =
        Params::new_with_output_len(PBKDF2_ITERATIONS, OUTPUT_LEN).map_err(PasswordError::Hash)?;
    let hash = Pbkdf2::SHA256
        .hash_password_with_params(password.as_bytes(), salt, params)
        .map_err(PasswordError::Hash)?;
    Ok(hash.to_string())
}

/// Checks that `phc` is a hash [`verify_password`] accepts: well formed, a
/// supported algorithm, parameters within the limits. Used when loading a
/// users file so that a bad entry fails the load, not the login.
pub fn check_phc(phc: &str) -> Result<(), PasswordError> {
    parse_phc(phc).map(|_| ())
}

/// Whether a stored hash is weaker than, or not, our scheme (what a
/// successful login would replace), without verifying any password: for
/// `portcullis audit` to name users whose hashes are outdated.
pub fn phc_is_outdated(phc: &str) -> Result<bool, PasswordError> {
    let (hash, scheme) = parse_phc(phc)?;
    Ok(is_outdated(&hash, &scheme))
}

/// Verifies `password` against a stored PHC string (`$pbkdf2-sha256$...` or
/// `$argon2id$...`) in constant time.
///
/// A wrong password is `Ok` with `ok: false`; a malformed, unsupported or too
/// costly hash is an error (and costs no hashing).
pub fn verify_password(password: &str, phc: &str) -> Result<Verified, PasswordError> {
    let (hash, scheme) = parse_phc(phc)?;
    let outcome = match scheme {
        Scheme::Pbkdf2Sha256(_) => Pbkdf2::SHA256.verify_password(password.as_bytes(), &hash),
        Scheme::Argon2id => Argon2::default().verify_password(password.as_bytes(), &hash),
    };
    let ok = match outcome {
        Ok(()) => true,
        Err(password_hash::Error::PasswordInvalid) => false,
        Err(e) => return Err(PasswordError::Hash(e)),
    };
    Ok(Verified {
        ok,
        needs_rehash: ok && is_outdated(&hash, &scheme),
    })
}

/// Spends the time of a real verification of our scheme, for a user that
/// does not exist, so that the answer's timing does not tell them apart.
///
/// The dummy hash is computed on first use (see [`prepare_dummy`]).
pub fn dummy_verify(password: &str) {
    match &*DUMMY_HASH {
        Ok(phc) => {
            let _ = verify_password(password, phc);
        }
        Err(_) => {
            let mut out = [0u8; OUTPUT_LEN];
            pbkdf2_sha256(
                password.as_bytes(),
                &[0u8; SALT_LEN],
                PBKDF2_ITERATIONS,
                &mut out,
            );
        }
    }
}

/// Computes the dummy hash now rather than on the first unknown-user login.
pub fn prepare_dummy() {
    LazyLock::force(&DUMMY_HASH);
}

/// A hash of a random password with our scheme; nothing is meant to match it.
static DUMMY_HASH: LazyLock<Result<String, PasswordError>> = LazyLock::new(|| {
    let mut secret = [0u8; 32];
    SysRng
        .try_fill_bytes(&mut secret)
        .map_err(|_| PasswordError::Rng)?;
    hash_password(&base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD_NO_PAD,
        secret,
    ))
});

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::password_hash::PasswordHasher;
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD_NO_PAD;

    /// Our own hashes are current; fewer iterations are outdated; garbage is
    /// an error, all without verifying a password.
    #[test]
    fn phc_is_outdated_without_a_password() {
        assert!(!phc_is_outdated(&hash_password("correct horse battery").unwrap()).unwrap());
        let weak = "$pbkdf2-sha256$i=1000,l=32$c2FsdHNhbHRzYWx0c2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        assert!(phc_is_outdated(weak).unwrap());
        assert!(phc_is_outdated("not a hash").is_err());
    }

    const GOOD: &str = "correct horse battery staple";

    /// Checks that a fresh hash verifies, is up to date, and a wrong password is refused.
    #[test]
    fn hash_verify_round_trip_and_wrong_password() {
        let phc = hash_password(GOOD).unwrap();
        let verified = verify_password(GOOD, &phc).unwrap();
        assert_eq!(
            verified,
            Verified {
                ok: true,
                needs_rehash: false
            }
        );
        let wrong = verify_password("correct horse battery stapler", &phc).unwrap();
        assert_eq!(
            wrong,
            Verified {
                ok: false,
                needs_rehash: false
            }
        );
    }

    /// Checks the PHC layout (standard B64, no padding, 16-byte salt, 32-byte
    /// output) and that the output is `pbkdf2_sha256` of the password and salt.
    #[test]
    fn phc_layout_matches_raw_pbkdf2() {
        let phc = hash_password(GOOD).unwrap();
        let rest = phc.strip_prefix("$pbkdf2-sha256$i=600000,l=32$").unwrap();
        let (salt_b64, hash_b64) = rest.split_once('$').unwrap();
        let salt = STANDARD_NO_PAD.decode(salt_b64).unwrap();
        let hash = STANDARD_NO_PAD.decode(hash_b64).unwrap();
        assert_eq!((salt.len(), hash.len()), (SALT_LEN, OUTPUT_LEN));
        let mut expected = [0u8; OUTPUT_LEN];
        pbkdf2_sha256(GOOD.as_bytes(), &salt, PBKDF2_ITERATIONS, &mut expected);
        assert_eq!(hash, expected);
        assert_ne!(phc, hash_password(GOOD).unwrap(), "salts must differ");
    }

    /// Checks that an Argon2id PHC string from the argon2 crate is accepted
    /// and flagged for rehashing, and a wrong password is refused.
    #[test]
    fn argon2id_accepted_and_flagged_for_rehash() {
        let phc = Argon2::default()
            .hash_password_with_salt(GOOD.as_bytes(), b"sixteen byte salt")
            .unwrap()
            .to_string();
        assert!(phc.starts_with("$argon2id$"));
        let verified = verify_password(GOOD, &phc).unwrap();
        assert!(verified.ok && verified.needs_rehash);
        assert!(!verify_password("wrong password!", &phc).unwrap().ok);
    }

    /// Checks that PBKDF2 hashes below our iteration count or with another
    /// output length need a rehash, and that a failed login never asks for one.
    #[test]
    fn needs_rehash_for_weaker_pbkdf2() {
        for (rounds, len) in [(1000, 32), (600_000, 64)] {
            let params = Params::new_with_output_len(rounds, len).unwrap();
            let phc = Pbkdf2::SHA256
                .hash_password_with_params(GOOD.as_bytes(), b"0123456789abcdef", params)
                .unwrap()
                .to_string();
            let verified = verify_password(GOOD, &phc).unwrap();
            assert!(verified.ok && verified.needs_rehash, "i={rounds} l={len}");
            assert!(
                !verify_password("nope nope nope", &phc)
                    .unwrap()
                    .needs_rehash
            );
        }
    }

    /// Checks the policy bounds: 11 and 12 characters, multibyte characters
    /// counted as characters, and 1024 versus 1025 bytes.
    #[test]
    fn policy_bounds() {
        let too_short = check_policy("abcdefghijk").unwrap_err();
        assert_eq!(
            too_short.to_string(),
            "password must be at least 12 characters"
        );
        assert!(check_policy("abcdefghijkl").is_ok());
        assert!(check_policy(&"é".repeat(11)).is_err(), "22 bytes, 11 chars");
        assert!(check_policy(&"é".repeat(12)).is_ok());
        assert!(check_policy(&"🦀".repeat(12)).is_ok());
        assert!(check_policy(&"a".repeat(1024)).is_ok());
        let too_long = check_policy(&"a".repeat(1025)).unwrap_err();
        assert!(matches!(too_long, PasswordError::TooLong { max: 1024 }));
    }

    /// Checks that the dummy hash is exactly our scheme, so an unknown user
    /// costs one PBKDF2-SHA256 600k verification like a known one.
    #[test]
    fn dummy_hash_is_our_scheme() {
        prepare_dummy();
        let phc = DUMMY_HASH.as_ref().unwrap();
        assert!(phc.starts_with("$pbkdf2-sha256$i=600000,l=32$"));
        let (hash, scheme) = parse_phc(phc).unwrap();
        assert!(!is_outdated(&hash, &scheme));
        dummy_verify(GOOD);
    }

    /// Checks that `Password` never shows its content through `Debug`.
    #[test]
    fn password_debug_is_redacted() {
        let password = Password::new("hunter2hunter2");
        assert_eq!(format!("{password:?}"), "Password(***)");
        assert_eq!(password.expose(), "hunter2hunter2");
    }
}
