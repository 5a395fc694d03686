// The refusal fast path (src/http/refusal-fast-path.ts) answers as Express does: the same requests sent
// to the service as it is served (composed.app, the fast path in front of Express) and to its Express
// app alone (composed.express) get the same status, headers (in the same order, Date and generated
// request ids aside), body, metrics and log lines; and the fast path answered them (its count), while
// everything that is not certainly a refusal reaches Express. Real Redis under a prefix of its own.

import supertest from 'supertest';
import { expectSameBothWays, type Send } from '../support/both-ways';
import { type Harness, KEYS, startHarness } from '../support/harness';

const wrongKey = `Bearer ${KEYS.alpha}x`;

const cases: Array<[title: string, request: Send, status: number]> = [
  [
    'no Authorization header',
    (http) => http.post('/api/request-token').send({ phoneNumber: '+447400000001' }),
    401,
  ],
  ['a wrong key', (http) => http.post('/api/verify-token').set('Authorization', wrongKey).send({}), 401],
  [
    'a malformed Authorization header',
    (http) => http.get('/api/verifications/x').set('Authorization', 'Basic abc'),
    401,
  ],
  [
    'a wrong key on an unknown path under /api',
    (http) => http.get('/api/nowhere').set('Authorization', wrongKey),
    401,
  ],
  ['GET of a verification without a key', (http) => http.get('/api/verifications/0f1e2d3c'), 401],
  ['a valid X-Request-Id, echoed', (http) => http.post('/api/cancel').set('X-Request-Id', 'given-id.1'), 401],
  [
    'an invalid X-Request-Id, replaced',
    (http) => http.post('/api/cancel').set('X-Request-Id', 'bad id!'),
    401,
  ],
  ['HEAD without a key, no body', (http) => http.head('/api/verifications/x'), 401],
  ['upper-case /API with a query string', (http) => http.get('/API/verifications/x?a=1'), 401],
];

describe('the fast path answers refusals as Express does (TRUST_PROXY unset)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { LIMIT_AUTH_FAILURES_PER_IP: '1000/1m' } });
  });
  afterAll(async () => {
    await h.close();
  });

  test.each(cases)('%s', async (_title, request, status) => {
    const seen = await expectSameBothWays(h, request);
    expect(seen.status).toBe(status);
    expect(seen.rawHeaders.map((name) => name.toLowerCase())).not.toContain('x-powered-by');
    expect(seen.rawHeaders.map((name) => name.toLowerCase())).not.toContain('etag');
  });

  test('the metrics label a refusal as Express does (unmatched route) and the lines are the same', async () => {
    const seen = await expectSameBothWays(h, (http) =>
      http.post('/api/cancel').set('X-Request-Id', 'label-1'),
    );
    expect(seen.metrics).toEqual({
      'otp_http_requests_total{"route":"unmatched","method":"POST","status":"401"}': 1,
      'otp_http_request_duration_seconds_count{"route":"unmatched","method":"POST"}': 1,
    });
    expect(seen.lines).toMatchObject([
      { level: 20, reqId: 'label-1', problem: 'unauthorized', status: 401, msg: 'Unauthorized' },
      { level: 30, reqId: 'label-1', res: { statusCode: 401 }, msg: 'request completed' },
    ]);
  });

  test('what is not certainly a refusal goes to Express', async () => {
    const before = h.composed.fastPath.answered;
    await h.as('alpha').get('/api/verifications/abc').expect(404);
    await h.http.options('/api/verify-token').expect(401);
    await h.http.get('/healthz').expect(200);
    await h.http.get('/apix').expect(404);
    await h.http.get('/nowhere').set('Authorization', wrongKey).expect(404);
    expect(h.composed.fastPath.answered).toBe(before);
  });
});

describe('addresses behind a proxy (TRUST_PROXY=1) and over their limit', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { TRUST_PROXY: '1', LIMIT_AUTH_FAILURES_PER_IP: '4/1m' } });
  });
  afterAll(async () => {
    await h.close();
  });

  const from =
    (address: string): Send =>
    (http) =>
      http.post('/api/request-token').set('Authorization', wrongKey).set('X-Forwarded-For', address).send({});

  test('X-Forwarded-For counts against the forwarded address, on both paths alike', async () => {
    // Two failures here (one per path), two more for the next test of the same address: under its limit.
    const seen = await expectSameBothWays(h, from('198.51.100.7'));
    expect(seen.status).toBe(401);
    const other = await expectSameBothWays(h, from('2001:db8:1:1::7'));
    expect(other.status).toBe(401);
  });

  test('an address driven over its limit gets 429 with Retry-After, on both paths alike', async () => {
    for (let i = 0; i < 4; i++)
      expect((await from('198.51.100.9')(supertest(h.composed.app))).status).toBe(401);
    const seen = await expectSameBothWays(h, from('198.51.100.9'));
    expect(seen.status).toBe(429);
    expect(seen.rawHeaders).toContain('Retry-After');
    expect(JSON.parse(seen.body)).toMatchObject({ code: 'rate_limited', retryAfterSeconds: 60 });
    // IPv6 counts by its /56: another address of the same block is over the same limit.
    for (let i = 0; i < 2; i++) await from('2001:db8:1:1::8')(supertest(h.composed.app));
    expect((await from('2001:db8:1:ff::1')(supertest(h.composed.app))).status).toBe(429);
  });

  test('with CORS on, a request with an Origin goes to Express, one without is answered here alike', async () => {
    const cors = await startHarness({
      env: { CORS_ORIGINS: 'https://app.example.com', LIMIT_AUTH_FAILURES_PER_IP: '1000/1m' },
    });
    try {
      const seen = await expectSameBothWays(cors, (http) => http.post('/api/cancel'));
      expect(seen.rawHeaders).toContain('Access-Control-Expose-Headers');
      const before = cors.composed.fastPath.answered;
      const res = await cors.http.post('/api/cancel').set('Origin', 'https://app.example.com').expect(401);
      expect(res.headers['access-control-allow-origin']).toBe('https://app.example.com');
      expect(cors.composed.fastPath.answered).toBe(before);
    } finally {
      await cors.close();
    }
  });
});

describe('the store failing while a failure is counted', () => {
  test('503 store_unavailable with Retry-After, the store error counted and logged, on both paths alike', async () => {
    const h = await startHarness({ env: { REDIS_URL: 'redis://127.0.0.1:1' } });
    try {
      const seen = await expectSameBothWays(h, (http) =>
        http.post('/api/cancel').set('X-Request-Id', 'down-1'),
      );
      expect(seen.status).toBe(503);
      expect(seen.metrics).toMatchObject({ 'otp_store_errors_total{}': 1 });
      expect(seen.lines).toMatchObject([
        { level: 50, reqId: 'down-1', problem: 'store_unavailable' },
        { level: 50, reqId: 'down-1', res: { statusCode: 503 }, msg: 'request errored' },
      ]);
    } finally {
      await h.close();
    }
  });
});
