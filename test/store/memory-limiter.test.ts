// The in-memory limiter (sandbox, no REDIS_URL) forgets windows that have passed: one-off client
// addresses failing to authenticate must not pile up for the life of the process (issue 11, 200k
// addresses held about 200 MB). Checked on the limiter's own size, over HTTP, with the virtual clock.

import { MemoryRateLimiter } from '../../src/store/memory/limiter';
import { type Harness, startHarness } from '../support/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ redis: false, env: { TRUST_PROXY: '1', LIMIT_AUTH_FAILURES_PER_IP: '5/1m' } });
});
afterAll(async () => {
  await h.close();
});

const ADDRESSES = 500;

test('one-off addresses with a wrong key: their windows are dropped once they have passed', async () => {
  const limiter = h.composed.limiter;
  expect(limiter).toBeInstanceOf(MemoryRateLimiter);
  const size = () => (limiter as MemoryRateLimiter).size;
  const before = size();
  for (let i = 0; i < ADDRESSES; i++) {
    const res = await h.http
      .post('/api/request-token')
      .set('X-Forwarded-For', `198.51.${Math.floor(i / 250)}.${i % 250}`)
      .set('Authorization', 'Bearer wrong-key')
      .send({});
    expect(res.status).toBe(401);
  }
  expect(size()).toBe(before + ADDRESSES);

  // Still inside the window: every address is remembered (the limit must hold).
  h.clock.advance(30_000);
  await h.http.post('/api/request-token').set('X-Forwarded-For', '203.0.113.1').send({});
  expect(size()).toBe(before + ADDRESSES + 1);

  // Past it: a later request sweeps them all; only windows still running are kept.
  h.clock.advance(31_000);
  await h.http.post('/api/request-token').set('X-Forwarded-For', '203.0.113.2').send({});
  expect(size()).toBe(2);
});

test('a window still in use is kept and still limits', async () => {
  const from = (address: string) =>
    h.http
      .post('/api/request-token')
      .set('X-Forwarded-For', address)
      .set('Authorization', 'Bearer no')
      .send({});
  const statuses: number[] = [];
  for (let i = 0; i < 6; i++) {
    statuses.push((await from('192.0.2.77')).status);
    h.clock.advance(5_000);
  }
  expect(statuses).toEqual([401, 401, 401, 401, 401, 429]);
});
