//! Cookies: a strict reader over every `Cookie` header (HTTP/2 may split
//! them), removal of the gateway's own cookies before forwarding, and a
//! `Set-Cookie` builder that enforces the `__Host-` and `__Secure-` rules.
//!
//! A cookie the gateway relies on must appear once: two of them (in one
//! header or across headers) are an error, never first-wins or last-wins,
//! since an attacker who can plant one cookie would otherwise choose which
//! one counts.

use http::header::{COOKIE, HeaderMap, HeaderValue};

mod set_cookie;

pub use set_cookie::{SameSite, SetCookie};

/// At most this many cookie pairs are read from a request.
pub const MAX_COOKIE_PAIRS: usize = 256;

/// Cookie errors: the reading ones are client errors, the building ones are
/// configuration or programming errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CookieError {
    /// The requested cookie appears more than once.
    #[error("duplicate cookie")]
    Duplicate,
    /// The requested cookie's value has bytes outside RFC 6265 cookie-octets.
    #[error("invalid cookie value")]
    InvalidValue,
    /// More than [`MAX_COOKIE_PAIRS`] pairs.
    #[error("too many cookies")]
    TooMany,
    /// A name that is empty or not an RFC 9110 token.
    #[error("invalid cookie name")]
    InvalidName,
    /// An attribute (`Path` or `Domain`) with a forbidden character.
    #[error("invalid cookie attribute {0}")]
    InvalidAttribute(&'static str),
    /// A `__Host-` or `__Secure-` name without what its prefix requires.
    #[error("cookie breaks the {0} prefix rules")]
    PrefixRule(&'static str),
}

/// The value of the cookie `name`, if present exactly once.
///
/// Pairs are separated by `;`, whitespace around names and values is
/// ignored, pairs without `=` are skipped; names compare exactly.
///
/// # Errors
/// [`CookieError::Duplicate`] if the name appears twice,
/// [`CookieError::InvalidValue`] if its value is not cookie-octets (quotes
/// included), [`CookieError::TooMany`] past [`MAX_COOKIE_PAIRS`].
pub fn get_unique<'h>(headers: &'h HeaderMap, name: &str) -> Result<Option<&'h str>, CookieError> {
    let mut found = None;
    for (count, pair) in pairs(headers).enumerate() {
        if count >= MAX_COOKIE_PAIRS {
            return Err(CookieError::TooMany);
        }
        if let Some((n, value)) = split_pair(pair)
            && n == name.as_bytes()
            && found.replace(value).is_some()
        {
            return Err(CookieError::Duplicate);
        }
    }
    found.map(cookie_value).transpose()
}

/// Rewrites the `Cookie` header(s) into one without the named cookies (every
/// copy of each), or drops it if nothing is left. Leaves the map untouched
/// when none of the names is present.
pub fn remove(headers: &mut HeaderMap, names: &[&str]) {
    let doomed = |pair: &[u8]| {
        split_pair(pair).is_some_and(|(n, _)| names.iter().any(|x| x.as_bytes() == n))
    };
    if !pairs(headers).any(doomed) {
        return;
    }
    let mut kept = Vec::new();
    for pair in pairs(headers).filter(|p| !doomed(p)) {
        if !kept.is_empty() {
            kept.extend_from_slice(b"; ");
        }
        kept.extend_from_slice(pair);
    }
    headers.remove(COOKIE);
    if !kept.is_empty()
        && let Ok(value) = HeaderValue::from_bytes(&kept)
    {
        headers.insert(COOKIE, value);
    }
}

/// Every non-empty, trimmed pair of every `Cookie` header.
fn pairs(headers: &HeaderMap) -> impl Iterator<Item = &[u8]> {
    headers
        .get_all(COOKIE)
        .iter()
        .flat_map(|v| v.as_bytes().split(|&b| b == b';'))
        .map(<[u8]>::trim_ascii)
        .filter(|p| !p.is_empty())
}

/// A pair's trimmed name and value, if it has an `=`.
fn split_pair(pair: &[u8]) -> Option<(&[u8], &[u8])> {
    let eq = pair.iter().position(|&b| b == b'=')?;
    let (name, value) = (pair.get(..eq)?, pair.get(eq + 1..)?);
    Some((name.trim_ascii(), value.trim_ascii()))
}

/// A value made only of RFC 6265 cookie-octets, as text.
fn cookie_value(value: &[u8]) -> Result<&str, CookieError> {
    if value.iter().all(|&b| is_cookie_octet(b)) {
        std::str::from_utf8(value).map_err(|_| CookieError::InvalidValue)
    } else {
        Err(CookieError::InvalidValue)
    }
}

