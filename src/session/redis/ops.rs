//! The operations that take more than one round trip: a session script
//! first (the atomic part), then the index commands.

use super::{RedisStore, keys, scripts};
use crate::session::{
    MAX_GRACE_SIBLINGS, REVOCATION_RETENTION_SECS, RefreshHash, Rotation, Session, StoreError,
    well_formed_id, well_formed_rotation,
};

/// How many sessions one round of `purge_expired` or `count_live` handles.
const PURGE_BATCH: usize = 256;

impl RedisStore {
    /// Script, then user and expiry index, then eviction past `limit`.
    pub(super) async fn create_session(
        &self,
        session: &Session,
        refresh: &RefreshHash,
        limit: usize,
        now: u64,
    ) -> Result<Vec<String>, StoreError> {
        let sid = session.id.as_str();
        if !well_formed_id(sid) || !well_formed_id(&refresh.hash) || refresh.session_id != sid {
            return Err(StoreError::Corrupt(
                "malformed session or refresh id".into(),
            ));
        }
        let ttl = keys::ttl_until(session.expires_at, now);
        let mut inv = scripts::CREATE.prepare_invoke();
        inv.key(self.keys.session(sid))
            .key(self.keys.token(sid, &refresh.hash))
            .key(self.keys.tokens(sid))
            .arg(ttl)
            .arg(&refresh.hash);
        for (field, value) in keys::session_fields(session) {
            inv.arg(field).arg(value);
        }
        if self.script::<u8>(inv).await? == 0 {
            return Err(StoreError::Corrupt("session id already in use".into()));
        }
        let user_key = self.keys.user(&session.user);
        self.index_add(&user_key, session.created, sid, ttl).await?;
        let expiries = self.keys.expiries();
        self.index_add(&expiries, session.expires_at, sid, ttl)
            .await?;
        self.evict(&session.user, sid, limit, now).await
    }

    /// Revokes the user's oldest live sessions beyond `limit`, never `new`
    /// (the session being created).
    async fn evict(
        &self,
        user: &str,
        new: &str,
        limit: usize,
        now: u64,
    ) -> Result<Vec<String>, StoreError> {
        let mut live = Vec::new();
        for sid in self.user_index(user).await? {
            match self.load(&sid).await? {
                Some(s) if s.is_live(now) => live.push(s),
                Some(_) => {}
                None => self.unindex(user, &sid).await?,
            }
        }
        live.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
        let excess = live.len().saturating_sub(limit);
        // `created` has whole seconds: among ties the new session may sort
        // first, and must not be its own victim.
        live.retain(|s| s.id != new);
        let mut evicted = Vec::with_capacity(excess);
        for s in live.into_iter().take(excess) {
            if self.revoke_one(&s.id, now).await?.is_some() {
                self.publish_best_effort(&s.id).await;
                evicted.push(s.id);
            }
        }
        Ok(evicted)
    }

    /// The rotation script; on reuse, records and announces the revocation.
    pub(super) async fn rotate_token(
        &self,
        presented: &RefreshHash,
        successor: &RefreshHash,
        now: u64,
        grace: u64,
    ) -> Result<Rotation, StoreError> {
        if !well_formed_rotation(presented, successor) {
            return Ok(Rotation::Invalid);
        }
        let sid = presented.session_id.as_str();
        let mut inv = scripts::ROTATE.prepare_invoke();
        inv.key(self.keys.session(sid))
            .key(self.keys.token(sid, &presented.hash))
            .key(self.keys.token(sid, &successor.hash))
            .key(self.keys.tokens(sid))
            .arg(now)
            .arg(grace)
            .arg(&successor.hash)
            .arg(MAX_GRACE_SIBLINGS)
            .arg(self.keys.token_prefix(sid));
        let (status, flat): (String, Vec<String>) = self.script(inv).await?;
        let session = || {
            keys::session_from_flat(flat.clone())?
                .ok_or_else(|| StoreError::Corrupt("rotation lost its session".into()))
        };
        match status.as_str() {
            "rotated" => Ok(Rotation::Rotated(session()?)),
            "grace" => Ok(Rotation::Grace(session()?)),
            "reused" => {
                let s = session()?;
                self.after_revocation(&s.user, sid, now).await?;
                self.publish_best_effort(sid).await;
                Ok(Rotation::Reused(s))
            }
            _ => Ok(Rotation::Invalid),
        }
    }

    /// Revokes one session (script), then records the revocation and drops
    /// it from the user's index. Returns its user, `None` if unknown.
    /// Does not publish.
    pub(super) async fn revoke_one(
        &self,
        sid: &str,
        now: u64,
    ) -> Result<Option<String>, StoreError> {
        if !well_formed_id(sid) {
            return Ok(None);
        }
        let mut inv = scripts::REVOKE.prepare_invoke();
        inv.key(self.keys.session(sid))
            .key(self.keys.tokens(sid))
            .arg(self.keys.token_prefix(sid));
        let user: Option<String> = self.script(inv).await?;
        if let Some(user) = &user {
            self.after_revocation(user, sid, now).await?;
        }
        Ok(user)
    }

