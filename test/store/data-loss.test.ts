// After Redis loses its data (a restart without persistence), the caller's own verification is still
// alive at Vonage but unknown to the service: request-token for that number gets Vonage's status 10 with
// an id the service has no record of. The caller must be told when to come back (409 with Retry-After,
// counting down, not starting over) until Vonage ends the request, and then gets a new code (issue 11,
// "Hardening"). A redis-server of this test's own, restarted for real; the real SDK and the simulator.

import { type Harness, startHarness, ukMobile } from '../support/harness';
import { type RedisServer, startRedisServer } from '../support/redis-server';

let redis: RedisServer;
let h: Harness;

beforeAll(async () => {
  redis = await startRedisServer();
  h = await startHarness({ env: { REDIS_URL: redis.url, VERIFY_PIN_EXPIRY: '300' } });
});

afterAll(async () => {
  await h?.close();
  await redis?.close();
});

test("the caller's own number answers 409 with a Retry-After that counts down until Vonage ends the request", async () => {
  const phoneNumber = ukMobile();
  const started = await h.as('alpha').post('/api/request-token', { phoneNumber });
  expect(started.status).toBe(201);
  const lost = started.body.requestId as string;

  await redis.stop('SIGKILL');
  await redis.restart();
  // The service reconnects by itself; the record is gone.
  let status = 0;
  for (let i = 0; i < 50 && status !== 404; i++) {
    status = (await h.as('alpha').get(`/api/verifications/${lost}`)).status;
    if (status !== 404) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect(status).toBe(404);

  const first = await h.as('alpha').post('/api/request-token', { phoneNumber });
  expect([first.status, first.body.code]).toEqual([409, 'concurrent_verification']);
  const wait = Number(first.headers['retry-after']);
  expect(first.body.retryAfterSeconds).toBe(wait);
  // No longer than the longest a verification with this service's settings lives (605 s).
  expect(wait).toBeGreaterThan(500);
  expect(wait).toBeLessThanOrEqual(605);

  h.sim.advance(200_000);
  const later = await h.as('alpha').post('/api/request-token', { phoneNumber });
  expect([later.status, later.body.code]).toEqual([409, 'concurrent_verification']);
  expect(Number(later.headers['retry-after'])).toBe(wait - 200);

  // Once the wait is over Vonage has ended the request (workflow 1: 605 s): a new code starts.
  h.sim.advance((wait - 200) * 1000);
  expect(h.sim.requestState(lost)?.status).not.toBe('IN PROGRESS');
  const fresh = await h.as('alpha').post('/api/request-token', { phoneNumber });
  expect(fresh.status).toBe(201);
});
