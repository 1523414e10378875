//! Label values of the metrics: small closed enums (and the configured
//! route prefixes), so every series is bounded. No user name, session id,
//! address or token is ever a label.

use std::sync::Arc;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};

use crate::auth::password::HashOp;

/// Writes a fixed label value.
fn write(encoder: &mut LabelValueEncoder, value: &str) -> Result<(), std::fmt::Error> {
    std::fmt::Write::write_str(encoder, value)
}

/// Implements [`EncodeLabelValue`] through an `as_str` method.
macro_rules! label_value {
    ($($ty:ty),*) => {$(
        impl EncodeLabelValue for $ty {
            fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
                write(encoder, self.as_str())
            }
        }
    )*};
}

/// Which part of the gateway answered a request (`endpoint` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Endpoint {
    /// `GET`/`POST /auth/login`.
    Login,
    /// `POST /auth/refresh`.
    Refresh,
    /// `GET`/`POST /auth/logout`.
    Logout,
    /// `POST /auth/logout-all`.
    LogoutAll,
    /// `GET /auth/sessions`, `DELETE /auth/sessions/{id}`, and the account
    /// page `/auth/account` with its forms.
    Sessions,
    /// `/.well-known/jwks.json`.
    Jwks,
    /// A request to an `authenticated` route (verification, then proxying).
    Verify,
    /// Everything else: public routes, unknown paths, refused requests.
    Other,
}

impl Endpoint {
    /// Every value, in label order.
    pub const ALL: [Endpoint; 8] = [
        Endpoint::Login,
        Endpoint::Refresh,
        Endpoint::Logout,
        Endpoint::LogoutAll,
        Endpoint::Sessions,
        Endpoint::Jwks,
        Endpoint::Verify,
        Endpoint::Other,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Endpoint::Login => "login",
            Endpoint::Refresh => "refresh",
            Endpoint::Logout => "logout",
            Endpoint::LogoutAll => "logout_all",
            Endpoint::Sessions => "sessions",
            Endpoint::Jwks => "jwks",
            Endpoint::Verify => "verify",
            Endpoint::Other => "other",
        }
    }
}

/// The outcome of a login attempt (`status` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LoginStatus {
    /// Signed in.
    Success,
    /// Unknown user, wrong password or disabled account (one answer).
    Failure,
    /// The hashing pool's queue was full (503).
    Busy,
    /// The session store was unavailable (503).
    Unavailable,
    /// Signing or hashing failed inside the gateway (500).
    Error,
}

impl LoginStatus {
    /// Every value, in label order.
    pub const ALL: [LoginStatus; 5] = [
        LoginStatus::Success,
        LoginStatus::Failure,
        LoginStatus::Busy,
        LoginStatus::Unavailable,
        LoginStatus::Error,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            LoginStatus::Success => "success",
            LoginStatus::Failure => "failure",
            LoginStatus::Busy => "busy",
            LoginStatus::Unavailable => "unavailable",
            LoginStatus::Error => "error",
        }
    }
}

/// The outcome of a refresh-token rotation (`status` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RefreshStatus {
    /// Rotated (or a sibling inside the grace window).
    Success,
    /// Missing, malformed, unknown, expired or revoked token.
    Invalid,
    /// Replayed after the grace window: the session was revoked.
    Reused,
    /// The session store was unavailable (503).
    Unavailable,
}

impl RefreshStatus {
    /// Every value, in label order.
    pub const ALL: [RefreshStatus; 4] = [
        RefreshStatus::Success,
        RefreshStatus::Invalid,
        RefreshStatus::Reused,
        RefreshStatus::Unavailable,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            RefreshStatus::Success => "success",
            RefreshStatus::Invalid => "invalid",
            RefreshStatus::Reused => "reused",
            RefreshStatus::Unavailable => "unavailable",
        }
    }
}

