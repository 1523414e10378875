//! `portcullis audit token JWT`: what a token says and what is wrong with it.
//!
//! The header and payload are decoded without trusting them (leniently, so a
//! padded or standard-alphabet segment can still be read and reported); with
//! a JWKS the signature is checked by the product's strict verifier
//! ([`crate::auth::jwt::parse`] then [`Unverified::verify_signature`]).
//!
//! [`Unverified::verify_signature`]: crate::auth::jwt::Unverified::verify_signature

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use serde_json::{Map, Value};

use super::report::{Check, Spec};
use crate::auth::b64;
use crate::auth::jwt::{self, DEFAULT_MAX_TOKEN_LEN};
use crate::auth::keys::PublicKey;
use crate::auth::strict_json::{self, StrictJsonError};

/// Longest access-token lifetime the audit accepts, in seconds.
pub const MAX_LIFETIME_SECS: u64 = 900;
/// Clock skew tolerated for `iat` and `nbf`, as the gateway's largest leeway.
const SKEW_SECS: u64 = jwt::MAX_LEEWAY_SECS;

const STRUCTURE: Spec = Check::spec(
    "JWT-001",
    "three segments; header and payload are JSON objects",
    true,
);
const CANONICAL: Spec = Check::spec(
    "JWT-002",
    "canonical base64url (no padding, URL alphabet)",
    true,
);
const DUPLICATES: Spec = Check::spec("JWT-003", "no duplicate JSON members", true);
const ALG: Spec = Check::spec("JWT-004", "alg is RS256 (never none)", true);
const CRIT: Spec = Check::spec("JWT-005", "no crit header", true);
const EMBEDDED: Spec = Check::spec(
    "JWT-006",
    "no embedded or remote key (jwk, jku, x5u, x5c, x5t)",
    true,
);
const KID: Spec = Check::spec("JWT-007", "kid present", true);
const SIGNATURE: Spec = Check::spec("JWT-008", "signature segment present", true);
const EXP: Spec = Check::spec("JWT-009", "exp present and not passed", true);
const LIFETIME: Spec = Check::spec("JWT-010", "lifetime at most 15 minutes", true);
const TIMES: Spec = Check::spec("JWT-011", "iat and nbf not in the future", true);
const SENSITIVE: Spec = Check::spec("JWT-012", "no sensitive claims", true);
const FPT: Spec = Check::spec("JWT-013", "fingerprint binding (fpt claim)", true);
const VERIFIES: Spec = Check::spec(
    "JWT-014",
    "signature verifies with the JWKS (strict verifier)",
    true,
);

/// Header members that carry or point to a key.
const KEY_HEADERS: [&str; 6] = ["jwk", "jku", "x5u", "x5c", "x5t", "x5t#S256"];
/// Claim names (lowercase substrings) that should never travel in a token.
const SENSITIVE_WORDS: [&str; 12] = [
    "email",
    "password",
    "passwd",
    "secret",
    "ssn",
    "phone",
    "credit",
    "card_number",
    "birth",
    "address",
    "private_key",
    "api_key",
];

/// The key set to verify against: `None` skips the signature check.
pub type Jwks<'a> = Option<&'a [PublicKey]>;

/// Audits `token` at `now` (Unix seconds).
pub fn audit(token: &str, now: u64, jwks: Jwks<'_>) -> Vec<Check> {
    let d = Decoded::new(token);
    let mut checks = vec![structure(&d), canonical(&d), duplicates(&d)];
    match &d.header {
        Some(h) => checks.extend([alg(h), crit(h), embedded(h), kid(h)]),
        None => checks.extend([ALG, CRIT, EMBEDDED, KID].map(|s| s.skip("header not readable"))),
    }
    checks.push(signature(&d));
    match &d.payload {
        Some(p) => checks.extend([
            exp(p, now),
            lifetime(p, now),
            times(p, now),
            sensitive(p),
            fpt(p),
        ]),
        None => checks
            .extend([EXP, LIFETIME, TIMES, SENSITIVE, FPT].map(|s| s.skip("payload not readable"))),
    }
    checks.push(verifies(token, jwks));
    checks
}

/// The segments, decoded as far as they go.
struct Decoded<'a> {
    segments: Vec<&'a str>,
    /// Segments that decode only leniently.
    non_canonical: Vec<&'static str>,
    /// Objects that repeat a member.
    duplicated: Vec<&'static str>,
    header: Option<Map<String, Value>>,
    payload: Option<Map<String, Value>>,
}

