//! Security headers on every response.
//!
//! Configured as text ([`SecurityHeaders`]), compiled once into header values
//! ([`CompiledSecurityHeaders`]) so a bad value is a start-up error naming
//! the header and each response only clones prepared values.
//!
//! Proxied responses keep the upstream's own value of each header unless
//! `override_upstream` is set; the gateway's own responses always get every
//! configured header plus `Cache-Control: no-store` (tokens and session
//! answers must never be cached). By default the headers that advertise the
//! upstream's software (`Server`, `X-Powered-By`, `X-AspNet-Version`,
//! `X-AspNetMvc-Version`) are removed: they help only an attacker choose an
//! exploit, and no client needs them.

use http::header::{
    CACHE_CONTROL, CONTENT_SECURITY_POLICY, HeaderMap, HeaderName, HeaderValue, REFERRER_POLICY,
    SERVER, STRICT_TRANSPORT_SECURITY, X_CONTENT_TYPE_OPTIONS, X_FRAME_OPTIONS,
};

/// `Permissions-Policy`.
pub const PERMISSIONS_POLICY: HeaderName = HeaderName::from_static("permissions-policy");

/// Headers that only advertise the upstream's software.
pub const SOFTWARE_HEADERS: [HeaderName; 4] = [
    SERVER,
    HeaderName::from_static("x-powered-by"),
    HeaderName::from_static("x-aspnet-version"),
    HeaderName::from_static("x-aspnetmvc-version"),
];

/// Errors in the configured security headers.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SecurityError {
    /// A configured value is unusable; names the header and why.
    #[error("invalid {header} value: {reason}")]
    InvalidValue {
        /// The header's name.
        header: &'static str,
        /// What is wrong with the value.
        reason: &'static str,
    },
}

/// The configured security headers; `None` leaves a header out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityHeaders {
    /// `Strict-Transport-Security`; must contain `max-age=`.
    pub hsts: Option<String>,
    /// `X-Content-Type-Options`.
    pub content_type_options: Option<String>,
    /// `X-Frame-Options`.
    pub frame_options: Option<String>,
    /// `Referrer-Policy`.
    pub referrer_policy: Option<String>,
    /// `Content-Security-Policy`.
    pub content_security_policy: Option<String>,
    /// `Permissions-Policy`.
    pub permissions_policy: Option<String>,
    /// Replace the upstream's own values instead of only filling gaps.
    pub override_upstream: bool,
    /// Remove [`SOFTWARE_HEADERS`] from upstream responses.
    pub strip_software_headers: bool,
}

impl Default for SecurityHeaders {
    fn default() -> Self {
        let some = |s: &str| Some(s.to_owned());
        Self {
            hsts: some("max-age=31536000; includeSubDomains"),
            content_type_options: some("nosniff"),
            frame_options: some("DENY"),
            referrer_policy: some("strict-origin-when-cross-origin"),
            content_security_policy: some(
                "default-src 'self'; frame-ancestors 'none'; base-uri 'self'; form-action 'self'; object-src 'none'",
            ),
            permissions_policy: some(
                "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
            ),
            override_upstream: false,
            strip_software_headers: true,
        }
    }
}

impl SecurityHeaders {
    /// Parses every configured value into a header value, once.
    ///
    /// # Errors
    /// [`SecurityError::InvalidValue`] naming the first bad header: empty,
    /// not a valid header value (control characters, non-ASCII), or an HSTS
    /// value without `max-age=`.
    pub fn compile(&self) -> Result<CompiledSecurityHeaders, SecurityError> {
        let configured = [
            (
                STRICT_TRANSPORT_SECURITY,
                "Strict-Transport-Security",
                &self.hsts,
            ),
            (
                X_CONTENT_TYPE_OPTIONS,
                "X-Content-Type-Options",
                &self.content_type_options,
            ),
            (X_FRAME_OPTIONS, "X-Frame-Options", &self.frame_options),
            (REFERRER_POLICY, "Referrer-Policy", &self.referrer_policy),
            (
                CONTENT_SECURITY_POLICY,
                "Content-Security-Policy",
                &self.content_security_policy,
            ),
            (
                PERMISSIONS_POLICY,
                "Permissions-Policy",
                &self.permissions_policy,
            ),
        ];
        let mut set = Vec::with_capacity(configured.len());
        for (name, header, value) in configured {
            if let Some(value) = value {
                let parsed = parse_value(header, value)?;
                set.push((name, parsed));
            }
        }
        Ok(CompiledSecurityHeaders {
            set,
            override_upstream: self.override_upstream,
            strip_software_headers: self.strip_software_headers,
        })
    }
}

/// Validates and parses one configured value of the named header.
fn parse_value(header: &'static str, value: &str) -> Result<HeaderValue, SecurityError> {
    let invalid = |reason| SecurityError::InvalidValue { header, reason };
    let value = value.trim();
    if value.is_empty() {
        return Err(invalid("empty (leave it unset to omit the header)"));
    }
    let is_hsts = header == "Strict-Transport-Security";
    if is_hsts && !value.to_ascii_lowercase().contains("max-age=") {
        return Err(invalid("missing max-age="));
    }
    if !value.is_ascii() {
        return Err(invalid("not ASCII"));
    }
    HeaderValue::from_str(value).map_err(|_| invalid("not a valid header value"))
}

/// Security headers ready to apply to responses.
#[derive(Debug, Clone)]
pub struct CompiledSecurityHeaders {
    set: Vec<(HeaderName, HeaderValue)>,
    override_upstream: bool,
    strip_software_headers: bool,
}

