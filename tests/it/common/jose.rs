//! Forging tokens for the attack tests: split a real token, re-encode its
//! parts, and sign arbitrary header and payload texts with RS256 (any key)
//! or HS256 (any secret).

use portcullis::auth::b64;
use portcullis::auth::keys::SigningKey;
use serde_json::Value;

/// base64url without padding.
pub fn enc(bytes: impl AsRef<[u8]>) -> String {
    b64::encode(bytes)
}

/// The decoded header and payload of a compact token, as JSON values, and
/// its signature segment.
pub fn split(token: &str) -> (Value, Value, String) {
    let parts: Vec<&str> = token.split('.').collect();
    assert_eq!(parts.len(), 3, "compact JWS");
    let json = |s: &str| -> Value {
        serde_json::from_slice(&b64::decode(s).expect("canonical b64url")).expect("JSON")
    };
    (json(parts[0]), json(parts[1]), parts[2].to_string())
}

/// `b64(header).b64(payload)`: the signing input.
pub fn input(header: &str, payload: &str) -> String {
    format!("{}.{}", enc(header), enc(payload))
}

/// An RS256 token over the exact texts `header` and `payload`, signed with
/// `key` whatever the header claims.
pub fn rs256(key: &SigningKey, header: &str, payload: &str) -> String {
    let input = input(header, payload);
    let sig = key.sign(input.as_bytes()).expect("sign");
    format!("{input}.{}", enc(sig))
}

/// An HS256 token over `header` and `payload`, keyed with `secret`.
pub fn hs256(secret: &[u8], header: &str, payload: &str) -> String {
    let input = input(header, payload);
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    let tag = aws_lc_rs::hmac::sign(&key, input.as_bytes());
    format!("{input}.{}", enc(tag.as_ref()))
}

/// `{"alg":"RS256","typ":"JWT","kid":kid}` plus the members of `extra` (a
/// JSON object text without braces, e.g. `"crit":["exp"]`), as text.
pub fn header(kid: &str, extra: &str) -> String {
    let sep = if extra.is_empty() { "" } else { "," };
    format!(r#"{{"alg":"RS256","typ":"JWT","kid":"{kid}"{sep}{extra}}}"#)
}

/// `payload` with the member `name` set to `value` (or removed when `None`),
/// as text.
pub fn with_claim(payload: &Value, name: &str, value: Option<Value>) -> String {
    let mut p = payload.clone();
    let obj = p.as_object_mut().expect("payload object");
    match value {
        Some(v) => obj.insert(name.to_string(), v),
        None => obj.remove(name),
    };
    p.to_string()
}

/// The RSA public key of `key` as SPKI DER, SPKI PEM, PKCS#1 DER and PKCS#1
/// PEM: every form an attacker could HMAC with (class 2).
pub struct PublicForms {
    /// SubjectPublicKeyInfo DER.
    pub spki_der: Vec<u8>,
    /// `-----BEGIN PUBLIC KEY-----` PEM, LF line endings.
    pub spki_pem: String,
    /// RSAPublicKey DER.
    pub pkcs1_der: Vec<u8>,
    /// `-----BEGIN RSA PUBLIC KEY-----` PEM, LF line endings.
    pub pkcs1_pem: String,
}

/// The public forms of a key given by its modulus and exponent (as the JWKS
/// publishes them).
pub fn public_forms(n: &[u8], e: &[u8]) -> PublicForms {
    use rsa::pkcs1::EncodeRsaPublicKey as _;
    use rsa::pkcs8::EncodePublicKey as _;
    use rsa::pkcs8::LineEnding;
    let key = rsa::PublicKey::new(
        rsa::BoxedUint::from_be_slice_vartime(n),
        rsa::BoxedUint::from_be_slice_vartime(e),
    )
    .expect("RSA public key");
    PublicForms {
        spki_der: key.to_public_key_der().expect("spki").as_bytes().to_vec(),
        spki_pem: key.to_public_key_pem(LineEnding::LF).expect("spki pem"),
        pkcs1_der: key.to_pkcs1_der().expect("pkcs1").as_bytes().to_vec(),
        pkcs1_pem: key.to_pkcs1_pem(LineEnding::LF).expect("pkcs1 pem"),
    }
}
