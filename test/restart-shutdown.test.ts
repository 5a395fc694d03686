// Restarts and shutdown with real processes (issue #4, part 4): the service runs as `tsx src/server.ts`
// against a redis-server of this suite's own and an in-process Verify simulator on a loopback port.
// A code requested before a restart verifies after it; SIGTERM lets in-flight requests finish (a slow
// start completes, one hung at Vonage still gets its 504 within VONAGE_TIMEOUT_MS), refuses new
// connections, closes Redis (bounded even when Redis is frozen) and exits 0 well inside the 10 s grace.

import { randomBytes } from 'node:crypto';
import { VerifySimulator } from '../src/simulator/v1/simulator';
import { type DelayProxy, startDelayProxy } from './support/delay-proxy';
import { KEYS, ukMobile, VONAGE } from './support/harness';
import { pollUntil, probeConnect, timed } from './support/net';
import { type RedisServer, startRedisServer } from './support/redis-server';
import { type ServiceProcess, startService } from './support/service-process';

const VONAGE_TIMEOUT_MS = 1500;
/** What a clean stop may take once nothing is in flight (closing Redis, flushing logs). */
const STOP_MS = 3000;

let redis: RedisServer;
let sim: VerifySimulator;
let proxy: DelayProxy;
let env: Record<string, string>;
const started: ServiceProcess[] = [];

beforeAll(async () => {
  redis = await startRedisServer();
  sim = new VerifySimulator({ ...VONAGE });
  // The service reaches the simulator through a proxy that can hold an answer back (a slow Vonage).
  proxy = await startDelayProxy(await sim.listen(0, '127.0.0.1'));
  env = {
    NODE_ENV: 'test',
    PORT: '0',
    LOG_LEVEL: 'info',
    API_KEYS: `alpha:${KEYS.alpha}`,
    VONAGE_API_KEY: VONAGE.apiKey,
    VONAGE_API_SECRET: VONAGE.apiSecret,
    VONAGE_API_HOST: proxy.url,
    VONAGE_TIMEOUT_MS: String(VONAGE_TIMEOUT_MS),
    REDIS_URL: redis.url,
    REDIS_KEY_PREFIX: `test:${randomBytes(6).toString('hex')}:`,
  };
}, 30_000);

afterAll(async () => {
  for (const service of started) await service.kill();
  await proxy?.close();
  await sim?.close();
  await redis?.close();
});

afterEach(() => {
  sim.setFault(null);
  proxy.setDelay(null);
});

async function launch(): Promise<ServiceProcess> {
  const service = await startService({ env });
  started.push(service);
  return service;
}

