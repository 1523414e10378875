//! What the store keeps.

use serde::{Deserialize, Serialize};

/// One login: a session and its refresh-token family.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Session id (random, base64url); the access token's `sid`.
    pub id: String,
    /// Username.
    pub user: String,
    /// Refresh-token family; every rotation stays in it, and reuse revokes it.
    pub family: String,
    /// The client's `User-Agent` at login (truncated to 256 bytes).
    pub user_agent: String,
    /// The client IP at login.
    pub ip: String,
    /// Login time.
    pub created: u64,
    /// Last refresh (or login).
    pub last_used: u64,
    /// Absolute expiry: the session ends then whatever happens.
    pub expires_at: u64,
    /// The session ends after this long without a refresh.
    pub idle_timeout_secs: u64,
    /// Set when revoked (logout, eviction, reuse detection).
    pub revoked: bool,
}

impl Session {
    /// Alive at `now`: not revoked, before absolute expiry and idle timeout.
    pub fn is_live(&self, now: u64) -> bool {
        !self.revoked
            && now < self.expires_at
            && now < self.last_used.saturating_add(self.idle_timeout_secs)
    }
}

/// The SHA-256 of a refresh token, base64url, plus the session it belongs
/// to (the session id is the token's public selector part, so every key of
/// one session can live in one Redis Cluster hash slot).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct RefreshHash {
    /// The session id.
    pub session_id: String,
    /// base64url(SHA-256(token)).
    pub hash: String,
}

/// The result of presenting a refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// The token was current: it is now used, `successor` is current, and
    /// the session's `last_used` moved to now.
    Rotated(Session),
    /// The token had been used less than the grace window ago (another tab
    /// refreshing at the same moment): `successor` was added as one more
    /// current token of the same session; nothing is revoked.
    Grace(Session),
    /// The token had been used longer ago than the grace window: theft.
    /// The whole family (session) has been revoked.
    Reused(Session),
    /// Unknown token, or its session is revoked or expired.
    Invalid,
}
