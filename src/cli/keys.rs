//! `portcullis keys generate|rotate|list`: the signing-key directory.

use super::out::outln;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use crate::auth::keys::KeyDir;
use crate::clock::{Clock, SystemClock};
use crate::config;

/// Key actions.
#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Add a new signing key and make it active; the previous one retires.
    Generate,
    /// Same as generate: rotate to a fresh key now.
    Rotate,
    /// List keys with their status.
    List,
}

/// Runs a key action against the configured key directory.
pub fn run(config_path: Option<PathBuf>, cmd: KeysCommand) -> anyhow::Result<ExitCode> {
    let cfg = match config::load(config_path.as_deref()) {
        Ok(c) => c,
        Err(errs) => {
            eprintln!("portcullis: invalid configuration:\n{errs}");
            return Ok(ExitCode::from(2));
        }
    };
    let dir = KeyDir::open(&cfg.auth.key_dir)?;
    let now = SystemClock.unix();
    match cmd {
        KeysCommand::Generate | KeysCommand::Rotate => {
            let info = dir.rotate(cfg.auth.key_bits, now)?;
            outln!(
                "new active key {} ({} bits) in {}",
                info.kid,
                cfg.auth.key_bits,
                dir.path().display()
            )?;
            outln!("restart or reload running gateways to start signing with it")?;
        }
        KeysCommand::List => {
            outln!(
                "{:<44}  {:<8}  {:>12}  {:>12}",
                "kid",
                "status",
                "created",
                "retired_at"
            )?;
            for k in dir.list()? {
                let retired = k
                    .retired_at
                    .map(|t| t.to_string())
                    .unwrap_or_else(|| "-".into());
                outln!(
                    "{:<44}  {:<8}  {:>12}  {:>12}",
                    k.kid,
                    format!("{:?}", k.status).to_lowercase(),
                    k.created,
                    retired
                )?;
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
