// Sandbox mode as a new user meets it: /sandbox/messages lists the newest first and filters by number or
// request id, POST /sandbox/reset gives a clean slate (messages, verifications, limit windows) without a
// restart, with the in-memory store and with Redis (where it deletes its own prefix's keys only), and the
// OpenAPI examples never use the README walk-through's number.

import Redis from 'ioredis';
import supertest from 'supertest';
import { VirtualClock } from '../../src/clock';
import type { Composed } from '../../src/compose';
import { loadConfig } from '../../src/config';
import { buildOpenApiDocument } from '../../src/http/docs/openapi';
import { createLogger } from '../../src/logger';
import { composeAsServer } from '../support/harness';
import { removeTestKeys, testPrefix, testRedisUrl } from '../support/test-redis';

interface Message {
  requestId: string;
  number: string;
  code: string;
}

const auth = { Authorization: 'Bearer dev-key' };

async function sandbox(env: Record<string, string> = {}) {
  const clock = new VirtualClock(Date.UTC(2026, 0, 1, 12));
  const config = loadConfig({ LOG_LEVEL: 'silent', LIMIT_SENDS_PER_NUMBER: '2/1h', ...env });
  const composed = await composeAsServer(config, createLogger('silent'), { clock, defaultMetrics: false });
  const http = supertest(composed.app);
  const start = async (phoneNumber: string) =>
    http.post('/api/request-token').set(auth).send({ phoneNumber });
  const messages = async (query: Record<string, string> = {}) =>
    (await http.get('/sandbox/messages').query(query).expect(200)).body.messages as Message[];
  return { composed, http, clock, start, messages };
}

describe.each([
  ['the in-memory store', false],
  ['Redis', true],
])('sandbox with %s', (_name, useRedis) => {
  let s: Awaited<ReturnType<typeof sandbox>>;
  let prefix: string;
  let redis: Redis | undefined;
  let composed: Composed | undefined;

  beforeAll(async () => {
    prefix = testPrefix();
    s = await sandbox(useRedis ? { REDIS_URL: testRedisUrl(), REDIS_KEY_PREFIX: prefix } : {});
    composed = s.composed;
    if (useRedis) redis = new Redis(testRedisUrl());
  });
  afterAll(async () => {
    await composed?.close();
    redis?.disconnect();
    await removeTestKeys(prefix);
  });

  test('messages: newest first, filtered by requestId or by phoneNumber in any written form', async () => {
    const first = await s.start('+447400900101');
    s.clock.advance(1000);
    const second = await s.start('+447400900102');
    expect([first.status, second.status]).toEqual([201, 201]);
    const all = await s.messages();
    expect(all.slice(0, 2).map((m) => m.requestId)).toEqual([second.body.requestId, first.body.requestId]);

    const byId = await s.messages({ requestId: first.body.requestId });
    expect(byId.map((m) => m.requestId)).toEqual([first.body.requestId]);
    const byNumber = await s.messages({ phoneNumber: '+44 7400 900102' });
    expect(byNumber.map((m) => m.requestId)).toEqual([second.body.requestId]);
    const both = await s.messages({ requestId: first.body.requestId, phoneNumber: '+447400900102' });
    expect(both).toEqual([]);
  });

  test('reset: a number refused with 429 works again, old verifications and messages are gone', async () => {
    const number = '+447400900201';
    const one = await s.start(number);
    expect(one.status).toBe(201);
    const [sent] = await s.messages({ requestId: one.body.requestId });
    await s.http
      .post('/api/verify-token')
      .set(auth)
      .send({ requestId: one.body.requestId, code: sent?.code })
      .expect(200);
    expect((await s.start(number)).status).toBe(201);
    s.clock.advance(60_000);
    const refused = await s.start(number);
    expect(refused.status).toBe(429);
    if (redis) expect((await redis.keys(`${prefix}*`)).length).toBeGreaterThan(0);

    const reset = await s.http.post('/sandbox/reset').expect(200);
    expect(reset.body).toEqual({ reset: true });

    expect(await s.messages()).toEqual([]);
    await s.http.get(`/api/verifications/${one.body.requestId}`).set(auth).expect(404);
    if (redis) expect(await redis.keys(`${prefix}*`)).toEqual([]);
    const again = await s.start(number);
    expect(again.status).toBe(201);
    expect((await s.messages()).map((m) => m.requestId)).toEqual([again.body.requestId]);
  });
});

test('reset leaves keys outside its own prefix alone', async () => {
  const prefix = testPrefix();
  const other = testPrefix();
  const redis = new Redis(testRedisUrl());
  const s = await sandbox({ REDIS_URL: testRedisUrl(), REDIS_KEY_PREFIX: prefix });
  try {
    await redis.set(`${other}keep`, '1', 'EX', 60);
    await s.start('+447400900301');
    await s.http.post('/sandbox/reset').expect(200);
    expect(await redis.get(`${other}keep`)).toBe('1');
  } finally {
    await redis.del(`${other}keep`);
    redis.disconnect();
    await s.composed.close();
    await removeTestKeys(prefix);
  }
});

test('outside sandbox mode there is no /sandbox/reset', async () => {
  const config = loadConfig({
    LOG_LEVEL: 'silent',
    API_KEYS: 'a:key-a-0123456789',
    VONAGE_API_KEY: 'k',
    VONAGE_API_SECRET: 's',
    VONAGE_API_HOST: 'http://127.0.0.1:9',
  });
  const composed = await composeAsServer(config, createLogger('silent'), { defaultMetrics: false });
  try {
    await supertest(composed.app).post('/sandbox/reset').expect(404);
    await supertest(composed.app).get('/sandbox/messages').expect(404);
  } finally {
    await composed.close();
  }
});

test("the OpenAPI examples never use the README walk-through's number", () => {
  const text = JSON.stringify(buildOpenApiDocument({ sandbox: true }));
  expect(text).not.toMatch(/7400\s?123456/);
  expect(text).toContain('+447911123456');
});

test('reset also lifts the failed-authentication limit of an address', async () => {
  const s = await sandbox({ LIMIT_AUTH_FAILURES_PER_IP: '2/1h' });
  try {
    const wrong = () => s.http.get('/api/verifications/abc').set('Authorization', 'Bearer wrong-key');
    const before: number[] = [];
    for (let i = 0; i < 4; i++) before.push((await wrong()).status);
    expect(before).toEqual([401, 401, 429, 429]);
    await s.http.post('/sandbox/reset').expect(200);
    expect((await wrong()).status).toBe(401);
  } finally {
    await s.composed.close();
  }
});