async function post(service: ServiceProcess, path: string, body: object) {
  const res = await fetch(`${service.url}${path}`, {
    method: 'POST',
    headers: { Authorization: `Bearer ${KEYS.alpha}`, 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** Connections to the suite's redis-server other than the one asking. */
async function redisClients(): Promise<number> {
  const list = String(await redis.command('CLIENT', 'LIST'));
  return list.split('\n').filter((line) => line.trim() !== '').length - 1;
}

test('a code requested before a restart verifies after it (SIGTERM, new process, same Redis)', async () => {
  const first = await launch();
  const phoneNumber = ukMobile();
  const requested = await post(first, '/api/request-token', { phoneNumber });
  expect(requested.status).toBe(201);
  const requestId = String(requested.body.requestId);

  const { value: exit, ms } = await timed(() => first.stop('SIGTERM'));
  expect(exit).toEqual({ code: 0, signal: null });
  expect(ms).toBeLessThan(STOP_MS);

  const second = await launch();
  const verified = await post(second, '/api/verify-token', {
    requestId,
    code: sim.currentCode(requestId) ?? '',
  });
  expect(verified).toEqual({ status: 200, body: { verified: true, requestId, phoneNumber } });
  expect(await second.stop('SIGTERM')).toEqual({ code: 0, signal: null });
}, 45_000);

test('log lines are written in batches, yet the line of each request arrives within the batch wait and none is lost at SIGTERM', async () => {
  const service = await launch();
  const ids = Array.from({ length: 30 }, () => randomBytes(16).toString('hex'));
  for (const id of ids) {
    const res = await fetch(`${service.url}/api/verifications/${id}`, {
      headers: { Authorization: `Bearer ${KEYS.alpha}` },
    });
    expect(res.status).toBe(404);
  }
  const answered = (line: { msg: string; url?: unknown; req?: unknown }) =>
    ids.filter((id) => JSON.stringify(line).includes(id)).length;
  await pollUntil('every request logged', () =>
    service.logs.reduce((sum, line) => sum + answered(line), 0) >= ids.length ? true : undefined,
  );
  const more = randomBytes(16).toString('hex');
  expect(
    (
      await fetch(`${service.url}/api/verifications/${more}`, {
        headers: { Authorization: `Bearer ${KEYS.alpha}` },
      })
    ).status,
  ).toBe(404);
  expect(await service.stop('SIGTERM')).toEqual({ code: 0, signal: null });
  const text = service.logs.map((line) => JSON.stringify(line)).join('\n');
  expect(text).toContain(more);
  expect(service.logs.map((line) => line.msg)).toContain('stopped');
});

test('SIGTERM with requests in flight: a slow one completes, a hung one gets its 504, new connections are refused, Redis is closed, exit 0', async () => {
  const service = await launch();
  // An idle keep-alive connection as well: shutdown must not wait for it.
  expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
  expect(await redisClients()).toBeGreaterThan(0);
  const calls = sim.stats.calls.start;

  // One start hangs at Vonage until the SDK gives up ...
  sim.setFault({ mode: 'hang', operations: ['start'], times: 1 });
  const hungAt = performance.now();
  const hung = post(service, '/api/request-token', { phoneNumber: ukMobile() });
  await pollUntil('the hung start to reach the simulator', () =>
    sim.stats.calls.start > calls ? true : undefined,
  );
  // ... another was done by Vonage, whose answer is still on its way.
  proxy.setDelay({ path: /^\/verify\/json/, ms: 800 });
  const slow = post(service, '/api/request-token', { phoneNumber: ukMobile() });
  await pollUntil('the slow start to be held back', () => (proxy.delayed > 0 ? true : undefined));

  const termAt = performance.now();
  const exit = service.stop('SIGTERM');
  await service.waitForLog((line) => line.msg.startsWith('shutting down'));
  // The listening socket is closed at once: nothing new gets in while the two finish.
  expect(await probeConnect(service.port)).toBe('ECONNREFUSED');

  const slowAnswer = await slow;
  expect([slowAnswer.status, slowAnswer.body.status]).toEqual([201, 'pending']);
  const hungAnswer = await hung;
  expect([hungAnswer.status, hungAnswer.body.code]).toEqual([504, 'upstream_timeout']);
  expect(performance.now() - hungAt).toBeLessThan(VONAGE_TIMEOUT_MS + 1000);

  expect(await exit).toEqual({ code: 0, signal: null });
  // Well inside the 10 s grace period: nothing waits for idle keep-alive connections.
  expect(performance.now() - termAt).toBeLessThan(VONAGE_TIMEOUT_MS + STOP_MS);
  // "stopped" is logged after Redis was closed, and no connection of the service is left behind.
  expect(service.logs.map((line) => line.msg)).toContain('stopped');
  expect(await redisClients()).toBe(0);
  // Neither start was tried twice.
  expect(sim.stats.calls.start).toBe(calls + 2);
}, 45_000);

test('SIGTERM while Redis is frozen: closing Redis is bounded too, exit 0', async () => {
  const service = await launch();
  redis.freeze();
  try {
    const { value: exit, ms } = await timed(() => service.stop('SIGTERM'));
    expect(exit).toEqual({ code: 0, signal: null });
    // QUIT gets no answer: the command timeout (1 s) ends it, then the connection is dropped.
    expect(ms).toBeLessThan(STOP_MS);
    expect(service.logs.map((line) => line.msg)).toContain('stopped');
  } finally {
    redis.resume();
  }
}, 45_000);
