//! The JOSE header of a compact JWS: what it must and must not say.

use serde::Serialize;
use serde_json::{Map, Value};

use super::JwtError;
use crate::auth::strict_json::{self, StrictJsonError};

/// Longest accepted `kid`, in bytes.
const MAX_KID_LEN: usize = 128;

/// Header parameters that carry or point to a key; never trusted.
const KEY_PARAMETERS: [&str; 6] = ["jwk", "jku", "x5u", "x5c", "x5t", "x5t#S256"];

/// The JOSE header of a token that passed [`parse`](super::parse).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Header {
    /// Always `RS256`.
    pub alg: String,
    /// `JWT` or absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub typ: Option<String>,
    /// The signing key's id.
    pub kid: String,
}

/// Parses a header or payload object, refusing duplicate members.
pub(super) fn json_object(bytes: &[u8], invalid: JwtError) -> Result<Map<String, Value>, JwtError> {
    match strict_json::from_slice(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) | Err(StrictJsonError::Syntax) => Err(invalid),
        Err(StrictJsonError::DuplicateMember) => Err(JwtError::DuplicateMember),
    }
}

impl Header {
    /// Reads and checks a decoded header against the rules listed in
    /// [`crate::auth::jwt`].
    pub(super) fn from_json(bytes: &[u8]) -> Result<Self, JwtError> {
        let object = json_object(bytes, JwtError::Malformed("header is not a JSON object"))?;
        if object.get("alg").and_then(Value::as_str) != Some("RS256") {
            return Err(JwtError::BadAlgorithm);
        }
        let typ = match object.get("typ") {
            None => None,
            Some(Value::String(typ)) if typ == "JWT" => Some(typ.clone()),
            Some(_) => return Err(JwtError::BadType),
        };
        if object.contains_key("crit") {
            return Err(JwtError::Crit);
        }
        if KEY_PARAMETERS.iter().any(|p| object.contains_key(*p)) {
            return Err(JwtError::UntrustedKeyHeader);
        }
        let kid = match object.get("kid") {
            None => return Err(JwtError::MissingKid),
            Some(Value::String(kid)) if kid.is_empty() => return Err(JwtError::MissingKid),
            Some(Value::String(kid))
                if kid.len() <= MAX_KID_LEN && kid.bytes().all(|b| b.is_ascii_graphic()) =>
            {
                kid.clone()
            }
            Some(_) => return Err(JwtError::BadKid),
        };
        Ok(Self {
            alg: "RS256".to_owned(),
            typ,
            kid,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::b64;
    use crate::auth::jwt::tests::{err, forge, header_with, payload};
    use crate::auth::jwt::{DEFAULT_MAX_TOKEN_LEN, parse};
    use crate::auth::keys::test_key;

    const MAX: usize = DEFAULT_MAX_TOKEN_LEN;

    /// Class 1 and 2: `alg` must be exactly RS256, whatever the signature
    /// segment holds (empty, valid RSA, or an HMAC keyed with our public key).
    #[test]
    fn alg_must_be_rs256() {
        let kid = test_key().kid();
        let p = b64::encode(payload());
        let jwk = serde_json::to_vec(&test_key().public().to_jwk()).unwrap();
        let hmac_keys: [&[u8]; 2] = [&jwk, test_key().public().n()];
        for alg in [
            r#""none""#,
            r#""None""#,
            r#""NONE""#,
            r#""nOnE""#,
            r#""HS256""#,
            r#""rs256""#,
            r#""RS256 ""#,
            r#""RS384""#,
            r#""PS256""#,
            r#""ES256""#,
            r#""""#,
            "null",
            r#"["RS256"]"#,
        ] {
            let h = b64::encode(format!(r#"{{"alg":{alg},"kid":"{kid}"}}"#));
            let input = format!("{h}.{p}");
            assert_eq!(err(&format!("{input}.")), JwtError::BadAlgorithm, "{alg}");
            for key in hmac_keys {
                let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, key);
                let tag = aws_lc_rs::hmac::sign(&key, input.as_bytes());
                let token = format!("{input}.{}", b64::encode(tag.as_ref()));
                assert_eq!(err(&token), JwtError::BadAlgorithm, "{alg}");
            }
        }
        let no_alg = forge(&format!(r#"{{"kid":"{kid}"}}"#), &payload());
        assert_eq!(err(&no_alg), JwtError::BadAlgorithm);
    }

    /// `typ`, when present, must be exactly `JWT`.
    #[test]
    fn typ_must_be_jwt() {
        for typ in [r#""jwt""#, r#""at+jwt""#, r#""JWS""#, "1", "null"] {
            let token = forge(&header_with(&format!(r#","typ":{typ}"#)), &payload());
            assert_eq!(err(&token), JwtError::BadType, "{typ}");
        }
    }

    /// Class 5: any `crit` is refused, even an empty list.
    #[test]
    fn crit_is_refused() {
        for crit in [r#"["exp"]"#, r#"["b64"]"#, "[]", r#""x""#] {
            let token = forge(&header_with(&format!(r#","crit":{crit}"#)), &payload());
            assert_eq!(err(&token), JwtError::Crit, "{crit}");
        }
    }

    /// Class 3: embedded or remote keys are refused even when the signature
    /// verifies with our key.
    #[test]
    fn key_headers_are_refused() {
        let jwk = serde_json::to_string(&test_key().public().to_jwk()).unwrap();
        for extra in [
            format!(r#","jwk":{jwk}"#),
            r#","jku":"https://evil.example/jwks.json""#.to_owned(),
            r#","x5u":"https://evil.example/cert.pem""#.to_owned(),
            r#","x5c":["MIIB"]"#.to_owned(),
            r#","x5t":"AAAA""#.to_owned(),
            r#","x5t#S256":"AAAA""#.to_owned(),
        ] {
            let token = forge(&header_with(&extra), &payload());
            assert_eq!(err(&token), JwtError::UntrustedKeyHeader, "{extra}");
        }
    }

    /// Class 4: `kid` is required, non-empty, at most 128 visible ASCII
    /// characters; a path-shaped kid parses but is only ever a lookup key.
    #[test]
    fn kid_rules() {
        let p = payload();
        assert_eq!(err(&forge(r#"{"alg":"RS256"}"#, &p)), JwtError::MissingKid);
        assert_eq!(
            err(&forge(r#"{"alg":"RS256","kid":""}"#, &p)),
            JwtError::MissingKid
        );
        for kid in [
            "5".to_owned(),
            "null".to_owned(),
            format!(r#""{}""#, "a".repeat(129)),
            r#""' OR 1=1 --""#.to_owned(),
            r#""k\u0000""#.to_owned(),
            r#""é""#.to_owned(),
        ] {
            let token = forge(&format!(r#"{{"alg":"RS256","kid":{kid}}}"#), &p);
            assert_eq!(err(&token), JwtError::BadKid, "{kid}");
        }
        let long = forge(
            &format!(r#"{{"alg":"RS256","kid":"{}"}}"#, "a".repeat(128)),
            &p,
        );
        assert_eq!(parse(&long, MAX).unwrap().kid().len(), 128);
        let path = forge(r#"{"alg":"RS256","kid":"../../etc/passwd"}"#, &p);
        assert_eq!(parse(&path, MAX).unwrap().kid(), "../../etc/passwd");
    }

    /// Class 7: duplicate header members, in either order or escaped.
    #[test]
    fn duplicate_header_members() {
        let kid = test_key().kid();
        for header in [
            format!(r#"{{"alg":"RS256","alg":"none","kid":"{kid}"}}"#),
            format!(r#"{{"alg":"none","alg":"RS256","kid":"{kid}"}}"#),
            format!(r#"{{"alg":"RS256","\u0061lg":"RS256","kid":"{kid}"}}"#),
            format!(r#"{{"alg":"RS256","kid":"{kid}","kid":"{kid}"}}"#),
            format!(r#"{{"alg":"RS256","kid":"{kid}","x":{{"a":1,"a":2}}}}"#),
        ] {
            assert_eq!(
                err(&forge(&header, &payload())),
                JwtError::DuplicateMember,
                "{header}"
            );
        }
    }
}
