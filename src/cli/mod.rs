//! The command line: `serve`, `check-config`, `certs dev`, `demo`,
//! `hash-password`, `keys`, `health`, `users`, `example-app`, `audit`,
//! `bench`.

pub mod audit;
pub mod bench;
pub mod certs;
pub mod check_config;
pub mod demo;
pub mod example_app;
pub mod hash_password;
pub mod health;
pub mod keys;
pub mod out;
pub mod users;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use tokio_util::sync::CancellationToken;

use crate::config;

/// A reverse-proxy authentication gateway.
#[derive(Debug, Parser)]
#[command(name = "portcullis", version, about, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the gateway.
    Serve {
        /// Configuration file (TOML); environment variables override it.
        #[arg(long, short, env = "PORTCULLIS_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Validate a configuration and print every error at once.
    CheckConfig {
        /// Configuration file (TOML).
        #[arg(long, short, env = "PORTCULLIS_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Certificates.
    Certs {
        /// Which certificate action.
        #[command(subcommand)]
        action: certs::CertsCommand,
    },
    /// Run the gateway with everything generated, in front of the example app.
    Demo(demo::DemoArgs),
    /// Read a password (stdin, or a prompt without echo) and print its hash.
    HashPassword,
    /// User administration (`users unlock NAME`).
    Users {
        /// Which user action.
        #[command(subcommand)]
        action: users::UsersCommand,
    },
    /// Probe a running gateway's readiness; exit 0 when ready, 1 otherwise.
    Health {
        /// The readiness URL on the admin listener.
        #[arg(long, default_value = health::DEFAULT_URL)]
        url: String,
    },
    /// Serve only the bundled example app (plain HTTP), e.g. as the
    /// upstream of a container demo.
    ExampleApp {
        /// Address to listen on.
        #[arg(long, default_value = example_app::DEFAULT_LISTEN)]
        listen: std::net::SocketAddr,
    },
    /// Signing keys.
    Keys {
        /// Configuration file (TOML), for the key directory; accepted before
        /// or after the action (`keys rotate --config FILE`).
        #[arg(long, short, env = "PORTCULLIS_CONFIG", global = true)]
        config: Option<PathBuf>,
        /// Which key action.
        #[command(subcommand)]
        action: keys::KeysCommand,
    },
    /// Security audit of the configuration, a token or a URL's headers;
    /// exit 1 when a critical check fails.
    Audit(audit::AuditArgs),
    /// Measure password hashing and JWT signing on this machine.
    Bench {
        /// What to measure.
        #[command(subcommand)]
        what: bench::BenchCommand,
    },
}

/// Runs a parsed command line. Standard output closed by its reader ends the
/// command quietly with success (see [`out`]).
pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match dispatch(cli).await {
        Err(e) if e.is::<out::StdoutClosed>() => Ok(ExitCode::SUCCESS),
        other => other,
    }
}

async fn dispatch(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve { config } => serve(config).await,
        Command::CheckConfig { config } => check_config::run(config.as_deref()),
        Command::Certs { action } => certs::run(action),
        Command::Demo(args) => demo::run(args).await,
        Command::HashPassword => hash_password::run(),
        Command::Health { url } => health::run(&url).await,
        Command::Users { action } => users::run(action).await,
        Command::Keys { config, action } => keys::run(config, action),
        Command::ExampleApp { listen } => example_app::run(listen).await,
        Command::Audit(args) => audit::run(args).await,
        Command::Bench { what } => bench::run(what),
    }
}

async fn serve(path: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let config = match config::load(path.as_deref()) {
        Ok(c) => c,
        Err(errs) => {
            eprintln!("portcullis: invalid configuration:\n{errs}");
            return Ok(ExitCode::from(2));
        }
    };
    crate::telemetry::init(&config.log);
    let shutdown = CancellationToken::new();
    spawn_signal_handler(shutdown.clone());
    let source = crate::server::reload::ConfigSource::Load(path);
    crate::server::run::run(Arc::new(config), source, shutdown, None).await?;
    Ok(ExitCode::SUCCESS)
}

/// Cancels `token` on SIGTERM or Ctrl-C.
pub fn spawn_signal_handler(token: CancellationToken) {
    tokio::spawn(async move {
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            _ = term => {},
        }
        tracing::info!("shutdown signal received; draining");
        token.cancel();
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The command tree is consistent (clap's own checks), and `audit`
    /// takes `--format` on either side of its target.
    #[test]
    fn audit_and_bench_parse() {
        use clap::CommandFactory as _;
        Cli::command().debug_assert();
        for args in [
            vec!["portcullis", "audit", "--format", "json", "token", "-"],
            vec!["portcullis", "audit", "token", "-", "--format", "json"],
        ] {
            let cli = Cli::try_parse_from(&args).unwrap();
            let Command::Audit(a) = cli.command else {
                panic!("{args:?}: not audit");
            };
            assert_eq!(a.format, crate::audit::report::Format::Json, "{args:?}");
            assert!(matches!(a.target, Some(audit::AuditTarget::Token { .. })));
        }
        let cli = Cli::try_parse_from(["portcullis", "bench", "password", "--target-ms", "5"]);
        assert!(cli.is_ok());
        assert!(Cli::try_parse_from(["portcullis", "audit", "--format", "yaml"]).is_err());
    }

    /// `keys` takes `--config` before or after its action.
    #[test]
    fn keys_config_on_either_side() {
        for args in [
            ["portcullis", "keys", "--config", "f.toml", "rotate"],
            ["portcullis", "keys", "rotate", "--config", "f.toml"],
            ["portcullis", "keys", "list", "-c", "f.toml"],
        ] {
            let cli = Cli::try_parse_from(args).unwrap();
            let Command::Keys { config, .. } = cli.command else {
                panic!("{args:?}: not keys");
            };
            assert_eq!(config, Some(PathBuf::from("f.toml")), "{args:?}");
        }
    }
}
