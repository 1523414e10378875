//! The key directory: private keys as `<kid>.pem` (PKCS#8, mode 0600) and
//! `keyring.json` recording when each key was created and retired, in a
//! directory of mode 0700. Used at start-up and by `portcullis keys
//! generate|rotate|list`.
//!
//! Time is always a parameter (Unix seconds). A retired key keeps verifying
//! for `grace_secs` after its retirement; the caller passes the longest access
//! token lifetime plus the leeway. One process should write a directory at a
//! time; readers only ever see complete files (writes are atomic renames).

use std::fs::DirBuilder;
use std::os::unix::fs::DirBuilderExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::state::{State, check_private, read_private, write_private};
use super::{KeyError, KeyInfo, KeyRing, KeyStatus, PublicKey, SigningKey};

/// A key directory on disk.
#[derive(Debug, Clone)]
pub struct KeyDir {
    dir: PathBuf,
}

impl KeyDir {
    /// Opens `dir`, creating it (and missing parents) with mode 0700; refuses
    /// a directory that group or others can access.
    pub fn open(dir: impl Into<PathBuf>) -> Result<Self, KeyError> {
        let dir = dir.into();
        DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|source| KeyError::Io {
                path: dir.clone(),
                source,
            })?;
        check_private(&dir, "700")?;
        Ok(Self { dir })
    }

    /// The directory path.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// The ring for start-up: generates a first active key of `bits` when the
    /// directory has none, then behaves as [`KeyDir::ring`].
    pub fn load_or_init(
        &self,
        bits: usize,
        now: u64,
        grace_secs: u64,
    ) -> Result<KeyRing, KeyError> {
        if State::load(&self.dir)?.keys.is_empty() {
            self.generate(bits, now)?;
        }
        self.ring(now, grace_secs)
    }

    /// Generates a key of `bits`, makes it active and retires the previous
    /// active key at `now`.
    pub fn generate(&self, bits: usize, now: u64) -> Result<KeyInfo, KeyError> {
        let key = SigningKey::generate(bits)?;
        self.install(&key, now)
    }

    /// Scheduled or manual rotation: the same as [`KeyDir::generate`].
    pub fn rotate(&self, bits: usize, now: u64) -> Result<KeyInfo, KeyError> {
        self.generate(bits, now)
    }

    /// Stores an existing key as the new active key, retiring the previous
    /// one at `now`. The key file is written before the state names it.
    pub fn install(&self, key: &SigningKey, now: u64) -> Result<KeyInfo, KeyError> {
        let mut state = State::load(&self.dir)?;
        if state.keys.iter().any(|k| k.kid == key.kid()) {
            return Err(self.state_error("the key is already in the directory"));
        }
        write_private(&self.key_path(key.kid()), key.to_pkcs8_pem()?.as_bytes())?;
        for info in &mut state.keys {
            if info.status == KeyStatus::Active {
                info.status = KeyStatus::Retired;
                info.retired_at = Some(now);
            }
        }
        let info = KeyInfo {
            kid: key.kid().to_owned(),
            created: now,
            status: KeyStatus::Active,
            retired_at: None,
        };
        state.keys.push(info.clone());
        state.save(&self.dir)?;
        Ok(info)
    }

    /// Every recorded key, oldest first.
    pub fn list(&self) -> Result<Vec<KeyInfo>, KeyError> {
        Ok(State::load(&self.dir)?.keys)
    }

    /// Removes retired keys whose grace period has ended (`retired_at +
    /// grace_secs <= now`) from the state, then deletes their files. Returns
    /// the removed kids.
    pub fn prune(&self, now: u64, grace_secs: u64) -> Result<Vec<String>, KeyError> {
        let mut state = State::load(&self.dir)?;
        let (expired, kept): (Vec<KeyInfo>, Vec<KeyInfo>) = state
            .keys
            .into_iter()
            .partition(|k| !within_grace(k, now, grace_secs));
        state.keys = kept;
        if expired.is_empty() {
            return Ok(Vec::new());
        }
        state.save(&self.dir)?;
        for info in &expired {
            let path = self.key_path(&info.kid);
            std::fs::remove_file(&path).map_err(|source| KeyError::Io { path, source })?;
        }
        Ok(expired.into_iter().map(|k| k.kid).collect())
    }

    /// The ring at `now`: the active key plus retired keys still within
    /// `grace_secs` of their retirement. Every key file the state names must
    /// be mode 0600 or stricter and hold the key its name says.
    pub fn ring(&self, now: u64, grace_secs: u64) -> Result<KeyRing, KeyError> {
        check_private(&self.dir, "700")?;
        let state = State::load(&self.dir)?;
        for info in &state.keys {
            check_private(&self.key_path(&info.kid), "600")?;
        }
        let active = state.active().ok_or(KeyError::NoActiveKey)?;
        let active = Arc::new(self.load_key(&active.kid)?);
        let mut retired: Vec<&KeyInfo> = state
            .keys
            .iter()
            .filter(|k| k.status == KeyStatus::Retired && within_grace(k, now, grace_secs))
            .collect();
        retired.sort_by_key(|k| std::cmp::Reverse(k.retired_at));
        let retired = retired
            .into_iter()
            .map(|k| {
                let until = k.retired_at.unwrap_or(now).saturating_add(grace_secs);
                self.load_key(&k.kid)
                    .map(|key| (Arc::clone(key.public()), until))
            })
            .collect::<Result<Vec<(Arc<PublicKey>, u64)>, _>>()?;
        Ok(KeyRing::new(active, retired))
    }

    /// True when the active key is at least `rotate_after_secs` old at `now`,
    /// or when there is no active key at all.
    pub fn rotation_due(&self, now: u64, rotate_after_secs: u64) -> Result<bool, KeyError> {
        let state = State::load(&self.dir)?;
        Ok(state
            .active()
            .is_none_or(|k| k.created.saturating_add(rotate_after_secs) <= now))
    }

    fn key_path(&self, kid: &str) -> PathBuf {
        self.dir.join(format!("{kid}.pem"))
    }

    fn load_key(&self, kid: &str) -> Result<SigningKey, KeyError> {
        let path = self.key_path(kid);
        let key = SigningKey::from_pkcs8_pem(&read_private(&path)?)?;
        if key.kid() != kid {
            return Err(KeyError::KidMismatch { path });
        }
        Ok(key)
    }

    fn state_error(&self, reason: &'static str) -> KeyError {
        KeyError::State {
            path: self.dir.join(super::state::STATE_FILE),
            reason,
        }
    }
}

