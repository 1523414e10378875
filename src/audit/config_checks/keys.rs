//! Key management: key size, rotation, and retired keys kept verifiable.

use super::material::KeyMaterial;
use crate::audit::report::{Check, Spec};
use crate::auth::keys::{KeyDir, KeyStatus, MIN_RSA_BITS};
use crate::auth::service::grace_secs;
use crate::config::Config;

const SIZE: Spec = Check::spec("KEYS-001", "signing keys are RSA >= 2048 bits", true);
const ROTATION: Spec = Check::spec(
    "KEYS-002",
    "key rotation configured (<= 90 days) and not overdue",
    false,
);
const RETENTION: Spec = Check::spec(
    "KEYS-003",
    "retired keys stay verifiable for the access lifetime plus leeway",
    true,
);

/// Longest rotation interval that passes.
const MAX_ROTATION_DAYS: u64 = 90;

/// The key-management checks.
pub fn checks(cfg: &Config, m: &KeyMaterial, now: u64) -> Vec<Check> {
    vec![size(cfg, m), rotation(cfg, m, now), retention(cfg, m, now)]
}

fn size(cfg: &Config, m: &KeyMaterial) -> Check {
    let configured = cfg.auth.key_bits;
    if m.files.is_empty() {
        return SIZE.judge(
            configured >= MIN_RSA_BITS,
            format!("no key yet; the first start generates {configured} bits"),
        );
    }
    let mut problems = Vec::new();
    let mut sizes = Vec::new();
    for f in &m.files {
        let name = f
            .path
            .file_name()
            .map(|n| n.to_string_lossy())
            .unwrap_or_default();
        match &f.key {
            Ok(k) if k.bits() >= MIN_RSA_BITS => sizes.push(k.bits().to_string()),
            Ok(k) => problems.push(format!("{name}: {} bits", k.bits())),
            Err(e) => problems.push(format!("{name}: {e}")),
        }
    }
    if configured < MIN_RSA_BITS {
        problems.push(format!("auth.key_bits = {configured}"));
    }
    if problems.is_empty() {
        SIZE.pass(format!("{} key(s): {} bits", sizes.len(), sizes.join(", ")))
    } else {
        SIZE.fail(problems.join("; "))
    }
}

fn rotation(cfg: &Config, m: &KeyMaterial, now: u64) -> Check {
    let every = cfg.auth.key_rotation.as_secs();
    let days = every / 86_400;
    if days > MAX_ROTATION_DAYS {
        return ROTATION.warn(format!("every {days} days (more than {MAX_ROTATION_DAYS})"));
    }
    let active = m
        .state
        .as_ref()
        .ok()
        .and_then(|s| s.iter().find(|k| k.status == KeyStatus::Active).cloned());
    match active {
        Some(k) if k.created.saturating_add(every) <= now => ROTATION.warn(format!(
            "every {days} days, but the active key is {} days old",
            (now - k.created) / 86_400
        )),
        Some(k) => ROTATION.pass(format!(
            "every {days} days; active key {} days old",
            now.saturating_sub(k.created) / 86_400
        )),
        None => ROTATION.pass(format!("every {days} days; no active key yet")),
    }
}

/// Loads the ring the gateway would load and checks that every key retired
/// within the last access lifetime plus leeway is still in it.
fn retention(cfg: &Config, m: &KeyMaterial, now: u64) -> Check {
    let needed = cfg.auth.access_token_ttl.as_secs() + cfg.auth.leeway.as_secs();
    let grace = grace_secs(&cfg.auth);
    if grace < needed {
        return RETENTION.fail(format!(
            "retired keys kept {grace} s, tokens live {needed} s"
        ));
    }
    let state = match &m.state {
        Ok(s) => s,
        Err(e) => return RETENTION.fail(e.clone()),
    };
    let recent: Vec<_> = state
        .iter()
        .filter(|k| k.status == KeyStatus::Retired)
        .filter(|k| k.retired_at.is_some_and(|t| t.saturating_add(needed) > now))
        .collect();
    if recent.is_empty() {
        return RETENTION.pass(format!(
            "no recently retired key; retired keys kept {grace} s"
        ));
    }
    if m.dir_mode.is_none() {
        return RETENTION.fail("the key directory is missing");
    }
    let ring = match KeyDir::open(&m.dir).and_then(|d| d.ring(now, grace)) {
        Ok(r) => r,
        Err(e) => return RETENTION.fail(format!("the key ring does not load: {e}")),
    };
    let missing: Vec<&str> = recent
        .iter()
        .filter(|k| ring.get(&k.kid).is_none())
        .map(|k| k.kid.as_str())
        .collect();
    if missing.is_empty() {
        RETENTION.pass(format!(
            "{} retired key(s) verifiable; kept {grace} s",
            recent.len()
        ))
    } else {
        RETENTION.fail(format!(
            "retired keys no longer verifiable: {}",
            missing.join(", ")
        ))
    }
}
