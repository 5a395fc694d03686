// Idempotency-Key over HTTP, with real Redis and the real SDK against the v1 simulator (Vonage calls are
// counted at the simulator): a retry with the same key gets the first answer byte for byte without a
// second Vonage call or a counted limit; the same key for another request is refused; a retry while the
// first runs gets 409; keys are per caller; answers expire after IDEMPOTENCY_TTL; a 5xx is not kept; the
// kept answers are shared by two instances and survive a restart; bad keys are refused.

import { randomUUID } from 'node:crypto';
import express, { type Express } from 'express';
import type { Response as SupertestResponse } from 'supertest';
import supertest from 'supertest';
import { VirtualClock } from '../../src/clock';
import { idempotencyLeaseMs } from '../../src/compose';
import { createErrorHandler } from '../../src/http/error-handler';
import { createIdempotency, type IdempotencySettings, keepRawBody } from '../../src/http/idempotency';
import type { VerifySimulator } from '../../src/simulator/v1/simulator';
import { MemoryIdempotencyStore } from '../../src/store/memory/idempotency';
import { createRedisClient, type RedisClient } from '../../src/store/redis/client';
import { RedisIdempotencyStore } from '../../src/store/redis/idempotency';
import { RedisKeys } from '../../src/store/redis/keys';
import {
  codeFor,
  type Harness,
  KEYS,
  type Pair,
  startHarness,
  startPair,
  testRedisUrl,
  ukMobile,
} from '../support/harness';
import { delay, pollUntil } from '../support/net';

const vonageCalls = (sim: VerifySimulator) =>
  sim.stats.calls.start + sim.stats.calls.check + sim.stats.calls.control + sim.stats.calls.search;

function wrongCode(code: string): string {
  return code.replace(/\d$/, (d) => String((Number(d) + 1) % 10));
}

/** POST with an exact body text (so a retry sends the very same bytes) and an Idempotency-Key. */
function post(h: Harness, caller: keyof typeof KEYS, path: string, body: object, key?: string) {
  const req = h.http
    .post(path)
    .set('Authorization', `Bearer ${KEYS[caller]}`)
    .set('Content-Type', 'application/json');
  if (key !== undefined) req.set('Idempotency-Key', key);
  return req.send(JSON.stringify(body));
}

/** What a replay must repeat exactly: status, body bytes and the answer's own headers. */
function answerOf(res: SupertestResponse) {
  return {
    status: res.status,
    text: res.text,
    contentType: res.headers['content-type'],
    contentLength: res.headers['content-length'],
    retryAfter: res.headers['retry-after'],
    location: res.headers.location,
  };
}

function redisOf(h: Harness): RedisClient {
  const redis = h.composed.redis;
  if (!redis) throw new Error('the harness has no Redis');
  return redis;
}

/** Removes every key a harness wrote under its prefix (the shared Redis is never flushed). */
async function removePrefix(h: Harness): Promise<void> {
  const redis = redisOf(h);
  let cursor = '0';
  do {
    const [next, found] = await redis.scan(cursor, 'MATCH', `${h.prefix}*`, 'COUNT', 500);
    cursor = next;
    if (found.length > 0) await redis.del(...found);
  } while (cursor !== '0');
}

/**
 * The middleware alone, as app.ts mounts it (after authentication: the caller is alpha, and the raw
 * body kept by express.json), in front of the given routes.
 */
function bareApp(settings: IdempotencySettings, routes: (app: Express) => void): Express {
  const app = express();
  app.use((_req, res, next) => {
    res.locals.caller = 'alpha';
    next();
  });
  app.use(express.json({ verify: keepRawBody }));
  app.use(createIdempotency(settings));
  routes(app);
  app.use(createErrorHandler());
  return app;
}

const idemKey = (h: Harness, caller: string, key: string) => new RedisKeys(h.prefix).idempotency(caller, key);

