//! Access-token claims and their validation.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::JwtError;
use super::header::json_object;

/// Largest leeway [`Validation`] applies, whatever it is configured with.
pub const MAX_LEEWAY_SECS: u64 = 60;

/// The claims of a portcullis access token. Unknown claims are ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// Issuer.
    pub iss: String,
    /// Subject: the user id.
    pub sub: String,
    /// Audience: read from a string or an array; portcullis issues
    /// [`Audience::One`], which is written as a string.
    pub aud: Audience,
    /// Session id, checked against revocations.
    pub sid: String,
    /// Token id.
    pub jti: String,
    /// Issued at, Unix seconds.
    pub iat: u64,
    /// Expiry, Unix seconds.
    pub exp: u64,
    /// Not before, Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// SHA-256 of the fingerprint cookie, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fpt: Option<String>,
    /// Roles granted to the subject.
    #[serde(default)]
    pub roles: Vec<String>,
}

/// The `aud` claim: one audience (what portcullis issues) or several.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    /// `"aud": "app"`.
    One(String),
    /// `"aud": ["app", "other"]`.
    Many(Vec<String>),
}

impl Audience {
    /// True when `audience` is, or is among, the audiences.
    pub fn contains(&self, audience: &str) -> bool {
        match self {
            Self::One(one) => one == audience,
            Self::Many(many) => many.iter().any(|a| a == audience),
        }
    }
}

impl Claims {
    /// Reads claims from a payload, refusing duplicate members.
    pub(super) fn from_json(bytes: &[u8]) -> Result<Self, JwtError> {
        let object = json_object(bytes, JwtError::InvalidClaims)?;
        serde_json::from_value(Value::Object(object)).map_err(|_| JwtError::InvalidClaims)
    }
}

/// What a token must say to be accepted here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Validation {
    /// The `iss` we issue with.
    pub issuer: String,
    /// Our audience.
    pub audience: String,
    /// Clock-skew allowance in seconds; anything above [`MAX_LEEWAY_SECS`]
    /// counts as [`MAX_LEEWAY_SECS`].
    pub leeway_secs: u64,
}

impl Validation {
    /// A validation for `issuer` and `audience` with `leeway_secs` (clamped).
    pub fn new(issuer: impl Into<String>, audience: impl Into<String>, leeway_secs: u64) -> Self {
        Self {
            issuer: issuer.into(),
            audience: audience.into(),
            leeway_secs: leeway_secs.min(MAX_LEEWAY_SECS),
        }
    }

    /// The leeway actually applied.
    pub fn leeway(&self) -> u64 {
        self.leeway_secs.min(MAX_LEEWAY_SECS)
    }

