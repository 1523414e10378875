//! Authentication: passwords, users, signing keys, JWTs, the fingerprint
//! cookie, login and per-request verification.

pub mod b64;
pub mod cookie_names;
pub mod fingerprint;
pub mod identity;
pub mod jwt;
pub mod keys;
pub mod login;
pub mod pages;
pub mod password;
pub mod return_to;
pub mod service;
pub mod strict_json;
pub mod users;
pub mod verify;

pub use identity::Identity;
pub use service::AuthService;
pub use verify::AuthFailure;
