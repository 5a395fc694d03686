// The number's lock as one step (issue 17, fewer Redis round trips): with a guard it refuses when the
// window is full, takes the lock, and (asked to) takes a slot in the window and reads the record, all
// together; `locate` finds where a verification is without reading it (the lock reads it). The Redis
// and in-memory stores answer alike.

import { VirtualClock } from '../../src/clock';
import type { Limit } from '../../src/config';
import { limits, type RateLimiter } from '../../src/store/limiter';
import { MemoryRateLimiter } from '../../src/store/memory/limiter';
import { MemoryVerificationStore } from '../../src/store/memory/store';
import { connectRedis, createRedisClient, type RedisClient } from '../../src/store/redis/client';
import { RedisKeys } from '../../src/store/redis/keys';
import { RedisRateLimiter } from '../../src/store/redis/limiter';
import { RedisVerificationStore } from '../../src/store/redis/store';
import type { LockResult, VerificationRecord, VerificationStore } from '../../src/store/store';
import { removeTestKeys, testPrefix, testRedisUrl } from '../support/test-redis';

const TWO: Limit = { rules: [{ count: 2, windowMs: 60_000, text: '2/1m' }], text: '2/1m' };
const PHONE = '+447700900123';
const CALLER = 'alice';
const subject = limits.sendsPerNumber(CALLER, PHONE);

interface Backend {
  store: VerificationStore;
  limiter: RateLimiter;
  clock: VirtualClock;
}

let redis: RedisClient;
const prefixes: string[] = [];

beforeAll(async () => {
  redis = createRedisClient({ url: testRedisUrl(), cluster: false });
  await connectRedis(redis);
});

afterAll(async () => {
  for (const prefix of prefixes) await removeTestKeys(prefix);
  redis.disconnect();
});

const backends: [string, () => Backend][] = [
  [
    'redis',
    () => {
      const clock = new VirtualClock(Date.UTC(2026, 0, 1));
      const prefix = testPrefix();
      prefixes.push(prefix);
      const keys = new RedisKeys(prefix);
      return {
        clock,
        store: new RedisVerificationStore(redis, keys, clock),
        limiter: new RedisRateLimiter(redis, keys, clock),
      };
    },
  ],
  [
    'memory',
    () => {
      const clock = new VirtualClock(Date.UTC(2026, 0, 1));
      const limiter = new MemoryRateLimiter(clock);
      return { clock, limiter, store: new MemoryVerificationStore(clock, limiter) };
    },
  ],
];

const token = (result: LockResult) => ('token' in result ? result.token : undefined);

describe.each(backends)('%s store', (_name, make) => {
  test('a lock that reserves takes one slot with it; the window full refuses before the lock, held takes none', async () => {
    const { store, limiter, clock } = make();
    const guard = { subject, rule: TWO, reserve: true };
    const first = await store.lock(CALLER, PHONE, 10_000, { guard });
    expect('token' in first && first.reservation).toBeTruthy();
    // Held: no slot is taken by the one who waits.
    expect(await store.lock(CALLER, PHONE, 10_000, { guard })).toEqual({ held: true });
    await store.unlock(CALLER, PHONE, token(first) ?? '');
    clock.advance(1_000);
    const second = await store.lock(CALLER, PHONE, 10_000, { guard });
    await store.unlock(CALLER, PHONE, token(second) ?? '');
    // Two slots taken, two waits refused nothing: the window (2/1m) is now full, and refuses before locking.
    const third = await store.lock(CALLER, PHONE, 10_000, { guard });
    expect(third).toEqual({ limitedForMs: 59_000 });
    // A slot given back makes room again.
    if ('reservation' in second && second.reservation) await limiter.release(second.reservation);
    const fourth = await store.lock(CALLER, PHONE, 10_000, { guard });
    expect(token(fourth)).toBeDefined();
    await store.unlock(CALLER, PHONE, token(fourth) ?? '');
  });

  test('a guard without reserve only checks: every lock passes while the window has room', async () => {
    const { store } = make();
    for (let i = 0; i < 3; i++) {
      const lease = await store.lock(CALLER, PHONE, 10_000, { guard: { subject, rule: TWO } });
      expect(lease).toEqual({ token: expect.any(String) });
      await store.unlock(CALLER, PHONE, token(lease) ?? '');
    }
  });

  test('read: the record as of the lock, undefined when there is none; nothing read when held', async () => {
    const { store, clock } = make();
    const record: VerificationRecord = {
      requestId: 'r-1',
      caller: CALLER,
      phoneNumber: PHONE,
      status: 'pending',
      createdAt: clock.now(),
      expiresAt: clock.now() + 300_000,
    };
    expect(await store.create(record, clock.now() + 3_600_000)).toBe(true);
    const lease = await store.lock(CALLER, PHONE, 10_000, { read: 'r-1' });
    expect(lease).toEqual({ token: expect.any(String), record });
    expect(await store.lock(CALLER, PHONE, 10_000, { read: 'r-1' })).toEqual({ held: true });
    await store.update({ ...record, status: 'verified' });
    await store.unlock(CALLER, PHONE, token(lease) ?? '');
    const next = await store.lock(CALLER, PHONE, 10_000, { read: 'r-1', guard: { subject, rule: TWO } });
    expect('record' in next && next.record?.status).toBe('verified');
    await store.unlock(CALLER, PHONE, token(next) ?? '');
    const missing = await store.lock(CALLER, PHONE, 10_000, { read: 'r-2' });
    expect('token' in missing && 'record' in missing && missing.record).toBeUndefined();
    await store.unlock(CALLER, PHONE, token(missing) ?? '');
  });
});

