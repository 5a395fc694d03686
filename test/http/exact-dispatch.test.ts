// The exact POSTs of the API run without Express's router (src/http/exact-dispatch.ts) and answer as the
// Express app does: the same request sent to the service as served (composed.app) and to the Express
// app alone (composed.express) gets the same status, headers in order, body, metrics and log lines;
// a success through the dispatch is kept for its Idempotency-Key exactly as Express would have kept it;
// and only the exact POSTs are dispatched. Real Redis under a prefix of its own; the simulator.

import { randomUUID } from 'node:crypto';
import supertest from 'supertest';
import { type Answered, expectSameBothWays, type Send } from '../support/both-ways';
import { codeFor, type Harness, KEYS, startHarness, ukMobile } from '../support/harness';

const dispatched: Answered = (composed) => composed.exactDispatch.dispatched;
const ID = 'f3a0c5e2b1d94c7e8a6b2d1c0e9f8a7b';

/** A POST as alpha with this raw body and Content-Type: application/json, and a fresh Idempotency-Key if asked. */
const post =
  (path: string, body: string, options: { key?: boolean; type?: string } = {}): Send =>
  (http) => {
    const req = http
      .post(path)
      .set('Authorization', `Bearer ${KEYS.alpha}`)
      .set('Content-Type', options.type ?? 'application/json');
    if (options.key) req.set('Idempotency-Key', randomUUID());
    return req.send(body);
  };

describe('answered as Express answers them', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  const cases: Array<[title: string, send: Send, status: number]> = [
    [
      'verify-token for an unknown verification',
      post('/api/verify-token', JSON.stringify({ requestId: ID, code: '123456' })),
      404,
    ],
    [
      'verify-token with an unknown field',
      post('/api/verify-token', JSON.stringify({ requestId: ID, code: '1', x: 1 })),
      400,
    ],
    ['verify-token whose JSON is cut short', post('/api/verify-token', '{"requestId":'), 400],
    ['verify-token over 16 kB', post('/api/verify-token', JSON.stringify({ code: 'x'.repeat(20_000) })), 413],
    ['cancel as text/plain', post('/api/cancel', 'requestId=1', { type: 'text/plain' }), 400],
    [
      'next-event without a body',
      (http) => http.post('/api/next-event').set('Authorization', `Bearer ${KEYS.alpha}`),
      400,
    ],
    [
      'cancel of an unknown verification, with an Idempotency-Key',
      post('/api/cancel', JSON.stringify({ requestId: ID }), { key: true }),
      404,
    ],
    [
      'request-token for no number, with an Idempotency-Key',
      post('/api/request-token', JSON.stringify({ phoneNumber: 'nope' }), { key: true }),
      400,
    ],
    [
      'next-event with a malformed Idempotency-Key',
      (http) => post('/api/next-event', JSON.stringify({ requestId: ID }))(http).set('Idempotency-Key', ''),
      400,
    ],
  ];

  test.each(cases)('%s', async (_title, send, status) => {
    const seen = await expectSameBothWays(h, send, dispatched);
    expect(seen.status).toBe(status);
  });

  test('the metrics label the route and the lines carry the request id, as through Express', async () => {
    const seen = await expectSameBothWays(
      h,
      (http) =>
        post(
          '/api/verify-token',
          JSON.stringify({ requestId: ID, code: '123456' }),
        )(http).set('X-Request-Id', 'dispatch-1'),
      dispatched,
    );
    expect(seen.metrics).toMatchObject({
      'otp_http_requests_total{"route":"/api/verify-token","method":"POST","status":"404"}': 1,
    });
    expect(seen.lines).toContainEqual(
      expect.objectContaining({ reqId: 'dispatch-1', msg: 'request completed' }),
    );
  });

  test('a flow through the dispatch: 201 kept for its key and replayed by Express byte for byte, then 200', async () => {
    const before = h.composed.exactDispatch.dispatched;
    const key = randomUUID();
    const body = JSON.stringify({ phoneNumber: ukMobile() });
    const send = (app: Parameters<typeof supertest>[0]) =>
      supertest(app)
        .post('/api/request-token')
        .set('Authorization', `Bearer ${KEYS.alpha}`)
        .set('Content-Type', 'application/json')
        .set('Idempotency-Key', key)
        .send(body);
    const first = await send(h.composed.app);
    expect(first.status).toBe(201);
    const replay = await send(h.composed.express);
    expect([replay.status, replay.text, replay.headers['idempotent-replayed']]).toEqual([
      201,
      first.text,
      'true',
    ]);
    const headerNames = (res: supertest.Response) =>
      (res as unknown as { res: { rawHeaders: string[] } }).res.rawHeaders.filter((_, i) => i % 2 === 0);
    // The same headers in the same order as Express's own 201 (another number, so not a replay).
    const viaExpress = await supertest(h.composed.express)
      .post('/api/request-token')
      .set('Authorization', `Bearer ${KEYS.alpha}`)
      .set('Idempotency-Key', randomUUID())
      .send({ phoneNumber: ukMobile() });
    expect(viaExpress.status).toBe(201);
    expect(headerNames(first)).toEqual(headerNames(viaExpress));

    const requestId = String(first.body.requestId);
    const verified = await post(
      '/api/verify-token',
      JSON.stringify({ requestId, code: codeFor(h.sim, requestId) }),
      {
        key: true,
      },
    )(supertest(h.composed.app));
    expect([verified.status, verified.body.verified]).toEqual([200, true]);
    expect(h.composed.exactDispatch.dispatched - before).toBe(2);
  });

  test('only the exact POSTs are dispatched', async () => {
    const before = h.composed.exactDispatch.dispatched;
    const as = (req: supertest.Test) => req.set('Authorization', `Bearer ${KEYS.alpha}`);
    expect((await as(h.http.get('/api/verify-token'))).status).toBe(405);
    expect(
      (await as(h.http.post('/api/verify-token?x=1').send({ requestId: ID, code: '123456' }))).status,
    ).toBe(404);
    expect((await as(h.http.post('/api/verify-token/').send({ requestId: ID, code: '123456' }))).status).toBe(
      404,
    );
    expect((await as(h.http.post('/API/verify-token').send({ requestId: ID, code: '123456' }))).status).toBe(
      404,
    );
    expect((await as(h.http.get(`/api/verifications/${ID}`))).status).toBe(404);
    expect(h.composed.exactDispatch.dispatched).toBe(before);
  });
});

describe('with CORS on', () => {
  test('a request from an allowed origin, and one without Origin, get the CORS headers Express gives', async () => {
    const h = await startHarness({ env: { CORS_ORIGINS: 'https://app.example.com' } });
    try {
      const unknown = JSON.stringify({ requestId: ID, code: '123456' });
      const fromApp = await expectSameBothWays(
        h,
        (http) => post('/api/verify-token', unknown)(http).set('Origin', 'https://app.example.com'),
        dispatched,
      );
      expect(fromApp.rawHeaders).toContain('Access-Control-Allow-Origin');
      const withoutOrigin = await expectSameBothWays(h, post('/api/verify-token', unknown), dispatched);
      expect(withoutOrigin.status).toBe(404);
    } finally {
      await h.close();
    }
  });
});