describe('Idempotency-Key: replays count no limit', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ env: { LIMIT_SENDS_PER_CALLER: '3/1h' } });
  });

  afterAll(async () => {
    await removePrefix(h);
    await h.close();
  });

  test('a retried request-token is the first answer byte for byte, with no second Vonage call and no limit counted', async () => {
    const key = randomUUID();
    const body = { phoneNumber: ukMobile() };
    const calls = vonageCalls(h.sim);
    const first = await post(h, 'alpha', '/api/request-token', body, key);
    expect(first.status).toBe(201);
    expect(first.headers['idempotent-replayed']).toBeUndefined();
    expect(vonageCalls(h.sim)).toBe(calls + 1);

    // The limit is 3 sends per caller an hour: five replays would exhaust it if they counted.
    for (let i = 0; i < 5; i += 1) {
      const again = await post(h, 'alpha', '/api/request-token', body, key);
      expect(answerOf(again)).toEqual(answerOf(first));
      expect(again.headers['idempotent-replayed']).toBe('true');
      // Each answer still has its own request id.
      expect(again.headers['x-request-id']).not.toBe(first.headers['x-request-id']);
    }
    expect(vonageCalls(h.sim)).toBe(calls + 1);
    expect(h.sim.messages({ number: body.phoneNumber.slice(1) })).toHaveLength(1);

    // The two sends left are still there, then the limit refuses.
    expect((await post(h, 'alpha', '/api/request-token', { phoneNumber: ukMobile() })).status).toBe(201);
    expect((await post(h, 'alpha', '/api/request-token', { phoneNumber: ukMobile() })).status).toBe(201);
    const refused = await post(h, 'alpha', '/api/request-token', { phoneNumber: ukMobile() });
    expect(refused.status).toBe(429);
  });
});

