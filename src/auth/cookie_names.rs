//! The gateway's own cookies. All are `__Host-` prefixed (Secure, Path=/,
//! no Domain), HttpOnly and SameSite=Strict; none is ever forwarded upstream.

/// The fingerprint cookie whose SHA-256 is the token's `fpt` claim.
pub const FINGERPRINT: &str = "__Host-portcullis-fp";
/// The access token, in browser mode.
pub const ACCESS: &str = "__Host-portcullis-at";
/// The refresh token.
pub const REFRESH: &str = "__Host-portcullis-rt";

/// Every cookie the gateway owns.
pub const ALL: &[&str] = &[FINGERPRINT, ACCESS, REFRESH];

/// A `Set-Cookie` value for one of the gateway's cookies: `__Host-` rules
/// (Secure, Path=/, no Domain), HttpOnly, SameSite=Strict.
pub fn set(name: &str, value: &str, max_age_secs: u64) -> http::HeaderValue {
    use crate::headers::cookies::{SameSite, SetCookie};
    SetCookie::new(name, value)
        .path("/")
        .max_age(std::time::Duration::from_secs(max_age_secs))
        .http_only(true)
        .secure(true)
        .same_site(Some(SameSite::Strict))
        .build()
        // Our names and base64url values always satisfy the cookie grammar.
        .unwrap_or_else(|_| http::HeaderValue::from_static("invalid=; Max-Age=0"))
}
