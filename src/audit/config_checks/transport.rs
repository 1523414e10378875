//! Transport: TLS versions, the certificate, HSTS, the HTTP redirect, and the
//! other security headers the gateway sets on its own answers.

use http::HeaderMap;
use http::header::STRICT_TRANSPORT_SECURITY;

use super::tls_probe;
use crate::audit::headers::{self, MIN_HSTS_MAX_AGE, hsts_max_age};
use crate::audit::report::{Check, Outcome, Spec};
use crate::config::{Config, TlsVersion};

const VERSIONS: Spec = Check::spec("TLS-001", "TLS 1.2 or newer only", true);
const LOADS: Spec = Check::spec(
    "TLS-002",
    "certificate and private key load into rustls",
    true,
);
const VALIDITY: Spec = Check::spec(
    "TLS-003",
    "certificate valid now and for 30 more days",
    true,
);
const HSTS: Spec = Check::spec("TLS-004", "HSTS enabled with max-age >= 180 days", true);
const REDIRECT: Spec = Check::spec("TLS-005", "plain HTTP redirected to HTTPS", false);
const HEADERS: Spec = Check::spec(
    "HEADERS-001",
    "security headers on the gateway's own answers",
    false,
);

/// Days before expiry from which the certificate check warns.
const EXPIRY_WARN_DAYS: i64 = 30;

/// The transport checks.
pub fn checks(cfg: &Config, now: u64) -> Vec<Check> {
    vec![
        versions(cfg),
        loads(cfg),
        validity(cfg, now),
        hsts(cfg),
        redirect(cfg),
        own_headers(cfg),
    ]
}

/// Handshakes with the real server configuration, one version at a time,
/// when the certificate exists; else what `tls.min_version` gives rustls.
fn versions(cfg: &Config) -> Check {
    let configured = match cfg.tls.min_version {
        TlsVersion::Tls12 => "tls.min_version = 1.2",
        TlsVersion::Tls13 => "tls.min_version = 1.3",
    };
    let Some(server) = server_config(cfg) else {
        return VERSIONS.pass(format!(
            "{configured}; no certificate to probe with (rustls has no code below TLS 1.2)"
        ));
    };
    let probe = |v| tls_probe::accepts(&server, v);
    match (
        probe(&rustls::version::TLS13),
        probe(&rustls::version::TLS12),
    ) {
        (Ok(v13), Ok(v12)) if v13 || v12 => VERSIONS.pass(format!(
            "handshakes: TLS 1.3 {}, TLS 1.2 {} ({configured}; rustls has no code below TLS 1.2)",
            yes_no(v13),
            yes_no(v12)
        )),
        (Ok(_), Ok(_)) => VERSIONS.fail("no handshake succeeded with TLS 1.2 or 1.3"),
        (Err(e), _) | (_, Err(e)) => VERSIONS.fail(format!("handshake probe failed: {e}")),
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "accepted" } else { "refused" }
}

/// The rustls server configuration the gateway would build, without
/// generating anything; `None` when it cannot be built.
fn server_config(cfg: &Config) -> Option<std::sync::Arc<rustls::ServerConfig>> {
    if !cfg.tls.cert.exists() {
        return None;
    }
    let mut tls = cfg.tls.clone();
    tls.generate_dev_cert = false;
    crate::tls::server_config(&tls).ok()
}

fn loads(cfg: &Config) -> Check {
    let (cert, key) = (&cfg.tls.cert, &cfg.tls.key);
    if !cert.exists() && !key.exists() && cfg.tls.generate_dev_cert {
        return LOADS.skip("no certificate yet; a development certificate is generated at start");
    }
    // Never generate here: the audit only reads.
    let mut tls = cfg.tls.clone();
    tls.generate_dev_cert = false;
    match crate::tls::server_config(&tls) {
        Ok(_) => LOADS.pass(format!("{} and its key accepted", cert.display())),
        Err(e) => LOADS.fail(e.to_string()),
    }
}

fn validity(cfg: &Config, now: u64) -> Check {
    if !cfg.tls.cert.exists() && cfg.tls.generate_dev_cert {
        return VALIDITY.skip("no certificate yet");
    }
    let (not_before, not_after) = match crate::tls::expiry::leaf_validity(&cfg.tls.cert) {
        Ok(v) => v,
        Err(e) => return VALIDITY.fail(e.to_string()),
    };
    let now = i64::try_from(now).unwrap_or(i64::MAX);
    let days_left = (not_after - now).div_euclid(86_400);
    if not_after <= now {
        VALIDITY.fail(format!("expired {} day(s) ago", (now - not_after) / 86_400))
    } else if not_before > now {
        VALIDITY.fail(format!("not valid for another {} s", not_before - now))
    } else if days_left < EXPIRY_WARN_DAYS {
        VALIDITY.warn(format!("expires in {days_left} day(s): renew it"))
    } else {
        VALIDITY.pass(format!("expires in {days_left} days"))
    }
}

/// HSTS as the compiled configuration would send it.
fn hsts(cfg: &Config) -> Check {
    let h = own_answer(cfg);
    let Some(value) = h
        .get(STRICT_TRANSPORT_SECURITY)
        .and_then(|v| v.to_str().ok())
    else {
        return HSTS.fail("headers.hsts is off: browsers may be downgraded to HTTP");
    };
    match hsts_max_age(value) {
        Some(age) if age >= MIN_HSTS_MAX_AGE => HSTS.pass(value.to_owned()),
        _ => HSTS.fail(format!("`{value}`: max-age below {MIN_HSTS_MAX_AGE}")),
    }
}

fn redirect(cfg: &Config) -> Check {
    match cfg.server.http_listen {
        Some(addr) => REDIRECT.pass(format!(
            "http://{addr} redirects to {}",
            cfg.server.public_origin
        )),
        None => REDIRECT.warn("server.http_listen unset: plain-HTTP visitors get no redirect"),
    }
}

/// Every other header check on the gateway's answer to `/auth/login`.
fn own_headers(cfg: &Config) -> Check {
    let failed: Vec<String> = headers::evaluate(&own_answer(cfg), "/auth/login")
        .into_iter()
        .filter(|c| c.id != "HDR-001" && c.result == Outcome::Fail)
        .map(|c| format!("{} ({})", c.id, c.detail))
        .collect();
    if failed.is_empty() {
        HEADERS.pass("HDR-002..HDR-008 pass on the gateway's own answers")
    } else {
        HEADERS.fail(failed.join("; "))
    }
}

/// The headers the gateway's own endpoints send, from its compiled config.
fn own_answer(cfg: &Config) -> HeaderMap {
    let mut h = HeaderMap::new();
    if let Ok(compiled) = cfg.headers.compile() {
        compiled.apply(&mut h, true);
    }
    h
}
