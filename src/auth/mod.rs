//! Authentication: passwords, users, signing keys, JWTs, the fingerprint
//! cookie, login and per-request verification.

pub mod account;
pub mod b64;
pub mod cookie_names;
pub mod fingerprint;
pub mod form_token;
pub mod identity;
pub mod jwt;
pub mod keys;
pub mod lockout;
pub mod login;
pub mod logout;
pub mod pages;
pub mod password;
pub mod refresh;
pub mod refusals;
pub mod return_to;
pub mod rotation;
pub mod service;
pub mod sessions_api;
pub mod strict_json;
pub mod user_agent;
pub mod users;
pub mod verified_cache;
pub mod verify;

pub use identity::Identity;
pub use service::AuthService;
pub use verify::AuthFailure;
