// The local "refused until T" memory in front of the Redis limiter (issue 17): an address over its
// failed-authentication limit is refused without a Redis call until its window has room, and the answers
// are the ones Redis alone would give (status, Retry-After, the moment it lets the address in again).

import { randomBytes } from 'node:crypto';
import { VirtualClock } from '../../src/clock';
import type { Limit } from '../../src/config';
import { type LimitSubject, limits, type RateLimiter } from '../../src/store/limiter';
import { OverLimitCache } from '../../src/store/over-limit-cache';
import { connectRedis, createRedisClient, type RedisClient } from '../../src/store/redis/client';
import { RedisKeys } from '../../src/store/redis/keys';
import { RedisRateLimiter } from '../../src/store/redis/limiter';
import { type Harness, startHarness, testRedisUrl } from '../support/harness';

const RULE: Limit = { rules: [{ count: 3, windowMs: 60_000, text: '3/1m' }], text: '3/1m' };

describe('over HTTP, on Redis', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { TRUST_PROXY: '1', LIMIT_AUTH_FAILURES_PER_IP: '3/1m' } });
  });
  afterAll(async () => {
    await h.close();
  });

  const wrongKey = (ip: string) =>
    h.http
      .post('/api/verify-token')
      .set('X-Forwarded-For', ip)
      .set('Authorization', 'Bearer wrong-key-0000000000')
      .send({ requestId: 'x', code: '1234' });

  test('an address over its limit stays refused with a shrinking Retry-After, then is let in when the window has room', async () => {
    const ip = '198.51.100.7';
    for (let i = 0; i < 3; i++) {
      expect((await wrongKey(ip)).status).toBe(401);
      h.clock.advance(1_000);
    }
    // Failures at t, t+1 s and t+2 s; now t+3 s: the first leaves the window at t+60 s.
    const first = await wrongKey(ip);
    expect(first.status).toBe(429);
    expect(first.body.code).toBe('rate_limited');
    expect(Number(first.headers['retry-after'])).toBe(57);

    h.clock.advance(20_000);
    const later = await wrongKey(ip);
    expect(later.status).toBe(429);
    expect(Number(later.headers['retry-after'])).toBe(37);
    // Another address is not affected.
    expect((await wrongKey('198.51.100.8')).status).toBe(401);

    // The first failure leaves the window: one more attempt is counted (a wrong key: 401), and the
    // address is full again until the second failure leaves (about a second later).
    h.clock.advance(37_000);
    expect((await wrongKey(ip)).status).toBe(401);
    const again = await wrongKey(ip);
    expect(again.status).toBe(429);
    expect(Number(again.headers['retry-after'])).toBe(1);
  });
});

describe('in front of the Redis limiter', () => {
  let redis: RedisClient;
  const prefix = `test:olc:${randomBytes(6).toString('hex')}:`;
  beforeAll(async () => {
    redis = createRedisClient({ url: testRedisUrl(), cluster: false });
    await connectRedis(redis);
  });
  afterAll(async () => {
    const keys = await (redis as import('ioredis').default).keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });

  /** The real Redis limiter, with a count of the decisions it was asked for. */
  function counted(clock: VirtualClock): { limiter: RateLimiter; calls: () => number } {
    const inner = new RedisRateLimiter(redis, new RedisKeys(prefix), clock);
    let calls = 0;
    return {
      calls: () => calls,
      limiter: {
        reserve: (subject: LimitSubject, limit: Limit) => {
          calls += 1;
          return inner.reserve(subject, limit);
        },
        release: (reservation) => inner.release(reservation),
      },
    };
  }

  test('refusals of a remembered limit cost no Redis call until the window has room', async () => {
    const clock = new VirtualClock(Date.UTC(2026, 0, 1));
    const { limiter, calls } = counted(clock);
    const cache = new OverLimitCache(limiter, clock, new Set(['authFailuresPerIp']));
    const ip = `203.0.113.${Math.floor(Math.random() * 250)}`;
    for (let i = 0; i < 3; i++) {
      expect((await cache.reserve(limits.authFailuresPerIp(ip), RULE)).allowed).toBe(true);
      clock.advance(1_000);
    }
    expect(await cache.reserve(limits.authFailuresPerIp(ip), RULE)).toEqual({
      allowed: false,
      retryAfterMs: 57_000,
    });
    expect(calls()).toBe(4);

    for (let i = 0; i < 50; i++) {
      const decision = await cache.reserve(limits.authFailuresPerIp(ip), RULE);
      expect(decision).toEqual({ allowed: false, retryAfterMs: 57_000 - i * 1_000 });
      clock.advance(1_000);
    }
    expect(calls()).toBe(4);

    // Past T (the first failure left the window): Redis is asked again and takes the attempt.
    clock.advance(7_000);
    expect((await cache.reserve(limits.authFailuresPerIp(ip), RULE)).allowed).toBe(true);
    expect(calls()).toBe(5);
  });

  test('limits whose slots can be given back are always asked of Redis', async () => {
    const clock = new VirtualClock(Date.UTC(2026, 0, 2));
    const { limiter, calls } = counted(clock);
    const cache = new OverLimitCache(limiter, clock, new Set(['authFailuresPerIp']));
    const subject = limits.sendsPerCaller(`caller-${randomBytes(3).toString('hex')}`);
    for (let i = 0; i < 6; i++) await cache.reserve(subject, RULE);
    expect(calls()).toBe(6);
    expect(cache.size).toBe(0);
  });

  test('at most maxEntries subjects are remembered; a forgotten one is only asked of Redis again', async () => {
    const clock = new VirtualClock(Date.UTC(2026, 0, 3));
    const { limiter, calls } = counted(clock);
    const cache = new OverLimitCache(limiter, clock, new Set(['authFailuresPerIp']), 2);
    const rule: Limit = { rules: [{ count: 1, windowMs: 60_000, text: '1/1m' }], text: '1/1m' };
    const ips = ['192.0.2.1', '192.0.2.2', '192.0.2.3'].map(
      (ip) => `${ip}-${randomBytes(2).toString('hex')}`,
    );
    for (const ip of ips) {
      await cache.reserve(limits.authFailuresPerIp(ip), rule);
      expect((await cache.reserve(limits.authFailuresPerIp(ip), rule)).allowed).toBe(false);
    }
    expect(cache.size).toBe(2);
    expect(calls()).toBe(6);
    // The first address was forgotten: Redis is asked, and still refuses it.
    expect((await cache.reserve(limits.authFailuresPerIp(ips[0] ?? ''), rule)).allowed).toBe(false);
    expect(calls()).toBe(7);
    // The last one is remembered.
    expect((await cache.reserve(limits.authFailuresPerIp(ips[2] ?? ''), rule)).allowed).toBe(false);
    expect(calls()).toBe(7);
  });
});
