// Redis faults (issue #4, part 2) against a redis-server of this suite's own: stopped (SIGTERM, SIGKILL),
// frozen (SIGSTOP: the connection stays up and nothing answers) and down at start-up. Every endpoint
// must answer 503 store_unavailable within 1.5 s and /readyz 503; once Redis is back (same port, or
// SIGCONT) the same service must serve again within 5 s, without a restart.

import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import supertest from 'supertest';
import type { Composed } from '../../src/compose';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/logger';
import { connectRedis, createRedisClient, type RedisClient } from '../../src/store/redis/client';
import { RedisKeys } from '../../src/store/redis/keys';
import { RedisVerificationStore } from '../../src/store/redis/store';
import { FailingCreateStore } from '../support/failing-store';
import {
  codeFor,
  composeAsServer,
  type Harness,
  KEYS,
  startHarness,
  ukMobile,
  VONAGE,
} from '../support/harness';
import { pollUntil, timed } from '../support/net';
import { type RedisServer, startRedisServer } from '../support/redis-server';

const FAIL_FAST_MS = 1500;
const RECOVER_MS = 5000;

let redis: RedisServer;
let h: Harness;

beforeAll(async () => {
  redis = await startRedisServer();
  h = await startHarness({ env: { REDIS_URL: redis.url } });
});

afterAll(async () => {
  await h?.close();
  await redis?.close();
});

afterEach(async () => {
  // A failed test must not leave the next one with a stopped or frozen Redis.
  if (!redis.running) await redis.restart();
  else redis.resume();
});

interface Pending {
  phoneNumber: string;
  requestId: string;
}

async function requestCode(phoneNumber = ukMobile()): Promise<Pending> {
  const res = await h.as('alpha').post('/api/request-token', { phoneNumber });
  expect(res.status).toBe(201);
  return { phoneNumber, requestId: res.body.requestId as string };
}

/** Every kind of request, each timed on its own, all at once (a frozen Redis costs each the command timeout). */
async function expectAllStoreUnavailable(pending: Pending): Promise<void> {
  const alpha = h.as('alpha');
  const { requestId, phoneNumber } = pending;
  const calls = {
    'request-token (new number)': () => alpha.post('/api/request-token', { phoneNumber: ukMobile() }),
    'request-token (pending number)': () => alpha.post('/api/request-token', { phoneNumber }),
    'verify-token': () => alpha.post('/api/verify-token', { requestId, code: codeFor(h.sim, requestId) }),
    cancel: () => alpha.post('/api/cancel', { requestId }),
    'next-event': () => alpha.post('/api/next-event', { requestId }),
    status: () => alpha.get(`/api/verifications/${requestId}`),
    readyz: () => h.http.get('/readyz'),
  };
  const vonageCalls = { ...h.sim.stats.calls };
  const results = await Promise.all(
    Object.entries(calls).map(async ([name, call]) => {
      const { value: res, ms } = await timed(async () => call());
      return { name, status: res.status, code: res.body.code as unknown, fast: ms < FAIL_FAST_MS, ms };
    }),
  );
  for (const result of results) {
    expect(result).toEqual({ ...result, status: 503, code: 'store_unavailable', fast: true });
  }
  // The store is asked first: nothing reached Vonage, so no code was sent that cannot be recorded.
  expect(h.sim.stats.calls).toEqual(vonageCalls);
}

/** Polls a request until it answers `status`; resolves to the time it took. */
async function recoveredWithin(
  what: string,
  request: () => Promise<{ status: number }>,
  status: number,
): Promise<number> {
  const { ms } = await timed(() =>
    pollUntil(
      what,
      async () => {
        const res = await request();
        return res.status === status ? true : undefined;
      },
      { timeoutMs: RECOVER_MS * 3, intervalMs: 50 },
    ),
  );
  return ms;
}

