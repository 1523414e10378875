//! Per-request verification on `authenticated` routes: find the token,
//! verify it strictly, check the fingerprint cookie, and look the user up.

use std::sync::Arc;
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
    /// Verifies the request's credentials and returns who it is. The token
    /// may come from the verified-token cache; the revocation set, the
    /// fingerprint and the user are checked on every request regardless.
    pub async fn authenticate(&self, headers: &HeaderMap) -> Result<Identity, AuthFailure> {
        let token = self.find_token(headers)?;
        let claims = self.verified_claims(&token).await?;
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
            user: claims.sub.clone(),
            roles: claims.roles.clone(),
            session: claims.sid.clone(),
            token: Some(token),
        })
    }

    /// The token's claims: from the cache when these exact bytes were
    /// verified before, have not expired and their key is still trusted,
    /// else by full verification (whose result is then cached).
    async fn verified_claims(&self, token: &str) -> Result<Arc<jwt::Claims>, JwtError> {
        let now = self.clock.unix();
        // The size cap comes before hashing, as it comes before parsing.
        let cache = self
            .verified
            .as_ref()
            .filter(|_| token.len() <= self.cfg.max_token_bytes);
        if let Some(hit) = cache.and_then(|c| c.get(token, now, |kid| self.trusts_kid(kid))) {
            return Ok(hit);
        }
        let started = Instant::now();
        let verified = self.verify_jwt(token, now).await;
        self.metrics.jwt_verify(started.elapsed());
        let (kid, claims) = verified?;
        let claims = Arc::new(claims);
        if let Some(cache) = cache {
            cache.insert(token, &kid, claims.clone(), now);
        }
        Ok(claims)
    }

    /// Whether a cached token's key is still one we verify with: in our
    /// ring, or a peer's key still held by the shared-key cache.
    fn trusts_kid(&self, kid: &str) -> bool {
        self.ring().get(kid).is_some() || self.shared.as_ref().is_some_and(|s| s.holds(kid))
    }

    /// Parses the token, finds its key (our ring, else another instance's
    /// published key) and checks signature and claims; returns the key's
    /// `kid` with the claims.
    async fn verify_jwt(&self, token: &str, now: u64) -> Result<(String, jwt::Claims), JwtError> {
        let unverified = jwt::parse(token, self.cfg.max_token_bytes)?;
        let kid = unverified.kid();
        let key = match (self.ring().get(kid), &self.shared) {
            (Some(key), _) => key,
            (None, Some(shared)) => Box::pin(shared.find(kid))
                .await
                .ok_or(JwtError::UnknownKid)?,
            (None, None) => return Err(JwtError::UnknownKid),
        };
        let claims = unverified.verify(&key, &self.validation, now)?;
        Ok((key.kid().to_string(), claims))
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

#[cfg(test)]
mod cache_tests {
    use std::sync::Arc;
    use std::time::Duration;

    use http::{HeaderMap, HeaderValue, header};

    use super::AuthFailure;
    use crate::auth::b64;
    use crate::auth::jwt::JwtError;
    use crate::auth::keys::{KeyDir, test_key, test_keys};
    use crate::auth::service::{AuthService, Issued};
    use crate::auth::{cookie_names, password, users};
    use crate::clock::{Clock, ManualClock};
    use crate::config::raw::{RawConfig, RawRoute};
    use crate::telemetry::metrics::Metrics;

    const NOW: u64 = 1_700_000_000;

    /// A service with the test key, user `alice`, an embedded store and a
    /// manual clock; `cache` entries (0 turns the cache off).
    async fn service(dir: &std::path::Path, cache: u64) -> (AuthService, Arc<ManualClock>) {
        let mut raw = RawConfig::default();
        raw.server.data_dir = dir.display().to_string();
        raw.auth.verified_cache_entries = cache;
        raw.routes = vec![RawRoute {
            prefix: "/".into(),
            upstream: Some("http://127.0.0.1:3000".into()),
            ..RawRoute::default()
        }];
        let config = crate::config::from_raw(raw, dir).unwrap();
        let hash = password::hash_password("correct horse battery").unwrap();
        let alice = users::User::new("alice", None, vec!["user".into()], hash).unwrap();
        users::add_user(&config.auth.users_file, &alice).unwrap();
        KeyDir::open(&config.auth.key_dir)
            .unwrap()
            .install(test_key(), NOW)
            .unwrap();
        let clock = Arc::new(ManualClock::at_unix(NOW));
        let metrics = Arc::new(Metrics::new(["/"], clock.clone()));
        let svc = AuthService::new(&config, clock.clone(), metrics)
            .await
            .unwrap();
        (svc, clock)
    }

    fn headers(token: &str, fingerprint: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        let bearer = HeaderValue::from_str(&format!("Bearer {token}")).unwrap();
        h.insert(header::AUTHORIZATION, bearer);
        let cookie = format!("{}={fingerprint}", cookie_names::FINGERPRINT);
        h.insert(header::COOKIE, HeaderValue::from_str(&cookie).unwrap());
        h
    }

    fn issue(svc: &AuthService, sid: &str) -> Issued {
        svc.issue("alice", &["user".to_string()], sid).unwrap()
    }

    fn cached(svc: &AuthService) -> u64 {
        svc.verified.as_ref().map_or(0, |c| c.len())
    }

    /// A second request with the same token is served from the cache and
    /// yields the same identity as the verified first one.
    #[tokio::test]
    async fn hit_returns_same_identity() {
        let dir = tempfile::tempdir().unwrap();
        let (svc, _) = service(dir.path(), 100).await;
        let t = issue(&svc, "sid-1");
        let first = svc
            .authenticate(&headers(&t.access_token, &t.fingerprint))
            .await;
        let first = first.unwrap();
        assert_eq!(cached(&svc), 1);
        let second = svc
            .authenticate(&headers(&t.access_token, &t.fingerprint))
            .await;
        let second = second.unwrap();
        assert_eq!(format!("{first:?}"), format!("{second:?}"));
        assert_eq!(second.user, "alice");
        assert_eq!(second.session, "sid-1");
    }

    /// Past `exp` (and the leeway) a cached token is refused as expired.
    #[tokio::test]
    async fn expired_token_never_served_from_cache() {
        let dir = tempfile::tempdir().unwrap();
        let (svc, clock) = service(dir.path(), 100).await;
        let t = issue(&svc, "sid-1");
        let h = headers(&t.access_token, &t.fingerprint);
        svc.authenticate(&h).await.unwrap();
        assert_eq!(cached(&svc), 1);
        clock.advance(Duration::from_secs(t.expires_in + 31));
        assert!(clock.unix() > NOW + t.expires_in);
        let err = svc.authenticate(&h).await.unwrap_err();
        assert!(
            matches!(err, AuthFailure::Token(JwtError::Expired)),
            "{err:?}"
        );
    }

    /// Revoking the session refuses the token at once, cached or not.
    #[tokio::test]
    async fn revoked_session_refused_even_when_cached() {
        let dir = tempfile::tempdir().unwrap();
        let (svc, _) = service(dir.path(), 100).await;
        let t = issue(&svc, "sid-1");
        let h = headers(&t.access_token, &t.fingerprint);
        svc.authenticate(&h).await.unwrap();
        assert_eq!(cached(&svc), 1);
        svc.sessions().mark_revoked(&["sid-1".to_string()]);
        assert!(matches!(
            svc.authenticate(&h).await,
            Err(AuthFailure::Revoked)
        ));
    }

    /// A cached token with another token's fingerprint cookie is refused.
    #[tokio::test]
    async fn wrong_fingerprint_refused_even_when_cached() {
        let dir = tempfile::tempdir().unwrap();
        let (svc, _) = service(dir.path(), 100).await;
        let t = issue(&svc, "sid-1");
        let other = issue(&svc, "sid-2");
        svc.authenticate(&headers(&t.access_token, &t.fingerprint))
            .await
            .unwrap();
        assert_eq!(cached(&svc), 1);
        let stolen = headers(&t.access_token, &other.fingerprint);
        assert!(matches!(
            svc.authenticate(&stolen).await,
            Err(AuthFailure::Fingerprint)
        ));
        let mut bare = headers(&t.access_token, "x");
        bare.remove(header::COOKIE);
        assert!(matches!(
            svc.authenticate(&bare).await,
            Err(AuthFailure::Fingerprint)
        ));
    }

    /// A forged token that shares nothing with a cached one misses and gets
    /// the full verification, which refuses it; so does a token differing
    /// from a cached one only in its signature.
    #[tokio::test]
    async fn forged_token_misses() {
        let dir = tempfile::tempdir().unwrap();
        let (svc, _) = service(dir.path(), 100).await;
        let t = issue(&svc, "sid-1");
        svc.authenticate(&headers(&t.access_token, &t.fingerprint))
            .await
            .unwrap();
        // Our kid and claims that would pass, signed with another key.
        let mut claims = svc.verify_jwt(&t.access_token, NOW).await.unwrap().1;
        claims.jti = "forged".into();
        let header = format!(
            r#"{{"alg":"RS256","typ":"JWT","kid":"{}"}}"#,
            test_key().kid()
        );
        let input = format!(
            "{}.{}",
            b64::encode(header),
            b64::encode(serde_json::to_vec(&claims).unwrap())
        );
        let sig = test_keys()[1].sign(input.as_bytes()).unwrap();
        let forged = format!("{input}.{}", b64::encode(sig));
        let err = svc
            .authenticate(&headers(&forged, &t.fingerprint))
            .await
            .unwrap_err();
        assert!(
            matches!(err, AuthFailure::Token(JwtError::BadSignature)),
            "{err:?}"
        );
        let mut tampered = t.access_token.clone();
        let last = tampered.pop().unwrap();
        tampered.push(if last == 'A' { 'B' } else { 'A' });
        let err = svc
            .authenticate(&headers(&tampered, &t.fingerprint))
            .await
            .unwrap_err();
        assert!(matches!(err, AuthFailure::Token(_)), "{err:?}");
        assert_eq!(cached(&svc), 1);
    }

    /// With the cache off every request is verified and nothing is kept.
    #[tokio::test]
    async fn cache_off() {
        let dir = tempfile::tempdir().unwrap();
        let (svc, _) = service(dir.path(), 0).await;
        let t = issue(&svc, "sid-1");
        let h = headers(&t.access_token, &t.fingerprint);
        svc.authenticate(&h).await.unwrap();
        svc.authenticate(&h).await.unwrap();
        assert!(svc.verified.is_none());
    }
}
