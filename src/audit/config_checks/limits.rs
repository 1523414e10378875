//! Input limits, rate limits, lockout and logging.

use crate::audit::report::{Check, Spec};
use crate::config::{Config, LogFormat};

const CAPS: Spec = Check::spec(
    "INPUT-001",
    "request header, body and token size caps",
    false,
);
const RATE: Spec = Check::spec("INPUT-002", "login and refresh rate limits on", false);
const LOCKOUT: Spec = Check::spec("INPUT-003", "account lockout on", false);
const FORMAT: Spec = Check::spec("LOG-001", "JSON logs for production", false);
const LEVEL: Spec = Check::spec("LOG-002", "log level not trace or debug", false);

/// Largest caps that pass: beyond them a client can make the gateway buffer
/// far more than any real request needs.
const MAX_HEADER_BYTES: usize = 64 * 1024;
const MAX_HEADERS: usize = 200;
const MAX_BODY_BYTES: u64 = 100 * 1024 * 1024;
const MAX_TOKEN_BYTES: usize = 16 * 1024;
/// A login limit above this per minute does not slow password guessing.
const MAX_LOGINS_PER_MINUTE: u32 = 600;

/// The limit and logging checks.
pub fn checks(cfg: &Config) -> Vec<Check> {
    vec![caps(cfg), rate(cfg), lockout(cfg), format(cfg), level(cfg)]
}

fn caps(cfg: &Config) -> Check {
    let l = &cfg.limits;
    let detail = format!(
        "headers {} B / {} fields, body {} B, token {} B",
        l.max_header_bytes, l.max_headers, l.max_body_bytes, cfg.auth.max_token_bytes
    );
    let ok = l.max_header_bytes <= MAX_HEADER_BYTES
        && l.max_headers <= MAX_HEADERS
        && l.max_body_bytes <= MAX_BODY_BYTES
        && cfg.auth.max_token_bytes <= MAX_TOKEN_BYTES;
    if ok {
        CAPS.pass(detail)
    } else {
        CAPS.warn(format!("large: {detail}"))
    }
}

fn rate(cfg: &Config) -> Check {
    let r = &cfg.rate_limit;
    let mut weak = Vec::new();
    for (key, value) in [
        ("rate_limit.login_per_ip", r.login_per_ip),
        ("rate_limit.login_per_account", r.login_per_account),
        ("rate_limit.refresh_per_ip", r.refresh_per_ip),
    ] {
        match value {
            None => weak.push(format!("{key} off")),
            Some(n) if n > MAX_LOGINS_PER_MINUTE => weak.push(format!("{key} = {n}/min")),
            Some(_) => {}
        }
    }
    if weak.is_empty() {
        RATE.pass(format!(
            "per minute: login {:?}/IP, {:?}/account, refresh {:?}/IP",
            r.login_per_ip.unwrap_or(0),
            r.login_per_account.unwrap_or(0),
            r.refresh_per_ip.unwrap_or(0)
        ))
    } else {
        RATE.warn(weak.join("; "))
    }
}

fn lockout(cfg: &Config) -> Check {
    match cfg.lockout.max_failures {
        0 => LOCKOUT.warn("lockout.max_failures = 0: off"),
        n => LOCKOUT.pass(format!(
            "after {n} failures, from {} s",
            cfg.lockout.base.as_secs()
        )),
    }
}

fn format(cfg: &Config) -> Check {
    match cfg.log.format {
        LogFormat::Json => FORMAT.pass("json"),
        LogFormat::Pretty => FORMAT.warn("pretty: use json in production"),
    }
}

fn level(cfg: &Config) -> Check {
    let level = cfg.log.level.to_ascii_lowercase();
    if level.contains("trace") || level.contains("debug") {
        LEVEL.warn(format!("`{}` logs request details", cfg.log.level))
    } else {
        LEVEL.pass(cfg.log.level.clone())
    }
}
