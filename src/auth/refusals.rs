//! Refusals of login and refresh as clients meet them: 429 and 503 with
//! `Retry-After`, as JSON for API clients or, for a form login, as the
//! login page saying in plain words what happened and how long to wait.

use http::{Response, StatusCode, header};

use super::pages::{self, Notice};
use crate::body::Body;
use crate::gateway::respond::json_error;
use crate::ratelimit;

/// 429 with `Retry-After`, logged as `auth.security.rate_limit`.
pub fn too_many_requests(limit: &'static str, limited: ratelimit::Limited) -> Response<Body> {
    let secs = log_rate_limit(limit, &limited);
    let resp = json_error(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        "too many requests; retry later",
    );
    with_retry_after(resp, secs)
}

/// The 429 of a form login: the login page saying, in plain words, how long
/// to wait.
pub(super) fn rate_limited_page(
    limit: &'static str,
    limited: ratelimit::Limited,
    username: &str,
    return_path: &str,
) -> Response<Body> {
    let secs = log_rate_limit(limit, &limited);
    let text = format!(
        "Too many sign-in attempts. Please wait {} and try again.",
        wait_words(secs)
    );
    let page = pages::login(
        StatusCode::TOO_MANY_REQUESTS,
        Notice::Error(&text),
        username,
        return_path,
    );
    with_retry_after(page, secs)
}

/// The 403 of a form login the same-origin check refused: the login page
/// saying, in plain words, where to sign in instead. The usual cause is a
/// browser on another address of the gateway than `server.public_url`
/// (`127.0.0.1` for `localhost`), where signing in again would fail again.
pub fn cross_origin_page(public_origin: &str) -> Response<Body> {
    let text = format!(
        "This sign-in form was sent from another site or address, so it was refused \
and nothing was done. Open {public_origin}/auth/login and sign in there."
    );
    pages::login(StatusCode::FORBIDDEN, Notice::Error(&text), "", "/")
}

/// Logs a refusal by a rate limit; returns the whole seconds to wait.
fn log_rate_limit(limit: &'static str, limited: &ratelimit::Limited) -> u64 {
    let secs = limited.retry_after.as_secs().max(1);
    tracing::warn!(
        event = "auth.security.rate_limit",
        limit,
        retry_after_secs = secs,
        "rate limit exceeded"
    );
    secs
}

/// "a few seconds", "about 3 minutes": a wait as people say it.
fn wait_words(secs: u64) -> String {
    match secs {
        0..=10 => "a few seconds".to_string(),
        11..=59 => format!("{secs} seconds"),
        60..=119 => "about a minute".to_string(),
        s => format!("about {} minutes", s.div_ceil(60)),
    }
}

pub(super) fn with_retry_after(mut resp: Response<Body>, secs: u64) -> Response<Body> {
    if let Ok(v) = http::HeaderValue::from_str(&secs.to_string()) {
        resp.headers_mut().insert(header::RETRY_AFTER, v);
    }
    resp
}

/// What a failed form login says: the same for an unknown user, a wrong
/// password, a disabled or a locked account (which accounts exist stays
/// secret), naming the lockout so a locked-out user knows to wait.
pub(super) const FAILED_TEXT: &str = "Invalid username or password. After several failed attempts \
an account is locked for a while: if you are sure of your password, wait a few minutes and try again.";
/// What a form login says when the hashing pool or the store is saturated or down.
pub(super) const UNAVAILABLE_TEXT: &str =
    "Signing in is temporarily unavailable. Please try again in a few seconds.";
/// `Retry-After` of a 503.
pub(super) const UNAVAILABLE_RETRY_SECS: u64 = 2;

/// The 503 of a browser's form post or page: what could not be done, in
/// plain words, with `Retry-After` and a link to try again.
pub fn unavailable_page(what: &str, again: &str) -> Response<Body> {
    let body = format!(
        "<h1>Temporarily unavailable</h1><p>{} Please try again in a few seconds.</p>\
<p><a href=\"{}\">Try again</a></p>",
        pages::escape(what),
        pages::escape(again)
    );
    let page = pages::page(
        StatusCode::SERVICE_UNAVAILABLE,
        "Temporarily unavailable",
        &body,
    );
    with_retry_after(page, UNAVAILABLE_RETRY_SECS)
}

/// 503 with `Retry-After`: the hashing pool or the store is saturated or down.
pub fn unavailable() -> Response<Body> {
    let resp = json_error(
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        "temporarily unavailable; retry shortly",
    );
    with_retry_after(resp, UNAVAILABLE_RETRY_SECS)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Waits read as people say them.
    #[test]
    fn waits_in_words() {
        assert_eq!(wait_words(1), "a few seconds");
        assert_eq!(wait_words(42), "42 seconds");
        assert_eq!(wait_words(60), "about a minute");
        assert_eq!(wait_words(121), "about 3 minutes");
    }
}
