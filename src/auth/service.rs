//! The authentication service: signing keys, users, the hashing pool and
//! the clock, shared by the login endpoint and the per-request verifier.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use tokio::sync::watch;

use super::keys::shared::SharedKeys;
use super::keys::{KeyDir, KeyError, KeyRing};
use super::lockout::Lockout;
use super::password::{HashPool, Password, PoolError};
use super::users::{Users, UsersError};
use super::{fingerprint, jwt};
use crate::clock::SharedClock;
use crate::config::{AuthConfig, Config};
use crate::ratelimit::RateLimiter;
use crate::session::StoreError;
use crate::session::manager::Sessions;
use crate::telemetry::metrics::Metrics;

/// Why the service could not start.
#[derive(Debug, thiserror::Error)]
pub enum AuthInitError {
    /// Signing keys could not be loaded or created.
    #[error("signing keys: {0}")]
    Keys(#[from] KeyError),
    /// The users file is missing or invalid.
    #[error("users file: {0}")]
    Users(#[from] UsersError),
    /// The users file is missing while routes need authentication.
    #[error(
        "users file {0} does not exist; create it (see `portcullis hash-password` and the README)"
    )]
    NoUsersFile(PathBuf),
    /// The hashing pool could not start.
    #[error("password hashing pool: {0}")]
    Pool(#[from] PoolError),
    /// The session store could not be opened.
    #[error("{0}")]
    Store(#[from] StoreError),
}

/// Why a login failed. The HTTP answer is the same for the first three.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    /// No such user.
    #[error("unknown user")]
    UnknownUser,
    /// Wrong password.
    #[error("wrong password")]
    WrongPassword,
    /// The account is disabled.
    #[error("account disabled")]
    Disabled,
    /// The account is locked after repeated failures (answered like a
    /// wrong password).
    #[error("account locked")]
    Locked,
    /// Too many logins waiting for the hashing pool.
    #[error("login queue full")]
    Busy,
    /// The session store is unavailable.
    #[error("session store unavailable")]
    StoreDown,
    /// Signing or hashing failed.
    #[error("internal: {0}")]
    Internal(String),
}

/// What a successful login or refresh hands out.
#[derive(Debug)]
pub struct Issued {
    /// The signed access token.
    pub access_token: String,
    /// The raw fingerprint cookie value.
    pub fingerprint: String,
    /// Seconds until the access token expires.
    pub expires_in: u64,
    /// The session id in the token.
    pub sid: String,
}

impl Issued {
    /// The cookies that carry this token, plus an optional refresh token.
    pub fn cookies<'a>(
        &'a self,
        refresh: Option<(&'a str, u64)>,
        browser_mode: bool,
    ) -> super::cookie_names::SessionCookies<'a> {
        super::cookie_names::SessionCookies {
            access_token: &self.access_token,
            fingerprint: &self.fingerprint,
            access_ttl: self.expires_in,
            refresh,
            browser_mode,
        }
    }
}

/// Shared authentication state.
#[derive(Debug)]
pub struct AuthService {
    pub(super) cfg: AuthConfig,
    pub(super) keys: watch::Sender<Arc<KeyRing>>,
    /// The cluster's public keys (Redis store only).
    pub(super) shared: Option<Arc<SharedKeys>>,
    pub(super) users: Arc<watch::Sender<Arc<Users>>>,
    pub(super) pool: Arc<HashPool>,
    pub(super) clock: SharedClock,
    pub(super) validation: jwt::Validation,
    pub(super) sessions: Sessions,
    pub(super) limiter: Arc<RateLimiter>,
    pub(super) lockout: Lockout,
    pub(super) metrics: Arc<Metrics>,
    /// Tokens already verified; `None` when `auth.verified_cache_entries` is 0.
    pub(super) verified: Option<super::verified_cache::VerifiedCache>,
}

