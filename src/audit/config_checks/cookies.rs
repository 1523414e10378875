//! Cookies: the `Set-Cookie` lines the product's own cookie code writes for
//! a login in the configured mode, read back attribute by attribute.

use http::HeaderMap;
use http::header::SET_COOKIE;

use super::tokens::Sample;
use crate::audit::report::{Check, Spec};
use crate::audit::set_cookie::SetCookieLine;
use crate::auth::cookie_names::{self, SessionCookies};
use crate::config::Config;

const HTTP_ONLY: Spec = Check::spec("COOKIE-001", "session cookies are HttpOnly", true);
const SECURE: Spec = Check::spec("COOKIE-002", "session cookies are Secure", true);
const SAME_SITE: Spec = Check::spec("COOKIE-003", "session cookies are SameSite=Strict", true);
const PREFIX: Spec = Check::spec(
    "COOKIE-004",
    "session cookies carry a valid __Host-/__Secure- prefix",
    true,
);
const PATH: Spec = Check::spec(
    "COOKIE-005",
    "refresh cookie path as narrow as the mode allows",
    false,
);

/// The cookie checks.
pub fn checks(cfg: &Config, sample: &Sample) -> Vec<Check> {
    let lines = login_cookies(cfg, sample);
    let names = |bad: Vec<&SetCookieLine>| -> String {
        bad.iter()
            .map(|c| c.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let judge = |spec: Spec, ok: &dyn Fn(&SetCookieLine) -> bool| {
        let bad: Vec<&SetCookieLine> = lines.iter().filter(|c| !ok(c)).collect();
        if bad.is_empty() {
            spec.pass(format!(
                "{} cookie(s): {}",
                lines.len(),
                names(lines.iter().collect())
            ))
        } else {
            spec.fail(format!("not set on {}", names(bad)))
        }
    };
    vec![
        judge(HTTP_ONLY, &|c| c.has("httponly")),
        judge(SECURE, &|c| c.has("secure")),
        judge(SAME_SITE, &|c| {
            c.same_site()
                .is_some_and(|s| s.eq_ignore_ascii_case("strict"))
        }),
        judge(PREFIX, &|c| c.prefixed() && c.prefix_problem().is_none()),
        refresh_path(cfg, &lines),
    ]
}

/// The cookies a login answer sets, as written by `cookie_names::append`.
fn login_cookies(cfg: &Config, sample: &Sample) -> Vec<SetCookieLine> {
    let mut h = HeaderMap::new();
    let token = sample.token.as_deref().unwrap_or("sample");
    let refresh_ttl = cfg.session.refresh_lifetime.as_secs();
    cookie_names::append(
        &mut h,
        &SessionCookies {
            access_token: token,
            fingerprint: &sample.fingerprint,
            access_ttl: cfg.auth.access_token_ttl.as_secs(),
            refresh: Some(("c2FtcGxlLXJlZnJlc2g", refresh_ttl)),
            browser_mode: cfg.auth.browser_mode,
        },
    );
    h.get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter_map(SetCookieLine::parse)
        .collect()
}

fn refresh_path(cfg: &Config, lines: &[SetCookieLine]) -> Check {
    let (name, want) = cookie_names::refresh_cookie(cfg.auth.browser_mode);
    let Some(line) = lines.iter().find(|c| c.name == name) else {
        return PATH.fail(format!("{name} not set by a login"));
    };
    let path = line.attr("path").unwrap_or("(none)");
    let why = if cfg.auth.browser_mode {
        "browser mode refreshes inline on any path"
    } else {
        "sent only to the refresh endpoints"
    };
    PATH.judge(path == want, format!("{name}: Path={path} ({why})"))
}
