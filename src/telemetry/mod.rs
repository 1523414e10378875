//! Logging: JSON lines (or pretty) through tracing, with the access log on
//! its own target (`portcullis::access`). Prometheus metrics: [`metrics`].

pub mod json_lines;
mod mask;
pub mod metrics;

pub use mask::Masked;

use tracing_subscriber::EnvFilter;

use crate::config::{LogConfig, LogFormat};

/// Installs the global subscriber; a second call is a no-op.
pub fn init(cfg: &LogConfig) {
    let filter = EnvFilter::try_new(&cfg.level).unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match cfg.format {
        LogFormat::Json => builder
            .fmt_fields(tracing_subscriber::fmt::format::JsonFields::new())
            .event_format(json_lines::JsonLines)
            .try_init(),
        LogFormat::Pretty => builder.try_init(),
    };
}