describe('Idempotency-Key with Redis', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness();
  });

  afterEach(() => {
    h.sim.setFault(null);
  });

  afterAll(async () => {
    await removePrefix(h);
    await h.close();
  });

  test('a 4xx is kept and replayed with its Retry-After, without checking the code again', async () => {
    const phoneNumber = ukMobile();
    const started = await post(h, 'alpha', '/api/request-token', { phoneNumber });
    const requestId: string = started.body.requestId;
    const wrong = { requestId, code: wrongCode(codeFor(h.sim, requestId)) };
    const key = randomUUID();
    const checks = h.sim.stats.calls.check;
    const first = await post(h, 'alpha', '/api/verify-token', wrong, key);
    expect(first.status).toBe(422);
    expect(first.body.code).toBe('code_mismatch');
    const again = await post(h, 'alpha', '/api/verify-token', wrong, key);
    expect(answerOf(again)).toEqual(answerOf(first));
    expect(again.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(h.sim.stats.calls.check).toBe(checks + 1);

    // A cancel inside Vonage's 30 s window: 409 with Retry-After, replayed as it was even later on.
    const cancelKey = randomUUID();
    const early = await post(h, 'alpha', '/api/cancel', { requestId }, cancelKey);
    expect(early.status).toBe(409);
    expect(early.headers['retry-after']).toMatch(/^\d+$/);
    h.sim.advance(10_000);
    const controls = h.sim.stats.calls.control;
    const replayed = await post(h, 'alpha', '/api/cancel', { requestId }, cancelKey);
    expect(answerOf(replayed)).toEqual(answerOf(early));
    expect(replayed.headers['idempotent-replayed']).toBe('true');
    expect(h.sim.stats.calls.control).toBe(controls);
  });

  test('the same key with a different body or path is 422 idempotency_key_reused, and nothing runs', async () => {
    const key = randomUUID();
    const first = await post(h, 'alpha', '/api/request-token', { phoneNumber: ukMobile() }, key);
    expect(first.status).toBe(201);
    const calls = vonageCalls(h.sim);

    const otherBody = await post(h, 'alpha', '/api/request-token', { phoneNumber: ukMobile() }, key);
    expect(otherBody.status).toBe(422);
    expect(otherBody.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(otherBody.body).toMatchObject({ code: 'idempotency_key_reused', status: 422 });
    expect(otherBody.body.detail).toContain('body');
    expect(otherBody.headers['idempotent-replayed']).toBeUndefined();

    const otherPath = await post(h, 'alpha', '/api/cancel', { requestId: first.body.requestId }, key);
    expect(otherPath.status).toBe(422);
    expect(otherPath.body.code).toBe('idempotency_key_reused');
    expect(otherPath.body.detail).toContain('path');

    // The same JSON written with other spacing is other bytes: a different request.
    const respaced = await h.http
      .post('/api/request-token')
      .set('Authorization', `Bearer ${KEYS.alpha}`)
      .set('Content-Type', 'application/json')
      .set('Idempotency-Key', key)
      .send(` ${JSON.stringify({ phoneNumber: first.body.phoneNumber })}`);
    expect(respaced.status).toBe(422);
    expect(vonageCalls(h.sim)).toBe(calls);

    // The first request still replays.
    const again = await post(h, 'alpha', '/api/request-token', { phoneNumber: first.body.phoneNumber }, key);
    expect(again.status).toBe(201);
    expect(again.text).toBe(first.text);
  });

  test('a retry while the first still runs is 409 idempotency_in_progress with Retry-After; the lease is bounded', async () => {
    const key = randomUUID();
    const body = { phoneNumber: ukMobile() };
    h.sim.setFault({ mode: 'hang', operations: ['start'], times: 1 });
    const starts = h.sim.stats.calls.start;
    const running = post(h, 'alpha', '/api/request-token', body, key).then((res) => res);
    await pollUntil('the first start to reach the simulator', () =>
      h.sim.stats.calls.start > starts ? true : undefined,
    );

    const during = await post(h, 'alpha', '/api/request-token', body, key);
    expect(during.status).toBe(409);
    expect(during.body).toMatchObject({ code: 'idempotency_in_progress', retryAfterSeconds: 1 });
    expect(during.headers['retry-after']).toBe('1');
    // Even with a different body, the key is taken: 422 rather than a second run.
    const reused = await post(h, 'alpha', '/api/request-token', { phoneNumber: ukMobile() }, key);
    expect(reused.status).toBe(422);
    // A crashed holder would not keep it forever: the lease is bounded.
    const pttl = await redisOf(h).pttl(idemKey(h, 'alpha', key));
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(idempotencyLeaseMs(h.config.VONAGE_TIMEOUT_MS));
    expect(h.sim.stats.calls.start).toBe(starts + 1);

    // The first ends in 504 (Vonage never answered): a 5xx is not kept, so the retry runs again.
    const first = await running;
    expect(first.status).toBe(504);
    expect(await redisOf(h).exists(idemKey(h, 'alpha', key))).toBe(0);
    const retried = await post(h, 'alpha', '/api/request-token', body, key);
    expect(retried.status).toBe(201);
    expect(retried.headers['idempotent-replayed']).toBeUndefined();
    expect(h.sim.stats.calls.start).toBe(starts + 2);
  }, 20_000);

  test('a 5xx is not kept: after Vonage answers 500 (502 upstream_error) the retry runs and its answer is kept', async () => {
    const key = randomUUID();
    const body = { phoneNumber: ukMobile() };
    h.sim.setFault({ mode: 'http500', operations: ['start'], times: 1 });
    const starts = h.sim.stats.calls.start;
    const failed = await post(h, 'alpha', '/api/request-token', body, key);
    expect(failed.status).toBe(502);
    expect(failed.body.code).toBe('upstream_error');
    expect(await redisOf(h).exists(idemKey(h, 'alpha', key))).toBe(0);

    const retried = await post(h, 'alpha', '/api/request-token', body, key);
    expect(retried.status).toBe(201);
    expect(retried.headers['idempotent-replayed']).toBeUndefined();
    expect(h.sim.stats.calls.start).toBe(starts + 2);

    const replayed = await post(h, 'alpha', '/api/request-token', body, key);
    expect(answerOf(replayed)).toEqual(answerOf(retried));
    expect(replayed.headers['idempotent-replayed']).toBe('true');
    expect(h.sim.stats.calls.start).toBe(starts + 2);
  });

  test('keys are per caller: the same key and body from two callers are two independent requests', async () => {
    const key = randomUUID();
    const body = { phoneNumber: ukMobile() };
    const starts = h.sim.stats.calls.start;
    const alpha = await post(h, 'alpha', '/api/request-token', body, key);
    const beta = await post(h, 'beta', '/api/request-token', body, key);
    expect(alpha.status).toBe(201);
    // beta ran, and got its own answer: alpha's verification of the number is in flight at Vonage.
    expect(beta.status).toBe(409);
    expect(beta.body.code).toBe('concurrent_verification');
    expect(beta.headers['idempotent-replayed']).toBeUndefined();
    expect(h.sim.stats.calls.start).toBe(starts + 2);

    // beta's key is its own: another body on it is beta's business, alpha's replay is unchanged.
    const betaOther = await post(h, 'beta', '/api/request-token', { phoneNumber: ukMobile() }, randomUUID());
    expect(betaOther.status).toBe(201);
    const alphaAgain = await post(h, 'alpha', '/api/request-token', body, key);
    expect(alphaAgain.text).toBe(alpha.text);
    expect(alphaAgain.headers['idempotent-replayed']).toBe('true');
    const betaAgain = await post(h, 'beta', '/api/request-token', body, key);
    expect(betaAgain.text).toBe(beta.text);
    expect(betaAgain.headers['idempotent-replayed']).toBe('true');

    // A wrong API key never reaches the store: 401, not a replay.
    const stranger = await h.http
      .post('/api/request-token')
      .set('Authorization', 'Bearer not-a-key')
      .set('Content-Type', 'application/json')
      .set('Idempotency-Key', key)
      .send(JSON.stringify(body));
    expect(stranger.status).toBe(401);
    expect(stranger.headers['idempotent-replayed']).toBeUndefined();
  });

  test('an answer is kept for IDEMPOTENCY_TTL (24h by default) in Redis', async () => {
    expect(h.config.IDEMPOTENCY_TTL).toBe(24 * 3_600_000);
    const key = randomUUID();
    await post(h, 'alpha', '/api/request-token', { phoneNumber: ukMobile() }, key).expect(201);
    const pttl = await redisOf(h).pttl(idemKey(h, 'alpha', key));
    expect(pttl).toBeGreaterThan(24 * 3_600_000 - 60_000);
    expect(pttl).toBeLessThanOrEqual(24 * 3_600_000);
    // The client's key is not stored as such, only its hash in the key name.
    const fields = await redisOf(h).hgetall(idemKey(h, 'alpha', key));
    expect(Object.keys(fields).sort()).toEqual(['fp', 'response']);
    expect(JSON.stringify(fields)).not.toContain(key);
  });

  test.each([
    ['empty', ''],
    ['too long', 'k'.repeat(256)],
    ['a control character', 'abc\tdef'],
    ['not ASCII', 'clé'],
  ])('a key that is %s is 400 validation_failed naming the header, and nothing runs', async (_what, key) => {
    const calls = vonageCalls(h.sim);
    const res = await h.http
      .post('/api/request-token')
      .set('Authorization', `Bearer ${KEYS.alpha}`)
      .set('Content-Type', 'application/json')
      .set('Idempotency-Key', Buffer.from(key, 'utf8').toString('latin1'))
      .send(JSON.stringify({ phoneNumber: ukMobile() }));
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.code).toBe('validation_failed');
    expect(res.body.errors).toEqual([expect.objectContaining({ path: 'Idempotency-Key' })]);
    expect(vonageCalls(h.sim)).toBe(calls);
  });

  test('the longest key (255 printable characters, spaces and braces included) works', async () => {
    const key = `{a} ~!${'x'.repeat(249)}`;
    expect(key).toHaveLength(255);
    const body = { phoneNumber: ukMobile() };
    const first = await post(h, 'alpha', '/api/request-token', body, key);
    expect(first.status).toBe(201);
    const again = await post(h, 'alpha', '/api/request-token', body, key);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.text).toBe(first.text);
  });

  test('every POST route takes the header; GET ignores it', async () => {
    const phoneNumber = ukMobile();
    const started = await post(h, 'alpha', '/api/request-token', { phoneNumber });
    const requestId: string = started.body.requestId;
    h.sim.advance(31_000);
    for (const [path, body] of [
      ['/api/next-event', { requestId }],
      ['/api/verify-token', { requestId, code: codeFor(h.sim, requestId) }],
      ['/api/cancel', { requestId }],
    ] as const) {
      const key = randomUUID();
      const first = await post(h, 'alpha', path, body, key);
      const calls = vonageCalls(h.sim);
      const again = await post(h, 'alpha', path, body, key);
      expect({
        path,
        replayed: again.headers['idempotent-replayed'],
        same: again.text === first.text,
      }).toEqual({ path, replayed: 'true', same: true });
      expect(vonageCalls(h.sim)).toBe(calls);
    }
    const read = await h
      .as('alpha')
      .get(`/api/verifications/${requestId}`)
      .set('Idempotency-Key', 'x'.repeat(300));
    expect(read.status).toBe(200);
    expect(read.headers['idempotent-replayed']).toBeUndefined();
  });
});

