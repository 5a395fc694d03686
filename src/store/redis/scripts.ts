// Every Lua script the Redis store, limiter and idempotency store run, in one place. A rate-limit
// window is a sorted set of reservation timestamps; WINDOW_WAIT is the one sliding-window computation
// both window scripts share.
//
// Each script starts with a Redis 7 shebang (`#!lua`). Declared scripts are judged before they run: one
// that may write (no `no-writes` flag) is refused up front with OOM when Redis is over maxmemory, and with
// READONLY on a replica, so it never half-runs. An undeclared script is only stopped at its first write
// that needs memory, after its first writes went through (ZREMRANGEBYSCORE frees memory, so it passes):
// the lock was then taken and a code sent for a verification the store could not record.
// UNLOCK, IDEMPOTENCY_RELEASE and TAKE_DUE only read and delete, so they declare `allow-oom`: a full Redis must still let
// a lock or an Idempotency-Key lease go.

import { createHash } from 'node:crypto';

/**
 * A script and its SHA-1: it is sent by digest (EVALSHA, see run-script.ts), its text only when Redis
 * does not have it yet (after a restart, or on a new Cluster node).
 */
export interface LuaScript {
  readonly source: string;
  readonly sha: string;
}

function lua(source: string): LuaScript {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/**
 * Lua: a limit is one or more rules over one sorted set (`300/1m,20000/1d` share it). Drops entries
 * older than the longest window and returns how long until every rule has room for one more (0: room
 * now) and the longest window. `rules` is a flat list {count, window ms, count, window ms, ...}.
 */
const WINDOW_WAIT = `
local function read_rules(from, to)
  local rules = {}
  for i = from, to or #ARGV do rules[#rules + 1] = tonumber(ARGV[i]) end
  return rules
end
local function window_wait(key, now, rules)
  local longest = 0
  for i = 2, #rules, 2 do if rules[i] > longest then longest = rules[i] end end
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - longest)
  local wait = 0
  for i = 1, #rules, 2 do
    local limit, window = rules[i], rules[i + 1]
    local since = '(' .. string.format('%.0f', now - window)
    local count = redis.call('ZCOUNT', key, since, '+inf')
    if count >= limit then
      local entry = redis.call('ZRANGEBYSCORE', key, since, '+inf', 'WITHSCORES', 'LIMIT', count - limit, 1)
      wait = math.max(wait, math.max(1, tonumber(entry[2]) + window - now))
    end
  end
  return wait, longest
end
`;

/**
 * Takes a slot in a limit's window, or says how long until one frees up (ms > 0). The key's expiry is
 * set in the same step. KEYS[1] window; ARGV now, member, then the rules (count, window ms, ...).
 * Exported for bench/micro-redis.ts.
 */
export const RESERVE = lua(`#!lua
${WINDOW_WAIT}
local now = tonumber(ARGV[1])
local wait, longest = window_wait(KEYS[1], now, read_rules(3))
if wait > 0 then return wait end
redis.call('ZADD', KEYS[1], now, ARGV[2])
redis.call('PEXPIRE', KEYS[1], longest)
return 0
`);

/**
 * Takes the number's lock unless the guard's window (same hash tag) is full; with the lock taken, may
 * also take a slot in that window and read a record (same hash tag), all in one step. Returns {0[,
 * record or nil]} = taken, {-1} = held by another request, {n > 0} = the window is full for n more ms.
 * KEYS[1] lock[, KEYS[2] guard window][, then a record to read]. ARGV token, ttl ms, guarded (0/1),
 * then when guarded: now, a member to add to the window once the lock is taken ('' = none), the rules
 * (count, window ms, ...).
 */
export const LOCK = lua(`#!lua
${WINDOW_WAIT}
local guarded = ARGV[3] == '1'
local read = KEYS[2]
if guarded then
  read = KEYS[3]
  local now = tonumber(ARGV[4])
  local wait, longest = window_wait(KEYS[2], now, read_rules(6))
  if wait > 0 then return {wait} end
  if not redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return {-1} end
  if ARGV[5] ~= '' then
    redis.call('ZADD', KEYS[2], now, ARGV[5])
    redis.call('PEXPIRE', KEYS[2], longest)
  end
elseif not redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then
  return {-1}
end
if read then return {0, redis.call('GET', read)} end
return {0}
`);

/**
 * Releases the lock only if this token still holds it, and gives back a window slot taken with it, if
 * any (a lock whose answer was lost). KEYS[1] lock[, KEYS[2] window]; ARGV token[, member].
 */
export const UNLOCK = lua(`#!lua flags=allow-oom
if KEYS[2] then redis.call('ZREM', KEYS[2], ARGV[2]) end
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`);

/**
 * Writes a new verification and makes it the number's current one, both expiring together, and clears
 * the start intent it answers (all one hash tag); with KEYS[4], also lets the number's lock go if this
 * token still holds it. KEYS[1] record, KEYS[2] current, KEYS[3] intent[, KEYS[4] lock]; ARGV record
 * JSON, request id, ttl ms[, token].
 */
export const CREATE_RECORD = lua(`#!lua
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
redis.call('DEL', KEYS[3])
if KEYS[4] and redis.call('GET', KEYS[4]) == ARGV[4] then redis.call('DEL', KEYS[4]) end
return 1
`);

/**
 * Rewrites an existing record, keeping its expiry, and lets the number's lock go if this token still
 * holds it (one hash tag). KEYS[1] record, KEYS[2] lock; ARGV record JSON, token.
 */
export const UPDATE_UNLOCK = lua(`#!lua
redis.call('SET', KEYS[1], ARGV[1], 'KEEPTTL', 'XX')
if redis.call('GET', KEYS[2]) == ARGV[2] then redis.call('DEL', KEYS[2]) end
return 1
`);

/**
 * Idempotency-Key, first use: holds the key for the lease (fields fp, token) if it is free, else returns
 * what is there: {'started'} or {'found', fingerprint, kept answer or '', ms left}. KEYS[1] key; ARGV
 * fingerprint, token, lease ms.
 */
export const IDEMPOTENCY_BEGIN = lua(`#!lua
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'fp', ARGV[1], 'token', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return {'started'}
end
local found = redis.call('HMGET', KEYS[1], 'fp', 'response')
return {'found', found[1] or '', found[2] or '', redis.call('PTTL', KEYS[1])}
`);

/** Extends the lease if the token still holds the key: 1, else 0. KEYS[1] key; ARGV token, lease ms. */
export const IDEMPOTENCY_RENEW = lua(`#!lua
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`);

/**
 * Keeps the final answer if the token still holds the key (the lease ends, the TTL starts): 1, else 0.
 * KEYS[1] key; ARGV token, answer (JSON), ttl ms.
 */
export const IDEMPOTENCY_COMPLETE = lua(`#!lua
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then return 0 end
redis.call('HDEL', KEYS[1], 'token')
redis.call('HSET', KEYS[1], 'response', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`);

/** Frees the key if the token still holds it. KEYS[1] key; ARGV token. */
export const IDEMPOTENCY_RELEASE = lua(`#!lua flags=allow-oom
if redis.call('HGET', KEYS[1], 'token') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`);

/**
 * The abuse guard's admission for the code's scopes (its prefix, and its country when known; every
 * key in the {guard} slot), each judged on its own as if alone, in one atomic step: the scope's block
 * (an existing one, or a new one when, with enough outcomes known, too few were verified), then its
 * velocity window. KEYS: per scope its velocity window, settled outcomes, verified outcomes, block.
 * ARGV now, then per scope: member, check conversion (0/1), enforce (0/1), window ms, min settled, min
 * conversion, block ms, the number of rule values n, then the velocity rules (n values: count, window
 * ms, ...; none = not limited). A block holds "settled:verified:since:until" on the caller's clock (its
 * PX only cleans up), so a block ends on the same clock that started it.
 * Returns per scope {kind (0 passed, 1 blocked, 2 velocity full), ms (block left, or velocity wait),
 * started (1: this call began the block), settled, verified, block ms left}.
 */
export const GUARD_ADMIT = lua(`#!lua
${WINDOW_WAIT}
local now = tonumber(ARGV[1])
local function admit(k, a)
  local block_ms, started, settled, verified = 0, 0, 0, 0
  if ARGV[a + 1] == '1' then
    local cutoff = now - tonumber(ARGV[a + 3])
    redis.call('ZREMRANGEBYSCORE', KEYS[k + 2], '-inf', cutoff)
    redis.call('ZREMRANGEBYSCORE', KEYS[k + 3], '-inf', cutoff)
    settled = redis.call('ZCARD', KEYS[k + 2])
    verified = redis.call('ZCARD', KEYS[k + 3])
    local block = redis.call('GET', KEYS[k + 4])
    local until_at = block and tonumber(string.match(block, ':(%d+)$')) or 0
    if until_at > now then
      block_ms = until_at - now
    elseif settled >= tonumber(ARGV[a + 4]) and verified < tonumber(ARGV[a + 5]) * settled then
      block_ms = tonumber(ARGV[a + 6])
      local value = settled .. ':' .. verified .. ':' .. ARGV[1] .. ':' .. string.format('%.0f', now + block_ms)
      redis.call('SET', KEYS[k + 4], value, 'PX', block_ms)
      started = 1
    end
  end
  if block_ms > 0 and ARGV[a + 2] == '1' then return {1, block_ms, started, settled, verified, block_ms} end
  local n = tonumber(ARGV[a + 7])
  if n > 0 then
    local wait, longest = window_wait(KEYS[k + 1], now, read_rules(a + 8, a + 7 + n))
    if wait > 0 then return {2, wait, started, settled, verified, block_ms} end
    redis.call('ZADD', KEYS[k + 1], now, ARGV[a])
    redis.call('PEXPIRE', KEYS[k + 1], longest)
  end
  return {0, 0, started, settled, verified, block_ms}
end
local answers = {}
local a = 2
for k = 0, #KEYS - 4, 4 do
  for _, value in ipairs(admit(k, a)) do answers[#answers + 1] = value end
  a = a + 8 + tonumber(ARGV[a + 7])
end
return answers
`);

/**
 * Settles one code in one step ({guard} slot): it leaves the pending set, its scopes are marked as
 * having outcomes (the operator view's candidates), and its outcome is recorded in each scope. KEYS
 * pending, seen:prefix, seen:country, then per scope (prefix, country when known) its settled and
 * verified outcomes. ARGV member ('' = already taken from the set), now, prefix, country ('' = none),
 * request id, verified (0/1), window ms. Outcome members are request ids, so a repeat changes nothing.
 * Returns 1 when this call settles the code (it removed it, or it was taken), else 0 (nothing done).
 */
export const GUARD_SETTLE = lua(`#!lua
if ARGV[1] ~= '' and redis.call('ZREM', KEYS[1], ARGV[1]) ~= 1 then return 0 end
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[3])
if ARGV[4] ~= '' then redis.call('ZADD', KEYS[3], ARGV[2], ARGV[4]) end
local cutoff = tonumber(ARGV[2]) - tonumber(ARGV[7])
for i = 4, #KEYS - 1, 2 do
  redis.call('ZADD', KEYS[i], 'NX', ARGV[2], ARGV[5])
  if ARGV[6] == '1' then redis.call('ZADD', KEYS[i + 1], 'NX', ARGV[2], ARGV[5]) end
  for j = i, i + 1 do
    redis.call('ZREMRANGEBYSCORE', KEYS[j], '-inf', cutoff)
    redis.call('PEXPIRE', KEYS[j], ARGV[7])
  end
end
return 1
`);

/**
 * Takes up to ARGV[2] members of the sorted set KEYS[1] scored at or before ARGV[1] (now): returns
 * them and removes them in one step, so each is handed to exactly one instance.
 */
export const TAKE_DUE = lua(`#!lua flags=allow-oom
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
if #due > 0 then redis.call('ZREM', KEYS[1], unpack(due)) end
return due
`);
