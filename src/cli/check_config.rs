//! `portcullis check-config`: validate the configuration and load what it
//! names (TLS certificate and key, users file) with the loaders `serve`
//! uses, so a configuration `serve` would refuse is never reported OK.

use std::path::Path;
use std::process::ExitCode;

use super::out::outln;
use crate::auth::users::Users;
use crate::config::{self, ConfigErrors, NamedFiles};

/// Runs the check: every error on stderr (exit 2), or "configuration OK".
pub fn run(path: Option<&Path>) -> anyhow::Result<ExitCode> {
    let (loaded, files) = config::load_with_files(path);
    let mut errs = loaded.err().unwrap_or_default();
    if let Some(files) = files {
        errs.0.extend(file_errors(&files).0);
    }
    if errs.is_empty() {
        outln!("configuration OK")?;
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!("{} error(s):", errs.0.len());
    for e in &errs.0 {
        eprintln!("  {e}");
    }
    Ok(ExitCode::from(2))
}

/// Problems with the files the configuration names, each under its key.
/// Nothing is written: a missing development certificate is only noted as
/// fine when `serve` would generate it.
pub fn file_errors(files: &NamedFiles) -> ConfigErrors {
    let mut errs = ConfigErrors::default();
    tls_errors(&files.tls, &mut errs);
    users_errors(files, &mut errs);
    errs
}

fn tls_errors(tls: &config::TlsConfig, errs: &mut ConfigErrors) {
    if tls.generate_dev_cert && !tls.cert.exists() && !tls.key.exists() {
        return;
    }
    let certs = crate::tls::load_certs(&tls.cert).map_err(|e| errs.push("tls.cert", e.to_string()));
    let key = crate::tls::load_key(&tls.key).map_err(|e| errs.push("tls.key", e.to_string()));
    if certs.is_ok() && key.is_ok() {
        // Both parse: let rustls judge the pair exactly as at start.
        let mut only_load = tls.clone();
        only_load.generate_dev_cert = false;
        if let Err(e) = crate::tls::server_config(&only_load) {
            errs.push(
                "tls.key",
                format!(
                    "{e} (certificate {}, key {})",
                    tls.cert.display(),
                    tls.key.display()
                ),
            );
        }
    }
}

/// The same decision `serve` makes: inline users win; otherwise the file is
/// loaded when present and required when a route needs sign-in.
fn users_errors(files: &NamedFiles, errs: &mut ConfigErrors) {
    if files.inline_users {
        return;
    }
    if files.users_file.exists() {
        if let Err(e) = Users::load(&files.users_file) {
            errs.push("auth.users_file", e.to_string());
        }
        return;
    }
    if let Some(i) = files.route_needing_users {
        errs.push(
            "auth.users_file",
            format!(
                "users file {} does not exist, and routes[{i}] needs sign-in \
                 (create it: see `portcullis hash-password` and the README)",
                files.users_file.display()
            ),
        );
    }
}