describe('Idempotency-Key: a short IDEMPOTENCY_TTL', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ env: { IDEMPOTENCY_TTL: '4s' } });
  });

  afterAll(async () => {
    await removePrefix(h);
    await h.close();
  });

  test('the answer is replayed within the TTL; once Redis expires it the retry runs again', async () => {
    const started = await post(h, 'alpha', '/api/request-token', { phoneNumber: ukMobile() });
    const requestId: string = started.body.requestId;
    const wrong = { requestId, code: wrongCode(codeFor(h.sim, requestId)) };
    const key = randomUUID();
    const checks = h.sim.stats.calls.check;
    const first = await post(h, 'alpha', '/api/verify-token', wrong, key);
    expect(first.status).toBe(422);
    const pttl = await redisOf(h).pttl(idemKey(h, 'alpha', key));
    expect(pttl).toBeGreaterThan(0);
    expect(pttl).toBeLessThanOrEqual(4000);
    const again = await post(h, 'alpha', '/api/verify-token', wrong, key);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(h.sim.stats.calls.check).toBe(checks + 1);

    await pollUntil(
      'Redis to expire the kept answer',
      async () => ((await redisOf(h).exists(idemKey(h, 'alpha', key))) === 0 ? true : undefined),
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    const checksBefore = h.sim.stats.calls.check;
    const after = await post(h, 'alpha', '/api/verify-token', wrong, key);
    expect(after.status).toBe(422);
    expect(after.headers['idempotent-replayed']).toBeUndefined();
    expect(h.sim.stats.calls.check).toBe(checksBefore + 1);
  }, 20_000);
});

