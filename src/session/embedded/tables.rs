//! The redb tables of the embedded store, their record types, and the
//! small steps every write transaction is built from.
//!
//! | table        | key                          | value                                 |
//! |--------------|------------------------------|---------------------------------------|
//! | `sessions`   | session id                   | [`Session`] as JSON                   |
//! | `tokens`     | (session id, refresh hash)   | [`TokenRecord`] as JSON               |
//! | `users`      | (user, session id)           | `created` (the per-user index)        |
//! | `expiries`   | (expires_at, session id)     | `()` (what `purge_expired` visits)    |
//! | `revocations`| (revoked at, session id)     | `()` (what `revoked_since` reads)     |
//! | `counters`   | counter key                  | (window start, window length, count)  |
//!
//! JSON keeps the records readable with any redb tool and lets fields be
//! added later with `#[serde(default)]`; the records are a few hundred bytes,
//! so a compact binary format would buy nothing that matters here.

use redb::{ReadableTable, Table, TableDefinition, WriteTransaction};
use serde::{Deserialize, Serialize};

use crate::session::{MAX_GRACE_SIBLINGS, Session, StoreError};

/// Sessions by id.
pub(super) const SESSIONS: TableDefinition<&str, &[u8]> = TableDefinition::new("sessions");
/// Refresh-token records by (session id, hash).
pub(super) const TOKENS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("tokens");
/// The per-user index: (user, session id) → created.
pub(super) const USERS: TableDefinition<(&str, &str), u64> = TableDefinition::new("users");
/// Absolute expiries: (expires_at, session id).
pub(super) const EXPIRIES: TableDefinition<(u64, &str), ()> = TableDefinition::new("expiries");
/// Revocations: (revoked at, session id).
pub(super) const REVOCATIONS: TableDefinition<(u64, &str), ()> =
    TableDefinition::new("revocations");
/// Fixed-window counters: key → (window start, window length, count).
pub(super) const COUNTERS: TableDefinition<&str, (u64, u64, u64)> =
    TableDefinition::new("counters");

/// The state of one refresh token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub(super) enum TokenRecord {
    /// Current: presenting it rotates.
    Active,
    /// Already rotated at `at`; `siblings` successors were issued for it
    /// inside the grace window since.
    Used {
        /// When it was first rotated.
        at: u64,
        /// Successors handed out for replays inside the grace window.
        siblings: u32,
    },
}

impl TokenRecord {
    /// The record's state after being presented at `now`, or `None` if the
    /// presentation is reuse (used longer than `grace` ago, or too many
    /// grace replays already).
    pub fn after_presentation(self, now: u64, grace: u64) -> Option<Self> {
        match self {
            Self::Active => Some(Self::Used {
                at: now,
                siblings: 0,
            }),
            Self::Used { at, siblings }
                if now.saturating_sub(at) <= grace && siblings < MAX_GRACE_SIBLINGS =>
            {
                Some(Self::Used {
                    at,
                    siblings: siblings + 1,
                })
            }
            Self::Used { .. } => None,
        }
    }
}

/// Every table, opened once per write transaction.
pub(super) struct Tables<'txn> {
    /// See [`SESSIONS`].
    pub sessions: Table<'txn, &'static str, &'static [u8]>,
    /// See [`TOKENS`].
    pub tokens: Table<'txn, (&'static str, &'static str), &'static [u8]>,
    /// See [`USERS`].
    pub users: Table<'txn, (&'static str, &'static str), u64>,
    /// See [`EXPIRIES`].
    pub expiries: Table<'txn, (u64, &'static str), ()>,
    /// See [`REVOCATIONS`].
    pub revocations: Table<'txn, (u64, &'static str), ()>,
    /// See [`COUNTERS`].
    pub counters: Table<'txn, &'static str, (u64, u64, u64)>,
}

impl<'txn> Tables<'txn> {
    /// Opens (creating on first use) every table in `txn`.
    pub fn open(txn: &'txn WriteTransaction) -> Result<Self, StoreError> {
        Ok(Self {
            sessions: txn.open_table(SESSIONS)?,
            tokens: txn.open_table(TOKENS)?,
            users: txn.open_table(USERS)?,
            expiries: txn.open_table(EXPIRIES)?,
            revocations: txn.open_table(REVOCATIONS)?,
            counters: txn.open_table(COUNTERS)?,
        })
    }

