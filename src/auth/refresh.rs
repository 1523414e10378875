//! `POST /auth/refresh`, and the same rotation done inline for browsers
//! whose access cookie has expired while their session lives.

use http::{HeaderMap, HeaderValue, Response, StatusCode};

use super::cookie_names;
use super::identity::Identity;
use super::login::unavailable;
use super::service::{AuthService, Issued};
use super::verify::AuthFailure;
use crate::body::Body;
use crate::gateway::respond::{json, json_error};
use crate::headers::cookies;
use crate::session::Session;
use crate::session::manager::Refreshed;
use crate::session::refresh_token::RefreshToken;
use crate::telemetry::metrics::RefreshStatus;

/// Why a refresh failed.
#[derive(Debug, thiserror::Error)]
pub enum RefreshFailure {
    /// No refresh cookie, a duplicated one, or a malformed one.
    #[error("no usable refresh token")]
    Missing,
    /// Unknown, expired or revoked session.
    #[error("refresh token invalid")]
    Invalid,
    /// A used token was replayed after the grace window: the session is revoked.
    #[error("refresh token reused")]
    Reused,
    /// The store is unavailable.
    #[error("session store unavailable")]
    StoreDown,
}

impl RefreshFailure {
    /// The `auth_token_refreshes_total` label of this failure.
    pub fn status(&self) -> RefreshStatus {
        match self {
            RefreshFailure::Missing | RefreshFailure::Invalid => RefreshStatus::Invalid,
            RefreshFailure::Reused => RefreshStatus::Reused,
            RefreshFailure::StoreDown => RefreshStatus::Unavailable,
        }
    }
}

/// A successful rotation: the new access token, refresh token and session.
#[derive(Debug)]
pub struct Rotated {
    /// The new access token and fingerprint.
    pub issued: Issued,
    /// The successor refresh token.
    pub refresh: RefreshToken,
    /// The session.
    pub session: Session,
    /// Email and roles, from the users file.
    pub identity: Identity,
}

impl AuthService {
    /// The refresh cookie, if present exactly once and well formed.
    pub fn refresh_cookie(&self, headers: &HeaderMap) -> Result<RefreshToken, RefreshFailure> {
        let (name, _) = cookie_names::refresh_cookie(self.cfg.browser_mode);
        let value = cookies::get_unique(headers, name)
            .map_err(|_| RefreshFailure::Missing)?
            .ok_or(RefreshFailure::Missing)?;
        RefreshToken::parse(value).ok_or(RefreshFailure::Missing)
    }

    /// Rotates the refresh token and signs a new access token; counts the
    /// outcome in `auth_token_refreshes_total`.
    pub async fn rotate(&self, token: &RefreshToken) -> Result<Rotated, RefreshFailure> {
        let result = self.rotate_uncounted(token).await;
        self.metrics.refresh(match &result {
            Ok(_) => RefreshStatus::Success,
            Err(e) => e.status(),
        });
        result
    }

    /// [`AuthService::rotate`] without the metric.
    async fn rotate_uncounted(&self, token: &RefreshToken) -> Result<Rotated, RefreshFailure> {
        let outcome = self.sessions.refresh(token).await.map_err(|e| {
            tracing::warn!(error = %e, "refresh: session store unavailable");
            RefreshFailure::StoreDown
        })?;
        let (session, refresh) = match outcome {
            Refreshed::Ok(s, r) => (s, r),
            Refreshed::Reused(s) => {
                tracing::error!(event = "auth.token.reuse", user = %crate::telemetry::Masked(&s.user), sid = %s.id, "refresh token replayed after the grace window; session revoked");
                return Err(RefreshFailure::Reused);
            }
            Refreshed::Invalid => {
                tracing::info!(
                    event = "auth.token.refresh.failure",
                    "unknown, expired or revoked refresh token"
                );
                return Err(RefreshFailure::Invalid);
            }
        };
        let users = self.users();
        let Some(user) = users.get(&session.user).filter(|u| !u.disabled()) else {
            let _ = self.sessions.revoke(&session.id).await;
            return Err(RefreshFailure::Invalid);
        };
        let issued = self
            .issue(&session.user, user.roles(), &session.id)
            .map_err(|_| RefreshFailure::StoreDown)?;
        tracing::info!(event = "auth.token.refresh", user = %crate::telemetry::Masked(&session.user), sid = %session.id, "session refreshed");
        let identity = Identity {
            user: session.user.clone(),
            email: user.email().map(str::to_string),
            roles: user.roles().to_vec(),
            session: session.id.clone(),
            token: Some(issued.access_token.clone()),
        };
        Ok(Rotated {
            issued,
            refresh,
            session,
            identity,
        })
    }

    /// The `Set-Cookie` values of a rotation.
    pub fn rotation_cookies(&self, r: &Rotated) -> Vec<HeaderValue> {
        let mut h = HeaderMap::new();
        let remaining = r.session.expires_at.saturating_sub(self.clock.unix());
        cookie_names::append(
            &mut h,
            &r.issued
                .cookies(Some((r.refresh.expose(), remaining)), self.cfg.browser_mode),
        );
        h.get_all(http::header::SET_COOKIE)
            .iter()
            .cloned()
            .collect()
    }

    /// Browser mode: when the access token is missing or expired but a
    /// refresh cookie is present, rotate it and go on with the request.
    /// [`RefreshFailure::StoreDown`] means "try again" (503, cookies kept);
    /// any other error means the request is not authenticated.
    pub async fn inline_refresh(
        &self,
        headers: &HeaderMap,
        failure: &AuthFailure,
    ) -> Result<(Identity, Vec<HeaderValue>), RefreshFailure> {
        let refreshable = matches!(
            failure,
            AuthFailure::NoToken | AuthFailure::Token(super::jwt::JwtError::Expired)
        );
        if !self.cfg.browser_mode || !refreshable {
            return Err(RefreshFailure::Missing);
        }
        let token = self.refresh_cookie(headers)?;
        let rotated = self.rotate(&token).await?;
        let cookies = self.rotation_cookies(&rotated);
        Ok((rotated.identity, cookies))
    }
}

/// Handles `POST /auth/refresh`.
pub async fn post(svc: &AuthService, headers: &HeaderMap) -> Response<Body> {
    let result = match svc.refresh_cookie(headers) {
        Ok(token) => svc.rotate(&token).await,
        Err(e) => {
            svc.metrics().refresh(e.status());
            Err(e)
        }
    };
    match result {
        Ok(rotated) => {
            let mut resp = json(
                StatusCode::OK,
                &serde_json::json!({
                    "access_token": rotated.issued.access_token,
                    "token_type": "Bearer",
                    "expires_in": rotated.issued.expires_in,
                }),
            );
            for c in svc.rotation_cookies(&rotated) {
                resp.headers_mut().append(http::header::SET_COOKIE, c);
            }
            resp
        }
        Err(RefreshFailure::StoreDown) => unavailable(),
        Err(_) => {
            let mut resp = json_error(
                StatusCode::UNAUTHORIZED,
                "invalid_grant",
                "the session has ended; sign in again",
            );
            cookie_names::clear(resp.headers_mut(), svc.settings().browser_mode);
            resp
        }
    }
}
