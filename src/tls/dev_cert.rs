//! Self-signed development certificates (rcgen), for local use only.

use std::fs;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::TlsError;

/// Days a development certificate is valid.
pub const DEV_CERT_DAYS: i64 = 90;

/// Writes a self-signed certificate for `names` and its key (mode 0600).
pub fn write(cert_path: &Path, key_path: &Path, names: &[String]) -> Result<(), TlsError> {
    let (cert_pem, key_pem) = generate(names)?;
    for p in [cert_path, key_path] {
        if let Some(dir) = p.parent().filter(|d| !d.as_os_str().is_empty()) {
            fs::create_dir_all(dir)
                .map_err(|e| TlsError::Generate(format!("{}: {e}", dir.display())))?;
        }
    }
    write_file(key_path, key_pem.as_bytes(), 0o600)?;
    write_file(cert_path, cert_pem.as_bytes(), 0o644)
}

/// A self-signed certificate and its private key, both PEM.
pub fn generate(names: &[String]) -> Result<(String, String), TlsError> {
    let gen_err = |e: rcgen::Error| TlsError::Generate(e.to_string());
    let mut params = rcgen::CertificateParams::new(names.to_vec()).map_err(gen_err)?;
    let now = time::OffsetDateTime::now_utc();
    params.not_before = now - time::Duration::hours(1);
    params.not_after = now + time::Duration::days(DEV_CERT_DAYS);
    params.distinguished_name.push(
        rcgen::DnType::CommonName,
        "portcullis development certificate",
    );
    let key = rcgen::KeyPair::generate().map_err(gen_err)?;
    let cert = params.self_signed(&key).map_err(gen_err)?;
    Ok((cert.pem(), key.serialize_pem()))
}

/// Creates or replaces a file with the given mode, atomically.
fn write_file(path: &Path, data: &[u8], mode: u32) -> Result<(), TlsError> {
    let err = |e: std::io::Error| TlsError::Generate(format!("{}: {e}", path.display()));
    let tmp = path.with_extension("tmp");
    let _ = fs::remove_file(&tmp);
    let mut f = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(&tmp)
        .map_err(err)?;
    f.write_all(data).map_err(err)?;
    f.sync_all().map_err(err)?;
    fs::rename(&tmp, path).map_err(err)
}
