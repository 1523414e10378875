//! The embedded store (the default): one redb file in the data directory.
//!
//! Every change is one redb write transaction committed with
//! [`Durability::Immediate`]: when a call returns `Ok`, the change is on
//! disk, so a `kill -9` right after an answered login or refresh loses
//! nothing. redb allows one writer at a time, which makes each operation
//! (rotation included) serializable without further locking. redb is
//! synchronous, so every operation runs on tokio's blocking pool.

mod ops;
mod tables;

use std::fs::{DirBuilder, OpenOptions, Permissions};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::sync::Arc;

use redb::{Database, Durability, ReadTransaction, ReadableDatabase};

use super::{RefreshHash, Rotation, Session, SessionStore, StoreError};
use tables::Tables;

/// Sessions, refresh records, revocations and counters in a redb file.
/// Cheap to clone (the database is shared).
#[derive(Clone)]
pub struct EmbeddedStore {
    db: Arc<Database>,
}

impl std::fmt::Debug for EmbeddedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedStore").finish_non_exhaustive()
    }
}

impl EmbeddedStore {
    /// Opens the database at `path`, creating it (file mode 0600) and its
    /// parent directory (mode 0700) if missing; an existing file is set to
    /// 0600. Blocking: call it at start-up (or on the blocking pool). redb
    /// locks the file, so a second open of the same file fails.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| io_error("creating the data directory", &e))?;
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .map_err(|e| io_error("creating the database file", &e))?;
        file.set_permissions(Permissions::from_mode(0o600))
            .map_err(|e| io_error("restricting the database file", &e))?;
        drop(file);
        let db = Database::create(path)?;
        let store = Self { db: Arc::new(db) };
        // Creates every table, so read transactions always find them.
        write_txn(&store.db, |_| Ok(()))?;
        Ok(store)
    }

    /// Runs `f` in one write transaction on the blocking pool and commits it
    /// durably; an error drops (aborts) the transaction.
    async fn write<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Tables<'_>) -> Result<T, StoreError> + Send + 'static,
    {
        let db = Arc::clone(&self.db);
        tokio::task::spawn_blocking(move || write_txn(&db, f))
            .await
            .map_err(|e| StoreError::Unavailable(format!("embedded store task: {e}")))?
    }

    /// Runs `f` in one read transaction (a consistent snapshot).
    async fn read<T, F>(&self, f: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&ReadTransaction) -> Result<T, StoreError> + Send + 'static,
    {
        let db = Arc::clone(&self.db);
        tokio::task::spawn_blocking(move || f(&db.begin_read()?))
            .await
            .map_err(|e| StoreError::Unavailable(format!("embedded store task: {e}")))?
    }
}

/// Begins a write transaction, runs `f`, commits with immediate durability.
fn write_txn<T>(
    db: &Database,
    f: impl FnOnce(&mut Tables<'_>) -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    let mut txn = db.begin_write()?;
    txn.set_durability(Durability::Immediate)?;
    let value = {
        let mut tables = Tables::open(&txn)?;
        f(&mut tables)?
    };
    txn.commit()?;
    Ok(value)
}

/// An I/O failure opening the store; names the step, not the path.
fn io_error(step: &str, e: &std::io::Error) -> StoreError {
    StoreError::Unavailable(format!("embedded store: {step}: {e}"))
}

impl SessionStore for EmbeddedStore {
    async fn create(
        &self,
        session: &Session,
        refresh: &RefreshHash,
        limit: usize,
        now: u64,
    ) -> Result<Vec<String>, StoreError> {
        let (session, refresh) = (session.clone(), refresh.clone());
        self.write(move |t| ops::create(t, &session, &refresh, limit, now))
            .await
    }

    async fn rotate(
        &self,
        presented: &RefreshHash,
        successor: &RefreshHash,
        now: u64,
        grace_secs: u64,
    ) -> Result<Rotation, StoreError> {
        let (presented, successor) = (presented.clone(), successor.clone());
        let (p, s) = (presented.clone(), successor.clone());
        if !self
            .read(move |txn| ops::rotation_possible(txn, &p, &s, now))
            .await?
        {
            return Ok(Rotation::Invalid);
        }
        self.write(move |t| ops::rotate(t, &presented, &successor, now, grace_secs))
            .await
    }

    async fn get(&self, session_id: &str) -> Result<Option<Session>, StoreError> {
        let sid = session_id.to_owned();
        self.read(move |txn| ops::get(txn, &sid)).await
    }

    async fn list(&self, user: &str, now: u64) -> Result<Vec<Session>, StoreError> {
        let user = user.to_owned();
        self.read(move |txn| ops::list(txn, &user, now)).await
    }

    async fn revoke(&self, session_id: &str, now: u64) -> Result<bool, StoreError> {
        let sid = session_id.to_owned();
        self.write(move |t| ops::revoke(t, &sid, now)).await
    }

    async fn revoke_all(&self, user: &str, now: u64) -> Result<Vec<String>, StoreError> {
        let user = user.to_owned();
        self.write(move |t| ops::revoke_all(t, &user, now)).await
    }

    async fn revoked_since(&self, since: u64) -> Result<Vec<String>, StoreError> {
        self.read(move |txn| ops::revoked_since(txn, since)).await
    }

    async fn hit(&self, key: &str, window_secs: u64, now: u64) -> Result<u64, StoreError> {
        let key = key.to_owned();
        self.write(move |t| ops::hit(t, &key, window_secs, now))
            .await
    }

    async fn peek(&self, key: &str, window_secs: u64, now: u64) -> Result<u64, StoreError> {
        let key = key.to_owned();
        self.read(move |txn| ops::peek(txn, &key, window_secs, now))
            .await
    }

    async fn reset(&self, key: &str) -> Result<(), StoreError> {
        let key = key.to_owned();
        self.write(move |t| {
            t.counters.remove(key.as_str())?;
            Ok(())
        })
        .await
    }

    async fn purge_expired(&self, now: u64) -> Result<u64, StoreError> {
        self.write(move |t| ops::purge_expired(t, now)).await
    }

    async fn ping(&self) -> Result<(), StoreError> {
        self.read(|txn| {
            txn.open_table(tables::SESSIONS)?;
            Ok(())
        })
        .await
    }

    async fn count_live(&self, now: u64) -> Result<u64, StoreError> {
        self.read(move |txn| ops::count_live(txn, now)).await
    }
}

#[cfg(test)]
mod tests;
