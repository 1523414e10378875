//! File permissions: private keys, their directories, the users file.

use std::path::Path;

use super::material::{KeyMaterial, mode_of};
use crate::audit::report::{Check, Spec};
use crate::config::Config;

const KEY_FILES: Spec = Check::spec("PERM-001", "signing key files are 0600 (owner only)", true);
const DIRS: Spec = Check::spec(
    "PERM-002",
    "key and data directories are 0700 (owner only)",
    true,
);
const TLS_KEY: Spec = Check::spec(
    "PERM-003",
    "TLS private key not readable by group or others",
    true,
);
const USERS: Spec = Check::spec(
    "PERM-004",
    "users file not readable by group or others",
    false,
);

/// Group and other permission bits.
const SHARED_BITS: u32 = 0o077;

/// The permission checks.
pub fn checks(cfg: &Config, m: &KeyMaterial) -> Vec<Check> {
    vec![key_files(m), dirs(cfg, m), tls_key(cfg), users(cfg)]
}

fn key_files(m: &KeyMaterial) -> Check {
    if m.files.is_empty() {
        return KEY_FILES.skip("no key file yet (created 0600 at first start)");
    }
    let open: Vec<String> = m
        .files
        .iter()
        .filter(|f| f.mode & SHARED_BITS != 0)
        .map(|f| format!("{} is {:04o}", f.path.display(), f.mode))
        .collect();
    if open.is_empty() {
        KEY_FILES.pass(format!("{} key file(s) owner-only", m.files.len()))
    } else {
        KEY_FILES.fail(open.join("; "))
    }
}

fn dirs(cfg: &Config, m: &KeyMaterial) -> Check {
    let mut seen = Vec::new();
    let mut open = Vec::new();
    for (path, mode) in [
        (m.dir.as_path(), m.dir_mode),
        (cfg.server.data_dir.as_path(), mode_of(&cfg.server.data_dir)),
    ] {
        match mode {
            Some(mode) if mode & SHARED_BITS != 0 => {
                open.push(format!("{} is {mode:04o}", path.display()))
            }
            Some(mode) => seen.push(format!("{} {mode:04o}", path.display())),
            None => {}
        }
    }
    if !open.is_empty() {
        DIRS.fail(open.join("; "))
    } else if seen.is_empty() {
        DIRS.skip("not created yet (created 0700 at first start)")
    } else {
        DIRS.pass(seen.join(", "))
    }
}

fn private_file(spec: Spec, path: &Path, missing: &str) -> Check {
    match mode_of(path) {
        None => spec.skip(format!("{} {missing}", path.display())),
        Some(mode) if mode & SHARED_BITS != 0 => {
            spec.fail(format!("{} is {mode:04o}; chmod 600 it", path.display()))
        }
        Some(mode) => spec.pass(format!("{} {mode:04o}", path.display())),
    }
}

fn tls_key(cfg: &Config) -> Check {
    private_file(TLS_KEY, &cfg.tls.key, "does not exist yet")
}

fn users(cfg: &Config) -> Check {
    if cfg.auth.inline_users.is_some() {
        return USERS.skip("users come from the configuration (auth.users)");
    }
    private_file(USERS, &cfg.auth.users_file, "does not exist")
}
