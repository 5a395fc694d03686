// A number over its send limit is refused from this instance's memory for at most a second after Redis
// said so (NUMBER_REFUSAL_MEMORY_MS): a flood of request-token for it costs no Redis call per request.
// Its slots can be given back (a start Vonage refused), so the memory is short, exact about Retry-After,
// forgotten at once when this instance gives a slot of the number back, and a slot freed elsewhere is
// seen at most that second later.

import { randomBytes } from 'node:crypto';
import pino from 'pino';
import { VirtualClock } from '../../src/clock';
import { loadConfig } from '../../src/config';
import type { ApiError } from '../../src/errors';
import { limits, type RateLimiter } from '../../src/store/limiter';
import { RedisKeys } from '../../src/store/redis/keys';
import type { LockResult, VerificationStore } from '../../src/store/store';
import {
  NUMBER_REFUSAL_MEMORY_MS,
  NUMBER_REFUSAL_REFRESH_MS,
  NumberGate,
} from '../../src/verification/number-gate';
import type { ServiceSettings } from '../../src/verification/types';
import { startPair, ukMobile } from '../support/harness';

describe('over HTTP, two instances on one Redis', () => {
  test('a freed slot is seen by the instance that remembers the refusal within a second; Retry-After stays exact', async () => {
    const pair = await startPair({ LIMIT_SENDS_PER_NUMBER: '1/1h' });
    try {
      const { a, b } = pair;
      const phoneNumber = ukMobile();
      expect((await a.as('alpha').post('/api/request-token', { phoneNumber })).status).toBe(201);
      const refused = await a.as('alpha').post('/api/request-token', { phoneNumber });
      expect(refused.status).toBe(429);
      expect(refused.body.code).toBe('rate_limited');
      expect(Number(refused.headers['retry-after'])).toBe(3600);

      // The slot is given back elsewhere (as another instance does when Vonage refuses a start).
      const redis = a.composed.redis;
      if (!redis) throw new Error('the harness runs on Redis');
      await redis.del(new RedisKeys(a.prefix).limit(limits.sendsPerNumber('alpha', phoneNumber)));

      // a still believes its refusal, with the wait counted down on the clock; b asks Redis.
      a.clock.advance(NUMBER_REFUSAL_MEMORY_MS - NUMBER_REFUSAL_REFRESH_MS - 1);
      const remembered = await a.as('alpha').post('/api/request-token', { phoneNumber });
      expect(remembered.status).toBe(429);
      expect(Number(remembered.headers['retry-after'])).toBe(3600);
      expect((await b.as('alpha').post('/api/request-token', { phoneNumber })).status).not.toBe(429);

      // Once the belief runs out, a asks again.
      a.clock.advance(1);
      expect((await a.as('alpha').post('/api/request-token', { phoneNumber })).status).not.toBe(429);
    } finally {
      await pair.close();
    }
  });
});

/** A store whose lock refuses while `full` (the guard's window), and counts the calls. */
function fakes() {
  const state = { full: true, locks: 0, releases: 0 };
  const store = {
    lock: async (): Promise<LockResult> => {
      state.locks++;
      return state.full ? { limitedForMs: 3_600_000 } : { token: 't' };
    },
    unlock: async () => {},
  } as unknown as VerificationStore;
  const limiter: RateLimiter = {
    reserve: async () => ({
      allowed: true,
      reservation: { key: 'k', member: randomBytes(4).toString('hex') },
    }),
    release: async () => {
      state.releases++;
    },
  };
  return { state, store, limiter };
}

