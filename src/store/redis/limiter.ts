// Redis RateLimiter: one Lua script per decision, so instances sharing Redis count exactly. The window
// is a sorted set of reservation timestamps; the key's expiry is set in the same script.

import type { Clock } from '../../clock';
import type { LimitRule } from '../../config';
import { errors } from '../../errors';
import { type LimitDecision, newMember, type RateLimiter, type Reservation } from '../limiter';
import type { RedisClient } from './client';

/** Exported for bench/micro-redis.ts, which measures it alone. */
export const RESERVE = `
local now = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return tonumber(oldest[2]) + window - now
end
redis.call('ZADD', KEYS[1], now, ARGV[4])
redis.call('PEXPIRE', KEYS[1], window)
return 0
`;

export class RedisRateLimiter implements RateLimiter {
  constructor(
    private readonly redis: RedisClient,
    private readonly clock: Clock,
  ) {}

  async reserve(key: string, rule: LimitRule): Promise<LimitDecision> {
    const now = this.clock.now();
    const member = newMember(now);
    let wait: unknown;
    try {
      wait = await this.redis.eval(RESERVE, 1, key, now, rule.windowMs, rule.count, member);
    } catch (cause) {
      throw errors.storeUnavailable(cause);
    }
    const retryAfterMs = Number(wait);
    if (retryAfterMs > 0) return { allowed: false, retryAfterMs };
    return { allowed: true, reservation: { key, member } };
  }

  async release(reservation: Reservation): Promise<void> {
    try {
      await this.redis.zrem(reservation.key, reservation.member);
    } catch (cause) {
      throw errors.storeUnavailable(cause);
    }
  }
}
