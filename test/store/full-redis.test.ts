// Issue 11 item 3: a Redis that refuses writes (full under maxmemory + noeviction, or a read-only
// replica) must not let a code be sent that the store has not recorded, must never lose an answer Vonage
// gave, and /readyz must say it is not ready. Against a redis-server of this suite's own, driven with
// CONFIG SET maxmemory 1 (every write that needs memory is refused with OOM) and REPLICAOF.

import * as scripts from '../../src/store/redis/scripts';
import { type DelayProxy, startDelayProxy } from '../support/delay-proxy';
import { codeFor, type Harness, startHarness, ukMobile } from '../support/harness';
import { pollUntil } from '../support/net';
import { type RedisServer, startRedisServer } from '../support/redis-server';

let redis: RedisServer;
let primary: RedisServer;
let h: Harness;

beforeAll(async () => {
  redis = await startRedisServer();
  primary = await startRedisServer();
  h = await startHarness({ env: { REDIS_URL: redis.url } });
});

afterAll(async () => {
  await h?.close();
  await redis?.close();
  await primary?.close();
});

const full = () => redis.command('CONFIG', 'SET', 'maxmemory', '1');
const roomy = () => redis.command('CONFIG', 'SET', 'maxmemory', '0');

afterEach(async () => {
  await roomy();
  await redis.command('REPLICAOF', 'NO', 'ONE');
});

test('the server is Redis 7, which judges declared (#!lua) scripts before running them', async () => {
  const info = String(await redis.command('INFO', 'server'));
  expect(info).toMatch(/redis_version:7\./);
  expect(String(await redis.command('CONFIG', 'GET', 'maxmemory-policy'))).toContain('noeviction');
});

test('every Lua script is declared (#!lua), and only those that read and delete may run on a full Redis', () => {
  const all = Object.entries(scripts).filter(
    (entry): entry is [string, scripts.LuaScript] =>
      typeof entry[1] === 'object' && entry[1] !== null && 'source' in entry[1],
  );
  expect(all.length).toBeGreaterThan(10);
  const firstLines = Object.fromEntries(all.map(([name, script]) => [name, script.source.split('\n')[0]]));
  for (const [name, line] of Object.entries(firstLines))
    expect([name, line?.startsWith('#!lua')]).toEqual([name, true]);
  const allowOom = Object.keys(firstLines).filter((name) => firstLines[name]?.includes('allow-oom'));
  expect(allowOom.sort()).toEqual(['IDEMPOTENCY_RELEASE', 'TAKE_DUE', 'UNLOCK']);
});

test('full Redis: request-token answers 503 store_unavailable and starts nothing at Vonage; once Redis has room, the same numbers start normally', async () => {
  const numbers = [ukMobile(), ukMobile(), ukMobile(), ukMobile(), ukMobile()];
  const started = h.sim.stats.verificationsStarted;
  await full();

  for (const phoneNumber of numbers) {
    const res = await h.as('alpha').post('/api/request-token', { phoneNumber });
    expect([res.status, res.body.code]).toEqual([503, 'store_unavailable']);
  }
  expect(h.sim.stats.verificationsStarted).toBe(started);
  expect(h.sim.stats.calls.start).toBe(0);

  await roomy();
  for (const phoneNumber of numbers) {
    const res = await h.as('alpha').post('/api/request-token', { phoneNumber });
    expect([res.status, res.body.phoneNumber]).toEqual([201, phoneNumber]);
  }
  expect(h.sim.stats.verificationsStarted).toBe(started + numbers.length);
});

test('full Redis: verify-token with the right code answers 503 and leaves the code unchecked at Vonage; afterwards it verifies (200)', async () => {
  const phoneNumber = ukMobile();
  const started = await h.as('alpha').post('/api/request-token', { phoneNumber });
  const requestId = started.body.requestId as string;
  const code = codeFor(h.sim, requestId);
  const checks = h.sim.stats.calls.check;
  await full();

  const refused = await h.as('alpha').post('/api/verify-token', { requestId, code });
  expect([refused.status, refused.body.code]).toEqual([503, 'store_unavailable']);
  // Nothing was asked of Vonage that the store could not record the answer of.
  expect(h.sim.stats.calls.check).toBe(checks);
  expect(h.sim.requestState(requestId)?.status).toBe('IN PROGRESS');

  await roomy();
  const retry = await h.as('alpha').post('/api/verify-token', { requestId, code });
  expect([retry.status, retry.body.verified]).toEqual([200, true]);
});

test('full Redis: cancel and next-event answer 503 without calling Vonage', async () => {
  const started = await h.as('alpha').post('/api/request-token', { phoneNumber: ukMobile() });
  const requestId = started.body.requestId as string;
  h.sim.advance(31_000);
  const controls = h.sim.stats.calls.control;
  await full();
  for (const path of ['/api/cancel', '/api/next-event']) {
    const res = await h.as('alpha').post(path, { requestId });
    expect([path, res.status, res.body.code]).toEqual([path, 503, 'store_unavailable']);
  }
  expect(h.sim.stats.calls.control).toBe(controls);
  expect(h.sim.messages({ requestId })).toHaveLength(1);
});

