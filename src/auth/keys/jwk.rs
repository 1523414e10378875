//! JSON Web Keys (RFC 7517) for RS256 public keys, read strictly.
//!
//! Policy of [`PublicKey::from_jwk`] and [`parse_jwks`]:
//! - only `kty` `RSA` becomes a key; a key carrying private members (`d`, `p`,
//!   `q`, `dp`, `dq`, `qi`, `oth`, or a symmetric `k`) is refused, and a set
//!   with any such key is refused whole (Wycheproof "MixedKeySet");
//! - `use`, when present, must be `sig`; `key_ops`, when present, must contain
//!   `verify`; `alg`, when present, must be `RS256`;
//! - `n` and `e` must be canonical base64url without leading zero octets and
//!   pass [`PublicKey::from_components`] (size, exponent, ROCA);
//! - `kid`, when present, must equal the RFC 7638 thumbprint; when absent the
//!   thumbprint is used. Portcullis only ever reads its own keys (key
//!   directory, peers' keys in Redis), all named this way, so a `kid` can never
//!   be rebound to a different key;
//! - in a set, two keys with the same `kid` refuse the whole set, the whole
//!   document is read with duplicate-member detection, and well-formed public
//!   keys of other types (`EC`, `OKP`) are skipped: they can verify nothing
//!   here, and a token naming them fails as an unknown `kid`.

use std::collections::HashSet;
use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{KeyError, PublicKey};
use crate::auth::{b64, strict_json};

/// JWK members that only private or symmetric keys carry.
const PRIVATE_MEMBERS: [&str; 8] = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/// A JSON Web Key as portcullis reads and writes it.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub struct Jwk {
    /// Key type; only `RSA` is accepted.
    pub kty: String,
    /// Modulus, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<String>,
    /// Public exponent, base64url.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e: Option<String>,
    /// Key id: the RFC 7638 thumbprint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kid: Option<String>,
    /// Algorithm; `RS256` when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alg: Option<String>,
    /// Public key use; `sig` when present.
    #[serde(rename = "use", default, skip_serializing_if = "Option::is_none")]
    pub use_: Option<String>,
    /// Permitted operations; must contain `verify` when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_ops: Option<Vec<String>>,
    /// Every other member, kept so that private material is noticed.
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl fmt::Debug for Jwk {
    /// Shows the public members and only the names of the others, which may
    /// be private key material.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Jwk")
            .field("kty", &self.kty)
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .field("use", &self.use_)
            .field("key_ops", &self.key_ops)
            .field("other", &self.other.keys().collect::<Vec<_>>())
            .finish_non_exhaustive()
    }
}

impl PublicKey {
    /// The key as a public JWK: `kty`, `n`, `e`, `kid`, `alg` `RS256`, `use` `sig`.
    pub fn to_jwk(&self) -> Jwk {
        Jwk {
            kty: "RSA".to_owned(),
            n: Some(b64::encode(self.n())),
            e: Some(b64::encode(self.e())),
            kid: Some(self.kid().to_owned()),
            alg: Some("RS256".to_owned()),
            use_: Some("sig".to_owned()),
            key_ops: None,
            other: Map::new(),
        }
    }

    /// Reads a public RSA JWK under the policy in the module documentation.
    pub fn from_jwk(jwk: &Jwk) -> Result<Self, KeyError> {
        if jwk.kty != "RSA" {
            return Err(KeyError::NotRsa);
        }
        if PRIVATE_MEMBERS.iter().any(|m| jwk.other.contains_key(*m)) {
            return Err(KeyError::PrivateMaterial);
        }
        if jwk.use_.as_deref().is_some_and(|u| u != "sig") {
            return Err(KeyError::WrongUse);
        }
        if let Some(ops) = &jwk.key_ops
            && !ops.iter().any(|op| op == "verify")
        {
            return Err(KeyError::WrongKeyOps);
        }
        if jwk.alg.as_deref().is_some_and(|a| a != "RS256") {
            return Err(KeyError::WrongAlgorithm);
        }
        let n = decode_member(jwk.n.as_deref(), "n")?;
        let e = decode_member(jwk.e.as_deref(), "e")?;
        let key = Self::from_components(&n, &e)?;
        match jwk.kid.as_deref() {
            Some(kid) if kid != key.kid() => Err(KeyError::KidNotThumbprint),
            _ => Ok(key),
        }
    }
}

fn decode_member(value: Option<&str>, name: &'static str) -> Result<Vec<u8>, KeyError> {
    let text = value.ok_or(KeyError::MissingMember(name))?;
    b64::decode(text).ok_or(KeyError::BadEncoding(name))
}