/// Active keys are always kept; retired ones until `retired_at + grace_secs`.
fn within_grace(info: &KeyInfo, now: u64, grace_secs: u64) -> bool {
    match (info.status, info.retired_at) {
        (KeyStatus::Retired, Some(at)) => now < at.saturating_add(grace_secs),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::keys::test_keys;
    use std::fs;
    use std::os::unix::fs::PermissionsExt as _;

    const GRACE: u64 = 600;

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    /// An empty directory gets one active key, files 0600 in a 0700
    /// directory; loading again reuses it.
    #[test]
    fn load_or_init_creates_one_private_key() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = KeyDir::open(tmp.path().join("a/keys")).unwrap();
        assert_eq!(mode(dir.path()), 0o700);
        let ring = dir.load_or_init(2048, 1_000, GRACE).unwrap();
        let kid = ring.active().kid().to_owned();
        assert_eq!(mode(&dir.path().join(format!("{kid}.pem"))), 0o600);
        assert_eq!(mode(&dir.path().join("keyring.json")), 0o600);
        let again = dir.load_or_init(2048, 2_000, GRACE).unwrap();
        assert_eq!(again.active().kid(), kid);
        let list = dir.list().unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(
            (list[0].created, list[0].status),
            (1_000, KeyStatus::Active)
        );
    }

    /// After rotation the retired key still verifies within the grace period,
    /// leaves the ring when it ends, and prune deletes it then, not before.
    #[test]
    fn rotation_grace_and_prune() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = KeyDir::open(tmp.path().join("keys")).unwrap();
        let [old, new, ..] = test_keys() else {
            unreachable!()
        };
        dir.install(old, 1_000).unwrap();
        let sig = old.sign(b"token").unwrap();
        dir.install(new, 2_000).unwrap();

        let ring = dir.ring(2_000 + GRACE - 1, GRACE).unwrap();
        assert_eq!(ring.active().kid(), new.kid());
        assert!(ring.get(old.kid()).unwrap().verify(b"token", &sig));
        assert_eq!(ring.retired_until(old.kid()), Some(2_000 + GRACE));
        assert_eq!(ring.retired_until(new.kid()), None);
        assert_eq!(ring.jwks()["keys"].as_array().unwrap().len(), 2);
        assert!(dir.prune(2_000 + GRACE - 1, GRACE).unwrap().is_empty());

        let ring = dir.ring(2_000 + GRACE, GRACE).unwrap();
        assert!(ring.get(old.kid()).is_none());
        assert_eq!(
            dir.prune(2_000 + GRACE, GRACE).unwrap(),
            vec![old.kid().to_owned()]
        );
        assert!(!dir.path().join(format!("{}.pem", old.kid())).exists());
        let list = dir.list().unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].kid, new.kid());
    }

    /// The retired record says when; the new key is the only active one.
    #[test]
    fn rotation_records_times() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = KeyDir::open(tmp.path().join("keys")).unwrap();
        dir.install(&test_keys()[0], 10).unwrap();
        dir.install(&test_keys()[1], 20).unwrap();
        let list = dir.list().unwrap();
        assert_eq!(
            (list[0].status, list[0].retired_at),
            (KeyStatus::Retired, Some(20))
        );
        assert_eq!((list[1].status, list[1].created), (KeyStatus::Active, 20));
        assert!(dir.install(&test_keys()[1], 30).is_err());
    }

    /// A key file or directory open to group or others is refused, and the
    /// error says which chmod fixes it.
    #[test]
    fn refuses_insecure_permissions() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = KeyDir::open(tmp.path().join("k")).unwrap();
        let key = &test_keys()[0];
        dir.install(key, 1).unwrap();
        let file = dir.path().join(format!("{}.pem", key.kid()));
        for bad in [0o640, 0o604, 0o620] {
            fs::set_permissions(&file, fs::Permissions::from_mode(bad)).unwrap();
            let err = dir.ring(1, GRACE).unwrap_err();
            assert!(
                err.to_string()
                    .contains(&format!("chmod 600 {}", file.display())),
                "{err}"
            );
        }
        fs::set_permissions(&file, fs::Permissions::from_mode(0o600)).unwrap();
        assert!(dir.ring(1, GRACE).is_ok());
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o750)).unwrap();
        let err = KeyDir::open(dir.path()).unwrap_err();
        assert!(err.to_string().contains("chmod 700"), "{err}");
        assert!(dir.ring(1, GRACE).is_err());
    }

    /// A key file holding another key than its name says is refused.
    #[test]
    fn refuses_swapped_key_file() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = KeyDir::open(tmp.path().join("keys")).unwrap();
        let [a, b, ..] = test_keys() else {
            unreachable!()
        };
        dir.install(a, 1).unwrap();
        let path = dir.path().join(format!("{}.pem", a.kid()));
        write_private(&path, b.to_pkcs8_pem().unwrap().as_bytes()).unwrap();
        assert!(matches!(
            dir.ring(1, GRACE),
            Err(KeyError::KidMismatch { .. })
        ));
    }

    /// Rotation is due once the active key is `rotate_after` old, and when
    /// there is no key.
    #[test]
    fn rotation_due() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = KeyDir::open(tmp.path().join("keys")).unwrap();
        assert!(dir.rotation_due(0, 86_400).unwrap());
        dir.install(&test_keys()[0], 1_000).unwrap();
        assert!(!dir.rotation_due(1_000 + 86_399, 86_400).unwrap());
        assert!(dir.rotation_due(1_000 + 86_400, 86_400).unwrap());
    }
}