test('/readyz is 503 while Redis is full (saying so) and 200 again once it has room', async () => {
  expect((await h.http.get('/readyz')).status).toBe(200);
  await full();
  const res = await h.http.get('/readyz');
  expect([res.status, res.body.code]).toEqual([503, 'store_unavailable']);
  expect(res.body.detail).toMatch(/full/);
  await roomy();
  expect((await h.http.get('/readyz')).status).toBe(200);
});

test('read-only replica: /readyz 503 (saying so), request-token 503 with nothing started; promoted again: ready', async () => {
  await redis.command('REPLICAOF', '127.0.0.1', String(primary.port));
  const started = h.sim.stats.verificationsStarted;

  const ready = await h.http.get('/readyz');
  expect([ready.status, ready.body.code]).toEqual([503, 'store_unavailable']);
  expect(ready.body.detail).toMatch(/read-only/);
  const res = await h.as('alpha').post('/api/request-token', { phoneNumber: ukMobile() });
  expect([res.status, res.body.code]).toEqual([503, 'store_unavailable']);
  expect(h.sim.stats.verificationsStarted).toBe(started);

  await redis.command('REPLICAOF', 'NO', 'ONE');
  expect((await h.http.get('/readyz')).status).toBe(200);
});

describe('Redis fills up while Vonage is answering', () => {
  let proxy: DelayProxy;
  let slow: Harness;

  beforeAll(async () => {
    // Vonage's answers reach this instance 400 ms late: time to fill Redis after Vonage acted.
    proxy = await startDelayProxy(h.config.VONAGE_API_HOST);
    slow = await startHarness({
      sim: h.sim,
      simUrl: proxy.url,
      clock: h.clock,
      env: { REDIS_URL: redis.url },
    });
  });

  afterAll(async () => {
    await slow?.close();
    await proxy?.close();
  });

  afterEach(() => proxy.setDelay(null));

  test('check: Vonage verified the code, the record write is refused (503); the retry after recovery gets 200, never 404', async () => {
    const phoneNumber = ukMobile();
    const started = await slow.as('alpha').post('/api/request-token', { phoneNumber });
    const requestId = started.body.requestId as string;
    const code = codeFor(h.sim, requestId);
    proxy.setDelay({ path: /^\/verify\/check\/json/, ms: 400 });

    const answer = slow
      .as('alpha')
      .post('/api/verify-token', { requestId, code })
      .then((res) => res);
    await pollUntil('Vonage to verify the code', async () =>
      h.sim.requestState(requestId)?.status === 'SUCCESS' ? true : undefined,
    );
    await full();
    const lost = await answer;
    expect([lost.status, lost.body.code]).toEqual([503, 'store_unavailable']);
    await roomy();

    // Vonage's search lags about a minute behind a finished request: the service says so, and no more.
    const early = await slow.as('alpha').post('/api/verify-token', { phoneNumber, code });
    expect([early.status, early.body.code]).toEqual([503, 'upstream_unavailable']);
    h.sim.advance(Number(early.headers['retry-after']) * 1000);
    const retry = await slow.as('alpha').post('/api/verify-token', { phoneNumber, code });
    expect([retry.status, retry.body.verified, retry.body.requestId]).toEqual([200, true, requestId]);
    const again = await slow.as('alpha').post('/api/verify-token', { requestId, code });
    expect([again.status, again.body.code]).toEqual([409, 'already_verified']);
  });

  test('start: Vonage sent a code, its record is refused (503); the retry knows it as its own: 409 with its id, and the code verifies', async () => {
    const phoneNumber = ukMobile();
    proxy.setDelay({ path: /^\/verify\/json/, ms: 400 });
    const answer = slow
      .as('alpha')
      .post('/api/request-token', { phoneNumber })
      .then((res) => res);
    const sent = await pollUntil(
      'Vonage to send a code',
      async () => h.sim.messages({ number: phoneNumber.slice(1) })[0],
    );
    await full();
    const lost = await answer;
    expect([lost.status, lost.body.code]).toEqual([503, 'store_unavailable']);
    await roomy();
    proxy.setDelay(null);

    const retry = await slow.as('alpha').post('/api/request-token', { phoneNumber });
    expect([retry.status, retry.body.code, retry.body.requestId]).toEqual([
      409,
      'verification_in_progress',
      sent.requestId,
    ]);
    const check = await slow
      .as('alpha')
      .post('/api/verify-token', { requestId: sent.requestId, code: sent.code });
    expect(check.status).toBe(200);
  });
});
