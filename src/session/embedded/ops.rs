//! The store operations, each run inside one redb transaction (the caller
//! opens and commits it), so every change is all-or-nothing.

use redb::{ReadTransaction, ReadableTable};

use super::tables::{self, TokenRecord};
use crate::session::{
    REVOCATION_RETENTION_SECS, RefreshHash, Rotation, Session, StoreError, well_formed_id,
    well_formed_rotation,
};

use super::tables::Tables;

/// Stores a new session with its first token, then evicts past `limit`.
pub(super) fn create(
    t: &mut Tables<'_>,
    session: &Session,
    refresh: &RefreshHash,
    limit: usize,
    now: u64,
) -> Result<Vec<String>, StoreError> {
    if !well_formed_id(&session.id)
        || !well_formed_id(&refresh.hash)
        || refresh.session_id != session.id
    {
        return Err(StoreError::Corrupt(
            "malformed session or refresh id".into(),
        ));
    }
    if t.session(&session.id)?.is_some() {
        return Err(StoreError::Corrupt("session id already in use".into()));
    }
    t.put_session(session)?;
    t.put_token(&session.id, &refresh.hash, TokenRecord::Active)?;
    t.users.insert(
        (session.user.as_str(), session.id.as_str()),
        session.created,
    )?;
    t.expiries
        .insert((session.expires_at, session.id.as_str()), ())?;
    evict(t, &session.user, &session.id, limit, now)
}

/// Revokes the user's oldest live sessions beyond `limit`, never `new` (the
/// session being created); returns their ids.
fn evict(
    t: &mut Tables<'_>,
    user: &str,
    new: &str,
    limit: usize,
    now: u64,
) -> Result<Vec<String>, StoreError> {
    let mut live = Vec::new();
    for sid in t.user_sessions(user)? {
        if let Some(s) = t.session(&sid)?
            && s.is_live(now)
        {
            live.push(s);
        }
    }
    oldest_first(&mut live);
    let excess = live.len().saturating_sub(limit);
    // `created` has whole seconds: among ties the new session may sort
    // first, and must not be its own victim.
    live.retain(|s| s.id != new);
    let mut evicted = Vec::with_capacity(excess);
    for mut s in live.into_iter().take(excess) {
        t.revoke(&mut s, now)?;
        evicted.push(s.id);
    }
    Ok(evicted)
}

/// Presents `presented`; see [`Rotation`] and the trait documentation.
pub(super) fn rotate(
    t: &mut Tables<'_>,
    presented: &RefreshHash,
    successor: &RefreshHash,
    now: u64,
    grace: u64,
) -> Result<Rotation, StoreError> {
    if !well_formed_rotation(presented, successor) {
        return Ok(Rotation::Invalid);
    }
    let sid = presented.session_id.as_str();
    let (Some(mut session), Some(record)) = (t.session(sid)?, t.token(sid, &presented.hash)?)
    else {
        return Ok(Rotation::Invalid);
    };
    if !session.is_live(now) || t.token(sid, &successor.hash)?.is_some() {
        return Ok(Rotation::Invalid);
    }
    let Some(used) = record.after_presentation(now, grace) else {
        t.revoke(&mut session, now)?;
        return Ok(Rotation::Reused(session));
    };
    t.put_token(sid, &presented.hash, used)?;
    t.put_token(sid, &successor.hash, TokenRecord::Active)?;
    session.last_used = session.last_used.max(now);
    t.put_session(&session)?;
    Ok(match record {
        TokenRecord::Active => Rotation::Rotated(session),
        TokenRecord::Used { .. } => Rotation::Grace(session),
    })
}

/// Whether `rotate` could do anything but answer Invalid, judged on a
/// read snapshot: unknown tokens, dead sessions and malformed ids never
/// take the writer lock or cost a durable commit (an fsync), so a flood of
/// made-up refresh tokens cannot stall real rotations. The write
/// transaction checks everything again.
pub(super) fn rotation_possible(
    txn: &ReadTransaction,
    presented: &RefreshHash,
    successor: &RefreshHash,
    now: u64,
) -> Result<bool, StoreError> {
    if !well_formed_rotation(presented, successor) {
        return Ok(false);
    }
    let sid = presented.session_id.as_str();
    let tokens = txn.open_table(tables::TOKENS)?;
    if tokens.get((sid, presented.hash.as_str()))?.is_none() {
        return Ok(false);
    }
    let sessions = txn.open_table(tables::SESSIONS)?;
    Ok(tables::read_session(&sessions, sid)?.is_some_and(|s| s.is_live(now)))
}

/// The user's live sessions, oldest first (read-only).
pub(super) fn list(
    txn: &ReadTransaction,
    user: &str,
    now: u64,
) -> Result<Vec<Session>, StoreError> {
    let users = txn.open_table(tables::USERS)?;
    let sessions = txn.open_table(tables::SESSIONS)?;
    let mut live = Vec::new();
    for entry in users.range((user, "")..)? {
        let (key, _) = entry?;
        let (owner, sid) = key.value();
        if owner != user {
            break;
        }
        if let Some(s) = tables::read_session(&sessions, sid)?
            && s.is_live(now)
        {
            live.push(s);
        }
    }
    oldest_first(&mut live);
    Ok(live)
}