impl AuthService {
    /// Loads (or creates) signing keys and the users file, and opens the
    /// session store; records into `metrics`.
    pub async fn new(
        config: &Config,
        clock: SharedClock,
        metrics: Arc<Metrics>,
    ) -> Result<Self, AuthInitError> {
        let cfg = config.auth.clone();
        let dir = KeyDir::open(&cfg.key_dir)?;
        let ring = dir.load_or_init(cfg.key_bits, clock.unix(), grace_secs(&cfg))?;
        let needs_users = config
            .routes
            .iter()
            .any(|r| r.policy != crate::config::Policy::Public);
        let users = match (&cfg.inline_users, cfg.users_file.exists(), needs_users) {
            (Some(inline), _, _) => inline.clone(),
            (None, true, _) => {
                warn_if_readable(&cfg.users_file);
                Users::load(&cfg.users_file)?
            }
            (None, false, false) => Users::default(),
            (None, false, true) => {
                return Err(AuthInitError::NoUsersFile(cfg.users_file.clone()));
            }
        };
        let observer = metrics.password_hash_observer();
        let pool = Arc::new(HashPool::with_observer(
            cfg.hash_workers,
            cfg.hash_queue,
            observer,
        )?);
        let store = crate::session::open(&config.session.store).await?;
        let cluster_keys = match &store {
            crate::session::Store::Redis(redis) => Some(
                publish_first(
                    redis,
                    &ring,
                    clock.clone(),
                    grace_secs(&cfg),
                    metrics.clone(),
                )
                .await,
            ),
            crate::session::Store::Embedded(_) => None,
        };
        let keep = std::time::Duration::from_secs(grace_secs(&cfg));
        let shared = matches!(store, crate::session::Store::Redis(_)).then(|| store.clone());
        let limiter = Arc::new(RateLimiter::new(&config.rate_limit, shared, clock.clone()));
        let lockout = Lockout::new(config.lockout, store.clone(), clock.clone());
        let sessions = Sessions::new(store, config.session.clone(), clock.clone(), keep).await?;
        let validation = jwt::Validation::new(
            cfg.issuer.clone(),
            cfg.audience.clone(),
            cfg.leeway.as_secs(),
        );
        let verified = (cfg.verified_cache_entries > 0)
            .then(|| super::verified_cache::VerifiedCache::new(cfg.verified_cache_entries));
        Ok(Self {
            verified,
            sessions,
            limiter,
            lockout,
            validation,
            keys: watch::Sender::new(Arc::new(ring)),
            shared: cluster_keys,
            users: Arc::new(watch::Sender::new(Arc::new(users))),
            pool,
            clock,
            cfg,
            metrics,
        })
    }

    /// The key ring in force.
    pub fn ring(&self) -> Arc<KeyRing> {
        self.keys.borrow().clone()
    }

    /// The users in force.
    pub fn users(&self) -> Arc<Users> {
        self.users.borrow().clone()
    }

    /// Re-reads the users file; on error the current users stay. Inline
    /// users (`auth.users`) change only with a restart.
    pub fn reload_users(&self) -> Result<usize, UsersError> {
        if self.cfg.inline_users.is_some() {
            return Ok(self.users().len());
        }
        let users = Users::load(&self.cfg.users_file)?;
        let n = users.len();
        self.users.send_replace(Arc::new(users));
        Ok(n)
    }

    /// The public keys as a JWKS document: this instance's ring, plus
    /// (Redis store) every key the other instances have published.
    pub async fn jwks(&self) -> serde_json::Value {
        let ring = self.ring();
        let Some(shared) = &self.shared else {
            return ring.jwks();
        };
        let mut keys: Vec<_> = ring.keys().iter().map(|k| k.to_jwk()).collect();
        for key in shared.cluster_keys().await {
            if ring.get(key.kid()).is_none() {
                keys.push(key.to_jwk());
            }
        }
        serde_json::json!({ "keys": keys })
    }

    /// The cluster's public keys, when the store is Redis.
    pub fn shared_keys(&self) -> Option<&Arc<SharedKeys>> {
        self.shared.as_ref()
    }

    /// Follows key-ring changes (for the publisher).
    pub fn watch_ring(&self) -> watch::Receiver<Arc<KeyRing>> {
        self.keys.subscribe()
    }

    /// The rate limiter.
    pub fn limiter(&self) -> &Arc<RateLimiter> {
        &self.limiter
    }

    /// Account lockout.
    pub fn lockout(&self) -> &Lockout {
        &self.lockout
    }

    /// Sessions and their store.
    pub fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    /// The metrics this service records into.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Now, in Unix seconds, by the service's clock.
    pub fn clock_unix(&self) -> u64 {
        self.clock.unix()
    }

    /// The settings in force.
    pub fn settings(&self) -> &AuthConfig {
        &self.cfg
    }

    /// Checks a username and password on the hashing pool. Unknown and
    /// disabled users cost the same time as a wrong password.
    pub async fn check_password(
        &self,
        username: &str,
        password: Password,
    ) -> Result<Arc<Users>, LoginError> {
        let locked = self
            .lockout
            .is_locked(username)
            .await
            .map_err(|_| LoginError::StoreDown)?;
        let users = self.users();
        let user = users.get(username);
        let phc = user.map(|u| u.password_hash().to_string());
        let verified = self
            .pool
            .verify(Password::new(password.expose()), phc)
            .await
            .map_err(|e| match e {
                PoolError::Busy => LoginError::Busy,
                other => LoginError::Internal(other.to_string()),
            })?;
        let outcome = match user {
            None => Err(LoginError::UnknownUser),
            Some(_) if !verified.ok => Err(LoginError::WrongPassword),
            Some(u) if u.disabled() => Err(LoginError::Disabled),
            Some(_) if locked => Err(LoginError::Locked),
            Some(_) => Ok(()),
        };
        if let Err(e) = outcome {
            if !matches!(e, LoginError::Locked) {
                self.lockout
                    .record_failure(username)
                    .await
                    .map_err(|_| LoginError::StoreDown)?;
            }
            return Err(e);
        }
        if let Err(e) = self.lockout.clear(username).await {
            tracing::warn!(error = %e, "could not clear failed-login counters");
        }
        if verified.needs_rehash {
            self.upgrade_hash(username, password);
        }
        Ok(users)
    }

