//! Every integration test, in one binary: one link of the gateway and its
//! dependencies instead of one per file keeps build output (and CI disk) small.
//! Each module starts the real `portcullis` binary through `common`.

mod common;

mod auth_attacks_claims;
mod auth_attacks_header;
mod auth_cli;
mod auth_demo;
mod auth_form;
mod auth_login;
mod auth_verify;
mod auth_websocket;
mod browser_account;
mod browser_login;
mod browser_session;
mod cli_config;
mod cli_demo;
mod cli_serve;
mod cluster;
mod defence_cors;
mod defence_headers;
mod defence_limits;
mod defence_paths;
mod defence_protocol;
mod defence_tokens;
mod forward_auth;
mod forward_auth_attacks;
mod forward_nginx;
mod ops_metrics;
mod proxy_headers;
mod proxy_hygiene;
mod proxy_limits;
mod proxy_paths;
mod proxy_redirect;
mod proxy_routing;
mod proxy_streaming;
mod proxy_websocket;
mod session_account_forms;
mod session_browser;
mod session_durability;
mod session_inline_cookies;
mod session_logout;
mod session_outage;
mod session_redis;
mod session_refresh;
mod session_websocket;
mod sidecar_env;
mod smoke;
mod store_conformance;
mod vectors_jose;
mod vectors_pbkdf2;
mod vectors_rsa;