describe.each(backends)('%s store: the lock let go by the last write', (_name, make) => {
  const record = (clock: VirtualClock, requestId: string): VerificationRecord => ({
    requestId,
    caller: CALLER,
    phoneNumber: PHONE,
    status: 'pending',
    createdAt: clock.now(),
    expiresAt: clock.now() + 300_000,
  });

  test('create and update with the held lock write the record and free the lock in the same step', async () => {
    const { store, clock } = make();
    const first = await store.lock(CALLER, PHONE, 10_000);
    const held = { token: token(first) ?? '', released: false };
    expect(await store.create(record(clock, 'r-1'), clock.now() + 3_600_000, held)).toBe(true);
    expect(held.released).toBe(true);
    // Free: the next lock is taken at once, and reads what the create wrote.
    const second = await store.lock(CALLER, PHONE, 10_000, { read: 'r-1' });
    expect(second).toEqual({ token: expect.any(String), record: record(clock, 'r-1') });
    expect(await store.lock(CALLER, PHONE, 10_000)).toEqual({ held: true });
    const again = { token: token(second) ?? '', released: false };
    await store.update({ ...record(clock, 'r-1'), status: 'verified' }, again);
    expect(again.released).toBe(true);
    const third = await store.lock(CALLER, PHONE, 10_000, { read: 'r-1' });
    expect('record' in third && third.record?.status).toBe('verified');
    await store.unlock(CALLER, PHONE, token(third) ?? '');
  });

  test('a write with a token that does not hold the lock (it expired, another took it) leaves the lock', async () => {
    const { store, clock } = make();
    const current = await store.lock(CALLER, PHONE, 10_000);
    expect(token(current)).toBeDefined();
    const stale = { token: 'a-token-that-expired', released: false };
    expect(await store.create(record(clock, 'r-2'), clock.now() + 3_600_000, stale)).toBe(true);
    await store.update({ ...record(clock, 'r-2'), status: 'cancelled' }, stale);
    expect(await store.lock(CALLER, PHONE, 10_000)).toEqual({ held: true });
    await store.unlock(CALLER, PHONE, token(current) ?? '');
  });
});

describe.each(backends)('%s store: locate', (_name, make) => {
  test("by request id or as the number's current one, the caller's own only, without reading the record", async () => {
    const { store, clock } = make();
    const record: VerificationRecord = {
      requestId: 'r-9',
      caller: CALLER,
      phoneNumber: PHONE,
      status: 'pending',
      createdAt: clock.now(),
      expiresAt: clock.now() + 300_000,
    };
    await store.create(record, clock.now() + 3_600_000);
    const where = { requestId: 'r-9', phoneNumber: PHONE };
    expect(await store.locate(CALLER, { requestId: 'r-9' })).toEqual(where);
    expect(await store.locate(CALLER, { phoneNumber: PHONE })).toEqual(where);
    expect(await store.locate('bob', { requestId: 'r-9' })).toBeUndefined();
    expect(await store.locate('bob', { phoneNumber: PHONE })).toBeUndefined();
    expect(await store.locate(CALLER, { requestId: 'r-10' })).toBeUndefined();
  });
});

describe('redis store: the request-id index entries this instance wrote', () => {
  test('answer lookups by id without reading the index, as the index would, the caller check included', async () => {
    const clock = new VirtualClock(Date.UTC(2026, 0, 1));
    const prefix = testPrefix();
    prefixes.push(prefix);
    const keys = new RedisKeys(prefix);
    const writer = new RedisVerificationStore(redis, keys, clock);
    const other = new RedisVerificationStore(redis, keys, clock);
    const record: VerificationRecord = {
      requestId: 'r-memo',
      caller: CALLER,
      phoneNumber: PHONE,
      status: 'pending',
      createdAt: clock.now(),
      expiresAt: clock.now() + 300_000,
    };
    expect(await writer.create(record, clock.now() + 3_600_000)).toBe(true);
    const gets = jest.spyOn(redis, 'get');
    const indexReads = () => gets.mock.calls.filter(([key]) => String(key) === keys.index('r-memo')).length;
    try {
      const where = { requestId: 'r-memo', phoneNumber: PHONE };
      for (const store of [writer, other]) {
        expect(await store.locate(CALLER, { requestId: 'r-memo' })).toEqual(where);
        expect(await store.findById(CALLER, 'r-memo')).toEqual(record);
        expect(await store.findByRequestId('r-memo')).toEqual(record);
        expect(await store.locate('bob', { requestId: 'r-memo' })).toBeUndefined();
        expect(await store.findById('bob', 'r-memo')).toBeUndefined();
      }
      // The writer read no index entry; the other instance read it for each lookup.
      expect(indexReads()).toBe(5);
      // Once its key is near its end (the virtual clock past it), the writer asks Redis again.
      clock.advance(3_600_000);
      await writer.locate(CALLER, { requestId: 'r-memo' });
      expect(indexReads()).toBe(6);
    } finally {
      gets.mockRestore();
    }
  });
});
