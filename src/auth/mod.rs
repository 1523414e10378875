//! Authentication: passwords, users, signing keys, JWTs and the fingerprint cookie.

pub mod b64;
pub mod fingerprint;
pub mod jwt;
pub mod keys;
pub mod password;
pub mod strict_json;
pub mod users;
