// Idempotency-Key with real processes (`tsx src/server.ts`) over a redis-server of this suite's own and
// an in-process Verify simulator: a kept answer survives a real restart, and a request that dies with
// its process (SIGKILL while Vonage hangs) does not hold its key for ever: the next process answers 409
// while the lease lasts, and runs the retry once it has ended.

import { randomBytes, randomUUID } from 'node:crypto';
import { idempotencyLeaseMs } from '../src/compose';
import { VerifySimulator } from '../src/simulator/v1/simulator';
import { RedisKeys } from '../src/store/redis/keys';
import { KEYS, ukMobile, VONAGE } from './support/harness';
import { pollUntil } from './support/net';
import { type RedisServer, startRedisServer } from './support/redis-server';
import { type ServiceProcess, startService } from './support/service-process';

/**
 * A short Vonage timeout keeps the lease of a crashed request short (15.5 s), yet long enough for the
 * in-process simulator to answer on a loaded machine.
 */
const VONAGE_TIMEOUT_MS = 1500;
const LEASE_MS = idempotencyLeaseMs(VONAGE_TIMEOUT_MS);

let redis: RedisServer;
let sim: VerifySimulator;
let env: Record<string, string>;
let keys: RedisKeys;
const started: ServiceProcess[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
  sim = new VerifySimulator({ ...VONAGE });
  const prefix = `test:${randomBytes(6).toString('hex')}:`;
  keys = new RedisKeys(prefix);
  env = {
    NODE_ENV: 'test',
    PORT: '0',
    LOG_LEVEL: 'info',
    API_KEYS: `alpha:${KEYS.alpha}`,
    VONAGE_API_KEY: VONAGE.apiKey,
    VONAGE_API_SECRET: VONAGE.apiSecret,
    VONAGE_API_HOST: await sim.listen(0, '127.0.0.1'),
    VONAGE_TIMEOUT_MS: String(VONAGE_TIMEOUT_MS),
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: prefix,
  };
}, 30_000);

afterAll(async () => {
  for (const service of started) await service.kill();
  await sim?.close();
  await redis?.close();
});

afterEach(() => {
  sim.setFault(null);
});

async function launch(): Promise<ServiceProcess> {
  const service = await startService({ env });
  started.push(service);
  return service;
}

async function post(service: ServiceProcess, body: object, key: string) {
  const res = await fetch(`${service.url}/api/request-token`, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${KEYS.alpha}`,
      'Content-Type': 'application/json',
      'Idempotency-Key': key,
    },
    body: JSON.stringify(body),
  });
  return {
    status: res.status,
    text: await res.text(),
    contentType: res.headers.get('content-type'),
    replayed: res.headers.get('idempotent-replayed'),
    retryAfter: res.headers.get('retry-after'),
  };
}

test('a kept answer survives a restart of the service (SIGTERM, new process, same Redis)', async () => {
  const key = randomUUID();
  const body = { phoneNumber: ukMobile() };
  const first = await launch();
  const answered = await post(first, body, key);
  expect(answered.status).toBe(201);
  expect(answered.replayed).toBeNull();
  expect((await first.stop()).code).toBe(0);

  const starts = sim.stats.calls.start;
  const second = await launch();
  const again = await post(second, body, key);
  expect(again).toEqual({ ...answered, replayed: 'true' });
  expect(sim.stats.calls.start).toBe(starts);
  await second.stop();
}, 60_000);

test('a request killed with its process frees its key when the lease ends; the retry then runs', async () => {
  const key = randomUUID();
  const body = { phoneNumber: ukMobile() };
  const doomed = await launch();
  // The next instance is up before the crash, so it is asked while the lease surely lasts.
  const next = await launch();
  // Vonage never answers the start: the request is still running when its process is killed.
  sim.setFault({ mode: 'hang', operations: ['start'] });
  const starts = sim.stats.calls.start;
  const lost = post(doomed, body, key).catch((error: unknown) => error);
  await pollUntil('the start to reach the simulator', () =>
    sim.stats.calls.start > starts ? true : undefined,
  );
  await doomed.kill();
  // The caller never got an answer: the connection died with the process.
  expect(String(await lost)).toMatch(/fetch failed|terminated|socket/i);
  sim.setFault(null);

  const name = keys.idempotency('alpha', key);
  const pttl = Number(await redis.command('PTTL', name));
  expect(pttl).toBeGreaterThan(0);
  expect(pttl).toBeLessThanOrEqual(LEASE_MS);

  const during = await post(next, body, key);
  expect(during.status).toBe(409);
  expect(JSON.parse(during.text)).toMatchObject({ code: 'idempotency_in_progress' });
  expect(during.retryAfter).toBe('1');
  expect(sim.stats.calls.start).toBe(starts + 1);

  await pollUntil(
    'the lease of the killed request to end',
    async () => (Number(await redis.command('EXISTS', name)) === 0 ? true : undefined),
    { timeoutMs: LEASE_MS + 5000, intervalMs: 200 },
  );
  const retried = await post(next, body, key);
  expect(retried.status).toBe(201);
  expect(retried.replayed).toBeNull();
  expect(sim.stats.calls.start).toBe(starts + 2);
  const replayed = await post(next, body, key);
  expect(replayed).toEqual({ ...retried, replayed: 'true' });
  await next.stop();
}, 90_000);
