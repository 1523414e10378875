//! `POST /auth/logout` (this session), `POST /auth/logout-all` (every
//! session of the user) and `GET /auth/logout` (a confirmation page, so a
//! cross-site image cannot sign anyone out).

use http::{HeaderMap, HeaderValue, Response, StatusCode, header};

use super::cookie_names;
use super::identity::Identity;
use super::login::unavailable;
use super::refresh::RefreshFailure;
use super::service::AuthService;
use crate::body::{self, Body};
use crate::gateway::respond::{json, json_error};

/// Who is asking: a valid access token, or (browser mode) a refresh that
/// succeeds. `Err` is the response to send.
pub async fn identify(
    svc: &AuthService,
    headers: &HeaderMap,
) -> Result<(Identity, Vec<HeaderValue>), Response<Body>> {
    match svc.authenticate(headers).await {
        Ok(id) => Ok((id, Vec::new())),
        Err(failure) => match svc.inline_refresh(headers, &failure).await {
            Ok(pair) => Ok(pair),
            Err(RefreshFailure::StoreDown) => Err(unavailable()),
            Err(_) => Err(json_error(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "authentication required",
            )),
        },
    }
}

/// Handles the logout endpoints.
pub async fn post(svc: &AuthService, headers: &HeaderMap, all: bool) -> Response<Body> {
    let id = match identify(svc, headers).await {
        Ok((id, _)) => id,
        Err(mut resp) => {
            if resp.status() == StatusCode::SERVICE_UNAVAILABLE {
                return unavailable_for(headers);
            }
            if resp.status() == StatusCode::UNAUTHORIZED {
                // Already signed out: a browser lands where a sign-out would.
                if wants_html(headers) {
                    resp = see_other(SIGNED_OUT);
                }
                cookie_names::clear(resp.headers_mut(), svc.settings().browser_mode);
            }
            return resp;
        }
    };
    let result = if all {
        svc.sessions()
            .revoke_all(&id.user)
            .await
            .map(|ids| ids.len())
    } else {
        svc.sessions().revoke(&id.session).await.map(usize::from)
    };
    let Ok(revoked) = result else {
        return unavailable_for(headers);
    };
    let event = if all {
        "auth.logout.all"
    } else {
        "auth.logout"
    };
    tracing::info!(event, user = %crate::telemetry::Masked(&id.user), sid = %id.session, revoked, "signed out");
    let mut resp = if wants_html(headers) {
        see_other(SIGNED_OUT)
    } else {
        json(StatusCode::OK, &serde_json::json!({ "revoked": revoked }))
    };
    cookie_names::clear(resp.headers_mut(), svc.settings().browser_mode);
    resp
}

/// The store is down: JSON for API clients, a page for browsers.
fn unavailable_for(headers: &HeaderMap) -> Response<Body> {
    if wants_html(headers) {
        return super::refusals::unavailable_page(
            "Signing out is not possible right now.",
            "/auth/logout",
        );
    }
    unavailable()
}

/// Where a browser lands after signing out: the login page, saying so.
const SIGNED_OUT: &str = "/auth/login?signed_out=1";

fn wants_html(h: &HeaderMap) -> bool {
    h.get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"))
}

fn see_other(location: &'static str) -> Response<Body> {
    let mut resp = Response::new(body::empty());
    *resp.status_mut() = StatusCode::SEE_OTHER;
    resp.headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static(location));
    resp
}

/// The page behind the documented sign-out link: signing out takes a
/// click on a form (POST), never a mere GET.
pub fn confirm_page() -> Response<Body> {
    super::pages::page(
        StatusCode::OK,
        "Sign out",
        "<h1>Sign out?</h1>\
<p>You will need your password to sign in again on this device.</p>\
<div class=\"actions\"><form method=\"post\" action=\"/auth/logout\">\
<button type=\"submit\" id=\"sign-out\">Sign out</button></form>\
<a href=\"/\">Cancel</a></div><hr>\
<p class=\"muted\">Signed in elsewhere too? <a href=\"/auth/account\">Your sessions</a> \
lists every device, or sign out of all of them at once.</p>\
<form method=\"post\" action=\"/auth/logout-all\">\
<button class=\"secondary\" type=\"submit\" id=\"sign-out-everywhere\">Sign out everywhere</button></form>",
    )
}
