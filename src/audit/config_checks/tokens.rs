//! Access tokens: the configured lifetime, and a sample token signed by the
//! product's own claim builder and signer, inspected like any other token.

use super::material::KeyMaterial;
use crate::audit::report::{Check, Outcome, Spec};
use crate::audit::token::{self, MAX_LIFETIME_SECS};
use crate::auth::fingerprint;
use crate::auth::jwt::{self, Validation};
use crate::auth::keys::{PublicKey, SigningKey, thumbprint};
use crate::auth::service::access_claims;
use crate::config::Config;

const LIFETIME: Spec = Check::spec(
    "TOKEN-001",
    "access-token lifetime at most 15 minutes",
    true,
);
const MINIMAL: Spec = Check::spec("TOKEN-002", "minimal claim set, no sensitive claims", true);
const KID: Spec = Check::spec(
    "TOKEN-003",
    "kid present and the key's RFC 7638 thumbprint",
    true,
);
const FINGERPRINT: Spec = Check::spec(
    "TOKEN-004",
    "tokens bound to a fingerprint cookie (fpt)",
    true,
);
const VERIFIES: Spec = Check::spec(
    "TOKEN-005",
    "RS256 and accepted by the strict verifier",
    true,
);

/// Every claim a portcullis access token may carry.
const ALLOWED_CLAIMS: [&str; 10] = [
    "iss", "sub", "aud", "sid", "jti", "iat", "exp", "nbf", "fpt", "roles",
];

/// A token signed as a login would sign it.
pub struct Sample {
    /// The compact token, or why none could be made.
    pub token: Result<String, String>,
    /// The raw fingerprint cookie value bound to it.
    pub fingerprint: String,
    /// The verification key.
    pub public: Option<PublicKey>,
    /// Which key signed it.
    pub key_source: &'static str,
}

impl Sample {
    /// Signs a sample with the active key, or a fresh key of the configured
    /// size when the directory has none yet.
    pub fn mint(cfg: &Config, m: &KeyMaterial, now: u64) -> Self {
        let (fingerprint, fpt) = fingerprint::generate();
        let fresh;
        let (key, key_source) = match m.active() {
            Some(k) => (k, "the active key"),
            None => match SigningKey::generate(cfg.auth.key_bits) {
                Ok(k) => {
                    fresh = k;
                    (&fresh, "a fresh key (no active key yet)")
                }
                Err(e) => {
                    return Self {
                        token: Err(e.to_string()),
                        fingerprint,
                        public: None,
                        key_source: "none",
                    };
                }
            },
        };
        let claims = access_claims(
            &cfg.auth,
            "audit-sample",
            &["audit".into()],
            "audit-session",
            now,
            fpt,
        );
        Self {
            token: jwt::encode(&claims, key).map_err(|e| e.to_string()),
            fingerprint,
            public: Some(key.public().as_ref().clone()),
            key_source,
        }
    }
}

/// The token checks.
pub fn checks(cfg: &Config, sample: &Sample, now: u64) -> Vec<Check> {
    let ttl = cfg.auth.access_token_ttl.as_secs();
    let lifetime = LIFETIME.judge(
        ttl <= MAX_LIFETIME_SECS,
        format!("auth.access_token_ttl_secs = {ttl} (max {MAX_LIFETIME_SECS})"),
    );
    let token = match &sample.token {
        Ok(t) => t,
        Err(e) => {
            let why = format!("no sample token: {e}");
            return vec![
                lifetime,
                MINIMAL.fail(&why),
                KID.fail(&why),
                FINGERPRINT.fail(&why),
                VERIFIES.fail(why),
            ];
        }
    };
    let keys: Vec<PublicKey> = sample.public.iter().cloned().collect();
    let found = token::audit(token, now, Some(&keys));
    let by_id = |id: &str| found.iter().find(|c| c.id == id);
    vec![
        lifetime,
        minimal(token, by_id("JWT-012")),
        kid(token, sample),
        carried(FINGERPRINT, by_id("JWT-013")),
        verifies(cfg, token, sample, now),
    ]
}

/// A token check's outcome under a configuration check's id.
fn carried(spec: Spec, check: Option<&Check>) -> Check {
    match check {
        Some(c) => spec.result(c.result, format!("sample token: {}", c.detail)),
        None => spec.fail("not evaluated"),
    }
}

fn payload(token: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    let bytes = crate::auth::b64::decode(token.split('.').nth(1)?)?;
    serde_json::from_slice(&bytes).ok()
}

fn minimal(token: &str, sensitive: Option<&Check>) -> Check {
    if let Some(c) = sensitive.filter(|c| c.result != Outcome::Pass) {
        return MINIMAL.fail(format!("sample token: {}", c.detail));
    }
    let Some(p) = payload(token) else {
        return MINIMAL.fail("sample token payload unreadable");
    };
    let names: Vec<&str> = p.keys().map(String::as_str).collect();
    let extra: Vec<&str> = names
        .iter()
        .copied()
        .filter(|n| !ALLOWED_CLAIMS.contains(n))
        .collect();
    if extra.is_empty() {
        MINIMAL.pass(format!("sample token claims: {}", names.join(", ")))
    } else {
        MINIMAL.fail(format!("unexpected claims: {}", extra.join(", ")))
    }
}

fn kid(token: &str, sample: &Sample) -> Check {
    let header = token
        .split('.')
        .next()
        .and_then(crate::auth::b64::decode)
        .and_then(|b| serde_json::from_slice::<serde_json::Value>(&b).ok());
    let kid = header
        .as_ref()
        .and_then(|h| h["kid"].as_str())
        .unwrap_or("");
    let Some(key) = &sample.public else {
        return KID.fail("no key");
    };
    let expected = thumbprint(
        &crate::auth::b64::encode(key.n()),
        &crate::auth::b64::encode(key.e()),
    );
    match kid {
        "" => KID.fail("sample token has no kid"),
        k if k == expected => KID.pass(format!("kid {k} (signed with {})", sample.key_source)),
        k => KID.fail(format!("kid {k} is not the thumbprint {expected}")),
    }
}

fn verifies(cfg: &Config, token: &str, sample: &Sample, now: u64) -> Check {
    let Some(key) = &sample.public else {
        return VERIFIES.fail("no key");
    };
    let validation = Validation::new(
        &cfg.auth.issuer,
        &cfg.auth.audience,
        cfg.auth.leeway.as_secs(),
    );
    let checked =
        jwt::parse(token, cfg.auth.max_token_bytes).and_then(|u| u.verify(key, &validation, now));
    match checked {
        Ok(claims)
            if crate::auth::fingerprint::matches(
                &sample.fingerprint,
                claims.fpt.as_deref().unwrap_or(""),
            ) =>
        {
            VERIFIES.pass("sample token verifies; its fpt matches the fingerprint cookie")
        }
        Ok(_) => VERIFIES.fail("sample token's fpt does not match its fingerprint cookie"),
        Err(e) => VERIFIES.fail(format!("sample token refused: {e}")),
    }
}
