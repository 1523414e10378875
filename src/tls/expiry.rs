//! When the served certificate expires, for the
//! `portcullis_tls_certificate_expiry_days` gauge and `portcullis audit`.

use std::path::Path;

use rustls::pki_types::CertificateDer;

use super::{TlsError, load_certs};

/// The notAfter of a DER certificate, in Unix seconds.
pub fn not_after(cert: &CertificateDer<'_>) -> Result<i64, TlsError> {
    let (_, parsed) =
        x509_parser::parse_x509_certificate(cert.as_ref()).map_err(|e| TlsError::Cert {
            path: "(leaf certificate)".into(),
            reason: format!("cannot parse X.509: {e}"),
        })?;
    Ok(parsed.validity().not_after.timestamp())
}

/// The notAfter of the first (leaf) certificate of a PEM chain file.
pub fn leaf_not_after(path: &Path) -> Result<i64, TlsError> {
    let certs = load_certs(path)?;
    match certs.first() {
        Some(leaf) => not_after(leaf),
        None => Err(TlsError::Cert {
            path: path.display().to_string(),
            reason: "no CERTIFICATE block found".into(),
        }),
    }
}

/// The notBefore and notAfter of the leaf certificate of a PEM chain file,
/// in Unix seconds (`portcullis audit`).
pub fn leaf_validity(path: &Path) -> Result<(i64, i64), TlsError> {
    let certs = load_certs(path)?;
    let leaf = certs.first().ok_or_else(|| TlsError::Cert {
        path: path.display().to_string(),
        reason: "no CERTIFICATE block found".into(),
    })?;
    let (_, parsed) =
        x509_parser::parse_x509_certificate(leaf.as_ref()).map_err(|e| TlsError::Cert {
            path: path.display().to_string(),
            reason: format!("cannot parse X.509: {e}"),
        })?;
    let validity = parsed.validity();
    Ok((
        validity.not_before.timestamp(),
        validity.not_after.timestamp(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The notAfter of a generated certificate comes back exactly.
    #[test]
    fn reads_not_after() {
        let mut params = rcgen::CertificateParams::new(vec!["localhost".into()]).unwrap();
        params.not_before = rcgen::date_time_ymd(2024, 1, 1);
        params.not_after = rcgen::date_time_ymd(2030, 1, 1);
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = params.self_signed(&key).unwrap();
        // 2030-01-01T00:00:00Z
        assert_eq!(not_after(cert.der()).unwrap(), 1_893_456_000);
    }

    /// A development certificate file expires about 90 days from now.
    #[test]
    fn reads_leaf_of_a_pem_file() {
        let dir = tempfile::tempdir().unwrap();
        let (cert, key) = (dir.path().join("c.pem"), dir.path().join("k.pem"));
        super::super::dev_cert::write(&cert, &key, &["localhost".into()]).unwrap();
        let now = time::OffsetDateTime::now_utc().unix_timestamp();
        let days = (leaf_not_after(&cert).unwrap() - now) as f64 / 86_400.0;
        assert!((89.9..=90.1).contains(&days), "{days}");
    }

    /// Bytes that are not a certificate are an error, not a panic.
    #[test]
    fn garbage_is_an_error() {
        let junk = CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01]);
        assert!(not_after(&junk).is_err());
    }
}
