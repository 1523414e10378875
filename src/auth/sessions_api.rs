//! `GET /auth/sessions` (the caller's sessions) and
//! `DELETE /auth/sessions/{id}` (revoke one of them).
//!
//! When the caller was identified by an inline refresh (browser mode, an
//! expired access cookie), its refresh token has been rotated: every answer
//! then carries the new cookies, or the browser would replay the used token
//! and be taken for a thief once the grace window has passed.

use http::{HeaderMap, HeaderValue, Response, StatusCode, header};

use super::identity::Identity;
use super::login::unavailable;
use super::logout::identify;
use super::service::AuthService;
use crate::body::{self, Body};
use crate::gateway::respond::{json, json_error};
use crate::session::StoreError;

/// Lists the caller's live sessions.
pub async fn list(svc: &AuthService, headers: &HeaderMap) -> Response<Body> {
    match identify(svc, headers).await {
        Ok((id, cookies)) => with_cookies(list_for(svc, &id).await, cookies),
        Err(resp) => resp,
    }
}

/// Revokes one of the caller's sessions; another user's id is 404.
pub async fn revoke(svc: &AuthService, headers: &HeaderMap, sid: &str) -> Response<Body> {
    match identify(svc, headers).await {
        Ok((id, cookies)) => with_cookies(revoke_for(svc, &id, sid).await, cookies),
        Err(resp) => resp,
    }
}

async fn list_for(svc: &AuthService, id: &Identity) -> Response<Body> {
    let Ok(sessions) = svc.sessions().list(&id.user).await else {
        return unavailable();
    };
    let items: Vec<_> = sessions
        .iter()
        .map(|s| {
            serde_json::json!({
                "id": s.id, "user_agent": s.user_agent, "ip": s.ip, "created": s.created,
                "last_used": s.last_used, "expires_at": s.expires_at, "current": s.id == id.session,
            })
        })
        .collect();
    json(StatusCode::OK, &serde_json::json!({ "sessions": items }))
}

async fn revoke_for(svc: &AuthService, id: &Identity, sid: &str) -> Response<Body> {
    match revoke_own(svc, id, sid).await {
        Ok(true) => {
            let mut resp = Response::new(body::empty());
            *resp.status_mut() = StatusCode::NO_CONTENT;
            resp
        }
        Ok(false) => json_error(StatusCode::NOT_FOUND, "not_found", "no such session"),
        Err(_) => unavailable(),
    }
}

/// Revokes `sid` if it is one of the caller's live sessions (logged as
/// `auth.session.revoked`); `Ok(false)` when it is not (another user's
/// session looks the same as none).
pub async fn revoke_own(svc: &AuthService, id: &Identity, sid: &str) -> Result<bool, StoreError> {
    let owned = svc
        .sessions()
        .get(sid)
        .await?
        .is_some_and(|s| s.user == id.user && !s.revoked);
    if !owned {
        return Ok(false);
    }
    svc.sessions().revoke(sid).await?;
    tracing::info!(event = "auth.session.revoked", user = %crate::telemetry::Masked(&id.user), sid, by = %id.session, "session revoked by its user");
    Ok(true)
}

/// `resp` with the `Set-Cookie`s of an inline refresh appended.
pub fn with_cookies(mut resp: Response<Body>, cookies: Vec<HeaderValue>) -> Response<Body> {
    for c in cookies {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    resp
}