test.each(['SIGTERM', 'SIGKILL'] as const)(
  'Redis stopped (%s): 503 store_unavailable within 1.5 s everywhere; back on the same port: serves within 5 s',
  async (signal) => {
    const pending = await requestCode();
    await redis.stop(signal);

    await expectAllStoreUnavailable(pending);

    await redis.restart();
    // Redis came back empty (no persistence): the proof of recovery is a new code and a ready probe.
    const ms = await recoveredWithin(
      'request-token to answer 201',
      () => h.as('alpha').post('/api/request-token', { phoneNumber: ukMobile() }),
      201,
    );
    expect(ms).toBeLessThan(RECOVER_MS);
    expect((await h.http.get('/readyz')).status).toBe(200);
  },
);

test('Redis frozen (SIGSTOP): 503 store_unavailable within 1.5 s everywhere; SIGCONT: the pending code verifies within 5 s', async () => {
  const pending = await requestCode();
  redis.freeze();

  await expectAllStoreUnavailable(pending);

  redis.resume();
  // Commands that timed out were still delivered and run when Redis woke up: among them the number
  // lock of the request-token above. It must not keep this number blocked after Redis is back.
  const ms = await recoveredWithin(
    'verify-token to answer 200',
    () =>
      h.as('alpha').post('/api/verify-token', {
        requestId: pending.requestId,
        code: codeFor(h.sim, pending.requestId),
      }),
    200,
  );
  expect(ms).toBeLessThan(RECOVER_MS);
  const status = await h.as('alpha').get(`/api/verifications/${pending.requestId}`);
  expect(status.body.status).toBe('verified');
  expect((await h.http.get('/readyz')).status).toBe(200);
});

test('Redis down when the service starts: it starts, readyz 503; Redis comes up: serves within 5 s', async () => {
  await redis.stop('SIGTERM');
  const cold = await startHarness({
    sim: h.sim,
    simUrl: h.config.VONAGE_API_HOST,
    clock: h.clock,
    env: { REDIS_URL: redis.url },
  });
  try {
    const { value: ready, ms } = await timed(async () => cold.http.get('/readyz'));
    expect([ready.status, ready.body.code, ms < FAIL_FAST_MS]).toEqual([503, 'store_unavailable', true]);
    const refused = await cold.as('alpha').post('/api/request-token', { phoneNumber: ukMobile() });
    expect([refused.status, refused.body.code]).toEqual([503, 'store_unavailable']);

    await redis.restart();
    const recovered = await recoveredWithin('readyz to answer 200', () => cold.http.get('/readyz'), 200);
    expect(recovered).toBeLessThan(RECOVER_MS);
    const res = await cold.as('alpha').post('/api/request-token', { phoneNumber: ukMobile() });
    expect(res.status).toBe(201);
  } finally {
    await cold.close();
  }
});

