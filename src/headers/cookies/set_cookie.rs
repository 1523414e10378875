//! The `Set-Cookie` builder: safe defaults, and the `__Host-` and
//! `__Secure-` prefix rules enforced at build time.

use std::fmt;
use std::time::Duration;

use http::header::HeaderValue;

use super::{CookieError, cookie_value};

/// The `SameSite` attribute (`None` is deliberately not offered).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SameSite {
    /// `SameSite=Strict`.
    Strict,
    /// `SameSite=Lax`.
    Lax,
}

/// A `Set-Cookie` builder with safe defaults: `Path=/`, `HttpOnly`,
/// `Secure`, `SameSite=Strict`, no `Domain`, a session cookie. Its `Debug`
/// never shows the value.
#[derive(Clone, PartialEq, Eq)]
pub struct SetCookie<'a> {
    name: &'a str,
    value: &'a str,
    path: &'a str,
    domain: Option<&'a str>,
    max_age: Option<Duration>,
    http_only: bool,
    secure: bool,
    same_site: Option<SameSite>,
    expired: bool,
}

impl<'a> SetCookie<'a> {
    /// A cookie with the safe defaults.
    pub fn new(name: &'a str, value: &'a str) -> Self {
        Self {
            name,
            value,
            path: "/",
            domain: None,
            max_age: None,
            http_only: true,
            secure: true,
            same_site: Some(SameSite::Strict),
            expired: false,
        }
    }

    /// A cookie that clears `name` at `path`: empty value, `Max-Age=0` and an
    /// `Expires` in 1970, with the same safe attributes (so prefixed names
    /// stay valid).
    pub fn expire(name: &'a str, path: &'a str) -> Self {
        Self {
            path,
            expired: true,
            ..Self::new(name, "")
        }
    }

    /// Sets `Path`.
    pub fn path(self, path: &'a str) -> Self {
        Self { path, ..self }
    }

    /// Sets `Domain` (refused for `__Host-` names).
    pub fn domain(self, domain: &'a str) -> Self {
        Self {
            domain: Some(domain),
            ..self
        }
    }

    /// Sets `Max-Age` (whole seconds).
    pub fn max_age(self, max_age: Duration) -> Self {
        Self {
            max_age: Some(max_age),
            ..self
        }
    }

    /// Sets or clears `HttpOnly`.
    pub fn http_only(self, http_only: bool) -> Self {
        Self { http_only, ..self }
    }

    /// Sets or clears `Secure` (required by the `__Host-` and `__Secure-` prefixes).
    pub fn secure(self, secure: bool) -> Self {
        Self { secure, ..self }
    }

    /// Sets or clears `SameSite`.
    pub fn same_site(self, same_site: Option<SameSite>) -> Self {
        Self { same_site, ..self }
    }

    /// The `Set-Cookie` header value.
    ///
    /// # Errors
    /// An invalid name, value, path or domain, or a broken prefix rule.
    pub fn build(&self) -> Result<HeaderValue, CookieError> {
        self.check()?;
        let mut out = format!("{}={}; Path={}", self.name, self.value, self.path);
        if let Some(domain) = self.domain {
            out.push_str("; Domain=");
            out.push_str(domain);
        }
        let max_age = if self.expired {
            Some(Duration::ZERO)
        } else {
            self.max_age
        };
        if let Some(max_age) = max_age {
            out.push_str(&format!("; Max-Age={}", max_age.as_secs()));
        }
        if self.expired {
            out.push_str("; Expires=Thu, 01 Jan 1970 00:00:00 GMT");
        }
        for (on, attribute) in [(self.http_only, "; HttpOnly"), (self.secure, "; Secure")] {
            if on {
                out.push_str(attribute);
            }
        }
        match self.same_site {
            Some(SameSite::Strict) => out.push_str("; SameSite=Strict"),
            Some(SameSite::Lax) => out.push_str("; SameSite=Lax"),
            None => {}
        }
        HeaderValue::from_str(&out).map_err(|_| CookieError::InvalidValue)
    }

    /// Validates every part and the prefix rules (prefixes match in any case,
    /// as browsers now do).
    fn check(&self) -> Result<(), CookieError> {
        if self.name.is_empty() || !self.name.bytes().all(is_tchar) {
            return Err(CookieError::InvalidName);
        }
        cookie_value(self.value.as_bytes())?;
        let path_ok = self.path.starts_with('/')
            && self
                .path
                .bytes()
                .all(|b| (0x20..0x7F).contains(&b) && b != b';');
        if !path_ok {
            return Err(CookieError::InvalidAttribute("Path"));
        }
        let domain_ok = |d: &str| {
            !d.is_empty()
                && d.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        };
        if self.domain.is_some_and(|d| !domain_ok(d)) {
            return Err(CookieError::InvalidAttribute("Domain"));
        }
        let has_prefix = |p: &str| {
            self.name
                .get(..p.len())
                .is_some_and(|h| h.eq_ignore_ascii_case(p))
        };
        if has_prefix("__Host-") && !(self.secure && self.path == "/" && self.domain.is_none()) {
            return Err(CookieError::PrefixRule("__Host-"));
        }
        if has_prefix("__Secure-") && !self.secure {
            return Err(CookieError::PrefixRule("__Secure-"));
        }
        Ok(())
    }
}