describe('Idempotency-Key across instances and restarts', () => {
  let pair: Pair;

  beforeAll(async () => {
    pair = await startPair();
  });

  afterEach(() => {
    pair.a.sim.setFault(null);
  });

  afterAll(async () => {
    await removePrefix(pair.a);
    await pair.close();
  });

  test('answered by one instance, replayed by the other', async () => {
    const key = randomUUID();
    const body = { phoneNumber: ukMobile() };
    const first = await post(pair.a, 'alpha', '/api/request-token', body, key);
    expect(first.status).toBe(201);
    const calls = vonageCalls(pair.a.sim);
    const again = await post(pair.b, 'alpha', '/api/request-token', body, key);
    expect(answerOf(again)).toEqual(answerOf(first));
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(vonageCalls(pair.a.sim)).toBe(calls);
  });

  test('running on one instance: the other answers 409, and runs nothing', async () => {
    const key = randomUUID();
    const body = { phoneNumber: ukMobile() };
    pair.a.sim.setFault({ mode: 'hang', operations: ['start'], times: 1 });
    const starts = pair.a.sim.stats.calls.start;
    const running = post(pair.a, 'alpha', '/api/request-token', body, key).then((res) => res);
    await pollUntil('the first start to reach the simulator', () =>
      pair.a.sim.stats.calls.start > starts ? true : undefined,
    );
    const during = await post(pair.b, 'alpha', '/api/request-token', body, key);
    expect(during.status).toBe(409);
    expect(during.body.code).toBe('idempotency_in_progress');
    expect(pair.a.sim.stats.calls.start).toBe(starts + 1);
    expect((await running).status).toBe(504);
  }, 20_000);

  test('a restarted instance (new app, new Redis connection) replays what the old one answered', async () => {
    const key = randomUUID();
    const body = { phoneNumber: ukMobile() };
    const old = await startHarness({
      sim: pair.a.sim,
      simUrl: pair.a.config.VONAGE_API_HOST,
      clock: pair.a.clock,
      prefix: pair.a.prefix,
    });
    const first = await post(old, 'alpha', '/api/request-token', body, key);
    expect(first.status).toBe(201);
    await old.close();

    const calls = vonageCalls(pair.a.sim);
    const restarted = await startHarness({
      sim: pair.a.sim,
      simUrl: pair.a.config.VONAGE_API_HOST,
      clock: pair.a.clock,
      prefix: pair.a.prefix,
    });
    try {
      const again = await post(restarted, 'alpha', '/api/request-token', body, key);
      expect(answerOf(again)).toEqual(answerOf(first));
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(vonageCalls(pair.a.sim)).toBe(calls);
    } finally {
      await restarted.close();
    }
  });
});

