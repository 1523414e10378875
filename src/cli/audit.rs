//! `portcullis audit [token JWT | headers URL]`: run the security checklist
//! and print a Markdown or JSON report. Exit 0 when no critical check fails,
//! 1 when one does, 2 for a usage or configuration error.

use super::out::{out, outln};
use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use crate::audit::fetch::{self, Trust};
use crate::audit::report::{Format, Report};
use crate::audit::{config_checks, headers, token};
use crate::auth::keys::parse_jwks;
use crate::clock::{Clock, SystemClock};
use crate::config;

/// `portcullis audit` arguments.
#[derive(Debug, Args)]
pub struct AuditArgs {
    /// Configuration file (TOML) to audit.
    #[arg(long, short, env = "PORTCULLIS_CONFIG", global = true)]
    pub config: Option<PathBuf>,
    /// Report format.
    #[arg(long, value_enum, default_value_t = Format::Markdown, global = true)]
    pub format: Format,
    /// What to audit instead of the configuration.
    #[command(subcommand)]
    pub target: Option<AuditTarget>,
}

/// How a server certificate is trusted when fetching.
#[derive(Debug, Args)]
pub struct TrustArgs {
    /// Also trust the CA certificates in this PEM file.
    #[arg(long)]
    pub cacert: Option<PathBuf>,
    /// Accept any server certificate (a development gateway's self-signed one).
    #[arg(long)]
    pub insecure: bool,
}

impl TrustArgs {
    fn trust(&self) -> Trust {
        Trust {
            ca_file: self.cacert.clone(),
            insecure_skip_verify: self.insecure,
        }
    }
}

/// Audit targets other than the configuration.
#[derive(Debug, Subcommand)]
pub enum AuditTarget {
    /// Decode a JWT without trusting it and report its problems.
    Token {
        /// The compact token, or `-` to read it from stdin.
        jwt: String,
        /// A JWKS file or http(s) URL: also check the signature.
        #[arg(long)]
        jwks: Option<String>,
        /// Certificate trust for a JWKS URL.
        #[command(flatten)]
        trust: TrustArgs,
    },
    /// Fetch a URL (GET, no redirects) and report its security headers.
    Headers {
        /// The http:// or https:// URL.
        url: String,
        /// Certificate trust.
        #[command(flatten)]
        trust: TrustArgs,
    },
}

/// Runs an audit and prints its report.
pub async fn run(args: AuditArgs) -> anyhow::Result<ExitCode> {
    let report = match args.target {
        None => audit_config(args.config),
        Some(AuditTarget::Token { jwt, jwks, trust }) => {
            audit_token(&jwt, jwks.as_deref(), &trust.trust()).await
        }
        Some(AuditTarget::Headers { url, trust }) => audit_headers(&url, &trust.trust()).await,
    };
    match report {
        Ok(report) => {
            out!("{}", report.render(args.format))?;
            if args.format == Format::Json {
                outln!()?;
            }
            Ok(report.exit_code())
        }
        Err(message) => {
            eprintln!("portcullis audit: {message}");
            Ok(ExitCode::from(2))
        }
    }
}

fn audit_config(path: Option<PathBuf>) -> Result<Report, String> {
    let cfg =
        config::load(path.as_deref()).map_err(|errs| format!("invalid configuration:\n{errs}"))?;
    let subject = path.map_or_else(
        || "configuration from defaults and environment".to_owned(),
        |p| p.display().to_string(),
    );
    Ok(Report::new(
        subject,
        config_checks::run(&cfg, SystemClock.unix()),
    ))
}

async fn audit_token(jwt: &str, jwks: Option<&str>, trust: &Trust) -> Result<Report, String> {
    let text = if jwt == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| format!("JWT: cannot read stdin: {e}"))?;
        s
    } else {
        jwt.to_owned()
    };
    let text = text.trim();
    if text.is_empty() {
        return Err("JWT: empty token".into());
    }
    let keys = match jwks {
        Some(source) => Some(load_jwks(source, trust).await?),
        None => None,
    };
    let checks = token::audit(text, SystemClock.unix(), keys.as_deref());
    Ok(Report::new(
        format!("token ({} characters)", text.len()),
        checks,
    ))
}

/// Reads a JWKS from a file or URL, parsed by the product's strict reader.
async fn load_jwks(
    source: &str,
    trust: &Trust,
) -> Result<Vec<crate::auth::keys::PublicKey>, String> {
    let text = if source.starts_with("https://") || source.starts_with("http://") {
        let resp = fetch::get(source, trust, fetch::Read::Body)
            .await
            .map_err(|e| format!("--jwks {source}: {e}"))?;
        if !resp.status.is_success() {
            return Err(format!("--jwks {source}: HTTP {}", resp.status));
        }
        String::from_utf8(resp.body.to_vec()).map_err(|_| format!("--jwks {source}: not UTF-8"))?
    } else {
        std::fs::read_to_string(source).map_err(|e| format!("--jwks {source}: {e}"))?
    };
    parse_jwks(&text).map_err(|e| format!("--jwks {source}: {e}"))
}

async fn audit_headers(url: &str, trust: &Trust) -> Result<Report, String> {
    let resp = fetch::get(url, trust, fetch::Read::Head)
        .await
        .map_err(|e| format!("URL {url}: {e}"))?;
    let path = url
        .parse::<http::Uri>()
        .map(|u| u.path().to_owned())
        .unwrap_or_else(|_| "/".into());
    let checks = headers::evaluate(&resp.headers, &path);
    Ok(Report::new(
        format!("{url} (HTTP {})", resp.status.as_u16()),
        checks,
    ))
}
