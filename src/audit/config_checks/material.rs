//! The key directory as found on disk, read once without creating or
//! changing anything (unlike [`crate::auth::keys::KeyDir::open`]).

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use zeroize::Zeroizing;

use crate::auth::keys::{KeyInfo, SigningKey};

/// One `<kid>.pem` file.
#[derive(Debug)]
pub struct KeyFile {
    /// Its path.
    pub path: PathBuf,
    /// Permission bits.
    pub mode: u32,
    /// The key as the product parses it, or why it cannot.
    pub key: Result<SigningKey, String>,
}

/// What the key directory holds.
#[derive(Debug)]
pub struct KeyMaterial {
    /// The directory.
    pub dir: PathBuf,
    /// Permission bits of the directory; `None` when it does not exist yet.
    pub dir_mode: Option<u32>,
    /// Every `*.pem` file.
    pub files: Vec<KeyFile>,
    /// `keyring.json`; empty when absent, an error when unreadable.
    pub state: Result<Vec<KeyInfo>, String>,
}

#[derive(Deserialize)]
struct State {
    keys: Vec<KeyInfo>,
}

/// Permission bits of `path`, if it exists.
pub fn mode_of(path: &Path) -> Option<u32> {
    std::fs::metadata(path)
        .ok()
        .map(|m| m.permissions().mode() & 0o7777)
}

impl KeyMaterial {
    /// Reads the key directory `dir`.
    pub fn inspect(dir: &Path) -> Self {
        let dir_mode = mode_of(dir);
        let mut files = Vec::new();
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                let path = entry.path();
                if path.extension().is_some_and(|e| e == "pem") {
                    files.push(read_key(path));
                }
            }
        }
        files.sort_by(|a, b| a.path.cmp(&b.path));
        let state = match std::fs::read_to_string(dir.join("keyring.json")) {
            Ok(text) => serde_json::from_str::<State>(&text)
                .map(|s| s.keys)
                .map_err(|e| format!("keyring.json: {e}")),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(e) => Err(format!("keyring.json: {e}")),
        };
        Self {
            dir: dir.to_owned(),
            dir_mode,
            files,
            state,
        }
    }

    /// The active key, when the state names one and its file parses.
    pub fn active(&self) -> Option<&SigningKey> {
        let state = self.state.as_ref().ok()?;
        let active = state
            .iter()
            .find(|k| k.status == crate::auth::keys::KeyStatus::Active)?;
        self.files
            .iter()
            .filter_map(|f| f.key.as_ref().ok())
            .find(|k| k.kid() == active.kid)
    }
}

fn read_key(path: PathBuf) -> KeyFile {
    let mode = mode_of(&path).unwrap_or(0);
    let key = std::fs::read_to_string(&path)
        .map(Zeroizing::new)
        .map_err(|e| e.to_string())
        .and_then(|pem| SigningKey::from_pkcs8_pem(&pem).map_err(|e| e.to_string()));
    KeyFile { path, mode, key }
}
