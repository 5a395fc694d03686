// Every Lua script the Redis store, limiter and idempotency store run, in one place. A rate-limit
// window is a sorted set of reservation timestamps; WINDOW_WAIT is the one sliding-window computation
// both window scripts share.

/**
 * Lua: drops the window's entries older than `window` ms and returns how long until it has room for
 * one more (0: it has room now).
 */
const WINDOW_WAIT = `
local function window_wait(key, now, window, limit)
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) < limit then return 0 end
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return math.max(1, tonumber(oldest[2]) + window - now)
end
`;

/**
 * Takes a slot in a window, or says how long until one frees up (ms > 0). The key's expiry is set in
 * the same step. KEYS[1] window; ARGV now, window ms, limit, member. Exported for bench/micro-redis.ts.
 */
export const RESERVE = `${WINDOW_WAIT}
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local wait = window_wait(KEYS[1], now, window, tonumber(ARGV[3]))
if wait > 0 then return wait end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window)
return 0
`;

/**
 * Takes the number's lock unless the guard's window (KEYS[2], same hash tag) is full:
 * 0 = taken, -1 = held by another request, n > 0 = full for n more ms.
 * KEYS[1] lock[, KEYS[2] guard window]; ARGV token, ttl ms[, now, window ms, limit].
 */
export const LOCK = `${WINDOW_WAIT}
if #KEYS > 1 then
  local wait = window_wait(KEYS[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]))
  if wait > 0 then return wait end
end
if redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return 0 end
return -1
`;

/** Releases the lock only if this token still holds it. KEYS[1] lock; ARGV token. */
export const UNLOCK = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/**
 * Idempotency-Key, first use: holds the key for the lease (fields fp, token) if it is free, else returns
 * what is there: {'started'} or {'found', fingerprint, kept answer or '', ms left}. KEYS[1] key; ARGV
 * fingerprint, token, lease ms.
 */
export const IDEMPOTENCY_BEGIN = `
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('HSET', KEYS[1], 'fp', ARGV[1], 'token', ARGV[2])
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
  return {'started'}
end
local found = redis.call('HMGET', KEYS[1], 'fp', 'response')
return {'found', found[1] or '', found[2] or '', redis.call('PTTL', KEYS[1])}
`;

/** Extends the lease if the token still holds the key: 1, else 0. KEYS[1] key; ARGV token, lease ms. */
export const IDEMPOTENCY_RENEW = `
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`;

/**
 * Keeps the final answer if the token still holds the key (the lease ends, the TTL starts): 1, else 0.
 * KEYS[1] key; ARGV token, answer (JSON), ttl ms.
 */
export const IDEMPOTENCY_COMPLETE = `
if redis.call('HGET', KEYS[1], 'token') ~= ARGV[1] then return 0 end
redis.call('HDEL', KEYS[1], 'token')
redis.call('HSET', KEYS[1], 'response', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`;

/** Frees the key if the token still holds it. KEYS[1] key; ARGV token. */
export const IDEMPOTENCY_RELEASE = `
if redis.call('HGET', KEYS[1], 'token') == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;
