//! `portcullis audit headers URL`: the security headers of one response.
//!
//! [`evaluate`] judges a response's headers; the configuration audit runs it
//! on the headers the gateway's own code would set, so both agree.

use http::HeaderMap;
use http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, REFERRER_POLICY, SERVER, SET_COOKIE,
    STRICT_TRANSPORT_SECURITY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};

use super::report::{Check, Spec};
use super::set_cookie::SetCookieLine;

/// Shortest HSTS max-age accepted: 180 days, the preload list's floor is a
/// year; fewer lets a downgrade window reopen within months.
pub const MIN_HSTS_MAX_AGE: u64 = 15_552_000;

const HSTS: Spec = Check::spec(
    "HDR-001",
    "Strict-Transport-Security with max-age >= 180 days",
    true,
);
const NOSNIFF: Spec = Check::spec("HDR-002", "X-Content-Type-Options: nosniff", true);
const FRAMING: Spec = Check::spec(
    "HDR-003",
    "framing refused (X-Frame-Options or CSP frame-ancestors)",
    true,
);
const REFERRER: Spec = Check::spec("HDR-004", "Referrer-Policy set and not unsafe-url", false);
const CSP: Spec = Check::spec(
    "HDR-005",
    "Content-Security-Policy without unsafe-inline/unsafe-eval scripts",
    false,
);
const NO_STORE: Spec = Check::spec("HDR-006", "Cache-Control: no-store on /auth/*", true);
const COOKIES: Spec = Check::spec(
    "HDR-007",
    "cookies Secure, HttpOnly, SameSite, valid prefixes",
    true,
);
const LEAK: Spec = Check::spec("HDR-008", "no server software version disclosed", false);

/// Headers that advertise software; a digit in them is a version.
const SOFTWARE: [&str; 4] = [
    "server",
    "x-powered-by",
    "x-aspnet-version",
    "x-aspnetmvc-version",
];

/// Judges the headers of a response to `GET path`.
pub fn evaluate(headers: &HeaderMap, path: &str) -> Vec<Check> {
    vec![
        hsts(headers),
        nosniff(headers),
        framing(headers),
        referrer(headers),
        csp(headers),
        no_store(headers, path),
        cookies(headers),
        leak(headers),
    ]
}

/// Every value of `name`, joined with `, ` (how a list header combines).
fn joined(h: &HeaderMap, name: impl http::header::AsHeaderName) -> Option<String> {
    let values: Vec<String> = h
        .get_all(name)
        .iter()
        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
        .collect();
    (!values.is_empty()).then(|| values.join(", "))
}

/// `max-age` of an HSTS value; `None` when absent or not a number.
pub fn hsts_max_age(value: &str) -> Option<u64> {
    value.split(';').find_map(|d| {
        let (k, v) = d.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("max-age")
            .then(|| v.trim().trim_matches('"').parse().ok())?
    })
}

fn hsts(h: &HeaderMap) -> Check {
    let Some(value) = joined(h, STRICT_TRANSPORT_SECURITY) else {
        return HSTS.fail("Strict-Transport-Security missing");
    };
    match hsts_max_age(&value) {
        Some(age) if age >= MIN_HSTS_MAX_AGE => HSTS.pass(format!("max-age={age}")),
        Some(age) => HSTS.fail(format!("max-age={age} is below {MIN_HSTS_MAX_AGE}")),
        None => HSTS.fail("Strict-Transport-Security has no valid max-age"),
    }
}

fn nosniff(h: &HeaderMap) -> Check {
    match joined(h, X_CONTENT_TYPE_OPTIONS) {
        Some(v) if v.trim().eq_ignore_ascii_case("nosniff") => NOSNIFF.pass("nosniff"),
        Some(v) => NOSNIFF.fail(format!("X-Content-Type-Options is `{v}`")),
        None => NOSNIFF.fail("X-Content-Type-Options missing"),
    }
}

/// The value of directive `name` in a CSP, if present.
fn csp_directive(csp: &str, name: &str) -> Option<String> {
    csp.split(';').find_map(|d| {
        let d = d.trim();
        let (k, v) = d.split_once(char::is_whitespace).unwrap_or((d, ""));
        k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
    })
}

fn framing(h: &HeaderMap) -> Check {
    let csp = joined(h, CONTENT_SECURITY_POLICY).unwrap_or_default();
    if let Some(fa) = csp_directive(&csp, "frame-ancestors")
        && !fa.contains('*')
    {
        return FRAMING.pass(format!("CSP frame-ancestors {fa}"));
    }
    match joined(h, X_FRAME_OPTIONS) {
        Some(v) if ["deny", "sameorigin"].contains(&v.trim().to_ascii_lowercase().as_str()) => {
            FRAMING.pass(format!("X-Frame-Options {v}"))
        }
        Some(v) => FRAMING.fail(format!("X-Frame-Options is `{v}`")),
        None => FRAMING.fail("neither X-Frame-Options nor CSP frame-ancestors"),
    }
}

fn referrer(h: &HeaderMap) -> Check {
    match joined(h, REFERRER_POLICY) {
        Some(v) if v.to_ascii_lowercase().contains("unsafe-url") => {
            REFERRER.fail(format!("Referrer-Policy is `{v}`"))
        }
        Some(v) => REFERRER.pass(v),
        None => REFERRER.fail("Referrer-Policy missing"),
    }
}