    /// One session, if stored.
    pub fn session(&self, id: &str) -> Result<Option<Session>, StoreError> {
        read_session(&self.sessions, id)
    }

    /// Writes `session` (new or changed).
    pub fn put_session(&mut self, session: &Session) -> Result<(), StoreError> {
        let bytes = encode(session)?;
        self.sessions
            .insert(session.id.as_str(), bytes.as_slice())?;
        Ok(())
    }

    /// One refresh-token record, if stored.
    pub fn token(&self, sid: &str, hash: &str) -> Result<Option<TokenRecord>, StoreError> {
        match self.tokens.get((sid, hash))? {
            Some(guard) => decode(guard.value()).map(Some),
            None => Ok(None),
        }
    }

    /// Writes one refresh-token record.
    pub fn put_token(&mut self, sid: &str, hash: &str, rec: TokenRecord) -> Result<(), StoreError> {
        let bytes = encode(&rec)?;
        self.tokens.insert((sid, hash), bytes.as_slice())?;
        Ok(())
    }

    /// Ids of the user's indexed sessions (any state), in id order.
    pub fn user_sessions(&self, user: &str) -> Result<Vec<String>, StoreError> {
        let mut ids = Vec::new();
        for entry in self.users.range((user, "")..)? {
            let (key, _) = entry?;
            let (owner, sid) = key.value();
            if owner != user {
                break;
            }
            ids.push(sid.to_owned());
        }
        Ok(ids)
    }

    /// Marks `session` revoked at `now`, deletes its refresh records and its
    /// user-index entry, and records the revocation.
    pub fn revoke(&mut self, session: &mut Session, now: u64) -> Result<(), StoreError> {
        session.revoked = true;
        self.put_session(session)?;
        self.delete_tokens(&session.id)?;
        self.users
            .remove((session.user.as_str(), session.id.as_str()))?;
        self.revocations.insert((now, session.id.as_str()), ())?;
        Ok(())
    }

    /// Deletes a session and everything hanging off it (not its revocation
    /// entry, which ages out on its own).
    pub fn delete_session(&mut self, session: &Session) -> Result<(), StoreError> {
        self.sessions.remove(session.id.as_str())?;
        self.delete_tokens(&session.id)?;
        self.users
            .remove((session.user.as_str(), session.id.as_str()))?;
        self.expiries
            .remove((session.expires_at, session.id.as_str()))?;
        Ok(())
    }

    /// Deletes every refresh record of session `sid`.
    fn delete_tokens(&mut self, sid: &str) -> Result<(), StoreError> {
        let mut hashes = Vec::new();
        for entry in self.tokens.range((sid, "")..)? {
            let (key, _) = entry?;
            let (owner, hash) = key.value();
            if owner != sid {
                break;
            }
            hashes.push(hash.to_owned());
        }
        for hash in &hashes {
            self.tokens.remove((sid, hash.as_str()))?;
        }
        Ok(())
    }
}

/// Reads one session from any readable sessions table.
pub(super) fn read_session(
    table: &impl ReadableTable<&'static str, &'static [u8]>,
    id: &str,
) -> Result<Option<Session>, StoreError> {
    match table.get(id)? {
        Some(guard) => decode(guard.value()).map(Some),
        None => Ok(None),
    }
}

/// Serializes a record.
fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    serde_json::to_vec(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// Deserializes a record.
fn decode<T: for<'de> Deserialize<'de>>(bytes: &[u8]) -> Result<T, StoreError> {
    serde_json::from_slice(bytes).map_err(|e| StoreError::Corrupt(e.to_string()))
}

/// redb errors are I/O trouble on the data directory: the store is
/// unavailable (callers answer 503), never a reason to fail open.
macro_rules! unavailable_from {
    ($($ty:ty),* $(,)?) => {$(
        impl From<$ty> for StoreError {
            fn from(e: $ty) -> Self {
                StoreError::Unavailable(format!("embedded store: {e}"))
            }
        }
    )*};
}

unavailable_from!(
    redb::Error,
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError,
);
