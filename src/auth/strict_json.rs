//! JSON parsing that refuses duplicate object members at any depth.
//!
//! `serde_json` keeps the last of two equal keys and silently ignores
//! duplicates of fields a struct does not name, so `{"alg":"RS256","alg":"none"}`
//! would mean different things to different parsers. Everything security
//! relevant (JOSE headers, JWT claims, JWK sets) is read through [`from_slice`],
//! which fails instead. Keys are compared after unescaping, so `"\u0061lg"`
//! collides with `"alg"`. Nesting depth is bounded by `serde_json`'s recursion
//! limit (128).

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Why a document was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum StrictJsonError {
    /// An object has two members with the same name.
    #[error("JSON object has a duplicate member")]
    DuplicateMember,
    /// The text is not one well-formed JSON value.
    #[error("invalid JSON")]
    Syntax,
}

/// Parses one JSON value, refusing duplicate members in any object.
pub fn from_slice(bytes: &[u8]) -> Result<Value, StrictJsonError> {
    let duplicate = Cell::new(false);
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed = StrictSeed {
        duplicate: &duplicate,
    }
    .deserialize(&mut de)
    .and_then(|value| de.end().map(|()| value));
    match parsed {
        Ok(value) => Ok(value),
        Err(_) if duplicate.get() => Err(StrictJsonError::DuplicateMember),
        Err(_) => Err(StrictJsonError::Syntax),
    }
}

/// Builds a [`Value`], flagging the first duplicate member it meets.
#[derive(Clone, Copy)]
struct StrictSeed<'a> {
    duplicate: &'a Cell<bool>,
}

impl<'de> DeserializeSeed<'de> for StrictSeed<'_> {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictSeed<'_> {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("non-finite number"))
    }

    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(self)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut members = Map::new();
        while let Some(name) = map.next_key::<String>()? {
            if members.contains_key(&name) {
                self.duplicate.set(true);
                return Err(de::Error::custom("duplicate member"));
            }
            let value = map.next_value_seed(self)?;
            members.insert(name, value);
        }
        Ok(Value::Object(members))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses ordinary documents to the same value as serde_json.
    #[test]
    fn parses_like_serde_json() {
        let text = br#"{"a":[1,-2,3.5,"x",null,true],"b":{"c":{}},"d":"\u00e9"}"#;
        let expected: Value = serde_json::from_slice(text).unwrap();
        assert_eq!(from_slice(text), Ok(expected));
    }

    /// Refuses a duplicate member at the top level, nested, inside arrays and
    /// when one spelling is escaped.
    #[test]
    fn refuses_duplicates_at_any_depth() {
        for text in [
            r#"{"alg":"RS256","alg":"none"}"#,
            r#"{"a":{"b":1,"b":1}}"#,
            r#"{"a":[{"k":1},{"k":2,"k":3}]}"#,
            r#"[[{"x":1,"x":2}]]"#,
            r#"{"alg":"RS256","\u0061lg":"none"}"#,
        ] {
            assert_eq!(
                from_slice(text.as_bytes()),
                Err(StrictJsonError::DuplicateMember),
                "{text}"
            );
        }
    }

    /// The same name in sibling objects is not a duplicate.
    #[test]
    fn allows_same_name_in_different_objects() {
        assert!(from_slice(br#"[{"k":1},{"k":2}]"#).is_ok());
        assert!(from_slice(br#"{"k":{"k":1}}"#).is_ok());
    }

    /// Refuses trailing data, truncation and very deep nesting.
    #[test]
    fn refuses_malformed_input() {
        for text in [&b"{} {}"[..], b"{\"a\":", b"", b"{'a':1}", b"\xff"] {
            assert_eq!(from_slice(text), Err(StrictJsonError::Syntax));
        }
        let deep = "[".repeat(10_000);
        assert_eq!(from_slice(deep.as_bytes()), Err(StrictJsonError::Syntax));
    }
}