    /// Checks `iss`, `aud`, then `now < exp + leeway`, `nbf <= now + leeway`,
    /// `iat <= now + leeway`. An empty configured issuer or audience matches
    /// nothing.
    pub fn check(&self, claims: &Claims, now: u64) -> Result<(), JwtError> {
        if self.issuer.is_empty() || claims.iss != self.issuer {
            return Err(JwtError::WrongIssuer);
        }
        if self.audience.is_empty() || !claims.aud.contains(&self.audience) {
            return Err(JwtError::WrongAudience);
        }
        let leeway = self.leeway();
        if now >= claims.exp.saturating_add(leeway) {
            return Err(JwtError::Expired);
        }
        let latest = now.saturating_add(leeway);
        if claims.nbf.is_some_and(|nbf| nbf > latest) {
            return Err(JwtError::NotYetValid);
        }
        if claims.iat > latest {
            return Err(JwtError::IssuedInFuture);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::jwt::tests::{NOW, claims, forge, validation};
    use crate::auth::jwt::{DEFAULT_MAX_TOKEN_LEN, encode, parse};
    use crate::auth::keys::test_key;

    /// Issues `claims` and verifies the token at `now` with `validation`.
    fn check(claims: &Claims, validation: &Validation, now: u64) -> Result<Claims, JwtError> {
        let token = encode(claims, test_key()).unwrap();
        parse(&token, DEFAULT_MAX_TOKEN_LEN)?.verify(test_key().public(), validation, now)
    }

    /// Verifies a raw payload text signed with the test key.
    fn check_raw(payload: &str) -> Result<Claims, JwtError> {
        let header = format!(r#"{{"alg":"RS256","kid":"{}"}}"#, test_key().kid());
        let token = forge(&header, payload);
        parse(&token, DEFAULT_MAX_TOKEN_LEN)?.verify(test_key().public(), &validation(), NOW)
    }

    /// Class 6: `exp` is honoured up to the leeway, and not a second more.
    #[test]
    fn expiry_with_leeway() {
        let v = validation();
        let mut c = claims();
        c.exp = NOW - 29;
        assert!(check(&c, &v, NOW).is_ok());
        c.exp = NOW - 30;
        assert_eq!(check(&c, &v, NOW), Err(JwtError::Expired));
        let strict = Validation::new(&v.issuer, &v.audience, 0);
        c.exp = NOW;
        assert_eq!(check(&c, &strict, NOW), Err(JwtError::Expired));
        c.exp = NOW + 1;
        assert!(check(&c, &strict, NOW).is_ok());
    }

    /// Class 6: `nbf` and `iat` in the future are accepted within the leeway
    /// and refused beyond it.
    #[test]
    fn future_nbf_and_iat() {
        let v = validation();
        let mut c = claims();
        c.nbf = Some(NOW + 30);
        assert!(check(&c, &v, NOW).is_ok());
        c.nbf = Some(NOW + 31);
        assert_eq!(check(&c, &v, NOW), Err(JwtError::NotYetValid));
        let mut c = claims();
        c.iat = NOW + 30;
        assert!(check(&c, &v, NOW).is_ok());
        c.iat = NOW + 31;
        assert_eq!(check(&c, &v, NOW), Err(JwtError::IssuedInFuture));
    }

    /// The leeway is clamped to 60 s however it is configured.
    #[test]
    fn leeway_is_clamped() {
        let mut v = validation();
        v.leeway_secs = 3_600;
        assert_eq!(v.leeway(), MAX_LEEWAY_SECS);
        assert_eq!(
            Validation::new("i", "a", 3_600).leeway_secs,
            MAX_LEEWAY_SECS
        );
        let mut c = claims();
        c.exp = NOW - 60;
        assert_eq!(check(&c, &v, NOW), Err(JwtError::Expired));
        c.exp = NOW - 59;
        assert!(check(&c, &v, NOW).is_ok());
    }

    /// Class 6: wrong issuer; `aud` as a string or an array must name us.
    #[test]
    fn issuer_and_audience() {
        let v = validation();
        let mut c = claims();
        c.iss = "https://evil.example".to_owned();
        assert_eq!(check(&c, &v, NOW), Err(JwtError::WrongIssuer));
        let mut c = claims();
        c.aud = Audience::One("other".to_owned());
        assert_eq!(check(&c, &v, NOW), Err(JwtError::WrongAudience));
        c.aud = Audience::Many(vec!["other".to_owned(), "app".to_owned()]);
        assert_eq!(check(&c, &v, NOW).map(|got| got.aud), Ok(c.aud.clone()));
        c.aud = Audience::Many(vec!["other".to_owned(), "APP".to_owned()]);
        assert_eq!(check(&c, &v, NOW), Err(JwtError::WrongAudience));
        c.aud = Audience::Many(vec![]);
        assert_eq!(check(&c, &v, NOW), Err(JwtError::WrongAudience));
        let empty = Validation::new("", "", 0);
        let mut c = claims();
        c.iss = String::new();
        assert_eq!(check(&c, &empty, NOW), Err(JwtError::WrongIssuer));
    }

    /// Class 6 and 7: missing or mistyped required claims, a non-object
    /// payload and duplicate payload members are refused after the signature.
    #[test]
    fn payload_shape() {
        let full = serde_json::to_value(claims()).unwrap();
        for name in ["exp", "iat", "iss", "aud", "sub", "sid", "jti"] {
            let mut partial = full.clone();
            partial.as_object_mut().unwrap().remove(name);
            assert_eq!(
                check_raw(&partial.to_string()),
                Err(JwtError::InvalidClaims),
                "{name}"
            );
        }
        for (name, value) in [
            ("exp", r#""9999999999""#),
            ("exp", "1.9e9"),
            ("iat", "-1"),
            ("aud", "[1]"),
        ] {
            let mut bad = full.clone();
            bad[name] = serde_json::from_str(value).unwrap();
            assert_eq!(
                check_raw(&bad.to_string()),
                Err(JwtError::InvalidClaims),
                "{name}"
            );
        }
        for payload in ["foo", "[]", "null", ""] {
            assert!(check_raw(payload).is_err(), "{payload}");
        }
        let text = full.to_string();
        let dup_exp = text.replacen('{', r#"{"exp":1,"#, 1);
        assert_eq!(check_raw(&dup_exp), Err(JwtError::DuplicateMember));
        let dup_sub = text.replacen('{', r#"{"sub":"admin","#, 1);
        assert_eq!(check_raw(&dup_sub), Err(JwtError::DuplicateMember));
        assert!(check_raw(&text).is_ok());
    }
}