/// Reads a JWK set `{"keys":[...]}` into its RSA public keys, under the policy
/// in the module documentation.
pub fn parse_jwks(text: &str) -> Result<Vec<PublicKey>, KeyError> {
    let doc = strict_json::from_slice(text.as_bytes()).map_err(|e| match e {
        strict_json::StrictJsonError::DuplicateMember => KeyError::InvalidJwks("duplicate member"),
        strict_json::StrictJsonError::Syntax => KeyError::InvalidJwks("not JSON"),
    })?;
    let entries = doc
        .get("keys")
        .and_then(Value::as_array)
        .ok_or(KeyError::InvalidJwks("no \"keys\" array"))?;
    let objects = entries
        .iter()
        .map(|entry| {
            entry
                .as_object()
                .ok_or(KeyError::InvalidJwks("a key is not an object"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    check_set(&objects)?;
    let mut keys = Vec::new();
    for object in objects {
        if object.get("kty").and_then(Value::as_str) != Some("RSA") {
            continue;
        }
        let jwk: Jwk = serde_json::from_value(Value::Object(object.clone()))
            .map_err(|_| KeyError::InvalidJwks("an RSA key has mistyped members"))?;
        keys.push(PublicKey::from_jwk(&jwk)?);
    }
    let mut kids = HashSet::new();
    if keys.iter().any(|key| !kids.insert(key.kid().to_owned())) {
        return Err(KeyError::DuplicateKid);
    }
    Ok(keys)
}

/// Reads one JWK document (a peer instance's key, as published in Redis)
/// under the same rules as a one-key set: strict JSON, an object, no private
/// material, `kty` `RSA`, then [`PublicKey::from_jwk`].
pub fn parse_jwk(text: &str) -> Result<PublicKey, KeyError> {
    let doc = strict_json::from_slice(text.as_bytes()).map_err(|e| match e {
        strict_json::StrictJsonError::DuplicateMember => KeyError::InvalidJwks("duplicate member"),
        strict_json::StrictJsonError::Syntax => KeyError::InvalidJwks("not JSON"),
    })?;
    let object = doc
        .as_object()
        .ok_or(KeyError::InvalidJwks("a key is not an object"))?;
    check_set(&[object])?;
    if object.get("kty").and_then(Value::as_str) != Some("RSA") {
        return Err(KeyError::NotRsa);
    }
    let jwk: Jwk = serde_json::from_value(doc.clone())
        .map_err(|_| KeyError::InvalidJwks("an RSA key has mistyped members"))?;
    PublicKey::from_jwk(&jwk)
}

/// Set-wide rules: every key has a string `kty`, no `kid` repeats, no key
/// carries private material.
fn check_set(objects: &[&Map<String, Value>]) -> Result<(), KeyError> {
    let mut kids = HashSet::new();
    for object in objects {
        if !object.get("kty").is_some_and(Value::is_string) {
            return Err(KeyError::InvalidJwks("a key has no \"kty\""));
        }
        if let Some(kid) = object.get("kid")
            && !kids.insert(kid.to_string())
        {
            return Err(KeyError::DuplicateKid);
        }
    }
    if objects
        .iter()
        .any(|object| PRIVATE_MEMBERS.iter().any(|m| object.contains_key(*m)))
    {
        return Err(KeyError::PrivateMaterial);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7517 A.1 / RFC 7638 §3.1 RSA key (2048 bits, e = 65537).
    const N: &str = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
    const KID: &str = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

    fn jwk(extra: Value) -> Jwk {
        let mut value = serde_json::json!({ "kty": "RSA", "n": N, "e": "AQAB" });
        if let (Some(base), Value::Object(more)) = (value.as_object_mut(), extra) {
            base.extend(more);
        }
        serde_json::from_value(value).unwrap()
    }

    /// A plain public JWK is accepted and gets the thumbprint as kid; to_jwk
    /// writes it back with alg and use.
    #[test]
    fn accepts_and_round_trips() {
        let key = PublicKey::from_jwk(&jwk(Value::Null)).unwrap();
        assert_eq!(key.kid(), KID);
        assert_eq!(key.bits(), 2048);
        let out = key.to_jwk();
        assert_eq!(out.n.as_deref(), Some(N));
        assert_eq!(out.alg.as_deref(), Some("RS256"));
        assert_eq!(out.use_.as_deref(), Some("sig"));
        assert_eq!(PublicKey::from_jwk(&out).unwrap(), key);
    }

    /// Each policy rule refuses with its own error.
    #[test]
    fn refuses_by_rule() {
        use serde_json::json;
        let cases = [
            (json!({"kty": "EC"}), "NotRsa"),
            (json!({"use": "enc"}), "WrongUse"),
            (json!({"key_ops": ["sign"]}), "WrongKeyOps"),
            (json!({"alg": "RS384"}), "WrongAlgorithm"),
            (json!({"kid": "2011-04-29"}), "KidNotThumbprint"),
            (json!({"d": "AQAB"}), "PrivateMaterial"),
            (json!({"e": "AAEAAQ"}), "WeakKey"),
            (json!({"e": "AQ"}), "WeakKey"),
            (json!({"e": "AQAB="}), "BadEncoding"),
        ];
        for (extra, want) in cases {
            let err = PublicKey::from_jwk(&jwk(extra.clone())).unwrap_err();
            assert!(format!("{err:?}").starts_with(want), "{extra}: {err:?}");
        }
        let mut missing = jwk(Value::Null);
        missing.n = None;
        assert!(matches!(
            PublicKey::from_jwk(&missing),
            Err(KeyError::MissingMember("n"))
        ));
    }

    /// Optional members with the right values are accepted.
    #[test]
    fn accepts_matching_optional_members() {
        let extra =
            serde_json::json!({"kid": KID, "use": "sig", "alg": "RS256", "key_ops": ["verify"]});
        assert!(PublicKey::from_jwk(&jwk(extra)).is_ok());
    }

    /// A set skips EC keys, and refuses duplicate kids, private members,
    /// duplicate JSON members and non-sets.
    #[test]
    fn jwks_rules() {
        let rsa = format!(r#"{{"kty":"RSA","n":"{N}","e":"AQAB","kid":"{KID}"}}"#);
        let ec = r#"{"kty":"EC","crv":"P-256","x":"AA","y":"AA","kid":"ec"}"#;
        let keys = parse_jwks(&format!(r#"{{"keys":[{rsa},{ec}]}}"#)).unwrap();
        assert_eq!(keys.len(), 1);
        let twice = format!(r#"{{"keys":[{rsa},{rsa}]}}"#);
        assert!(matches!(parse_jwks(&twice), Err(KeyError::DuplicateKid)));
        let secret = format!(r#"{{"keys":[{rsa},{{"kty":"oct","k":"AAAA"}}]}}"#);
        assert!(matches!(
            parse_jwks(&secret),
            Err(KeyError::PrivateMaterial)
        ));
        let dup = format!(r#"{{"keys":[{rsa}],"keys":[]}}"#);
        assert!(matches!(parse_jwks(&dup), Err(KeyError::InvalidJwks(_))));
        for bad in ["[]", "{}", r#"{"keys":[1]}"#, r#"{"keys":[{"n":"AQAB"}]}"#] {
            assert!(
                matches!(parse_jwks(bad), Err(KeyError::InvalidJwks(_))),
                "{bad}"
            );
        }
    }

    /// One JWK document: the key `to_jwk` writes reads back; private
    /// members, other key types, non-objects and duplicate members are refused.
    #[test]
    fn single_jwk_rules() {
        let key = PublicKey::from_jwk(&jwk(Value::Null)).unwrap();
        let text = serde_json::to_string(&key.to_jwk()).unwrap();
        assert_eq!(parse_jwk(&text).unwrap(), key);
        let cases = [
            (
                format!(r#"{{"kty":"RSA","n":"{N}","e":"AQAB","d":"AQAB"}}"#),
                "PrivateMaterial",
            ),
            (
                r#"{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}"#.to_owned(),
                "NotRsa",
            ),
            (
                format!(r#"{{"kty":"RSA","n":"{N}","e":"AQAB","e":"AQAB"}}"#),
                "InvalidJwks",
            ),
            (
                format!(r#"[{{"kty":"RSA","n":"{N}","e":"AQAB"}}]"#),
                "InvalidJwks",
            ),
            (r#"{"n":"AQAB"}"#.to_owned(), "InvalidJwks"),
            (format!(r#"{{"kty":"RSA","n":"{N}","e":3}}"#), "InvalidJwks"),
            (
                format!(r#"{{"kty":"RSA","n":"{N}","e":"AQAB","kid":"x"}}"#),
                "KidNotThumbprint",
            ),
        ];
        for (text, want) in cases {
            let err = parse_jwk(&text).unwrap_err();
            assert!(format!("{err:?}").starts_with(want), "{text}: {err:?}");
        }
    }

    /// Two kid-less copies of one key collide on the computed thumbprint.
    #[test]
    fn jwks_duplicate_computed_kid() {
        let rsa = format!(r#"{{"kty":"RSA","n":"{N}","e":"AQAB"}}"#);
        let twice = format!(r#"{{"keys":[{rsa},{rsa}]}}"#);
        assert!(matches!(parse_jwks(&twice), Err(KeyError::DuplicateKid)));
    }

    /// Debug never prints the value of a private member.
    #[test]
    fn debug_hides_other_members() {
        let key = jwk(serde_json::json!({"d": "c2VjcmV0LWV4cG9uZW50"}));
        let text = format!("{key:?}");
        assert!(text.contains("\"d\"") && !text.contains("c2VjcmV0LWV4cG9uZW50"));
    }
}
