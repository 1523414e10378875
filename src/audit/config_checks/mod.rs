//! `portcullis audit`: the security checklist run against a validated
//! configuration and the files it names (keys, certificate, users). Every
//! result comes from real material: a hash made by the product's hasher, a
//! token signed by its signer, cookies from its cookie code, the key and
//! certificate files on disk.

mod cookies;
mod crypto;
mod files;
mod keys;
mod limits;
mod material;
mod tls_probe;
mod tokens;
mod transport;

use super::report::Check;
use crate::config::Config;

pub use material::KeyMaterial;

/// Runs every configuration check at `now` (Unix seconds), in report order.
pub fn run(cfg: &Config, now: u64) -> Vec<Check> {
    let material = KeyMaterial::inspect(&cfg.auth.key_dir);
    let sample = tokens::Sample::mint(cfg, &material, now);
    let mut checks = vec![crypto::password_scheme(), crypto::stored_hashes(cfg)];
    checks.extend(keys::checks(cfg, &material, now));
    checks.extend(files::checks(cfg, &material));
    checks.extend(tokens::checks(cfg, &sample, now));
    checks.extend(cookies::checks(cfg, &sample));
    checks.extend(transport::checks(cfg, now));
    checks.extend(limits::checks(cfg));
    checks
}