/// The outcome of looking a peer instance's `kid` up in Redis (`result`
/// label of `auth_key_lookups_total`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyLookup {
    /// Redis had a valid public key under that kid.
    Found,
    /// Redis had nothing (the miss is cached briefly).
    Missing,
    /// Redis had a value that failed the strict JWK checks (cached as a miss).
    Invalid,
    /// Redis did not answer (nothing cached).
    Unavailable,
    /// Not asked: the lookup budget of the current window was spent.
    Throttled,
}

impl KeyLookup {
    /// Every value, in label order.
    pub const ALL: [KeyLookup; 5] = [
        KeyLookup::Found,
        KeyLookup::Missing,
        KeyLookup::Invalid,
        KeyLookup::Unavailable,
        KeyLookup::Throttled,
    ];

    /// The label value.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyLookup::Found => "found",
            KeyLookup::Missing => "missing",
            KeyLookup::Invalid => "invalid",
            KeyLookup::Unavailable => "unavailable",
            KeyLookup::Throttled => "throttled",
        }
    }
}

/// What the hashing pool did (`op` label).
pub const HASH_OPS: [HashOp; 3] = [HashOp::Verify, HashOp::DummyVerify, HashOp::Hash];

/// The `op` label value of a hashing-pool job.
pub fn hash_op_str(op: HashOp) -> &'static str {
    match op {
        HashOp::Verify => "verify",
        HashOp::DummyVerify => "dummy_verify",
        HashOp::Hash => "hash",
    }
}

impl EncodeLabelValue for HashOp {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        write(encoder, hash_op_str(*self))
    }
}

/// How an upstream exchange ended (`status` label): the upstream's status
/// code, or why there was none.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UpstreamStatus {
    /// The upstream answered with this status code.
    Code(u16),
    /// No response headers within the response timeout (the client got 504).
    Timeout,
    /// Connection refused or broken (the client got 502).
    Unavailable,
    /// The client's body exceeded the route's limit while streaming (413).
    BodyTooLarge,
    /// The upstream URL could not be built (502).
    BadUri,
    /// The client's body stalled (408) or was malformed (400).
    ClientBody,
}

impl EncodeLabelValue for UpstreamStatus {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        match self {
            UpstreamStatus::Code(code) => code.encode(encoder),
            UpstreamStatus::Timeout => write(encoder, "timeout"),
            UpstreamStatus::Unavailable => write(encoder, "unavailable"),
            UpstreamStatus::BodyTooLarge => write(encoder, "body_too_large"),
            UpstreamStatus::BadUri => write(encoder, "bad_uri"),
            UpstreamStatus::ClientBody => write(encoder, "client_body"),
        }
    }
}

label_value!(Endpoint, LoginStatus, RefreshStatus, KeyLookup);

/// `{endpoint, status}` of `auth_requests_total`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct RequestLabels {
    /// Which endpoint.
    pub endpoint: Endpoint,
    /// The HTTP status sent to the client.
    pub status: u16,
}

/// `{endpoint}`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct EndpointLabels {
    /// Which endpoint.
    pub endpoint: Endpoint,
}

/// `{status}` of the login attempts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct LoginLabels {
    /// The outcome.
    pub status: LoginStatus,
}

/// `{status}` of the refreshes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct RefreshLabels {
    /// The outcome.
    pub status: RefreshStatus,
}

/// `{result}` of the key lookups.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct KeyLookupLabels {
    /// The outcome.
    pub result: KeyLookup,
}

/// `{op}` of the password hash durations.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct HashLabels {
    /// The operation.
    pub op: HashOp,
}

/// `{route}`: a configured route prefix (bounded by the configuration).
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct RouteLabels {
    /// The route's prefix.
    pub route: Arc<str>,
}

/// `{route, status}` of `portcullis_upstream_responses_total`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, EncodeLabelSet)]
pub struct UpstreamLabels {
    /// The route's prefix.
    pub route: Arc<str>,
    /// How the exchange ended.
    pub status: UpstreamStatus,
}
