//! Prometheus metrics with prometheus-client. Every series name is a
//! constant in this file. [`Metrics`] owns an explicit [`Registry`] (no
//! global): the gateway builds one and hands it to the auth service (logins,
//! refreshes, JWTs, the hashing pool) and the server (connections); the
//! admin listener encodes it at `GET /metrics`.
//!
//! Counters get `_total` and units their suffix when encoded (OpenMetrics),
//! so the constants hold base names; the exposed name is in each doc comment.
//! Label values are closed enums (see [`labels`]) or configured route
//! prefixes: never a user name, session id, address or token.
//!
//! Hot path: handles for fixed label sets (endpoint durations, login and
//! refresh outcomes, hash operations, per-route latency) are resolved once
//! here; a request costs atomic adds, a bucket search and at most two
//! family look-ups by a small hashed key (status codes): no allocation once
//! a series exists, and no lock held across an await.

mod gauges;
pub mod labels;
mod series;

use std::sync::Arc;
use std::sync::atomic::AtomicI64;
use std::time::Duration;

use prometheus_client::registry::{Metric, Registry, Unit};

use crate::auth::password::{HashObserver, HashOp};
use crate::clock::SharedClock;
pub use gauges::{ConnectionGuard, SESSION_COUNT_EVERY};
pub use labels::{Endpoint, KeyLookup, LoginStatus, RefreshStatus, UpstreamStatus};
use labels::{HASH_OPS, RequestLabels, RouteLabels, UpstreamLabels};
use series::{AuthSeries, ProxySeries};

/// A series: base name, help text and whether it is in seconds.
#[derive(Debug, Clone, Copy)]
pub struct Series {
    /// The name as registered (before `_total` or a unit suffix).
    pub name: &'static str,
    /// The `# HELP` text.
    pub help: &'static str,
    /// Durations carry the `seconds` unit.
    pub seconds: bool,
}

impl Series {
    const fn new(name: &'static str, help: &'static str, seconds: bool) -> Self {
        Self {
            name,
            help,
            seconds,
        }
    }

    /// Registers `metric` under this series and returns a handle to it.
    fn add<M: Metric + Clone>(self, r: &mut Registry, metric: M) -> M {
        match self.seconds {
            true => r.register_with_unit(self.name, self.help, Unit::Seconds, metric.clone()),
            false => r.register(self.name, self.help, metric.clone()),
        }
        metric
    }
}

/// `auth_requests_total{endpoint,status}`: status is the HTTP status sent.
pub const AUTH_REQUESTS: Series = Series::new(
    "auth_requests",
    "Requests by endpoint and HTTP status",
    false,
);
/// `auth_request_duration_seconds{endpoint}`: for `verify`, authentication only.
pub const AUTH_REQUEST_DURATION: Series = Series::new(
    "auth_request_duration",
    "Time to answer, by endpoint (verify: authentication only)",
    true,
);
/// `auth_login_attempts_total{status}`.
pub const AUTH_LOGIN_ATTEMPTS: Series =
    Series::new("auth_login_attempts", "Login attempts by outcome", false);
/// `auth_active_sessions`: live sessions in the store, recounted periodically.
pub const AUTH_ACTIVE_SESSIONS: Series = Series::new(
    "auth_active_sessions",
    "Live sessions in the store (all instances), recounted every minute",
    false,
);
/// `auth_token_refreshes_total{status}`.
pub const AUTH_TOKEN_REFRESHES: Series = Series::new(
    "auth_token_refreshes",
    "Refresh-token rotations by outcome",
    false,
);
/// `auth_token_reuse_detections_total`.
pub const AUTH_TOKEN_REUSE_DETECTIONS: Series = Series::new(
    "auth_token_reuse_detections",
    "Refresh tokens replayed after the grace window (session revoked)",
    false,
);
/// `auth_password_hash_duration_seconds{op}`: hashing-pool jobs.
pub const AUTH_PASSWORD_HASH_DURATION: Series = Series::new(
    "auth_password_hash_duration",
    "Password hashing pool jobs",
    true,
);
/// `auth_jwt_sign_duration_seconds`.
pub const AUTH_JWT_SIGN_DURATION: Series =
    Series::new("auth_jwt_sign_duration", "Access token signing", true);
