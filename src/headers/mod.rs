//! Header rewriting: hop-by-hop removal, identity stripping, forwarded headers,
//! cookies and the security headers on every response.

pub mod cookies;
pub mod forwarded;
pub mod hop_by_hop;
pub mod identity;
pub mod security;