fn csp(h: &HeaderMap) -> Check {
    let Some(value) = joined(h, CONTENT_SECURITY_POLICY) else {
        return CSP.fail("Content-Security-Policy missing");
    };
    // Scripts fall back to default-src when script-src is absent.
    let scripts =
        csp_directive(&value, "script-src").or_else(|| csp_directive(&value, "default-src"));
    let Some(scripts) = scripts else {
        return CSP.fail("CSP has neither script-src nor default-src");
    };
    let unsafe_: Vec<&str> = ["'unsafe-inline'", "'unsafe-eval'"]
        .into_iter()
        .filter(|k| scripts.to_ascii_lowercase().contains(k))
        .collect();
    if unsafe_.is_empty() {
        CSP.pass(format!("scripts: {scripts}"))
    } else {
        CSP.fail(format!("scripts allow {}", unsafe_.join(" and ")))
    }
}

fn no_store(h: &HeaderMap, path: &str) -> Check {
    if !(path == "/auth" || path.starts_with("/auth/")) {
        return NO_STORE.skip(format!("{path} is not an /auth/* endpoint"));
    }
    match joined(h, CACHE_CONTROL) {
        Some(v) if v.to_ascii_lowercase().contains("no-store") => NO_STORE.pass(v),
        Some(v) => NO_STORE.fail(format!("Cache-Control is `{v}`")),
        None => NO_STORE.fail("Cache-Control missing"),
    }
}

fn cookies(h: &HeaderMap) -> Check {
    let lines: Vec<SetCookieLine> = h
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(SetCookieLine::parse)
        .filter(|c| !c.clears())
        .collect();
    if lines.is_empty() {
        return COOKIES.skip("the response sets no cookie");
    }
    let problems: Vec<String> = lines.iter().flat_map(SetCookieLine::problems).collect();
    let names: Vec<&str> = lines.iter().map(|c| c.name.as_str()).collect();
    if problems.is_empty() {
        COOKIES.pass(format!("{} well protected", names.join(", ")))
    } else {
        COOKIES.fail(problems.join("; "))
    }
}

fn leak(h: &HeaderMap) -> Check {
    let leaks: Vec<String> = SOFTWARE
        .iter()
        .filter_map(|name| Some((name, joined(h, *name)?)))
        .filter(|(name, v)| **name != SERVER.as_str() || v.chars().any(|c| c.is_ascii_digit()))
        .map(|(name, v)| format!("{name}: {v}"))
        .collect();
    if leaks.is_empty() {
        LEAK.pass("no version disclosed")
    } else {
        LEAK.fail(leaks.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::audit::report::Outcome;
    use crate::headers::security::SecurityHeaders;

    fn outcome(checks: &[Check], id: &str) -> Outcome {
        checks.iter().find(|c| c.id == id).unwrap().result
    }

    /// The gateway's default headers on its own endpoint pass every check.
    #[test]
    fn defaults_pass() {
        let mut h = HeaderMap::new();
        SecurityHeaders::default()
            .compile()
            .unwrap()
            .apply(&mut h, true);
        let checks = evaluate(&h, "/auth/login");
        for c in &checks {
            assert!(
                matches!(c.result, Outcome::Pass | Outcome::Skipped),
                "{c:?}"
            );
        }
    }

    /// A bare response fails every header check and names the header.
    #[test]
    fn bare_response_fails() {
        let mut h = HeaderMap::new();
        h.insert(SERVER, "Apache/2.4.1".parse().unwrap());
        h.insert(SET_COOKIE, "sid=1; Path=/".parse().unwrap());
        let checks = evaluate(&h, "/auth/login");
        for id in [
            "HDR-001", "HDR-002", "HDR-003", "HDR-004", "HDR-005", "HDR-006", "HDR-007", "HDR-008",
        ] {
            assert_eq!(outcome(&checks, id), Outcome::Fail, "{id}");
        }
        assert!(
            checks[0]
                .detail
                .contains("Strict-Transport-Security missing")
        );
    }

    /// Short HSTS and unsafe scripts are failures; a versionless Server is fine.
    #[test]
    fn weak_values() {
        let mut h = HeaderMap::new();
        h.insert(STRICT_TRANSPORT_SECURITY, "max-age=300".parse().unwrap());
        h.insert(
            CONTENT_SECURITY_POLICY,
            "default-src 'self'; script-src 'self' 'unsafe-eval'"
                .parse()
                .unwrap(),
        );
        h.insert(SERVER, "nginx".parse().unwrap());
        let checks = evaluate(&h, "/");
        assert_eq!(outcome(&checks, "HDR-001"), Outcome::Fail);
        assert!(checks[4].detail.contains("unsafe-eval"), "{:?}", checks[4]);
        assert_eq!(outcome(&checks, "HDR-006"), Outcome::Skipped);
        assert_eq!(outcome(&checks, "HDR-008"), Outcome::Pass);
        assert_eq!(
            hsts_max_age("max-age=\"31536000\"; preload"),
            Some(31_536_000)
        );
    }
}