impl<'a> Decoded<'a> {
    fn new(token: &'a str) -> Self {
        let segments: Vec<&str> = token.split('.').collect();
        let mut d = Self {
            segments,
            non_canonical: Vec::new(),
            duplicated: Vec::new(),
            header: None,
            payload: None,
        };
        d.header = d.object(0, "header");
        d.payload = d.object(1, "payload");
        if let Some(sig) = d.segments.get(2)
            && !sig.is_empty()
            && b64::decode(sig).is_none()
        {
            d.non_canonical.push("signature");
        }
        d
    }

    /// Segment `i` decoded (leniently) and parsed as a JSON object.
    fn object(&mut self, i: usize, what: &'static str) -> Option<Map<String, Value>> {
        let text = self.segments.get(i)?;
        let bytes = match b64::decode(text) {
            Some(b) => b,
            None => {
                let b = lenient_decode(text)?;
                self.non_canonical.push(what);
                b
            }
        };
        if strict_json::from_slice(&bytes) == Err(StrictJsonError::DuplicateMember) {
            self.duplicated.push(what);
        }
        match serde_json::from_slice(&bytes) {
            Ok(Value::Object(map)) => Some(map),
            _ => None,
        }
    }
}

/// base64url or base64, padded or not, trailing bits allowed: enough to read
/// what a sloppy or hostile encoder wrote.
fn lenient_decode(text: &str) -> Option<Vec<u8>> {
    let config = GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true);
    let engine = GeneralPurpose::new(&base64::alphabet::URL_SAFE, config);
    let text: String = text
        .trim()
        .trim_end_matches('=')
        .replace('+', "-")
        .replace('/', "_");
    engine.decode(text).ok()
}

fn structure(d: &Decoded<'_>) -> Check {
    let mut problems = Vec::new();
    if d.segments.len() != 3 {
        problems.push(format!("{} segment(s), expected 3", d.segments.len()));
    }
    if d.header.is_none() {
        problems.push("header is not a base64url JSON object".to_owned());
    }
    if d.payload.is_none() {
        problems.push("payload is not a base64url JSON object".to_owned());
    }
    if problems.is_empty() {
        STRUCTURE.pass("header.payload.signature")
    } else {
        STRUCTURE.fail(problems.join("; "))
    }
}

fn canonical(d: &Decoded<'_>) -> Check {
    if d.non_canonical.is_empty() {
        CANONICAL.pass("every segment canonical")
    } else {
        CANONICAL.fail(format!(
            "not canonical base64url: {}",
            d.non_canonical.join(", ")
        ))
    }
}

fn duplicates(d: &Decoded<'_>) -> Check {
    if d.duplicated.is_empty() {
        DUPLICATES.pass("no repeated member")
    } else {
        DUPLICATES.fail(format!(
            "duplicate member in {}",
            d.duplicated.join(" and ")
        ))
    }
}

fn alg(h: &Map<String, Value>) -> Check {
    match h.get("alg") {
        Some(Value::String(a)) if a == "RS256" => ALG.pass("RS256"),
        Some(Value::String(a)) if a.eq_ignore_ascii_case("none") => {
            ALG.fail(format!("unsigned token: alg `{a}`"))
        }
        Some(Value::String(a)) => ALG.fail(format!("alg `{a}` is not RS256")),
        Some(_) => ALG.fail("alg is not a string"),
        None => ALG.fail("alg missing"),
    }
}

fn crit(h: &Map<String, Value>) -> Check {
    match h.get("crit") {
        Some(v) => CRIT.fail(format!("crit present: {v}")),
        None => CRIT.pass("absent"),
    }
}

fn embedded(h: &Map<String, Value>) -> Check {
    let found: Vec<&str> = KEY_HEADERS
        .into_iter()
        .filter(|k| h.contains_key(*k))
        .collect();
    if found.is_empty() {
        EMBEDDED.pass("none")
    } else {
        EMBEDDED.fail(format!(
            "header carries {} (never trusted)",
            found.join(", ")
        ))
    }
}

fn kid(h: &Map<String, Value>) -> Check {
    match h.get("kid") {
        Some(Value::String(k)) if !k.is_empty() => KID.pass(format!("kid {}", short(k))),
        Some(_) => KID.fail("kid empty or not a string"),
        None => KID.fail("kid missing"),
    }
}