describe('the gate', () => {
  const config = loadConfig({ API_KEYS: 'alpha:key-alpha-0123456789', LIMIT_SENDS_PER_NUMBER: '1/1h' });
  const settings = {
    vonageTimeoutMs: 2_000,
    limits: {
      sendsPerNumber: config.LIMIT_SENDS_PER_NUMBER,
      sendsPerCaller: config.LIMIT_SENDS_PER_CALLER,
      failedChecksPerNumber: config.LIMIT_FAILED_CHECKS_PER_NUMBER,
      vonageCallsPerCaller: config.LIMIT_VONAGE_CALLS_PER_CALLER,
    },
  } as ServiceSettings;
  const ctx = { caller: 'alpha', log: pino({ level: 'silent' }) };

  async function refusedFor(gate: NumberGate, phoneNumber: string): Promise<number | undefined> {
    try {
      // As every caller does: this instance's memory first, then the lock.
      const guard = gate.refuseFromMemory(ctx, phoneNumber, gate.sendsGuard(ctx, phoneNumber));
      await gate.withLock(ctx, phoneNumber, guard, async () => 'ran');
      return undefined;
    } catch (error) {
      return (error as ApiError).extensions.retryAfterSeconds;
    }
  }

  test('refusals within the second cost no store call; a slot this instance gives back is forgotten at once', async () => {
    const clock = new VirtualClock(Date.UTC(2026, 0, 1));
    const { state, store, limiter } = fakes();
    const gate = new NumberGate(store, limiter, settings, () => {}, clock);
    const phoneNumber = ukMobile();

    expect(await refusedFor(gate, phoneNumber)).toBe(3600);
    for (let i = 0; i < 19; i++) {
      clock.advance(40);
      expect(await refusedFor(gate, phoneNumber)).toBe(3600);
    }
    expect(state.locks).toBe(1);
    // Another number, another caller's number: asked of the store.
    expect(await refusedFor(gate, ukMobile())).toBe(3600);
    expect(state.locks).toBe(2);

    // This instance gives a slot of the number back (a start Vonage refused): the memory is gone.
    state.full = false;
    await gate.withSends(ctx, phoneNumber, async () => 'refused by Vonage');
    expect(state.releases).toBeGreaterThan(0);
    expect(await refusedFor(gate, phoneNumber)).toBeUndefined();
    expect(state.locks).toBe(3);
  });

  test('when the belief runs out one request asks the store; the others in flight are still refused', async () => {
    const clock = new VirtualClock(Date.UTC(2026, 0, 1));
    const { state, store, limiter } = fakes();
    let answer: (result: LockResult) => void = () => {};
    const gate = new NumberGate(store, limiter, settings, () => {}, clock);
    const phoneNumber = ukMobile();
    await refusedFor(gate, phoneNumber);
    clock.advance(NUMBER_REFUSAL_MEMORY_MS - NUMBER_REFUSAL_REFRESH_MS);
    const slow = store.lock;
    store.lock = () => {
      state.locks++;
      return new Promise<LockResult>((resolve) => (answer = resolve));
    };
    const asking = refusedFor(gate, phoneNumber);
    const others = await Promise.all([1, 2, 3, 4].map(() => refusedFor(gate, phoneNumber)));
    expect(others).toEqual([3600, 3600, 3600, 3600]);
    expect(state.locks).toBe(2);
    answer({ limitedForMs: 3_000_000 });
    expect(await asking).toBe(3000);
    store.lock = slow;
    // The fresh answer is believed again.
    expect(await refusedFor(gate, phoneNumber)).toBe(3000);
    expect(state.locks).toBe(2);
  });

  test('the memory ends a second after the store refused, and forgetRefusals ends it at once', async () => {
    const clock = new VirtualClock(Date.UTC(2026, 0, 1));
    const { state, store, limiter } = fakes();
    const gate = new NumberGate(store, limiter, settings, () => {}, clock);
    const phoneNumber = ukMobile();
    await refusedFor(gate, phoneNumber);
    clock.advance(NUMBER_REFUSAL_MEMORY_MS);
    await refusedFor(gate, phoneNumber);
    expect(state.locks).toBe(2);
    gate.forgetRefusals();
    await refusedFor(gate, phoneNumber);
    expect(state.locks).toBe(3);
  });
});