    /// The index side of a revocation: `revoked` entry, user index removal.
    async fn after_revocation(&self, user: &str, sid: &str, now: u64) -> Result<(), StoreError> {
        let revoked = self.keys.revoked();
        self.index_add(&revoked, now, sid, REVOCATION_RETENTION_SECS)
            .await?;
        self.unindex(user, sid).await
    }

    /// One session, if its hash exists.
    pub(super) async fn load(&self, sid: &str) -> Result<Option<Session>, StoreError> {
        if !well_formed_id(sid) {
            return Ok(None);
        }
        let mut cmd = redis::cmd("HGETALL");
        cmd.arg(self.keys.session(sid));
        keys::session_from_flat(self.query(cmd).await?)
    }

    /// The user's live sessions, oldest first.
    pub(super) async fn live_sessions(
        &self,
        user: &str,
        now: u64,
    ) -> Result<Vec<Session>, StoreError> {
        let mut live = Vec::new();
        for sid in self.user_index(user).await? {
            if let Some(s) = self.load(&sid).await?
                && s.is_live(now)
            {
                live.push(s);
            }
        }
        live.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
        Ok(live)
    }

    /// Session ids in the user's index, by creation time.
    pub(super) async fn user_index(&self, user: &str) -> Result<Vec<String>, StoreError> {
        let mut cmd = redis::cmd("ZRANGE");
        cmd.arg(self.keys.user(user)).arg(0).arg(-1);
        self.query(cmd).await
    }

    /// Drops one session from its user's index.
    async fn unindex(&self, user: &str, sid: &str) -> Result<(), StoreError> {
        let mut cmd = redis::cmd("ZREM");
        cmd.arg(self.keys.user(user)).arg(sid);
        self.query(cmd).await
    }

    /// ZADD to an index key, keeping it alive at least `ttl` more seconds.
    async fn index_add(
        &self,
        key: &str,
        score: u64,
        member: &str,
        ttl: u64,
    ) -> Result<(), StoreError> {
        let mut inv = scripts::INDEX_ADD.prepare_invoke();
        inv.key(key).arg(score).arg(member).arg(ttl);
        self.script(inv).await
    }

    /// Deletes sessions past absolute expiry (in batches from the expiry
    /// index) and revocations past retention; counts deleted sessions.
    pub(super) async fn purge(&self, now: u64) -> Result<u64, StoreError> {
        let expiries = self.keys.expiries();
        let mut purged = 0;
        loop {
            let mut cmd = redis::cmd("ZRANGEBYSCORE");
            cmd.arg(&expiries).arg("-inf").arg(now);
            cmd.arg("LIMIT").arg(0).arg(PURGE_BATCH);
            let due: Vec<String> = self.query(cmd).await?;
            for sid in &due {
                purged += u64::from(self.purge_one(sid, now).await?);
                let mut rem = redis::cmd("ZREM");
                rem.arg(&expiries).arg(sid);
                self.query::<()>(rem).await?;
            }
            if due.len() < PURGE_BATCH {
                break;
            }
        }
        let mut trim = redis::cmd("ZREMRANGEBYSCORE");
        let cutoff = now.saturating_sub(REVOCATION_RETENTION_SECS);
        trim.arg(self.keys.revoked())
            .arg("-inf")
            .arg(format!("({cutoff}"));
        self.query::<()>(trim).await?;
        Ok(purged)
    }

    /// Sessions live at `now`: the expiry index past `now` in batches, each
    /// batch's session hashes read concurrently (one pipelined burst on the
    /// multiplexed connection; not one Redis pipeline, whose commands would
    /// span many Cluster slots).
    pub(super) async fn count_live_sessions(&self, now: u64) -> Result<u64, StoreError> {
        let expiries = self.keys.expiries();
        let (mut live, mut offset) = (0, 0);
        loop {
            let mut cmd = redis::cmd("ZRANGEBYSCORE");
            cmd.arg(&expiries).arg(format!("({now}")).arg("+inf");
            cmd.arg("LIMIT").arg(offset).arg(PURGE_BATCH);
            let batch: Vec<String> = self.query(cmd).await?;
            let reads = batch.iter().filter(|sid| well_formed_id(sid)).map(|sid| {
                let mut get = redis::cmd("HGETALL");
                get.arg(self.keys.session(sid));
                self.query::<Vec<String>>(get)
            });
            for flat in futures_util::future::try_join_all(reads).await? {
                if keys::session_from_flat(flat)?.is_some_and(|s| s.is_live(now)) {
                    live += 1;
                }
            }
            if batch.len() < PURGE_BATCH {
                return Ok(live);
            }
            offset += PURGE_BATCH;
        }
    }

    /// Deletes one expired session; true if this call deleted it.
    async fn purge_one(&self, sid: &str, now: u64) -> Result<bool, StoreError> {
        if !well_formed_id(sid) {
            return Ok(false);
        }
        let mut inv = scripts::PURGE.prepare_invoke();
        inv.key(self.keys.session(sid))
            .key(self.keys.tokens(sid))
            .arg(self.keys.token_prefix(sid))
            .arg(now);
        let user: Option<String> = self.script(inv).await?;
        if let Some(user) = &user {
            self.unindex(user, sid).await?;
        }
        Ok(user.is_some())
    }
}