fn signature(d: &Decoded<'_>) -> Check {
    match d.segments.get(2) {
        Some(s) if !s.is_empty() => SIGNATURE.pass(format!("{} characters", s.len())),
        Some(_) => SIGNATURE.fail("signature segment empty (stripped)"),
        None => SIGNATURE.fail("no signature segment (stripped)"),
    }
}

fn exp(p: &Map<String, Value>, now: u64) -> Check {
    match p.get("exp").map(Value::as_u64) {
        Some(Some(exp)) if exp > now => EXP.pass(format!("expires in {} s", exp - now)),
        Some(Some(exp)) => EXP.fail(format!("expired {} s ago", now - exp)),
        Some(None) => EXP.fail("exp is not a number of seconds"),
        None => EXP.fail("exp missing: the token never expires"),
    }
}

fn lifetime(p: &Map<String, Value>, now: u64) -> Check {
    let exp = p.get("exp").and_then(Value::as_u64);
    let iat = p.get("iat").and_then(Value::as_u64);
    match (iat, exp) {
        (Some(iat), Some(exp)) => {
            let life = exp.saturating_sub(iat);
            LIFETIME.judge(
                life <= MAX_LIFETIME_SECS,
                format!("exp - iat = {life} s (max {MAX_LIFETIME_SECS})"),
            )
        }
        (None, Some(exp)) if exp.saturating_sub(now) > MAX_LIFETIME_SECS => LIFETIME.fail(format!(
            "no iat, and {} s remain (max {MAX_LIFETIME_SECS})",
            exp - now
        )),
        (None, Some(_)) => LIFETIME.warn("no iat: lifetime unknown"),
        (_, None) => LIFETIME.fail("no exp: unlimited lifetime"),
    }
}

fn times(p: &Map<String, Value>, now: u64) -> Check {
    let future: Vec<String> = ["iat", "nbf"]
        .into_iter()
        .filter_map(|name| Some((name, p.get(name)?.as_u64()?)))
        .filter(|(_, t)| *t > now + SKEW_SECS)
        .map(|(name, t)| format!("{name} is {} s in the future", t - now))
        .collect();
    if future.is_empty() {
        TIMES.pass("not in the future")
    } else {
        TIMES.fail(future.join("; "))
    }
}

fn sensitive(p: &Map<String, Value>) -> Check {
    let mut found = Vec::new();
    collect_sensitive(p, "", &mut found);
    if found.is_empty() {
        SENSITIVE.pass(format!(
            "claims: {}",
            p.keys().cloned().collect::<Vec<_>>().join(", ")
        ))
    } else {
        SENSITIVE.fail(format!("sensitive-looking claims: {}", found.join(", ")))
    }
}

/// Names of members at any depth whose name looks sensitive (values are
/// never printed).
fn collect_sensitive(object: &Map<String, Value>, prefix: &str, out: &mut Vec<String>) {
    for (name, value) in object {
        let path = format!("{prefix}{name}");
        let lower = name.to_ascii_lowercase();
        if SENSITIVE_WORDS.iter().any(|w| lower.contains(w)) {
            out.push(path.clone());
        }
        if let Value::Object(inner) = value {
            collect_sensitive(inner, &format!("{path}."), out);
        }
    }
}

fn fpt(p: &Map<String, Value>) -> Check {
    match p.get("fpt") {
        Some(Value::String(f)) if !f.is_empty() => FPT.pass("bound to a fingerprint cookie"),
        Some(_) => FPT.fail("fpt empty or not a string"),
        None => FPT.fail("fpt missing: a stolen token works without the cookie"),
    }
}

fn verifies(token: &str, jwks: Jwks<'_>) -> Check {
    let Some(keys) = jwks else {
        return VERIFIES.skip("no --jwks given");
    };
    let unverified = match jwt::parse(token, DEFAULT_MAX_TOKEN_LEN) {
        Ok(u) => u,
        Err(e) => return VERIFIES.fail(format!("refused before the signature: {e}")),
    };
    let Some(key) = keys.iter().find(|k| k.kid() == unverified.kid()) else {
        return VERIFIES.fail(format!(
            "kid {} is not in the JWKS ({} keys)",
            short(unverified.kid()),
            keys.len()
        ));
    };
    match unverified.verify_signature(key) {
        Ok(()) => VERIFIES.pass(format!("RS256 signature valid ({} bits)", key.bits())),
        Err(e) => VERIFIES.fail(e.to_string()),
    }
}

/// The first 16 characters of a long identifier.
fn short(s: &str) -> String {
    let mut out: String = s.chars().take(16).collect();
    if s.chars().count() > 16 {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests;
