//! Registration: every series is registered once, and the handles of
//! fixed label sets are resolved here so recording needs no look-up.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::{Family, MetricConstructor};
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::labels::{
    Endpoint, EndpointLabels, HASH_OPS, HashLabels, KeyLookup, KeyLookupLabels, LoginLabels,
    LoginStatus, RefreshLabels, RefreshStatus, RequestLabels, RouteLabels, UpstreamLabels,
};
use super::{
    AUTH_ACTIVE_SESSIONS, AUTH_JWT_SIGN_DURATION, AUTH_JWT_VERIFY_DURATION, AUTH_KEY_LOOKUPS,
    AUTH_LOGIN_ATTEMPTS, AUTH_PASSWORD_HASH_DURATION, AUTH_REQUEST_DURATION, AUTH_REQUESTS,
    AUTH_TOKEN_REFRESHES, AUTH_TOKEN_REUSE_DETECTIONS, OPEN_CONNECTIONS, UPSTREAM_DURATION,
    UPSTREAM_RESPONSES,
};

/// A histogram family built with a fixed bucket layout.
type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;

/// Request, upstream and hashing latency: 0.5 ms doubling to 16.4 s.
fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

/// JWT signing and verification: 10 µs doubling to 0.33 s.
fn crypto_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_01, 2.0, 16))
}

/// One handle per label set, in the order given.
fn resolve<L, M, C>(family: &Family<L, M, C>, labels: impl IntoIterator<Item = L>) -> Vec<M>
where
    L: Clone + std::hash::Hash + Eq,
    M: Clone,
    C: MetricConstructor<M>,
{
    labels
        .into_iter()
        .map(|l| family.get_or_create_owned(&l))
        .collect()
}

/// The `auth_*` series.
#[derive(Debug)]
pub(super) struct AuthSeries {
    pub requests: Family<RequestLabels, Counter>,
    /// `requests{endpoint, status="200"}` by [`Endpoint`], resolved at first
    /// use (no label hashing for the common answer).
    pub ok_requests: Vec<OnceLock<Counter>>,
    /// Indexed by [`Endpoint`].
    pub durations: Vec<Histogram>,
    /// Indexed by [`LoginStatus`].
    pub logins: Vec<Counter>,
    pub active_sessions: Gauge,
    /// Indexed by [`RefreshStatus`].
    pub refreshes: Vec<Counter>,
    pub reuse_detections: Counter,
    /// In [`HASH_OPS`] order.
    pub hashes: Vec<Histogram>,
    pub jwt_sign: Histogram,
    pub jwt_verify: Histogram,
    /// Indexed by [`KeyLookup`].
    pub key_lookups: Vec<Counter>,
}

impl AuthSeries {
    /// Registers the series and resolves the fixed label sets.
    pub(super) fn register(r: &mut Registry) -> Self {
        let durations: Histograms<EndpointLabels> =
            AUTH_REQUEST_DURATION.add(r, Family::new_with_constructor(latency_histogram));
        let logins = AUTH_LOGIN_ATTEMPTS.add(r, Family::<LoginLabels, Counter>::default());
        let refreshes = AUTH_TOKEN_REFRESHES.add(r, Family::<RefreshLabels, Counter>::default());
        let hashes: Histograms<HashLabels> =
            AUTH_PASSWORD_HASH_DURATION.add(r, Family::new_with_constructor(latency_histogram));
        let lookups = AUTH_KEY_LOOKUPS.add(r, Family::<KeyLookupLabels, Counter>::default());
        let endpoints = Endpoint::ALL.map(|endpoint| EndpointLabels { endpoint });
        Self {
            requests: AUTH_REQUESTS.add(r, Family::default()),
            ok_requests: Endpoint::ALL.map(|_| OnceLock::new()).into(),
            durations: resolve(&durations, endpoints),
            logins: resolve(
                &logins,
                LoginStatus::ALL.map(|status| LoginLabels { status }),
            ),
            active_sessions: AUTH_ACTIVE_SESSIONS.add(r, Gauge::default()),
            refreshes: resolve(
                &refreshes,
                RefreshStatus::ALL.map(|status| RefreshLabels { status }),
            ),
            reuse_detections: AUTH_TOKEN_REUSE_DETECTIONS.add(r, Counter::default()),
            hashes: resolve(&hashes, HASH_OPS.map(|op| HashLabels { op })),
            jwt_sign: AUTH_JWT_SIGN_DURATION.add(r, crypto_histogram()),
            jwt_verify: AUTH_JWT_VERIFY_DURATION.add(r, crypto_histogram()),
            key_lookups: resolve(
                &lookups,
                KeyLookup::ALL.map(|result| KeyLookupLabels { result }),
            ),
        }
    }
}

/// Pre-resolved handles of one configured route.
#[derive(Debug)]
pub(super) struct RouteHandle {
    pub label: Arc<str>,
    pub duration: Histogram,
    /// `{route, status="200"}`, resolved at its first use: the common
    /// answer then costs no hashing of labels on the request path.
    pub ok: OnceLock<Counter>,
}

/// The `portcullis_*` series.
#[derive(Debug)]
pub(super) struct ProxySeries {
    pub responses: Family<UpstreamLabels, Counter>,
    pub durations: Histograms<RouteLabels>,
    /// By configured prefix.
    pub routes: HashMap<Box<str>, RouteHandle>,
    pub open_connections: Gauge,
}

impl ProxySeries {
    /// Registers the series and resolves each prefix's handles.
    pub(super) fn register<'a>(
        r: &mut Registry,
        prefixes: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        let durations: Histograms<RouteLabels> =
            UPSTREAM_DURATION.add(r, Family::new_with_constructor(latency_histogram));
        let routes = prefixes
            .into_iter()
            .map(|prefix| {
                let label: Arc<str> = Arc::from(prefix);
                let duration = durations.get_or_create_owned(&RouteLabels {
                    route: label.clone(),
                });
                let handle = RouteHandle {
                    label,
                    duration,
                    ok: OnceLock::new(),
                };
                (Box::from(prefix), handle)
            })
            .collect();
        Self {
            responses: UPSTREAM_RESPONSES.add(r, Family::default()),
            durations,
            routes,
            open_connections: OPEN_CONNECTIONS.add(r, Gauge::default()),
        }
    }
}