impl CompiledSecurityHeaders {
    /// Applies the headers to a response. `own_endpoint` is true for the
    /// gateway's own answers (`/auth/*`, JWKS, errors, redirects): every
    /// header is set, plus `Cache-Control: no-store`. For proxied responses
    /// the upstream's value is kept unless `override_upstream`.
    pub fn apply(&self, headers: &mut HeaderMap, own_endpoint: bool) {
        if self.strip_software_headers {
            for name in &SOFTWARE_HEADERS {
                headers.remove(name);
            }
        }
        let replace = own_endpoint || self.override_upstream;
        // One growth of the map instead of one per header added.
        headers.reserve(self.set.len() + 1);
        for (name, value) in &self.set {
            if replace || !headers.contains_key(name) {
                headers.insert(name.clone(), value.clone());
            }
        }
        if own_endpoint {
            headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Compiles the defaults, which must be valid.
    fn defaults() -> CompiledSecurityHeaders {
        SecurityHeaders::default().compile().unwrap()
    }

    /// The defaults are the documented values.
    #[test]
    fn defaults_are_set_on_own_responses() {
        let mut h = HeaderMap::new();
        defaults().apply(&mut h, true);
        assert_eq!(
            h[STRICT_TRANSPORT_SECURITY],
            "max-age=31536000; includeSubDomains"
        );
        assert_eq!(h[X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert_eq!(h[X_FRAME_OPTIONS], "DENY");
        assert_eq!(h[REFERRER_POLICY], "strict-origin-when-cross-origin");
        assert!(
            h[CONTENT_SECURITY_POLICY]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'")
        );
        assert!(h.contains_key(PERMISSIONS_POLICY));
        assert_eq!(h[CACHE_CONTROL], "no-store");
        assert_eq!(h.len(), 7);
    }

    /// An upstream response with its own values.
    fn upstream() -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(X_FRAME_OPTIONS, HeaderValue::from_static("SAMEORIGIN"));
        h.insert(CACHE_CONTROL, HeaderValue::from_static("max-age=60"));
        h.insert(SERVER, HeaderValue::from_static("Apache/2.4.1"));
        h.insert("x-powered-by", HeaderValue::from_static("PHP/5.6"));
        h
    }

    /// Proxied responses keep upstream values; gaps are filled; software headers go.
    #[test]
    fn proxied_keeps_upstream_values() {
        let mut h = upstream();
        defaults().apply(&mut h, false);
        assert_eq!(h[X_FRAME_OPTIONS], "SAMEORIGIN");
        assert_eq!(h[CACHE_CONTROL], "max-age=60");
        assert_eq!(h[X_CONTENT_TYPE_OPTIONS], "nosniff");
        assert!(!h.contains_key(SERVER) && !h.contains_key("x-powered-by"));
    }

    /// With `override_upstream`, the configured values win (Cache-Control is untouched).
    #[test]
    fn override_replaces_upstream_values() {
        let config = SecurityHeaders {
            override_upstream: true,
            ..SecurityHeaders::default()
        };
        let mut h = upstream();
        config.compile().unwrap().apply(&mut h, false);
        assert_eq!(h[X_FRAME_OPTIONS], "DENY");
        assert_eq!(h[CACHE_CONTROL], "max-age=60");
    }

    /// Own responses always get the configured values and no-store.
    #[test]
    fn own_endpoint_always_sets() {
        let mut h = upstream();
        defaults().apply(&mut h, true);
        assert_eq!(h[X_FRAME_OPTIONS], "DENY");
        assert_eq!(h[CACHE_CONTROL], "no-store");
    }

    /// Unset headers are left out; software headers can be kept.
    #[test]
    fn unset_and_keep_software() {
        let config = SecurityHeaders {
            content_security_policy: None,
            permissions_policy: None,
            strip_software_headers: false,
            ..SecurityHeaders::default()
        };
        let mut h = upstream();
        config.compile().unwrap().apply(&mut h, false);
        assert!(!h.contains_key(CONTENT_SECURITY_POLICY) && !h.contains_key(PERMISSIONS_POLICY));
        assert_eq!(h[SERVER], "Apache/2.4.1");
    }

    /// A change to the configuration, for the refusal table.
    type Mutation = fn(&mut SecurityHeaders);

    /// Bad configured values are construction errors naming the header.
    #[test]
    fn compile_refusals() {
        let cases: [(Mutation, &str); 6] = [
            (
                |c| c.hsts = Some("includeSubDomains".into()),
                "Strict-Transport-Security",
            ),
            (
                |c| c.hsts = Some(String::new()),
                "Strict-Transport-Security",
            ),
            (
                |c| c.frame_options = Some("DENY\r\nSet-Cookie: x=y".into()),
                "X-Frame-Options",
            ),
            (
                |c| c.referrer_policy = Some("   ".into()),
                "Referrer-Policy",
            ),
            (
                |c| c.content_security_policy = Some("default-src 'sélf'".into()),
                "Content-Security-Policy",
            ),
            (
                |c| c.permissions_policy = Some("a\0".into()),
                "Permissions-Policy",
            ),
        ];
        for (mutate, header) in cases {
            let mut config = SecurityHeaders::default();
            mutate(&mut config);
            let err = config.compile().unwrap_err();
            assert!(
                matches!(err, SecurityError::InvalidValue { header: h, .. } if h == header),
                "{err}"
            );
            assert!(err.to_string().contains(header));
        }
    }
}