/// `auth_jwt_verify_duration_seconds`: parse, key look-up, signature, claims.
pub const AUTH_JWT_VERIFY_DURATION: Series = Series::new(
    "auth_jwt_verify_duration",
    "Access token verification",
    true,
);
/// `auth_key_lookups_total{result}`: peer `kid`s looked up in Redis.
pub const AUTH_KEY_LOOKUPS: Series = Series::new(
    "auth_key_lookups",
    "Unknown kids looked up among the cluster's keys in Redis, by result",
    false,
);
/// `portcullis_upstream_responses_total{route,status}`.
pub const UPSTREAM_RESPONSES: Series = Series::new(
    "portcullis_upstream_responses",
    "Upstream exchanges by route prefix and status",
    false,
);
/// `portcullis_upstream_duration_seconds{route}`: until response headers.
pub const UPSTREAM_DURATION: Series = Series::new(
    "portcullis_upstream_duration",
    "Time until the upstream's response headers, by route prefix",
    true,
);
/// `portcullis_open_connections`: client connections on the TLS listener.
pub const OPEN_CONNECTIONS: Series = Series::new(
    "portcullis_open_connections",
    "Open client connections on the TLS listener",
    false,
);
/// `portcullis_tls_certificate_expiry_days`: days until the served
/// certificate's notAfter (negative once expired), computed at each scrape.
pub const TLS_CERTIFICATE_EXPIRY: Series = Series::new(
    "portcullis_tls_certificate_expiry",
    "Days until the served TLS certificate expires",
    false,
);

/// The `Content-Type` of the exposition.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Every metric of the process and the registry that exposes them.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    auth: AuthSeries,
    proxy: ProxySeries,
    cert_not_after: Arc<AtomicI64>,
}

