//! `[auth]`, `[session]`.

use std::path::Path;
use std::time::Duration;

use super::{positive, resolve};
use crate::auth::users::Users;
use crate::config::error::ConfigErrors;
use crate::config::raw::*;
use crate::config::types::*;

/// Longest access-token lifetime accepted.
pub const MAX_ACCESS_TTL_SECS: u64 = 3600;
/// Largest clock leeway accepted.
pub const MAX_LEEWAY_SECS: u64 = 60;
/// Largest verified-token cache accepted (about 1 KiB per entry).
pub const MAX_VERIFIED_CACHE_ENTRIES: u64 = 10_000_000;

pub(super) fn auth(
    raw: &RawAuth,
    public_origin: &str,
    data_dir: &Path,
    base: &Path,
    errs: &mut ConfigErrors,
) -> Option<AuthConfig> {
    if raw.access_token_ttl_secs == 0 || raw.access_token_ttl_secs > MAX_ACCESS_TTL_SECS {
        errs.push("auth.access_token_ttl_secs", format!("must be between 1 and {MAX_ACCESS_TTL_SECS} seconds; short tokens limit the damage of a leak (900 is the default)"));
    }
    if raw.leeway_secs > MAX_LEEWAY_SECS {
        errs.push(
            "auth.leeway_secs",
            format!("must be at most {MAX_LEEWAY_SECS} seconds"),
        );
    }
    if ![2048, 3072, 4096].contains(&raw.key_bits) {
        errs.push("auth.key_bits", "must be 2048, 3072 or 4096");
    }
    if raw.audience.is_empty() {
        errs.push("auth.audience", "must not be empty");
    }
    if raw.hash_workers == 0 {
        errs.push("auth.hash_workers", "must be at least 1");
    }
    if raw.max_token_bytes < 512 {
        errs.push("auth.max_token_bytes", "must be at least 512");
    }
    if raw.verified_cache_entries > MAX_VERIFIED_CACHE_ENTRIES {
        errs.push(
            "auth.verified_cache_entries",
            format!("must be at most {MAX_VERIFIED_CACHE_ENTRIES} (0 turns the cache off)"),
        );
    }
    let inline_users = inline_users(&raw.users, errs);
    let key_dir = match &raw.key_dir {
        Some(d) => resolve(base, d),
        None => data_dir.join("keys"),
    };
    Some(AuthConfig {
        users_file: resolve(base, &raw.users_file),
        inline_users,
        issuer: raw
            .issuer
            .clone()
            .unwrap_or_else(|| public_origin.trim_end_matches(":0").to_string()),
        audience: raw.audience.clone(),
        access_token_ttl: Duration::from_secs(raw.access_token_ttl_secs),
        leeway: Duration::from_secs(raw.leeway_secs),
        key_dir,
        key_bits: raw.key_bits,
        key_rotation: key_rotation(raw.key_rotation_days, errs),
        browser_mode: raw.browser_mode,
        hash_workers: raw.hash_workers,
        hash_queue: raw.hash_queue,
        max_token_bytes: raw.max_token_bytes,
        verified_cache_entries: raw.verified_cache_entries,
    })
}

/// `auth.users`, checked like a users file; `None` when empty.
fn inline_users(tables: &[toml::Table], errs: &mut ConfigErrors) -> Option<Users> {
    if tables.is_empty() {
        return None;
    }
    match Users::from_tables(tables, Path::new("auth.users")) {
        Ok(users) => Some(users),
        Err(e) => {
            errs.push("auth.users", e.to_string());
            None
        }
    }
}

/// Longest absolute session lifetime accepted.
pub const MAX_REFRESH_DAYS: u64 = 90;

pub(super) fn session(
    raw: &RawSession,
    redis: &RawRedis,
    data_dir: &Path,
    base: &Path,
    errs: &mut ConfigErrors,
) -> Option<SessionConfig> {
    if raw.refresh_lifetime_days == 0 || raw.refresh_lifetime_days > MAX_REFRESH_DAYS {
        errs.push(
            "session.refresh_lifetime_days",
            format!("must be between 1 and {MAX_REFRESH_DAYS} (30 is the default)"),
        );
    }
    if raw.max_per_user == 0 {
        errs.push("session.max_per_user", "must be at least 1");
    }
    if raw.reuse_grace_secs > 60 {
        errs.push(
            "session.reuse_grace_secs",
            "must be at most 60; a long window weakens theft detection",
        );
    }
    let store = match raw.store.as_str() {
        "embedded" => StoreConfig::Embedded {
            path: data_dir.join("sessions.redb"),
        },
        "redis" => super::redis::redis_store(redis, base, errs)?,
        other => {
            errs.push(
                "session.store",
                format!("`{other}` is not a store; write \"embedded\" or \"redis\""),
            );
            return None;
        }
    };
    Some(SessionConfig {
        store,
        refresh_lifetime: Duration::from_secs(
            raw.refresh_lifetime_days.min(MAX_REFRESH_DAYS) * 86_400,
        ),
        idle_timeout: positive(
            "session.idle_timeout_secs",
            raw.idle_timeout_secs,
            "s",
            errs,
        ),
        max_per_user: raw.max_per_user,
        reuse_grace: Duration::from_secs(raw.reuse_grace_secs),
    })
}

pub(super) fn rate_limit(raw: &RawRateLimit, errs: &mut ConfigErrors) -> RateLimitConfig {
    let mut per_minute = |key: &str, v: u64| match v {
        0 => None,
        v if v > 1_000_000 => {
            errs.push(
                format!("rate_limit.{key}"),
                "must be at most 1000000 per minute (0 turns it off)",
            );
            None
        }
        v => Some(v as u32),
    };
    RateLimitConfig {
        login_per_ip: per_minute("login_per_ip", raw.login_per_ip),
        login_per_account: per_minute("login_per_account", raw.login_per_account),
        refresh_per_ip: per_minute("refresh_per_ip", raw.refresh_per_ip),
        proxy_per_ip: per_minute("proxy_per_ip", raw.proxy_per_ip),
    }
}

pub(super) fn lockout(raw: &RawLockout, errs: &mut ConfigErrors) -> LockoutConfig {
    if raw.max_failures > 0 && (raw.base_secs == 0 || raw.max_secs < raw.base_secs) {
        errs.push(
            "lockout.base_secs",
            "must be greater than zero and at most lockout.max_secs",
        );
    }
    LockoutConfig {
        max_failures: raw.max_failures,
        base: Duration::from_secs(raw.base_secs),
        max: Duration::from_secs(raw.max_secs),
    }
}

/// Longest automatic rotation interval accepted (ten years).
pub const MAX_ROTATION_DAYS: u64 = 3650;

fn key_rotation(days: u64, errs: &mut ConfigErrors) -> Duration {
    if days == 0 || days > MAX_ROTATION_DAYS {
        errs.push(
            "auth.key_rotation_days",
            format!("must be between 1 and {MAX_ROTATION_DAYS} (90 is the default)"),
        );
    }
    Duration::from_secs(days.clamp(1, MAX_ROTATION_DAYS) * 86_400)
}
