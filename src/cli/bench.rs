//! `portcullis bench password|jwt`: measure on this machine. Progress on
//! stderr, results on stdout.

use super::out::out;
use std::process::ExitCode;
use std::time::Duration;

use clap::Subcommand;

use crate::bench;

/// Most seconds `bench jwt` runs each operation.
const MAX_SECONDS: u64 = 60;

/// What to measure.
#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// PBKDF2-HMAC-SHA256 time per iteration count, and a recommended count.
    Password {
        /// Target time for one password hash, in milliseconds.
        #[arg(long, default_value_t = 250)]
        target_ms: u64,
        /// Largest iteration count measured (the ladder has 4 even steps).
        #[arg(long, default_value_t = 1_600_000)]
        max_iterations: u32,
    },
    /// RS256 sign and verify operations per second.
    Jwt {
        /// Seconds to run each operation (1 to 60).
        #[arg(long, default_value_t = 3)]
        seconds: u64,
    },
}

/// Runs a benchmark.
pub fn run(cmd: BenchCommand) -> anyhow::Result<ExitCode> {
    match cmd {
        BenchCommand::Password {
            target_ms,
            max_iterations,
        } => {
            if target_ms == 0 || max_iterations == 0 {
                eprintln!("portcullis bench: --target-ms and --max-iterations must be at least 1");
                return Ok(ExitCode::from(2));
            }
            let c = bench::password::calibrate(target_ms, max_iterations, |n| {
                eprintln!("measuring {n} iterations...");
            });
            out!("{}", c.render())?;
        }
        BenchCommand::Jwt { seconds } => {
            if !(1..=MAX_SECONDS).contains(&seconds) {
                eprintln!("portcullis bench: --seconds must be between 1 and {MAX_SECONDS}");
                return Ok(ExitCode::from(2));
            }
            let (sign, verify) = bench::jwt::run(Duration::from_secs(seconds), |phase| {
                eprintln!("{phase}...");
            })?;
            out!("{}", bench::jwt::render(sign, verify))?;
        }
    }
    Ok(ExitCode::SUCCESS)
}
