//! `portcullis certs dev`: a self-signed certificate for local use.

use super::out::outln;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

/// Certificate actions.
#[derive(Debug, Subcommand)]
pub enum CertsCommand {
    /// Write a self-signed development certificate and key (key mode 0600).
    Dev {
        /// Certificate output path.
        #[arg(long, default_value = "certs/cert.pem")]
        cert: PathBuf,
        /// Private key output path.
        #[arg(long, default_value = "certs/key.pem")]
        key: PathBuf,
        /// Names the certificate is valid for.
        #[arg(long = "name", default_values = ["localhost", "127.0.0.1"])]
        names: Vec<String>,
        /// Replace existing files.
        #[arg(long)]
        force: bool,
    },
}

/// Runs a certificate action.
pub fn run(cmd: CertsCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        CertsCommand::Dev {
            cert,
            key,
            names,
            force,
        } => {
            if cert == key {
                eprintln!("--cert and --key must be different files");
                return Ok(ExitCode::from(2));
            }
            if let Some(bad) = names.iter().find(|n| !valid_name(n)) {
                eprintln!("--name `{bad}` is not a DNS name or IP address");
                return Ok(ExitCode::from(2));
            }
            if !force && (cert.exists() || key.exists()) {
                eprintln!(
                    "{} or {} exists; pass --force to replace",
                    cert.display(),
                    key.display()
                );
                return Ok(ExitCode::from(1));
            }
            crate::tls::dev_cert::write(&cert, &key, &names)?;
            outln!("certificate: {}", cert.display())?;
            outln!("private key: {} (mode 0600)", key.display())?;
            outln!(
                "valid for {} days, for: {}",
                crate::tls::dev_cert::DEV_CERT_DAYS,
                names.join(", ")
            )?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// A DNS name (letters, digits, `-`, `.`, `*.` prefix) or an IP address.
fn valid_name(n: &str) -> bool {
    if n.parse::<std::net::IpAddr>().is_ok() {
        return true;
    }
    let host = n.strip_prefix("*.").unwrap_or(n);
    !host.is_empty()
        && host.len() <= 253
        && host.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                && !l.starts_with('-')
        })
}
