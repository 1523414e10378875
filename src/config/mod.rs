//! Configuration: built-in defaults, then the TOML file, then `PORTCULLIS_`
//! environment variables (nested keys joined with `__`), merged by figment
//! into [`raw::RawConfig`] and converted into a typed [`Config`] that cannot
//! hold an invalid value. `check-config` stops after the conversion and prints
//! every error at once.

mod error;
pub mod raw;
mod types;
mod validate;

use std::path::{Path, PathBuf};

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};

pub use error::{ConfigError, ConfigErrors};
pub use types::*;

/// Environment variables with this prefix override file values.
pub const ENV_PREFIX: &str = "PORTCULLIS_";

/// Loads, merges and validates the configuration. Relative paths in the
/// file are resolved against the file's directory (against the working
/// directory when there is no file).
pub fn load(file: Option<&Path>) -> Result<Config, ConfigErrors> {
    let raw = load_raw(file)?;
    let base = base_dir(file);
    validate::validate(raw, &base)
}

/// Validates a raw configuration built in code (the `demo` command).
pub fn from_raw(raw: raw::RawConfig, base: &Path) -> Result<Config, ConfigErrors> {
    validate::validate(raw, base)
}

/// Merges defaults, the file and the environment without validating.
pub fn load_raw(file: Option<&Path>) -> Result<raw::RawConfig, ConfigErrors> {
    let mut figment = Figment::from(Serialized::defaults(raw::RawConfig::default()));
    if let Some(path) = file {
        if !path.is_file() {
            return Err(ConfigErrors::one(
                "config",
                format!("cannot read config file {}", path.display()),
            ));
        }
        figment = figment.merge(Toml::file_exact(path));
    }
    figment = figment.merge(
        Env::prefixed(ENV_PREFIX)
            .ignore(&["config", "demo_password"])
            .split("__"),
    );
    figment.extract().map_err(ConfigErrors::from_figment)
}

/// The directory relative paths are resolved against.
fn base_dir(file: Option<&Path>) -> PathBuf {
    file.and_then(Path::parent)
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}