describe('half-done work: Vonage started a code, the store did not take its record', () => {
  let store: FailingCreateStore;
  let client: RedisClient;
  let composed: Composed;
  let http: ReturnType<typeof supertest>;
  const logs: string[] = [];

  beforeAll(async () => {
    const prefix = `test:${randomBytes(6).toString('hex')}:`;
    const config = loadConfig({
      API_KEYS: `alpha:${KEYS.alpha}`,
      VONAGE_API_KEY: VONAGE.apiKey,
      VONAGE_API_SECRET: VONAGE.apiSecret,
      VONAGE_API_HOST: h.config.VONAGE_API_HOST,
      VONAGE_TIMEOUT_MS: '2000',
      REDIS_URL: redis.url,
      REDIS_KEY_PREFIX: prefix,
      LOG_LEVEL: 'info',
    });
    client = createRedisClient({ url: redis.url, cluster: false });
    await connectRedis(client);
    store = new FailingCreateStore(new RedisVerificationStore(client, new RedisKeys(prefix), h.clock));
    const sink = new Writable({
      write(chunk, _encoding, done) {
        logs.push(String(chunk));
        done();
      },
    });
    composed = await composeAsServer(config, createLogger(config.LOG_LEVEL, sink), {
      clock: h.clock,
      defaultMetrics: false,
      store,
    });
    http = supertest(composed.app);
  });

  afterAll(async () => {
    await composed?.close();
    await client?.quit().catch(() => client.disconnect());
  });

  const requestToken = (phoneNumber: string) =>
    http.post('/api/request-token').set('Authorization', `Bearer ${KEYS.alpha}`).send({ phoneNumber });

  /** The request id Vonage gave the code the service could not record (the phone got it). */
  function startedAtVonage(phoneNumber: string): string {
    const messages = h.sim.messages({ number: phoneNumber.slice(1) });
    expect(messages).toHaveLength(1);
    return messages[0]?.requestId ?? '';
  }

  const logLinesAbout = (requestId: string) =>
    logs
      .filter((line) => line.includes(requestId))
      .map((line) => JSON.parse(line) as Record<string, unknown>);

  test('within the 30 s cancel window: 503, still IN PROGRESS at Vonage, logged as untracked with its id', async () => {
    const phoneNumber = ukMobile();
    const controls = h.sim.stats.calls.control;
    store.failNextCreate();

    const res = await requestToken(phoneNumber);
    expect([res.status, res.body.code]).toEqual([503, 'store_unavailable']);

    const requestId = startedAtVonage(phoneNumber);
    // The service tried to cancel (Vonage refuses in the first 30 s) ...
    expect(h.sim.stats.calls.control).toBe(controls + 1);
    expect(h.sim.requestState(requestId)?.status).toBe('IN PROGRESS');
    // ... and left an error line an operator can act on.
    expect(logLinesAbout(requestId)).toContainEqual(
      expect.objectContaining({
        level: 50,
        requestId,
        untracked: true,
        msg: expect.stringContaining('untracked'),
      }),
    );
    // The start's intent was recorded before Vonage was called, so the caller's retry recognises the
    // status 10 as its own: 409 with that id (still in the cancel window), and the code it got works.
    const retry = await requestToken(phoneNumber);
    expect([retry.status, retry.body.code, retry.body.requestId]).toEqual([
      409,
      'verification_in_progress',
      requestId,
    ]);
    const code = h.sim.messages({ number: phoneNumber.slice(1) })[0]?.code;
    const check = await http
      .post('/api/verify-token')
      .set('Authorization', `Bearer ${KEYS.alpha}`)
      .send({ requestId, code });
    expect(check.status).toBe(200);
  });

  test('past the 30 s window (the write took that long): 503 and cancelled at Vonage; a retry starts afresh', async () => {
    const phoneNumber = ukMobile();
    store.failNextCreate(() => h.sim.advance(31_000));

    const res = await requestToken(phoneNumber);
    expect([res.status, res.body.code]).toEqual([503, 'store_unavailable']);

    const requestId = startedAtVonage(phoneNumber);
    expect(h.sim.requestState(requestId)?.status).toBe('CANCELLED');
    expect(logLinesAbout(requestId)).toContainEqual(
      expect.objectContaining({ level: 40, requestId, msg: expect.stringContaining('cancelled at Vonage') }),
    );
    const retry = await requestToken(phoneNumber);
    expect(retry.status).toBe(201);
  });

  test('the cancel fails too (Vonage answers 500): 503, logged as untracked with the cancel outcome', async () => {
    const phoneNumber = ukMobile();
    store.failNextCreate(() => h.sim.advance(31_000));
    h.sim.setFault({ mode: 'http500', operations: ['control'], times: 1 });

    const res = await requestToken(phoneNumber);
    expect([res.status, res.body.code]).toEqual([503, 'store_unavailable']);

    const requestId = startedAtVonage(phoneNumber);
    expect(h.sim.requestState(requestId)?.status).toBe('IN PROGRESS');
    expect(logLinesAbout(requestId)).toContainEqual(
      expect.objectContaining({ level: 50, requestId, untracked: true, cancel: 'upstream_error' }),
    );
  });
});
