//! The key directory's files: `keyring.json` and private files written
//! atomically with mode 0600, and the permission checks on reading them.

use std::fs::{self, File, OpenOptions};
use std::io::{ErrorKind, Write as _};
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use rsa::pkcs8::der::zeroize::Zeroizing;
use serde::{Deserialize, Serialize};

use super::{KeyError, is_thumbprint_shaped};
use crate::auth::strict_json;

/// Name of the state file inside the key directory.
pub(super) const STATE_FILE: &str = "keyring.json";

/// Whether a key signs or only verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyStatus {
    /// Signs new tokens (exactly one key at a time).
    Active,
    /// Only verifies tokens issued before its retirement, until pruned.
    Retired,
}

/// What `keyring.json` records about one key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyInfo {
    /// The key id (RFC 7638 thumbprint); the key lives in `<kid>.pem`.
    pub kid: String,
    /// When the key was added, Unix seconds.
    pub created: u64,
    /// Active or retired.
    pub status: KeyStatus,
    /// When the key was retired, Unix seconds.
    pub retired_at: Option<u64>,
}

/// The whole state file.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct State {
    pub(super) keys: Vec<KeyInfo>,
}

impl State {
    /// The active key's record, if any.
    pub(super) fn active(&self) -> Option<&KeyInfo> {
        self.keys.iter().find(|k| k.status == KeyStatus::Active)
    }

    /// Reads `keyring.json` from `dir`; a missing file is an empty state.
    pub(super) fn load(dir: &Path) -> Result<Self, KeyError> {
        let path = dir.join(STATE_FILE);
        let text = match read_private(&path) {
            Err(KeyError::Io { source, .. }) if source.kind() == ErrorKind::NotFound => {
                return Ok(Self::default());
            }
            other => other?,
        };
        let invalid = |reason| KeyError::State {
            path: path.clone(),
            reason,
        };
        let value = strict_json::from_slice(text.as_bytes()).map_err(|_| invalid("not JSON"))?;
        let state: Self = serde_json::from_value(value).map_err(|_| invalid("unexpected shape"))?;
        state.check().map_err(invalid)?;
        Ok(state)
    }

    /// Writes `keyring.json` into `dir` atomically.
    pub(super) fn save(&self, dir: &Path) -> Result<(), KeyError> {
        let path = dir.join(STATE_FILE);
        let text = serde_json::to_string_pretty(self).map_err(|_| KeyError::State {
            path: path.clone(),
            reason: "cannot serialise",
        })?;
        write_private(&path, text.as_bytes())
    }

    /// Kids are thumbprint-shaped (so they are safe file names) and unique,
    /// at most one key is active, and retired keys say when.
    fn check(&self) -> Result<(), &'static str> {
        let mut seen = std::collections::HashSet::new();
        for key in &self.keys {
            if !is_thumbprint_shaped(&key.kid) {
                return Err("a kid is not an RFC 7638 thumbprint");
            }
            if !seen.insert(key.kid.as_str()) {
                return Err("a kid appears twice");
            }
            if (key.status == KeyStatus::Retired) != key.retired_at.is_some() {
                return Err("retired_at must be set exactly for retired keys");
            }
        }
        match self
            .keys
            .iter()
            .filter(|k| k.status == KeyStatus::Active)
            .count()
        {
            0 | 1 => Ok(()),
            _ => Err("more than one active key"),
        }
    }
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Refuses `path` when group or others have any permission on it.
pub(super) fn check_private(path: &Path, fix: &'static str) -> Result<(), KeyError> {
    let mode = fs::metadata(path)
        .map_err(io_error(path))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        return Err(KeyError::InsecurePermissions {
            path: path.to_path_buf(),
            mode: mode & 0o7777,
            fix,
        });
    }
    Ok(())
}

/// Reads a file that must be private to its owner (mode 0600 or stricter).
pub(super) fn read_private(path: &Path) -> Result<Zeroizing<String>, KeyError> {
    check_private(path, "600")?;
    fs::read_to_string(path)
        .map(Zeroizing::new)
        .map_err(io_error(path))
}

/// Writes `bytes` to `path` atomically: a 0600 temporary file in the same
/// directory, flushed to disk, renamed over `path`, then the directory synced.
pub(super) fn write_private(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(".tmp");
    let tmp: PathBuf = dir.join(tmp_name);
    match fs::remove_file(&tmp) {
        Err(e) if e.kind() != ErrorKind::NotFound => return Err(io_error(&tmp)(e)),
        _ => {}
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(io_error(&tmp))?;
    file.write_all(bytes).map_err(io_error(&tmp))?;
    file.sync_all().map_err(io_error(&tmp))?;
    drop(file);
    fs::rename(&tmp, path).map_err(io_error(path))?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_error(dir))
}

#[cfg(test)]
mod tests {
    use super::*;

    const KID: &str = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

    fn info(kid: &str, status: KeyStatus, retired_at: Option<u64>) -> KeyInfo {
        KeyInfo {
            kid: kid.to_owned(),
            created: 1,
            status,
            retired_at,
        }
    }

    /// Written files are 0600 and replace the previous content.
    #[test]
    fn atomic_private_write() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        write_private(&path, b"one").unwrap();
        write_private(&path, b"two").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"two");
        let mode = fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(!dir.path().join("f.tmp").exists());
    }

    /// A group- or world-readable file is refused with the chmod fix.
    #[test]
    fn refuses_readable_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.pem");
        write_private(&path, b"x").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o640)).unwrap();
        let err = read_private(&path).unwrap_err();
        assert!(
            err.to_string()
                .contains(&format!("chmod 600 {}", path.display())),
            "{err}"
        );
    }

    /// State round-trips; a missing file is empty; inconsistent states fail.
    #[test]
    fn state_checks() {
        let dir = tempfile::tempdir().unwrap();
        assert!(State::load(dir.path()).unwrap().keys.is_empty());
        let state = State {
            keys: vec![info(KID, KeyStatus::Active, None)],
        };
        state.save(dir.path()).unwrap();
        assert_eq!(State::load(dir.path()).unwrap().keys, state.keys);
        let bad = [
            vec![info("../../etc/passwd", KeyStatus::Active, None)],
            vec![info(KID, KeyStatus::Retired, None)],
            vec![info(KID, KeyStatus::Active, Some(1))],
            vec![
                info(KID, KeyStatus::Active, None),
                info(KID, KeyStatus::Retired, Some(2)),
            ],
            vec![
                info(KID, KeyStatus::Active, None),
                info(&"A".repeat(43), KeyStatus::Active, None),
            ],
        ];
        for keys in bad {
            State { keys }.save(dir.path()).unwrap();
            assert!(matches!(
                State::load(dir.path()),
                Err(KeyError::State { .. })
            ));
        }
    }
}
