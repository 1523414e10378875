//! The gateway's own cookies. All are HttpOnly, Secure and SameSite=Strict;
//! none is ever forwarded upstream.
//!
//! Paths: the fingerprint and access cookies are `__Host-` (Path=/, no
//! Domain) because every protected request needs them. The refresh cookie
//! is `__Host-` with Path=/ in browser mode, because inline refresh must see
//! it on any protected path; with browser mode off it is
//! `__Secure-portcullis-rt` with Path=/auth, sent only to the endpoints
//! that use it.

use http::{HeaderMap, HeaderValue, header};

use crate::headers::cookies::{SameSite, SetCookie};

/// The fingerprint cookie whose SHA-256 is the token's `fpt` claim.
pub const FINGERPRINT: &str = "__Host-portcullis-fp";
/// The access token, in browser mode.
pub const ACCESS: &str = "__Host-portcullis-at";
/// The refresh token in browser mode.
pub const REFRESH: &str = "__Host-portcullis-rt";
/// The refresh token with browser mode off.
pub const REFRESH_API: &str = "__Secure-portcullis-rt";
/// Path of [`REFRESH_API`].
pub const REFRESH_API_PATH: &str = "/auth";

/// Every cookie the gateway owns.
pub const ALL: &[&str] = &[FINGERPRINT, ACCESS, REFRESH, REFRESH_API];

/// The refresh cookie's name and path for the mode.
pub fn refresh_cookie(browser_mode: bool) -> (&'static str, &'static str) {
    if browser_mode {
        (REFRESH, "/")
    } else {
        (REFRESH_API, REFRESH_API_PATH)
    }
}

/// A `Set-Cookie` value for one of the gateway's cookies.
pub fn set(name: &str, value: &str, path: &str, max_age_secs: u64) -> HeaderValue {
    SetCookie::new(name, value)
        .path(path)
        .max_age(std::time::Duration::from_secs(max_age_secs))
        .http_only(true)
        .secure(true)
        .same_site(Some(SameSite::Strict))
        .build()
        // Our names and base64url values always satisfy the cookie grammar.
        .unwrap_or_else(|_| HeaderValue::from_static("invalid=; Max-Age=0"))
}

/// What one login or refresh hands to the browser.
#[derive(Debug)]
pub struct SessionCookies<'a> {
    /// The access token.
    pub access_token: &'a str,
    /// The raw fingerprint.
    pub fingerprint: &'a str,
    /// Access-token lifetime.
    pub access_ttl: u64,
    /// The refresh token and its remaining lifetime.
    pub refresh: Option<(&'a str, u64)>,
    /// Browser mode: the access token travels in a cookie too.
    pub browser_mode: bool,
}

/// Appends the `Set-Cookie` headers of a login or refresh.
pub fn append(h: &mut HeaderMap, c: &SessionCookies<'_>) {
    h.append(
        header::SET_COOKIE,
        set(FINGERPRINT, c.fingerprint, "/", c.access_ttl),
    );
    if c.browser_mode {
        h.append(
            header::SET_COOKIE,
            set(ACCESS, c.access_token, "/", c.access_ttl),
        );
    }
    if let Some((token, ttl)) = c.refresh {
        let (name, path) = refresh_cookie(c.browser_mode);
        h.append(header::SET_COOKIE, set(name, token, path, ttl));
    }
}

/// Appends headers that delete every gateway cookie.
pub fn clear(h: &mut HeaderMap, browser_mode: bool) {
    let (rt, rt_path) = refresh_cookie(browser_mode);
    for (name, path) in [(FINGERPRINT, "/"), (ACCESS, "/"), (rt, rt_path)] {
        if let Ok(v) = SetCookie::expire(name, path).build() {
            h.append(header::SET_COOKIE, v);
        }
    }
}
