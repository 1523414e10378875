//! Password hashing: a real hash made by the product's hasher, and the
//! stored hashes of the users it would load.

use pbkdf2::phc::PasswordHash;

use crate::audit::report::{Check, Spec};
use crate::auth::password::{self, OUTPUT_LEN, PBKDF2_ITERATIONS, SALT_LEN};
use crate::auth::users::Users;
use crate::config::Config;

const SCHEME: Spec = Check::spec(
    "CRYPTO-001",
    "password hash: pbkdf2-sha256, >= 600000 iterations, 16-byte salt, 32-byte output",
    true,
);
const STORED: Spec = Check::spec(
    "CRYPTO-002",
    "stored password hashes use the current scheme",
    false,
);

/// Hashes a throwaway password and reads the parameters back from the PHC string.
pub fn password_scheme() -> Check {
    let phc = match password::hash_password("portcullis-audit-throwaway") {
        Ok(p) => p,
        Err(e) => return SCHEME.fail(format!("hashing failed: {e}")),
    };
    let hash = match PasswordHash::new(&phc) {
        Ok(h) => h,
        Err(e) => return SCHEME.fail(format!("the hasher's output is not a PHC string: {e}")),
    };
    let algorithm = hash.algorithm.as_str().to_owned();
    let params = pbkdf2::Params::try_from(&hash).ok();
    let iterations = params.as_ref().map_or(0, |p| p.rounds());
    let salt = hash.salt.as_ref().map_or(0, |s| s.len());
    let output = hash.hash.as_ref().map_or(0, |h| h.len());
    let detail =
        format!("{algorithm}, {iterations} iterations, {salt}-byte salt, {output}-byte output");
    let ok = algorithm == "pbkdf2-sha256"
        && iterations >= PBKDF2_ITERATIONS
        && salt >= SALT_LEN
        && output == OUTPUT_LEN;
    SCHEME.judge(ok, detail)
}

/// Names the users whose stored hash a login would replace (never the hashes).
pub fn stored_hashes(cfg: &Config) -> Check {
    let users = match &cfg.auth.inline_users {
        Some(u) => u.clone(),
        None if !cfg.auth.users_file.exists() => {
            return STORED.skip(format!("{} does not exist", cfg.auth.users_file.display()));
        }
        None => match Users::load(&cfg.auth.users_file) {
            Ok(u) => u,
            Err(e) => return STORED.fail(e.to_string()),
        },
    };
    let mut outdated = Vec::new();
    let mut broken = Vec::new();
    for user in users.iter() {
        match password::phc_is_outdated(user.password_hash()) {
            Ok(false) => {}
            Ok(true) => outdated.push(user.username().to_owned()),
            Err(_) => broken.push(user.username().to_owned()),
        }
    }
    outdated.sort();
    broken.sort();
    if !broken.is_empty() {
        return STORED.fail(format!("unusable hashes: {}", broken.join(", ")));
    }
    if outdated.is_empty() {
        STORED.pass(format!("{} user(s), all current", users.len()))
    } else {
        STORED.warn(format!(
            "weaker or outdated hashes (upgraded at their next login): {}",
            outdated.join(", ")
        ))
    }
}
