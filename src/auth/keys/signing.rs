//! RS256 signing keys.

use std::fmt;
use std::sync::Arc;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256, RsaKeyPair};
use rand::rngs::SysRng;
use rsa::pkcs8::der::zeroize::Zeroizing;
use rsa::pkcs8::{EncodePrivateKey as _, LineEnding, SecretDocument};
use rustls_pki_types::PrivatePkcs8KeyDer;
use rustls_pki_types::pem::PemObject as _;

use super::{KeyError, PublicKey};

/// Key sizes [`SigningKey::generate`] accepts.
const GENERATED_SIZES: [usize; 3] = [2048, 3072, 4096];

/// An RSA private key, held parsed by aws-lc-rs, that signs RS256
/// (RSASSA-PKCS1-v1_5 with SHA-256). Its `Debug` shows only the `kid`.
pub struct SigningKey {
    pair: RsaKeyPair,
    public: Arc<PublicKey>,
}

impl SigningKey {
    /// Generates a new key of 2048, 3072 or 4096 bits with e = 65537, using
    /// the `rsa` crate and the operating system's random generator. 4096-bit
    /// generation can take seconds: call it off the async runtime.
    pub fn generate(bits: usize) -> Result<Self, KeyError> {
        if !GENERATED_SIZES.contains(&bits) {
            return Err(KeyError::UnsupportedSize(bits));
        }
        let key = rsa::PrivateKey::new(&mut SysRng, bits).map_err(|_| KeyError::Generation)?;
        let der = key.to_pkcs8_der().map_err(|_| KeyError::Encoding)?;
        Self::from_pkcs8_der(der.as_bytes())
    }

    /// Loads a key from a PKCS#8 `PRIVATE KEY` PEM block.
    pub fn from_pkcs8_pem(pem: &str) -> Result<Self, KeyError> {
        let der =
            PrivatePkcs8KeyDer::from_pem_slice(pem.as_bytes()).map_err(|_| KeyError::InvalidPem)?;
        Self::from_pkcs8_der(der.secret_pkcs8_der())
    }

    /// Loads a key from PKCS#8 DER. The public half must pass
    /// [`PublicKey::from_components`].
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self, KeyError> {
        let pair = RsaKeyPair::from_pkcs8(der)
            .map_err(|e| KeyError::InvalidPrivateKey(e.description_()))?;
        let public_key = pair.public_key();
        let public = PublicKey::from_components(
            public_key.modulus().big_endian_without_leading_zero(),
            public_key.exponent().big_endian_without_leading_zero(),
        )?;
        Ok(Self {
            pair,
            public: Arc::new(public),
        })
    }

    /// The key as a PKCS#8 PEM (`BEGIN PRIVATE KEY`, LF line endings), in a
    /// string that is wiped when dropped.
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>, KeyError> {
        let der: Pkcs8V1Der<'static> = self.pair.as_der().map_err(|_| KeyError::Encoding)?;
        let doc = SecretDocument::try_from(der.as_ref()).map_err(|_| KeyError::Encoding)?;
        doc.to_pem("PRIVATE KEY", LineEnding::LF)
            .map_err(|_| KeyError::Encoding)
    }

    /// The key id (RFC 7638 thumbprint of the public key).
    pub fn kid(&self) -> &str {
        self.public.kid()
    }

    /// The public half.
    pub fn public(&self) -> &Arc<PublicKey> {
        &self.public
    }

    /// The modulus size in bits.
    pub fn bits(&self) -> usize {
        self.public.bits()
    }

    /// Signs `msg` with RS256; the signature is as long as the modulus.
    pub fn sign(&self, msg: &[u8]) -> Result<Vec<u8>, KeyError> {
        let mut sig = vec![0; self.pair.public_modulus_len()];
        self.pair
            .sign(&RSA_PKCS1_SHA256, &SystemRandom::new(), msg, &mut sig)
            .map_err(|_| KeyError::Signing)?;
        Ok(sig)
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid())
            .field("bits", &self.bits())
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use std::sync::OnceLock;

    /// Three generated 2048-bit keys shared by the tests of this crate.
    pub(crate) fn test_keys() -> &'static [SigningKey] {
        static KEYS: OnceLock<Vec<SigningKey>> = OnceLock::new();
        KEYS.get_or_init(|| {
            (0..3)
                .map(|_| SigningKey::generate(2048).unwrap())
                .collect()
        })
    }

    /// The first of [`test_keys`].
    pub(crate) fn test_key() -> &'static SigningKey {
        &test_keys()[0]
    }

    /// A generated key signs, its public key verifies, and a changed message
    /// or signature fails.
    #[test]
    fn sign_and_verify() {
        let key = test_key();
        assert_eq!(key.bits(), 2048);
        let sig = key.sign(b"message").unwrap();
        assert_eq!(sig.len(), 256);
        assert!(key.public().verify(b"message", &sig));
        assert!(!key.public().verify(b"messagE", &sig));
        let mut bad = sig.clone();
        bad[10] ^= 1;
        assert!(!key.public().verify(b"message", &bad));
        assert!(!key.public().verify(b"message", &sig[1..]));
    }

    /// RS256 with PKCS#1 v1.5 is deterministic.
    #[test]
    fn signing_is_deterministic() {
        let key = test_key();
        assert_eq!(key.sign(b"x").unwrap(), key.sign(b"x").unwrap());
    }

    /// PEM export and import give back the same key and kid.
    #[test]
    fn pem_round_trip() {
        let key = test_key();
        let pem = key.to_pkcs8_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----\n"));
        let again = SigningKey::from_pkcs8_pem(&pem).unwrap();
        assert_eq!(again.kid(), key.kid());
        assert_eq!(again.sign(b"x").unwrap(), key.sign(b"x").unwrap());
    }

    /// Sizes other than 2048/3072/4096 are refused before any work.
    #[test]
    fn refuses_unsupported_sizes() {
        for bits in [0, 1024, 2047, 2049, 8192] {
            assert!(
                matches!(SigningKey::generate(bits), Err(KeyError::UnsupportedSize(b)) if b == bits)
            );
        }
    }

    /// Garbage, PKCS#1 (`RSA PRIVATE KEY`) and public-key PEM are refused.
    #[test]
    fn refuses_non_pkcs8_pem() {
        assert!(matches!(
            SigningKey::from_pkcs8_pem("nope"),
            Err(KeyError::InvalidPem)
        ));
        let pem = test_key().to_pkcs8_pem().unwrap();
        let pkcs1 = pem.replace("PRIVATE KEY", "RSA PRIVATE KEY");
        assert!(SigningKey::from_pkcs8_pem(&pkcs1).is_err());
        assert!(SigningKey::from_pkcs8_der(b"\x30\x00").is_err());
    }

    /// Debug shows the kid and size, never key material.
    #[test]
    fn debug_is_redacted() {
        let key = test_key();
        let text = format!("{key:?}");
        assert_eq!(
            text,
            format!("SigningKey {{ kid: {:?}, bits: 2048, .. }}", key.kid())
        );
    }

    /// The kid is the thumbprint of the public JWK.
    #[test]
    fn kid_is_thumbprint() {
        let key = test_key();
        let jwk = key.public().to_jwk();
        let expected =
            super::super::thumbprint(jwk.n.as_deref().unwrap(), jwk.e.as_deref().unwrap());
        assert_eq!(key.kid(), expected);
    }
}