describe('Idempotency-Key in sandbox mode (the in-memory store)', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await startHarness({ redis: false, env: { IDEMPOTENCY_TTL: '1h' } });
  });

  afterAll(async () => {
    await h.close();
  });

  test('replays, refuses reuse, and forgets after IDEMPOTENCY_TTL on the clock', async () => {
    const key = randomUUID();
    const body = { phoneNumber: ukMobile() };
    const first = await post(h, 'alpha', '/api/request-token', body, key);
    expect(first.status).toBe(201);
    const starts = h.sim.stats.calls.start;
    const again = await post(h, 'alpha', '/api/request-token', body, key);
    expect(answerOf(again)).toEqual(answerOf(first));
    expect(again.headers['idempotent-replayed']).toBe('true');
    const reused = await post(h, 'alpha', '/api/request-token', { phoneNumber: ukMobile() }, key);
    expect(reused.body.code).toBe('idempotency_key_reused');
    expect(h.sim.stats.calls.start).toBe(starts);

    h.sim.advance(3_600_000);
    const later = await post(h, 'alpha', '/api/request-token', body, key);
    expect(later.headers['idempotent-replayed']).toBeUndefined();
    expect(h.sim.stats.calls.start).toBe(starts + 1);
  });
});

describe('the middleware on a bare app', () => {
  test('a kept answer replays its Location header and status; a 5xx or 3xx frees the key; a second end is ignored', async () => {
    const clock = new VirtualClock(0);
    const store = new MemoryIdempotencyStore(clock);
    let runs = 0;
    const app = bareApp({ store, ttlMs: 60_000, leaseMs: 10_000 }, (app) => {
      app.post('/created', (_req, res) => {
        runs += 1;
        res.status(201).location(`/things/${runs}`).json({ run: runs });
      });
      app.post('/twice', (_req, res) => {
        res.json({ first: true });
        res.status(500).end('second');
      });
      app.post('/failing', (_req, res) => {
        runs += 1;
        res.status(runs % 2 === 0 ? 503 : 303).json({ run: runs });
      });
    });
    const http = supertest(app);

    const first = await http.post('/created').set('Idempotency-Key', 'k1').send({ a: 1 });
    const again = await http.post('/created').set('Idempotency-Key', 'k1').send({ a: 1 });
    expect(first.status).toBe(201);
    expect(again.status).toBe(201);
    expect(again.headers.location).toBe(first.headers.location);
    expect(again.text).toBe(first.text);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(runs).toBe(1);

    runs = 0;
    const statuses: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      statuses.push((await http.post('/failing').set('Idempotency-Key', 'k2').send({})).status);
    }
    expect(statuses).toEqual([303, 503, 303]);
    expect(runs).toBe(3);

    // A handler that ends twice: the first answer is the one sent and kept.
    const twice = await http.post('/twice').set('Idempotency-Key', 'k3').send({});
    const twiceAgain = await http.post('/twice').set('Idempotency-Key', 'k3').send({});
    expect([twice.status, twice.text]).toEqual([200, '{"first":true}']);
    expect([twiceAgain.status, twiceAgain.text]).toEqual([200, '{"first":true}']);
    expect(twiceAgain.headers['idempotent-replayed']).toBe('true');
  });
});