impl Metrics {
    /// Registers every series; `routes` are the configured prefixes, whose
    /// handles are resolved now. `clock` dates the certificate at scrapes.
    pub fn new<'a>(routes: impl IntoIterator<Item = &'a str>, clock: SharedClock) -> Self {
        let mut registry = Registry::default();
        let auth = AuthSeries::register(&mut registry);
        let proxy = ProxySeries::register(&mut registry, routes);
        let cert_not_after = Arc::new(AtomicI64::new(gauges::UNKNOWN));
        let expiry = gauges::CertExpiry::new(cert_not_after.clone(), clock);
        registry.register_collector(Box::new(expiry));
        Self {
            registry,
            auth,
            proxy,
            cert_not_after,
        }
    }

    /// Records one answered request.
    pub fn request(&self, endpoint: Endpoint, status: u16, took: Duration) {
        let labels = RequestLabels { endpoint, status };
        if status == 200 {
            self.auth.ok_requests[endpoint as usize]
                .get_or_init(|| self.auth.requests.get_or_create(&labels).clone())
                .inc();
        } else {
            self.auth.requests.get_or_create(&labels).inc();
        }
        self.auth.durations[endpoint as usize].observe(took.as_secs_f64());
    }

    /// Records one login attempt.
    pub fn login(&self, status: LoginStatus) {
        self.auth.logins[status as usize].inc();
    }

    /// Records one refresh; `Reused` also counts a reuse detection.
    pub fn refresh(&self, status: RefreshStatus) {
        self.auth.refreshes[status as usize].inc();
        if status == RefreshStatus::Reused {
            self.auth.reuse_detections.inc();
        }
    }

    /// Records the time to sign one access token.
    pub fn jwt_sign(&self, took: Duration) {
        self.auth.jwt_sign.observe(took.as_secs_f64());
    }

    /// Records the time to verify one access token (refusals included).
    pub fn jwt_verify(&self, took: Duration) {
        self.auth.jwt_verify.observe(took.as_secs_f64());
    }

    /// Records one look-up of a peer's `kid` (or one refused by the budget).
    pub fn key_lookup(&self, result: KeyLookup) {
        self.auth.key_lookups[result as usize].inc();
    }

    /// The hashing pool's observer: each job's duration, by operation.
    pub fn password_hash_observer(&self) -> HashObserver {
        let handles = self.auth.hashes.clone();
        Arc::new(move |op: HashOp, took: Duration| {
            if let Some(i) = HASH_OPS.iter().position(|o| *o == op) {
                handles[i].observe(took.as_secs_f64());
            }
        })
    }

    /// Records one upstream exchange on the route with prefix `route`.
    pub fn upstream(&self, route: &str, status: UpstreamStatus, took: Duration) {
        let label = match self.proxy.routes.get(route) {
            Some(h) => {
                h.duration.observe(took.as_secs_f64());
                if status == UpstreamStatus::Code(200) {
                    let ok = h.ok.get_or_init(|| {
                        let key = UpstreamLabels {
                            route: h.label.clone(),
                            status,
                        };
                        self.proxy.responses.get_or_create(&key).clone()
                    });
                    ok.inc();
                    return;
                }
                h.label.clone()
            }
            // A route added after start (reload): still bounded by the config.
            None => {
                let label: Arc<str> = Arc::from(route);
                let key = RouteLabels {
                    route: label.clone(),
                };
                let histogram = self.proxy.durations.get_or_create(&key);
                histogram.observe(took.as_secs_f64());
                label
            }
        };
        let key = UpstreamLabels {
            route: label,
            status,
        };
        self.proxy.responses.get_or_create(&key).inc();
    }

    /// Counts one open connection until the guard is dropped.
    pub fn connection_opened(&self) -> ConnectionGuard {
        ConnectionGuard::open(&self.proxy.open_connections)
    }

    /// Sets `auth_active_sessions`.
    pub fn set_active_sessions(&self, live: u64) {
        let live = i64::try_from(live).unwrap_or(i64::MAX);
        self.auth.active_sessions.set(live);
    }

    /// Records the served certificate's notAfter (Unix seconds); the expiry
    /// gauge is exported from then on.
    pub fn set_certificate_not_after(&self, unix: i64) {
        self.cert_not_after
            .store(unix, std::sync::atomic::Ordering::Relaxed);
    }

    /// The OpenMetrics text exposition (see [`CONTENT_TYPE`]).
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::with_capacity(16 * 1024);
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    /// 2030-01-01T00:00:00Z.
    const NOW: u64 = 1_893_456_000;

    fn metrics() -> Metrics {
        Metrics::new(["/", "/api"], Arc::new(ManualClock::at_unix(NOW)))
    }

    /// The value of the sample line starting with `series ` (name + labels).
    fn sample(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
            .and_then(|v| v.split(' ').next()?.parse().ok())
    }

    /// The enum-indexed handle arrays line up with the enums' `ALL` lists.
    #[test]
    fn handle_indexes_match_label_order() {
        for (i, e) in Endpoint::ALL.iter().enumerate() {
            assert_eq!(*e as usize, i);
        }
        for (i, s) in LoginStatus::ALL.iter().enumerate() {
            assert_eq!(*s as usize, i);
        }
        for (i, s) in RefreshStatus::ALL.iter().enumerate() {
            assert_eq!(*s as usize, i);
        }
        for (i, r) in KeyLookup::ALL.iter().enumerate() {
            assert_eq!(*r as usize, i);
        }
    }

    /// After a few observations the exposition carries each series with its
    /// labels and values, and ends with `# EOF`.
    #[test]
    fn encodes_counters_and_labels() {
        let m = metrics();
        m.request(Endpoint::Login, 200, Duration::from_millis(3));
        m.request(Endpoint::Login, 401, Duration::from_millis(2));
        m.request(Endpoint::Login, 401, Duration::from_millis(2));
        m.login(LoginStatus::Failure);
        m.refresh(RefreshStatus::Reused);
        m.upstream("/api", UpstreamStatus::Code(502), Duration::from_millis(7));
        m.upstream("/", UpstreamStatus::Timeout, Duration::from_secs(1));
        m.set_active_sessions(4);
        m.key_lookup(KeyLookup::Throttled);
        let t = m.encode().unwrap();
        let v = |s: &str| sample(&t, s);
        assert_eq!(
            v(r#"auth_requests_total{endpoint="login",status="401"}"#),
            Some(2.0)
        );
        assert_eq!(
            v(r#"auth_requests_total{endpoint="login",status="200"}"#),
            Some(1.0)
        );
        assert_eq!(
            v(r#"auth_login_attempts_total{status="failure"}"#),
            Some(1.0)
        );
        assert_eq!(
            v(r#"auth_login_attempts_total{status="success"}"#),
            Some(0.0)
        );
        assert_eq!(
            v(r#"auth_token_refreshes_total{status="reused"}"#),
            Some(1.0)
        );
        assert_eq!(v("auth_token_reuse_detections_total"), Some(1.0));
        assert_eq!(v("auth_active_sessions"), Some(4.0));
        assert_eq!(
            v(r#"auth_key_lookups_total{result="throttled"}"#),
            Some(1.0)
        );
        let up = r#"portcullis_upstream_responses_total{route="/api",status="502"}"#;
        assert_eq!(v(up), Some(1.0));
        let timeout = r#"portcullis_upstream_responses_total{route="/",status="timeout"}"#;
        assert_eq!(v(timeout), Some(1.0));
        assert!(t.ends_with("# EOF\n"));
    }

    /// Every duration histogram is typed, has real buckets up to `+Inf`, a
    /// count and a sum.
    #[test]
    fn histograms_have_buckets() {
        let m = metrics();
        m.request(Endpoint::Verify, 200, Duration::from_micros(700));
        m.jwt_sign(Duration::from_micros(900));
        m.jwt_verify(Duration::from_micros(40));
        (m.password_hash_observer())(HashOp::Verify, Duration::from_millis(300));
        m.upstream("/api", UpstreamStatus::Code(200), Duration::from_millis(5));
        let t = m.encode().unwrap();
        for name in [
            "auth_request_duration_seconds",
            "auth_password_hash_duration_seconds",
            "auth_jwt_sign_duration_seconds",
            "auth_jwt_verify_duration_seconds",
            "portcullis_upstream_duration_seconds",
        ] {
            assert!(t.contains(&format!("# TYPE {name} histogram\n")), "{name}");
            assert!(t.contains(&format!("# UNIT {name} seconds\n")), "{name}");
            let buckets = t
                .lines()
                .filter(|l| l.starts_with(&format!("{name}_bucket{{")))
                .count();
            assert!(buckets >= 17, "{name}: {buckets} bucket lines");
        }
        let verify = r#"auth_request_duration_seconds_bucket{le="0.001",endpoint="verify"}"#;
        assert_eq!(sample(&t, verify), Some(1.0));
        let below = r#"auth_request_duration_seconds_bucket{le="0.0005",endpoint="verify"}"#;
        assert_eq!(sample(&t, below), Some(0.0));
        let hash = r#"auth_password_hash_duration_seconds_count{op="verify"}"#;
        assert_eq!(sample(&t, hash), Some(1.0));
        assert_eq!(
            sample(&t, "auth_jwt_verify_duration_seconds_count"),
            Some(1.0)
        );
        let route = r#"portcullis_upstream_duration_seconds_count{route="/api"}"#;
        assert_eq!(sample(&t, route), Some(1.0));
    }

    /// The connection gauge follows the guards; an unconfigured route is
    /// still recorded under its own prefix.
    #[test]
    fn connections_and_late_routes() {
        let m = metrics();
        let (a, b) = (m.connection_opened(), m.connection_opened());
        drop(a);
        assert_eq!(
            sample(&m.encode().unwrap(), "portcullis_open_connections"),
            Some(1.0)
        );
        drop(b);
        m.upstream(
            "/new",
            UpstreamStatus::Unavailable,
            Duration::from_millis(1),
        );
        let t = m.encode().unwrap();
        assert_eq!(sample(&t, "portcullis_open_connections"), Some(0.0));
        let late = r#"portcullis_upstream_duration_seconds_count{route="/new"}"#;
        assert_eq!(sample(&t, late), Some(1.0));
    }

    /// The certificate gauge is absent until a notAfter is known, then
    /// gives the days left at scrape time.
    #[test]
    fn certificate_expiry_days() {
        let m = metrics();
        let name = "portcullis_tls_certificate_expiry_days";
        assert!(!m.encode().unwrap().contains(name));
        m.set_certificate_not_after(NOW as i64 + 30 * 86_400 + 43_200);
        let t = m.encode().unwrap();
        assert!(t.contains(&format!("# TYPE {name} gauge\n")));
        assert_eq!(sample(&t, name), Some(30.5));
        m.set_certificate_not_after(NOW as i64 - 86_400);
        assert_eq!(sample(&m.encode().unwrap(), name), Some(-1.0));
    }
}
