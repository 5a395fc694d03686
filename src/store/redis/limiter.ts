// Redis RateLimiter: one Lua script per decision (RESERVE in scripts.ts, run by digest), so instances sharing Redis
// count exactly. Key names come from keys.ts.

import type { Clock } from '../../clock';
import type { Limit } from '../../config';
import { errors } from '../../errors';
import {
  flatRules,
  type LimitDecision,
  type LimitSubject,
  newMember,
  type RateLimiter,
  type Reservation,
} from '../limiter';
import type { RedisClient } from './client';
import type { RedisKeys } from './keys';
import { runScript } from './run-script';
import { RESERVE } from './scripts';

export class RedisRateLimiter implements RateLimiter {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly clock: Clock,
  ) {}

  async reserve(subject: LimitSubject, limit: Limit): Promise<LimitDecision> {
    const key = this.keys.limit(subject);
    const now = this.clock.now();
    const member = newMember(now);
    let wait: unknown;
    try {
      wait = await runScript(this.redis, RESERVE, [key], [now, member, ...flatRules(limit)]);
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
