//! The Lua scripts. Redis runs a script to completion before serving any
//! other command, so each one is an atomic step. Every script touches the
//! keys of one slot only: either one session's `{s:SID}` keys (the token
//! keys it deletes are built from the declared prefix inside that same hash
//! tag) or a single index key.

use std::sync::LazyLock;

use redis::Script;

/// Stores a new session, its first token and its token set, unless the
/// session id is taken. KEYS: session, token, tokens. ARGV: ttl, hash,
/// then the session's field/value pairs. Returns 1, or 0 if taken.
pub(super) static CREATE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('HSET', KEYS[2], 'st', 'a')
redis.call('SADD', KEYS[3], ARGV[2])
for i = 1, 3 do redis.call('EXPIRE', KEYS[i], ARGV[1]) end
return 1
",
    )
});

/// Presents a token. KEYS: session, presented token, successor token,
/// tokens. ARGV: now, grace, successor hash, max grace siblings, token key
/// prefix. Returns {status, HGETALL session} where status is `rotated`,
/// `grace`, `reused` or `invalid` (with an empty list).
pub(super) static ROTATE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local now = tonumber(ARGV[1])
local s = redis.call('HMGET', KEYS[1], 'revoked', 'expires_at', 'last_used', 'idle_timeout_secs')
local rt = redis.call('HMGET', KEYS[2], 'st', 'at', 'n')
if not s[2] or not rt[1] then return {'invalid', {}} end
if s[1] == '1' or now >= tonumber(s[2]) or now >= tonumber(s[3]) + tonumber(s[4]) then
  return {'invalid', {}}
end
if redis.call('EXISTS', KEYS[3]) == 1 then return {'invalid', {}} end
local status = 'rotated'
if rt[1] == 'a' then
  redis.call('HSET', KEYS[2], 'st', 'u', 'at', ARGV[1], 'n', 0)
elseif now - tonumber(rt[2]) <= tonumber(ARGV[2]) and tonumber(rt[3]) < tonumber(ARGV[4]) then
  redis.call('HINCRBY', KEYS[2], 'n', 1)
  status = 'grace'
else
  redis.call('HSET', KEYS[1], 'revoked', '1')
  for _, h in ipairs(redis.call('SMEMBERS', KEYS[4])) do redis.call('DEL', ARGV[5] .. h) end
  redis.call('DEL', KEYS[4])
  return {'reused', redis.call('HGETALL', KEYS[1])}
end
redis.call('HSET', KEYS[3], 'st', 'a')
redis.call('SADD', KEYS[4], ARGV[3])
local ttl = redis.call('TTL', KEYS[1])
if ttl > 0 then
  redis.call('EXPIRE', KEYS[3], ttl)
  redis.call('EXPIRE', KEYS[4], ttl)
end
if now > tonumber(s[3]) then redis.call('HSET', KEYS[1], 'last_used', ARGV[1]) end
return {status, redis.call('HGETALL', KEYS[1])}
",
    )
});

/// Revokes a session: sets the flag, deletes every token record and the
/// token set. KEYS: session, tokens. ARGV: token key prefix. Returns the
/// session's user, or nil if there is no such session.
pub(super) static REVOKE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
redis.call('HSET', KEYS[1], 'revoked', '1')
for _, h in ipairs(redis.call('SMEMBERS', KEYS[2])) do redis.call('DEL', ARGV[1] .. h) end
redis.call('DEL', KEYS[2])
return redis.call('HGET', KEYS[1], 'user')
",
    )
});

/// Deletes a session past its absolute expiry with all its keys. KEYS:
/// session, tokens. ARGV: token key prefix, now. Returns the session's
/// user, or nil if it is gone already or not yet expired.
pub(super) static PURGE: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local exp = redis.call('HGET', KEYS[1], 'expires_at')
if not exp or tonumber(exp) > tonumber(ARGV[2]) then return false end
for _, h in ipairs(redis.call('SMEMBERS', KEYS[2])) do redis.call('DEL', ARGV[1] .. h) end
local user = redis.call('HGET', KEYS[1], 'user')
redis.call('DEL', KEYS[1], KEYS[2])
return user
",
    )
});

/// Adds a member to an index zset and makes sure the key lives at least
/// `ttl` more seconds (EXPIRE GT cannot do this: it never sets a TTL on a
/// key that has none). KEYS: zset. ARGV: score, member, ttl.
pub(super) static INDEX_ADD: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[2])
if redis.call('TTL', KEYS[1]) < tonumber(ARGV[3]) then redis.call('EXPIRE', KEYS[1], ARGV[3]) end
return 1
",
    )
});

/// One hit on a fixed-window counter. KEYS: counter. ARGV: window start,
/// ttl. A stored window at or after ours (an instance whose clock runs a
/// little ahead) counts as the current one. Returns the count.
pub(super) static HIT: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local w = redis.call('HGET', KEYS[1], 'w')
local n = 1
if w and tonumber(w) >= tonumber(ARGV[1]) then
  n = redis.call('HINCRBY', KEYS[1], 'n', 1)
else
  redis.call('HSET', KEYS[1], 'w', ARGV[1], 'n', 1)
end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return n
",
    )
});

/// Publishes public keys. KEYS: the kid index, then one JWK key per kid.
/// ARGV: now, then (kid, JWK JSON, ttl) per key. A key already published
/// with a longer TTL keeps it (instances sharing a key directory never
/// shorten each other's); the index records each kid's expiry and drops the
/// expired ones. Returns the number of kids still indexed.
pub(super) static PUBLISH_KEYS: LazyLock<Script> = LazyLock::new(|| {
    Script::new(
        r"
local now = tonumber(ARGV[1])
local longest = 0
for i = 2, #KEYS do
  local kid, jwk, ttl = ARGV[3 * i - 4], ARGV[3 * i - 3], tonumber(ARGV[3 * i - 2])
  local left = redis.call('TTL', KEYS[i])
  if left > ttl then ttl = left end
  redis.call('SET', KEYS[i], jwk, 'EX', ttl)
  redis.call('ZADD', KEYS[1], 'GT', now + ttl, kid)
  if ttl > longest then longest = ttl end
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('TTL', KEYS[1]) < longest then redis.call('EXPIRE', KEYS[1], longest) end
return redis.call('ZCARD', KEYS[1])
",
    )
});
