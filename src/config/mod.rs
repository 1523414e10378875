//! Configuration: built-in defaults, then the TOML file, then `PORTCULLIS_`
//! environment variables (nested keys joined with `__`), merged by figment
//! into [`raw::RawConfig`] and converted into a typed [`Config`] that cannot
//! hold an invalid value. `check-config` prints every error at once, with the
//! problems of the files the configuration names ([`load_with_files`]).

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
/// directory when there is no file). Every problem is reported at once:
/// unknown keys and wrong types together with validation errors.
pub fn load(file: Option<&Path>) -> Result<Config, ConfigErrors> {
    let (raw, mut errs) = extract_all(figment(file)?);
    let base = base_dir(file);
    match raw.map(|raw| validate::validate(raw, &base)) {
        Some(Ok(config)) if errs.is_empty() => Ok(config),
        Some(Err(more)) => {
            errs.0.extend(more.0);
            Err(errs)
        }
        _ => Err(errs),
    }
}

/// [`load`], and the files the configuration names, as far as they can be
/// read from it: from the typed configuration when it is valid, else from
/// the merged values (`None` when even those cannot be read). `check-config`
/// loads them, so their problems are reported with every other one.
pub fn load_with_files(file: Option<&Path>) -> (Result<Config, ConfigErrors>, Option<NamedFiles>) {
    match load(file) {
        Ok(config) => {
            let files = NamedFiles::of(&config);
            (Ok(config), Some(files))
        }
        Err(errs) => {
            let raw = figment(file).ok().and_then(|f| extract_all(f).0);
            let files = raw.map(|raw| validate::named_files(&raw, &base_dir(file)));
            (Err(errs), files)
        }
    }
}

/// Validates a raw configuration built in code (the `demo` command).
pub fn from_raw(raw: raw::RawConfig, base: &Path) -> Result<Config, ConfigErrors> {
    validate::validate(raw, base)
}

/// Merges defaults, the file and the environment without validating.
pub fn load_raw(file: Option<&Path>) -> Result<raw::RawConfig, ConfigErrors> {
    match extract_all(figment(file)?) {
        (Some(raw), errs) if errs.is_empty() => Ok(raw),
        (_, errs) => Err(errs),
    }
}

/// Defaults, then the file, then the environment.
fn figment(file: Option<&Path>) -> Result<Figment, ConfigErrors> {
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
    Ok(figment.merge(
        Env::prefixed(ENV_PREFIX)
            .ignore(&["config", "demo_password"])
            .split("__"),
    ))
}

/// Most passes [`extract_all`] makes; each removes at least one key.
const MAX_PASSES: usize = 64;

/// Extracts the raw configuration, collecting every key serde refuses.
///
/// serde stops at the first unknown key or wrong type, which would hide
/// every later problem. So each refused key is recorded, removed from the
/// merged data, and the rest extracted again: the result (if any) holds
/// everything else, for validation to judge too.
fn extract_all(figment: Figment) -> (Option<raw::RawConfig>, ConfigErrors) {
    let mut errs = ConfigErrors::default();
    let mut data: figment::value::Value = match figment.extract() {
        Ok(v) => v,
        Err(e) => return (None, ConfigErrors::from_figment(e)),
    };
    let mut current = figment.clone();
    for _ in 0..MAX_PASSES {
        let failure = match current.extract::<raw::RawConfig>() {
            Ok(raw) => return (Some(raw), errs),
            Err(e) => e,
        };
        let mut removed = false;
        for mut one in failure {
            let path = one.path.clone();
            // Later passes read a copy: name the source of the original
            // (of the nearest enclosing key figment can look up).
            one.metadata = (1..=path.len())
                .rev()
                .find_map(|n| figment.find_metadata(&path[..n].join(".")))
                .cloned();
            errs.0.extend(ConfigErrors::from_figment(one).0);
            removed |= remove(&mut data, &path);
        }
        if !removed {
            break;
        }
        current = Figment::from(Serialized::defaults(&data));
    }
    (None, errs)
}

/// Removes the value at `path` (dictionary keys and array indices).
fn remove(value: &mut figment::value::Value, path: &[String]) -> bool {
    use figment::value::Value;
    let Some((last, parents)) = path.split_last() else {
        return false;
    };
    let mut node = value;
    for key in parents {
        node = match node {
            Value::Dict(_, d) => match d.get_mut(key) {
                Some(v) => v,
                None => return false,
            },
            Value::Array(_, a) => match key.parse::<usize>().ok().and_then(|i| a.get_mut(i)) {
                Some(v) => v,
                None => return false,
            },
            _ => return false,
        };
    }
    match node {
        Value::Dict(_, d) => d.remove(last).is_some(),
        Value::Array(_, a) => match last.parse::<usize>() {
            Ok(i) if i < a.len() => {
                a.remove(i);
                true
            }
            _ => false,
        },
        _ => false,
    }
}

/// The directory relative paths are resolved against.
fn base_dir(file: Option<&Path>) -> PathBuf {
    file.and_then(Path::parent)
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unknown keys, wrong types and validation errors are reported together,
    /// each under its own key, named once.
    #[test]
    fn reports_every_error_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("portcullis.toml");
        let text = "[server]\nlisen = \"x\"\n[tls]\nmin_version = \"1.0\"\n\
                    [upstream]\nconnect_timeout_ms = \"soon\"\n\
                    [[routes]]\nprefix = \"/\"\nupstrem = \"http://x\"\n";
        std::fs::write(&path, text).unwrap();
        let errs = load(Some(&path)).unwrap_err();
        let keys: Vec<_> = errs.0.iter().map(|e| e.key.as_str()).collect();
        for want in [
            "server.lisen",
            "routes[0].upstrem",
            "upstream.connect_timeout_ms",
            "tls.min_version",
            "routes[0].upstream",
        ] {
            assert_eq!(keys.iter().filter(|k| **k == want).count(), 1, "{keys:?}");
        }
        assert!(errs.0[0].message.contains("(from TOML file"), "{errs}");
    }
}