describe('the store failing around a request', () => {
  test('an answer that cannot be kept still goes out; the key stays leased, then the retry runs', async () => {
    const clock = new VirtualClock(0);
    const memory = new MemoryIdempotencyStore(clock);
    let failComplete = true;
    const store = {
      begin: memory.begin.bind(memory),
      renew: memory.renew.bind(memory),
      release: memory.release.bind(memory),
      complete: (...args: Parameters<MemoryIdempotencyStore['complete']>) =>
        failComplete ? Promise.reject(new Error('redis went away')) : memory.complete(...args),
    };
    let runs = 0;
    const app = bareApp({ store, ttlMs: 60_000, leaseMs: 10_000 }, (app) => {
      app.post('/work', (_req, res) => {
        runs += 1;
        res.status(201).json({ run: runs });
      });
    });
    const http = supertest(app);

    const first = await http.post('/work').set('Idempotency-Key', 'k').send({});
    expect(first.status).toBe(201);
    expect(first.body).toEqual({ run: 1 });
    failComplete = false;
    const during = await http.post('/work').set('Idempotency-Key', 'k').send({});
    expect(during.status).toBe(409);
    expect(runs).toBe(1);
    clock.advance(10_000);
    const after = await http.post('/work').set('Idempotency-Key', 'k').send({});
    expect(after.status).toBe(201);
    expect(after.body).toEqual({ run: 2 });
    expect(after.headers['idempotent-replayed']).toBeUndefined();
  });

  test('a store that cannot be reached refuses with 503 store_unavailable, and nothing runs', async () => {
    const redis = createRedisClient({ url: 'redis://127.0.0.1:1', cluster: false });
    let runs = 0;
    const app = bareApp(
      {
        store: new RedisIdempotencyStore(redis, new RedisKeys('test:')),
        ttlMs: 60_000,
        leaseMs: 10_000,
      },
      (app) => {
        app.post('/work', (_req, res) => {
          runs += 1;
          res.json({});
        });
      },
    );
    try {
      const res = await supertest(app).post('/work').set('Idempotency-Key', 'k').send({});
      expect(res.status).toBe(503);
      expect(res.body.code).toBe('store_unavailable');
      expect(res.headers['retry-after']).toBe('1');
      expect(runs).toBe(0);
      // Without a key the request does not touch this store.
      expect((await supertest(app).post('/work').send({})).status).toBe(200);
    } finally {
      redis.disconnect();
    }
  });
});

describe('the lease of a running request', () => {
  test('is renewed while the request runs past it, and ends with the answer', async () => {
    const redis = createRedisClient({ url: testRedisUrl(), cluster: false });
    await redis.connect();
    const keys = new RedisKeys(`test:${randomUUID()}:`);
    const leaseMs = 1000;
    let finish: () => void = () => {};
    const app = bareApp({ store: new RedisIdempotencyStore(redis, keys), ttlMs: 60_000, leaseMs }, (app) => {
      app.post('/slow', async (_req, res) => {
        await new Promise<void>((resolve) => {
          finish = resolve;
        });
        res.json({ done: true });
      });
    });
    const http = supertest(app);
    try {
      const slow = http
        .post('/slow')
        .set('Idempotency-Key', 'slow')
        .send({})
        .then((res) => res);
      await pollUntil('the slow request to hold its key', async () =>
        (await redis.exists(keys.idempotency('alpha', 'slow'))) === 1 ? true : undefined,
      );
      // Several leases later the key is still held: renewed, never longer than one lease ahead.
      await delay(leaseMs * 3.5);
      const pttl = await redis.pttl(keys.idempotency('alpha', 'slow'));
      expect(pttl).toBeGreaterThan(0);
      expect(pttl).toBeLessThanOrEqual(leaseMs);
      const during = await http.post('/slow').set('Idempotency-Key', 'slow').send({});
      expect(during.status).toBe(409);
      finish();
      expect((await slow).status).toBe(200);
      const after = await http.post('/slow').set('Idempotency-Key', 'slow').send({});
      expect(after.headers['idempotent-replayed']).toBe('true');
      expect(after.text).toBe('{"done":true}');
    } finally {
      await redis.del(keys.idempotency('alpha', 'slow'));
      redis.disconnect();
    }
  });
});