    /// Rehashes an outdated hash with current parameters, in the background.
    fn upgrade_hash(&self, username: &str, password: Password) {
        if self.cfg.inline_users.is_some() {
            tracing::warn!(user = %crate::telemetry::Masked(username), "outdated password hash kept: auth.users is not a file; replace the hash with one from `portcullis hash-password`");
            return;
        }
        let pool = self.pool.clone();
        let path = self.cfg.users_file.clone();
        let users = self.users.clone();
        let username = username.to_string();
        // The request's span goes along, so the event keeps its request id.
        let span = tracing::Span::current();
        let task = async move {
            let result = match pool.hash(password).await {
                Ok(phc) => {
                    let (user, file) = (username.clone(), path.clone());
                    tokio::task::spawn_blocking(move || {
                        super::users::update_password_hash(&file, &user, &phc)
                    })
                    .await
                    .map_err(|e| e.to_string())
                    .and_then(|r| r.map_err(|e| e.to_string()))
                }
                Err(e) => Err(e.to_string()),
            };
            match result.and_then(|()| Users::load(&path).map_err(|e| e.to_string())) {
                Ok(reloaded) => {
                    users.send_replace(Arc::new(reloaded));
                    tracing::info!(event = "auth.password.changed", reason = "rehash", user = %crate::telemetry::Masked(&username), "password hash upgraded to the current parameters")
                }
                Err(e) => {
                    tracing::warn!(user = %crate::telemetry::Masked(&username), error = %e, "outdated password hash kept: users file not updated")
                }
            }
        };
        tokio::spawn(tracing::Instrument::instrument(task, span));
    }

    /// Signs an access token for `username` in session `sid`, bound to a new
    /// fingerprint.
    pub fn issue(&self, username: &str, roles: &[String], sid: &str) -> Result<Issued, LoginError> {
        let (raw_fp, fpt) = fingerprint::generate();
        let ttl = self.cfg.access_token_ttl.as_secs();
        let claims = access_claims(&self.cfg, username, roles, sid, self.clock.unix(), fpt);
        let started = Instant::now();
        let token = jwt::encode(&claims, self.ring().active());
        self.metrics.jwt_sign(started.elapsed());
        let token = token.map_err(|e| LoginError::Internal(e.to_string()))?;
        Ok(Issued {
            access_token: token,
            fingerprint: raw_fp,
            expires_in: ttl,
            sid: sid.to_string(),
        })
    }
}

/// The cluster's keys over `redis`, with this instance's ring published
/// before it signs anything; a failure is logged and retried by the
/// publisher task (the store answered a PING just before).
async fn publish_first(
    redis: &crate::session::RedisStore,
    ring: &KeyRing,
    clock: SharedClock,
    grace: u64,
    metrics: Arc<Metrics>,
) -> Arc<SharedKeys> {
    let shared = SharedKeys::new(redis.clone(), clock, grace, metrics);
    if let Err(e) = shared.publish(ring).await {
        tracing::warn!(error = %e, "publishing the public keys failed; retrying soon");
    }
    Arc::new(shared)
}

/// The claims of an access token for `username` in session `sid`, issued at
/// `now` and bound to the fingerprint hash `fpt`. `portcullis audit` signs a
/// sample with it, so it inspects exactly what logins issue.
pub fn access_claims(
    cfg: &AuthConfig,
    username: &str,
    roles: &[String],
    sid: &str,
    now: u64,
    fpt: String,
) -> jwt::Claims {
    jwt::Claims {
        iss: cfg.issuer.clone(),
        aud: jwt::Audience::One(cfg.audience.clone()),
        sub: username.to_string(),
        sid: sid.to_string(),
        jti: random_id(),
        iat: now,
        exp: now + cfg.access_token_ttl.as_secs(),
        nbf: None,
        fpt: Some(fpt),
        roles: roles.to_vec(),
    }
}

/// How long retired keys stay verifiable: every token they signed has expired.
pub fn grace_secs(cfg: &AuthConfig) -> u64 {
    cfg.access_token_ttl.as_secs() + cfg.leeway.as_secs()
}

/// 128 random bits, base64url.
pub fn random_id() -> String {
    super::b64::encode(rand::random::<[u8; 16]>())
}

/// Password hashes are secrets: warn when group or others can read them.
fn warn_if_readable(path: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = std::fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(file = %path.display(), mode = format!("{:o}", meta.permissions().mode() & 0o777), "users file is readable by group or others; run chmod 600 on it");
    }
}
