// What the HTTP surface must not expose (issue 11, "Hardening"): no cache may keep an /api answer (they
// carry phone numbers), /metrics (caller names and volumes) only for METRICS_TOKEN's bearer, and a client
// that trickles its headers is dropped within seconds instead of holding a connection.

import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import { createHttpServer, SERVER_TIMEOUTS } from '../../src/http/http-server';
import { type Harness, KEYS, startHarness, ukMobile } from '../support/harness';

const METRICS_TOKEN = 'metrics-token-0123456789abcdef0123456789';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ env: { METRICS_TOKEN } });
});
afterAll(async () => {
  await h.close();
});

describe('Cache-Control: no-store', () => {
  test('on every /api answer: successes, refusals, validation errors, 401s and unknown /api paths', async () => {
    const phoneNumber = ukMobile();
    const started = await h.as('alpha').post('/api/request-token', { phoneNumber });
    expect(started.status).toBe(201);
    const answers = [
      started,
      await h.as('alpha').get(`/api/verifications/${started.body.requestId}`),
      await h.as('alpha').post('/api/request-token', { phoneNumber }),
      await h.as('alpha').post('/api/verify-token', { requestId: started.body.requestId, code: 'x' }),
      await h.as('beta').post('/api/cancel', { phoneNumber }),
      await h.http.post('/api/request-token').send({ phoneNumber }),
      await h.http.post('/api/request-token').set('Authorization', 'Bearer wrong').send({ phoneNumber }),
      await h.as('alpha').get('/api/no-such-route'),
    ];
    expect(answers.map((res) => res.status)).toEqual([201, 200, 409, 400, 404, 401, 401, 404]);
    for (const res of answers) expect(res.headers['cache-control']).toBe('no-store');
  });
});

describe('METRICS_TOKEN', () => {
  test('/metrics answers 401 problem+json without the token, or with another one', async () => {
    for (const authorization of [
      undefined,
      'Bearer nope',
      `Bearer ${KEYS.alpha}`,
      `Basic ${METRICS_TOKEN}`,
    ]) {
      const req = h.http.get('/metrics');
      const res = authorization ? await req.set('Authorization', authorization) : await req;
      expect(res.status).toBe(401);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.text).not.toContain('otp_verifications_total');
    }
  });

  test('with the token, the metrics (caller names included) are served', async () => {
    expect((await h.as('alpha').post('/api/request-token', { phoneNumber: ukMobile() })).status).toBe(201);
    const res = await h.http.get('/metrics').set('Authorization', `Bearer ${METRICS_TOKEN}`);
    expect(res.status).toBe(200);
    expect(res.text).toContain('otp_verifications_total');
    expect(res.text).toContain('caller="alpha"');
  });

  test('a wrong token counts against the address limit on failed authentication, shared with the API', async () => {
    const limited = await startHarness({
      env: { METRICS_TOKEN, LIMIT_AUTH_FAILURES_PER_IP: '3/1m', TRUST_PROXY: '1' },
    });
    try {
      const from = (address: string) => ({ 'X-Forwarded-For': address });
      const wrong = () =>
        limited.http.get('/metrics').set('Authorization', 'Bearer nope').set(from('198.51.100.21'));
      expect((await wrong()).status).toBe(401);
      expect((await wrong()).status).toBe(401);
      // A wrong API key from the same address is the third failure of the same count.
      const api = await limited.http
        .post('/api/cancel')
        .set('Authorization', 'Bearer wrong-api-key')
        .set(from('198.51.100.21'));
      expect(api.status).toBe(401);
      const over = await wrong();
      expect([over.status, over.body.code]).toEqual([429, 'rate_limited']);
      expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
      // The right token is never counted nor refused; another address is not over the limit.
      const right = await limited.http
        .get('/metrics')
        .set('Authorization', `Bearer ${METRICS_TOKEN}`)
        .set(from('198.51.100.21'));
      expect(right.status).toBe(200);
      expect((await limited.http.get('/metrics').set(from('198.51.100.22'))).status).toBe(401);
    } finally {
      await limited.close();
    }
  });

  test('unset: /metrics is open (the default, for a scraper inside the cluster)', async () => {
    const open = await startHarness({ redis: false });
    try {
      expect((await open.http.get('/metrics')).status).toBe(200);
    } finally {
      await open.close();
    }
  });
});

describe('slow clients', () => {
  test('the header timeout is at or below the request timeout, and a few seconds', () => {
    expect(SERVER_TIMEOUTS.headersTimeoutMs).toBeLessThanOrEqual(SERVER_TIMEOUTS.requestTimeoutMs);
    expect(SERVER_TIMEOUTS.headersTimeoutMs).toBeLessThanOrEqual(10_000);
    expect(SERVER_TIMEOUTS.connectionsCheckingIntervalMs).toBeLessThanOrEqual(2_000);
  });

  test('a client trickling its headers is answered 408 and dropped within seconds', async () => {
    const server: Server = createHttpServer(h.composed.app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const socket = connect({ port, host: '127.0.0.1' });
    let answer = '';
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString();
    });
    const started = Date.now();
    // A header line every 500 ms: the connection is never idle, the headers never complete.
    socket.write('GET /healthz HTTP/1.1\r\nHost: localhost\r\n');
    const trickle = setInterval(() => socket.write('X-Slow: 1\r\n'), 500);
    try {
      const closed = await new Promise<boolean>((resolve) => {
        socket.once('close', () => resolve(true));
        setTimeout(() => resolve(false), SERVER_TIMEOUTS.headersTimeoutMs + 5_000);
      });
      expect(closed).toBe(true);
      expect(Date.now() - started).toBeLessThan(SERVER_TIMEOUTS.headersTimeoutMs + 3_000);
      expect(answer).toMatch(/^HTTP\/1\.1 408/);
    } finally {
      clearInterval(trickle);
      socket.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  }, 20_000);
});
