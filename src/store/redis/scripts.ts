// Every Lua script the Redis store and limiter run, in one place. A rate-limit window is a sorted set
// of reservation timestamps; WINDOW_WAIT is the one sliding-window computation both scripts share.

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
