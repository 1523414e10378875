//! Per-request verification on `authenticated` routes: find the token,
//! verify it strictly, check the fingerprint cookie, and look the user up.

use std::time::Instant;

use http::{HeaderMap, header};

use super::cookie_names;
use super::identity::Identity;
use super::jwt::{self, JwtError};
use super::service::AuthService;
use crate::headers::cookies;

/// Why a request was not authenticated. Every variant answers the same 401;
/// the variant goes to logs and metrics.
#[derive(Debug, thiserror::Error)]
pub enum AuthFailure {
    /// No token was presented.
    #[error("no access token")]
    NoToken,
    /// More than one token, or a malformed `Authorization` header.
    #[error("ambiguous or malformed credentials")]
    Ambiguous,
    /// The token failed verification.
    #[error("token refused: {0}")]
    Token(#[from] JwtError),
    /// The fingerprint cookie is missing, duplicated or does not match.
    #[error("fingerprint mismatch")]
    Fingerprint,
    /// The session was revoked (logout, eviction, token reuse).
    #[error("session revoked")]
    Revoked,
    /// The user no longer exists or is disabled.
    #[error("user no longer allowed")]
    UserGone,
}

impl AuthFailure {
    /// True when the client presented some token (so `error="invalid_token"`).
    pub fn presented_token(&self) -> bool {
        !matches!(self, AuthFailure::NoToken)
    }
}

impl AuthService {
    /// Verifies the request's credentials and returns who it is.
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<Identity, AuthFailure> {
        let token = self.find_token(headers)?;
        let started = Instant::now();
        let verified = self.verify_jwt(&token).await;
        self.metrics.jwt_verify(started.elapsed());
        let claims = verified?;
        if self.sessions.is_revoked(&claims.sid) {
            return Err(AuthFailure::Revoked);
        }
        let raw_fp = cookies::get_unique(headers, cookie_names::FINGERPRINT)
            .map_err(|_| AuthFailure::Fingerprint)?
            .ok_or(AuthFailure::Fingerprint)?;
        let fpt = claims.fpt.as_deref().ok_or(AuthFailure::Fingerprint)?;
        if !super::fingerprint::matches(raw_fp, fpt) {
            return Err(AuthFailure::Fingerprint);
        }
        let users = self.users();
        let user = users
            .get(&claims.sub)
            .filter(|u| !u.disabled())
            .ok_or(AuthFailure::UserGone)?;
        Ok(Identity {
            email: user.email().map(str::to_string),
            user: claims.sub,
            roles: claims.roles,
            session: claims.sid,
            token: Some(token),
        })
    }

    /// Parses the token, finds its key (our ring, else another instance's
    /// published key) and checks signature and claims.
    async fn verify_jwt(&self, token: &str) -> Result<jwt::Claims, JwtError> {
        let unverified = jwt::parse(token, self.cfg.max_token_bytes)?;
        let kid = unverified.kid();
        let key = match (self.ring().get(kid), &self.shared) {
            (Some(key), _) => key,
            (None, Some(shared)) => shared.find(kid).await.ok_or(JwtError::UnknownKid)?,
            (None, None) => return Err(JwtError::UnknownKid),
        };
        unverified.verify(&key, &self.validation, self.clock.unix())
    }

    /// The token from `Authorization: Bearer`, or (browser mode) the access
    /// cookie. Both at once, or either twice, is refused.
    fn find_token(&self, headers: &HeaderMap) -> Result<String, AuthFailure> {
        let mut auth = headers.get_all(header::AUTHORIZATION).iter();
        let bearer = match (auth.next(), auth.next()) {
            (None, _) => None,
            (Some(v), None) => Some(bearer_token(v.as_bytes()).ok_or(AuthFailure::Ambiguous)?),
            (Some(_), Some(_)) => return Err(AuthFailure::Ambiguous),
        };
        let cookie = if self.cfg.browser_mode {
            cookies::get_unique(headers, cookie_names::ACCESS)
                .map_err(|_| AuthFailure::Ambiguous)?
        } else {
            None
        };
        match (bearer, cookie) {
            (Some(t), None) => Ok(t),
            (None, Some(c)) => Ok(c.to_string()),
            (Some(t), Some(c)) if t == c => Ok(t),
            (Some(_), Some(_)) => Err(AuthFailure::Ambiguous),
            (None, None) => Err(AuthFailure::NoToken),
        }
    }
}

/// The token of `Bearer <token>` (scheme case-insensitive, one space).
fn bearer_token(v: &[u8]) -> Option<String> {
    let s = std::str::from_utf8(v).ok()?;
    let (scheme, token) = s.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() || token.contains(' ') {
        return None;
    }
    Some(token.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only a well-formed `Bearer` value yields a token.
    #[test]
    fn bearer_parsing() {
        assert_eq!(bearer_token(b"Bearer abc").as_deref(), Some("abc"));
        assert_eq!(bearer_token(b"bearer abc").as_deref(), Some("abc"));
        for bad in [
            &b"Basic abc"[..],
            b"Bearer",
            b"Bearer ",
            b"Bearer a b",
            b"Bearerabc",
            b"\xff",
        ] {
            assert_eq!(bearer_token(bad), None);
        }
    }
}
