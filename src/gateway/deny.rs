//! Refusals on protected routes: 401 for API clients (with
//! `WWW-Authenticate`), a redirect to the login page for browsers, 403 for
//! a missing role. Every authentication failure looks the same from outside.

use http::{HeaderValue, Method, Request, Response, StatusCode, header};

use super::respond::json_error;
use crate::auth::{AuthFailure, Identity, return_to};
use crate::body::{self, Body};

/// The answer to a request that failed authentication.
pub fn unauthenticated<B>(
    failure: &AuthFailure,
    req: &Request<B>,
    path_and_query: &str,
) -> Response<Body> {
    log(failure);
    if wants_html(req) {
        return to_login(path_and_query);
    }
    challenge(failure)
}

/// The 401 for API clients: a JSON error and a Bearer challenge, with
/// `error="invalid_token"` when a token was presented.
pub fn challenge(failure: &AuthFailure) -> Response<Body> {
    let mut resp = json_error(
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "authentication required",
    );
    let challenge = if failure.presented_token() {
        "Bearer realm=\"portcullis\", error=\"invalid_token\""
    } else {
        "Bearer realm=\"portcullis\""
    };
    resp.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static(challenge),
    );
    resp
}

/// 403 for an authenticated user without a required role.
pub fn forbidden(id: &Identity, route: &str) -> Response<Body> {
    tracing::info!(event = "auth.access.denied", user = %crate::telemetry::Masked(&id.user), sid = %id.session, route, "missing required role");
    json_error(
        StatusCode::FORBIDDEN,
        "forbidden",
        "you do not have access to this resource",
    )
}

/// Logs why a request was not authenticated (never the token itself).
pub fn log(failure: &AuthFailure) {
    match failure {
        AuthFailure::NoToken => tracing::debug!(reason = %failure, "unauthenticated request"),
        AuthFailure::Fingerprint => tracing::warn!(
            event = "auth.security.fingerprint_mismatch",
            "token presented without its fingerprint cookie"
        ),
        _ => {
            tracing::info!(event = "auth.token.verify.failure", reason = %failure, "access token refused")
        }
    }
}

/// Browsers navigating with GET/HEAD and `Accept: text/html` are sent to
/// the login page.
fn wants_html<B>(req: &Request<B>) -> bool {
    is_navigation(req.method(), req.headers())
}

/// Whether a request with this method and these headers is a browser
/// navigation (GET/HEAD accepting `text/html`); forward-auth asks it of the
/// forwarded method.
pub fn is_navigation(method: &Method, headers: &http::HeaderMap) -> bool {
    matches!(*method, Method::GET | Method::HEAD)
        && headers
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.contains("text/html"))
}

/// A relative redirect to the login page that returns here afterwards.
fn to_login(path_and_query: &str) -> Response<Body> {
    Response::builder()
        .status(StatusCode::SEE_OTHER)
        .header(header::LOCATION, login_path(path_and_query))
        .body(body::empty())
        .unwrap_or_else(|_| Response::new(body::empty()))
}

/// The login page's path with a safe `return_to` (`/` when
/// `path_and_query` is not a same-origin path).
pub fn login_path(path_and_query: &str) -> String {
    let ret = return_to::sanitize(Some(path_and_query));
    let enc: String = form_urlencoded::byte_serialize(ret.as_bytes()).collect();
    format!("/auth/login?return_to={enc}")
}

/// A top-level navigation from another site: `SameSite=Strict` cookies were
/// not sent, so a signed-in user would look signed out. Only when no cookie
/// of ours came along (a stale one means a real failure).
pub fn is_cross_site_navigation<B>(req: &Request<B>) -> bool {
    let h = req.headers();
    wants_html(req)
        && h.get("sec-fetch-site")
            .is_some_and(|v| v.as_bytes() == b"cross-site")
        && crate::auth::cookie_names::ALL
            .iter()
            .all(|name| matches!(crate::headers::cookies::get_unique(h, name), Ok(None)))
}

/// A page that reloads the same URL from our own origin, so the browser
/// sends its `SameSite=Strict` cookies on the second, same-site navigation.
pub fn reload_same_site(here: &str) -> Response<Body> {
    let target = crate::auth::pages::escape(&return_to::sanitize(Some(here)));
    crate::auth::pages::page(
        StatusCode::OK,
        "Continuing",
        &format!(
            "<meta http-equiv=\"refresh\" content=\"0;url={target}\"><p><a href=\"{target}\">Continue</a></p>"
        ),
    )
}