/// RFC 6265 cookie-octet: visible ASCII except `"`, `,`, `;` and `\`.
fn is_cookie_octet(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Headers with the given `Cookie` values, in order.
    fn cookies(values: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in values {
            h.append(COOKIE, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    /// Expected outcome of a lookup.
    type Lookup = Result<Option<&'static str>, CookieError>;

    /// One occurrence is found; two anywhere are an error; junk is tolerated.
    #[test]
    fn get_unique_table() {
        use CookieError::*;
        let cases: &[(&[&str], Lookup)] = &[
            (&[], Ok(None)),
            (&["a=1; b=2"], Ok(None)),
            (&["fp=abc"], Ok(Some("abc"))),
            (&["a=1; fp=abc; b=2"], Ok(Some("abc"))),
            (&["a=1;fp=abc;b=2"], Ok(Some("abc"))),
            (&["  fp \t=  abc  ;"], Ok(Some("abc"))),
            (&["a=1", "fp=abc", "b=2"], Ok(Some("abc"))),
            (&["fp="], Ok(Some(""))),
            (&["fp=a=b"], Ok(Some("a=b"))),
            (&["fpx=1; xfp=2; FP=3; fp"], Ok(None)),
            (&["junk; ; ;=; fp=ok; =x"], Ok(Some("ok"))),
            (&["fp=abc; fp=abc"], Err(Duplicate)),
            (&["fp=abc; fp=def"], Err(Duplicate)),
            (&["fp=abc", "fp=def"], Err(Duplicate)),
            (&["fp=abc", " fp =def"], Err(Duplicate)),
            (&["fp=; fp=x"], Err(Duplicate)),
            (&["fp=\"abc\""], Err(InvalidValue)),
            (&["fp=a,b"], Err(InvalidValue)),
            (&["fp=a b"], Err(InvalidValue)),
            (&["fp=a\\b"], Err(InvalidValue)),
        ];
        for (values, want) in cases {
            assert_eq!(get_unique(&cookies(values), "fp"), *want, "{values:?}");
        }
    }

    /// Non-ASCII elsewhere in the header does not hide or break our cookie.
    #[test]
    fn get_unique_tolerates_other_bytes() {
        let mut h = HeaderMap::new();
        h.append(
            COOKIE,
            HeaderValue::from_bytes(b"pref=caf\xc3\xa9; fp=abc").unwrap(),
        );
        assert_eq!(get_unique(&h, "fp"), Ok(Some("abc")));
        assert_eq!(get_unique(&h, "pref"), Err(CookieError::InvalidValue));
    }

    /// Many pairs are refused rather than scanned without end.
    #[test]
    fn get_unique_is_bounded() {
        let many = "a=1; ".repeat(MAX_COOKIE_PAIRS + 1);
        assert_eq!(
            get_unique(&cookies(&[&many]), "fp"),
            Err(CookieError::TooMany)
        );
        let fine = "a=1; ".repeat(MAX_COOKIE_PAIRS - 1) + "fp=x";
        assert_eq!(get_unique(&cookies(&[&fine]), "fp"), Ok(Some("x")));
    }

    /// Removal joins what is left into one header, or drops it.
    #[test]
    fn remove_table() {
        let cases: &[(&[&str], Option<&str>)] = &[
            (&["a=1; fp=x; b=2"], Some("a=1; b=2")),
            (&["fp=x", "a=1", "rt=y; b=2"], Some("a=1; b=2")),
            (&["fp=x; fp=y;  rt=z "], None),
            (&["fp=x", "rt=y"], None),
            (&[" fp =x;a=1;;flag"], Some("a=1; flag")),
            (&["fpx=1; FP=2"], Some("fpx=1; FP=2")),
        ];
        for (values, want) in cases {
            let mut h = cookies(values);
            remove(&mut h, &["fp", "rt"]);
            let got: Vec<_> = h
                .get_all(COOKIE)
                .iter()
                .map(|v| v.to_str().unwrap())
                .collect();
            assert_eq!(got, want.iter().copied().collect::<Vec<_>>(), "{values:?}");
        }
    }

    /// Without a named cookie present, split headers are left as they are.
    #[test]
    fn remove_without_match_leaves_headers() {
        let mut h = cookies(&["a=1", "b=2"]);
        remove(&mut h, &["fp"]);
        assert_eq!(h.get_all(COOKIE).iter().count(), 2);
    }
}