/// Sessions live at `now`, visiting those not past absolute expiry
/// (read-only).
pub(super) fn count_live(txn: &ReadTransaction, now: u64) -> Result<u64, StoreError> {
    let expiries = txn.open_table(tables::EXPIRIES)?;
    let sessions = txn.open_table(tables::SESSIONS)?;
    let mut live = 0;
    for entry in expiries.range((now.saturating_add(1), "")..)? {
        let (key, _) = entry?;
        if let Some(s) = tables::read_session(&sessions, key.value().1)?
            && s.is_live(now)
        {
            live += 1;
        }
    }
    Ok(live)
}

/// One session (read-only).
pub(super) fn get(txn: &ReadTransaction, sid: &str) -> Result<Option<Session>, StoreError> {
    if !well_formed_id(sid) {
        return Ok(None);
    }
    tables::read_session(&txn.open_table(tables::SESSIONS)?, sid)
}

/// Revokes one session; false if unknown.
pub(super) fn revoke(t: &mut Tables<'_>, sid: &str, now: u64) -> Result<bool, StoreError> {
    if !well_formed_id(sid) {
        return Ok(false);
    }
    match t.session(sid)? {
        Some(mut s) => t.revoke(&mut s, now).map(|()| true),
        None => Ok(false),
    }
}

/// Revokes every indexed session of `user`; returns their ids.
pub(super) fn revoke_all(
    t: &mut Tables<'_>,
    user: &str,
    now: u64,
) -> Result<Vec<String>, StoreError> {
    let mut revoked = Vec::new();
    for sid in t.user_sessions(user)? {
        if let Some(mut s) = t.session(&sid)? {
            t.revoke(&mut s, now)?;
            revoked.push(sid);
        }
    }
    Ok(revoked)
}

/// Ids revoked at or after `since`, oldest revocation first, each once.
pub(super) fn revoked_since(txn: &ReadTransaction, since: u64) -> Result<Vec<String>, StoreError> {
    let table = txn.open_table(tables::REVOCATIONS)?;
    let mut seen = std::collections::HashSet::new();
    let mut ids = Vec::new();
    for entry in table.range((since, "")..)? {
        let (key, _) = entry?;
        let sid = key.value().1;
        if seen.insert(sid.to_owned()) {
            ids.push(sid.to_owned());
        }
    }
    Ok(ids)
}

/// One hit on a fixed-window counter; the count in the current window.
pub(super) fn hit(t: &mut Tables<'_>, key: &str, window: u64, now: u64) -> Result<u64, StoreError> {
    let window = window.max(1);
    let start = now - now % window;
    let stored = t.counters.get(key)?.map(|g| g.value());
    let next = match stored {
        // A start ahead of ours comes from a clock slightly ahead: same window.
        Some((s, w, n)) if s >= start => (s, w, n.saturating_add(1)),
        _ => (start, window, 1),
    };
    t.counters.insert(key, next)?;
    Ok(next.2)
}

/// The count of `key` in the current window (0 when absent or expired).
pub(super) fn peek(
    txn: &ReadTransaction,
    key: &str,
    window: u64,
    now: u64,
) -> Result<u64, StoreError> {
    let window = window.max(1);
    let start = now - now % window;
    let table = txn.open_table(tables::COUNTERS)?;
    let stored = table.get(key)?.map(|g| g.value());
    Ok(match stored {
        Some((s, _, n)) if s >= start => n,
        _ => 0,
    })
}

/// Deletes sessions past absolute expiry, revocations past retention and
/// counters whose window ended; returns the number of sessions deleted.
pub(super) fn purge_expired(t: &mut Tables<'_>, now: u64) -> Result<u64, StoreError> {
    let due_range = ..(now.saturating_add(1), "");
    let mut due = Vec::new();
    for entry in t.expiries.range(due_range)? {
        let (key, _) = entry?;
        due.push(key.value().1.to_owned());
    }
    let mut purged = 0;
    for sid in &due {
        if let Some(s) = t.session(sid)? {
            t.delete_session(&s)?;
            purged += 1;
        }
    }
    t.expiries.retain_in(due_range, |_, ()| false)?;
    let cutoff = now.saturating_sub(REVOCATION_RETENTION_SECS);
    t.revocations.retain_in(..(cutoff, ""), |_, ()| false)?;
    t.counters
        .retain(|_, (start, window, _)| start.saturating_add(window) > now)?;
    Ok(purged)
}

/// Sorts by creation time, ties by id (the order Redis gives equal scores).
fn oldest_first(sessions: &mut [Session]) {
    sessions.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
}