impl fmt::Debug for SetCookie<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SetCookie")
            .field("name", &self.name)
            .field("value", &"<redacted>")
            .field("path", &self.path)
            .field("domain", &self.domain)
            .field("max_age", &self.max_age)
            .field("http_only", &self.http_only)
            .field("secure", &self.secure)
            .field("same_site", &self.same_site)
            .field("expired", &self.expired)
            .finish()
    }
}

/// RFC 9110 tchar.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The builder renders attributes in a fixed order with safe defaults.
    #[test]
    fn set_cookie_renders() {
        let cases = [
            (
                SetCookie::new("__Host-fp", "abc"),
                "__Host-fp=abc; Path=/; HttpOnly; Secure; SameSite=Strict",
            ),
            (
                SetCookie::new("__Secure-rt", "t")
                    .path("/auth/refresh")
                    .max_age(Duration::from_secs(3600)),
                "__Secure-rt=t; Path=/auth/refresh; Max-Age=3600; HttpOnly; Secure; SameSite=Strict",
            ),
            (
                SetCookie::new("pref", "1")
                    .domain("example.com")
                    .http_only(false)
                    .same_site(Some(SameSite::Lax)),
                "pref=1; Path=/; Domain=example.com; Secure; SameSite=Lax",
            ),
            (
                SetCookie::new("dev", "1").secure(false).same_site(None),
                "dev=1; Path=/; HttpOnly",
            ),
            (
                SetCookie::expire("__Host-fp", "/"),
                "__Host-fp=; Path=/; Max-Age=0; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; Secure; SameSite=Strict",
            ),
        ];
        for (cookie, want) in cases {
            assert_eq!(cookie.build().unwrap(), want);
        }
    }

    /// Invalid parts and broken prefix rules are refused.
    #[test]
    fn set_cookie_refusals() {
        use CookieError::*;
        let cases = [
            (SetCookie::new("", "v"), InvalidName),
            (SetCookie::new("a b", "v"), InvalidName),
            (SetCookie::new("a=b", "v"), InvalidName),
            (SetCookie::new("a;b", "v"), InvalidName),
            (SetCookie::new("n", "a;b"), InvalidValue),
            (SetCookie::new("n", "a b"), InvalidValue),
            (SetCookie::new("n", "\"v\""), InvalidValue),
            (SetCookie::new("n", "v\r\n"), InvalidValue),
            (
                SetCookie::new("n", "v").path("relative"),
                InvalidAttribute("Path"),
            ),
            (
                SetCookie::new("n", "v").path("/a;Domain=evil"),
                InvalidAttribute("Path"),
            ),
            (
                SetCookie::new("n", "v").domain("evil.com; x"),
                InvalidAttribute("Domain"),
            ),
            (
                SetCookie::new("n", "v").domain(""),
                InvalidAttribute("Domain"),
            ),
            (
                SetCookie::new("__Host-n", "v").secure(false),
                PrefixRule("__Host-"),
            ),
            (
                SetCookie::new("__Host-n", "v").path("/app"),
                PrefixRule("__Host-"),
            ),
            (
                SetCookie::new("__Host-n", "v").domain("example.com"),
                PrefixRule("__Host-"),
            ),
            (
                SetCookie::new("__host-n", "v").domain("example.com"),
                PrefixRule("__Host-"),
            ),
            (SetCookie::expire("__Host-n", "/app"), PrefixRule("__Host-")),
            (
                SetCookie::new("__Secure-n", "v").secure(false),
                PrefixRule("__Secure-"),
            ),
            (
                SetCookie::new("__SECURE-n", "v").secure(false),
                PrefixRule("__Secure-"),
            ),
        ];
        for (cookie, want) in cases {
            assert_eq!(cookie.build(), Err(want), "{cookie:?}");
        }
    }

    /// Debug output never contains the cookie value.
    #[test]
    fn set_cookie_debug_redacts() {
        let shown = format!("{:?}", SetCookie::new("rt", "s3cret-token"));
        assert!(shown.contains("rt") && !shown.contains("s3cret"), "{shown}");
    }
}
