//! `GET /auth/sessions` (the caller's sessions) and
//! `DELETE /auth/sessions/{id}` (revoke one of them).

use http::{HeaderMap, Response, StatusCode, header};

use super::login::unavailable;
use super::logout::identify;
use super::service::AuthService;
use crate::body::{self, Body};
use crate::gateway::respond::{json, json_error};

/// Lists the caller's live sessions.
pub async fn list(svc: &AuthService, headers: &HeaderMap) -> Response<Body> {
    let (id, cookies) = match identify(svc, headers).await {
        Ok(pair) => pair,
        Err(resp) => return resp,
    };
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
    let mut resp = json(StatusCode::OK, &serde_json::json!({ "sessions": items }));
    for c in cookies {
        resp.headers_mut().append(header::SET_COOKIE, c);
    }
    resp
}

/// Revokes one of the caller's sessions; another user's id is 404.
pub async fn revoke(svc: &AuthService, headers: &HeaderMap, sid: &str) -> Response<Body> {
    let (id, _) = match identify(svc, headers).await {
        Ok(pair) => pair,
        Err(resp) => return resp,
    };
    let owned = match svc.sessions().get(sid).await {
        Ok(found) => found.is_some_and(|s| s.user == id.user && !s.revoked),
        Err(_) => return unavailable(),
    };
    if !owned {
        return json_error(StatusCode::NOT_FOUND, "not_found", "no such session");
    }
    if svc.sessions().revoke(sid).await.is_err() {
        return unavailable();
    }
    tracing::info!(event = "auth.session.revoked", user = %id.user, sid, by = %id.session, "session revoked by its user");
    let mut resp = Response::new(body::empty());
    *resp.status_mut() = StatusCode::NO_CONTENT;
    resp
}
