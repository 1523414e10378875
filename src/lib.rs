//! portcullis: a reverse-proxy authentication gateway.
//!
//! The request pipeline reads top-down from the module names:
//! `server` (accept, TLS, HTTP) → `gateway` (request id, limits, path, routes,
//! own endpoints, policy) → `auth` (token, fingerprint, session checks) →
//! `headers` (identity and forwarded headers, security headers) → `proxy`
//! (the pooled upstream client, upgrades).
#![forbid(unsafe_code)]

pub mod admin;
pub mod audit;
pub mod auth;
pub mod bench;
pub mod body;
pub mod cli;
pub mod clock;
pub mod config;
pub mod example_app;
pub mod gateway;
pub mod headers;
pub mod path;
pub mod proxy;
pub mod ratelimit;
pub mod server;
pub mod session;
pub mod telemetry;
pub mod tls;
