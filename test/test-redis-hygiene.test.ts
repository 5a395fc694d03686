// The tests' own Redis hygiene: a harness removes every key it wrote when it closes, its prefix lies under
// the run's root (which the global teardown checks) and names its test file, and a suite that must start
// its own Redis processes says in one line what to install when they are missing.

import Redis from 'ioredis';
import { startHarness, ukMobile } from './support/harness';
import { requireRedisPrograms } from './support/redis-server';
import { testKeyRoot, testRedisUrl } from './support/test-redis';

async function keysUnder(prefix: string): Promise<string[]> {
  const client = new Redis(testRedisUrl());
  try {
    const keys: string[] = [];
    for await (const batch of client.scanStream({ match: `${prefix}*`, count: 500 }))
      keys.push(...(batch as string[]));
    return keys;
  } finally {
    client.disconnect();
  }
}

test("a harness's prefix is under the run's root and names the test file; close() removes every key it wrote", async () => {
  const h = await startHarness();
  expect(testKeyRoot()).toMatch(/^test:\d{4}-\d\d-\d\d-[0-9a-f]{8}:$/);
  expect(h.prefix.startsWith(`${testKeyRoot()}test-redis-hygiene:`)).toBe(true);
  const phoneNumber = ukMobile();
  const started = await h.as('alpha').post('/api/request-token', { phoneNumber }).expect(201);
  await h.as('alpha').post('/api/verify-token', { requestId: started.body.requestId, code: '000000' });
  await h.http.post('/api/cancel').set('Authorization', 'Bearer wrong-key-0123456789').send({});
  // A record, the current pointer, the index, send windows (number and caller), the failed-check and auth windows.
  expect((await keysUnder(h.prefix)).length).toBeGreaterThanOrEqual(6);
  await h.close();
  expect(await keysUnder(h.prefix)).toEqual([]);
});

test('a missing redis-server is one line saying what to install', () => {
  let message = '';
  try {
    requireRedisPrograms(['no-such-redis-server-program']);
  } catch (error) {
    message = (error as Error).message;
  }
  expect(message).toMatch(
    /needs no-such-redis-server-program, which is not installed: apt-get install redis-server/,
  );
  expect(message).not.toContain('\n');
  expect(() => requireRedisPrograms(['redis-server'])).not.toThrow();
});
