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
    let filter = EnvFilter::try_new(directives(&cfg.level))
        .unwrap_or_else(|_| EnvFilter::new(directives("info")));
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

/// The filter for the configured level: rustls only from `error` unless a
/// directive names it. Its warnings are about what a peer sent (an IP
/// address as SNI, say), a line per connection that any client could use
/// to flood the log. A failed handshake is logged by the server (debug).
fn directives(level: &str) -> String {
    if level.contains("rustls") {
        level.to_string()
    } else {
        format!("{level},rustls=error")
    }
}

#[cfg(test)]
mod tests {
    use super::{EnvFilter, directives};

    /// rustls is quieted unless the operator asked for it by name.
    #[test]
    fn rustls_quiet_unless_named() {
        assert_eq!(directives("info"), "info,rustls=error");
        assert_eq!(
            directives("portcullis=debug"),
            "portcullis=debug,rustls=error"
        );
        assert_eq!(directives("debug,rustls=warn"), "debug,rustls=warn");
        for level in ["warn", "info,hyper=debug", "debug,rustls=trace"] {
            assert!(EnvFilter::try_new(directives(level)).is_ok(), "{level}");
        }
    }
}
