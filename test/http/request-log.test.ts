// The request log an operator reads: one completion line per request (info; error with the cause for a
// 5xx), the request id in the X-Request-Id answer header and on every line of that request, no query
// string. The lines keep the shape pino-http wrote before the service logged requests itself.

import { type Harness, startHarness, ukMobile } from '../support/harness';

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ env: { LIMIT_AUTH_FAILURES_PER_IP: '1000/1m' } });
});

afterAll(async () => {
  await h.close();
});

type Line = Record<string, unknown> & { msg?: string; level?: number; reqId?: string };

/** The log lines written while `run` ran. */
async function linesOf(run: () => Promise<unknown>): Promise<Line[]> {
  const from = h.logs.length;
  await run();
  // The completion line is written when the response closes, just after supertest has the answer.
  await new Promise((resolve) => setTimeout(resolve, 50));
  return h.logs.slice(from).map((text) => JSON.parse(text) as Line);
}

test('a request logs one completion line with its id, method, path without the query, status and time', async () => {
  let header: string | undefined;
  const lines = await linesOf(async () => {
    const res = await h.http.get('/healthz?phoneNumber=%2B447400123456').set('X-Request-Id', 'trace-42.a_b');
    expect(res.status).toBe(200);
    header = res.headers['x-request-id'];
  });
  expect(header).toBe('trace-42.a_b');
  const completed = lines.filter((line) => line.msg === 'request completed');
  expect(completed).toHaveLength(1);
  expect(completed[0]).toMatchObject({
    level: 30,
    service: 'otp-verify',
    reqId: 'trace-42.a_b',
    req: { id: 'trace-42.a_b', method: 'GET', url: '/healthz' },
    res: { statusCode: 200 },
  });
  expect(typeof completed[0]?.responseTime).toBe('number');
  expect(JSON.stringify(lines)).not.toContain('447400123456');
});

test('an unsafe X-Request-Id is replaced by a fresh UUID, in the answer and in the log', async () => {
  let header = '';
  const lines = await linesOf(async () => {
    const res = await h.http.get('/healthz').set('X-Request-Id', 'has spaces and "quotes"');
    header = String(res.headers['x-request-id']);
  });
  expect(header).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  expect(lines.find((line) => line.msg === 'request completed')?.reqId).toBe(header);
});

test('refusals are logged at info by their completion line (debug adds the problem code)', async () => {
  const lines = await linesOf(async () => {
    const res = await h.http
      .post('/api/verify-token')
      .set('Authorization', 'Bearer not-a-key-000000000000')
      .set('X-Request-Id', 'refused-1')
      .send({ requestId: 'x', code: '1234' });
    expect(res.status).toBe(401);
  });
  const mine = lines.filter((line) => line.reqId === 'refused-1');
  expect(mine.find((line) => line.msg === 'request completed')).toMatchObject({
    level: 30,
    res: { statusCode: 401 },
  });
  // The harness logs at debug: the error handler's line goes through req.log, with the same id.
  expect(mine.find((line) => line.level === 20)).toMatchObject({ problem: 'unauthorized', status: 401 });
});

test('a 5xx logs "request errored" at error with the cause, and the handler line carries the same id', async () => {
  h.sim.setFault({ mode: 'http500', operations: ['start'], times: 1 });
  const lines = await linesOf(async () => {
    const res = await h
      .as('alpha')
      .post('/api/request-token', { phoneNumber: ukMobile() })
      .set('X-Request-Id', 'failing-1');
    expect(res.status).toBeGreaterThanOrEqual(500);
  });
  const mine = lines.filter((line) => line.reqId === 'failing-1');
  const errored = mine.find((line) => line.msg === 'request errored');
  expect(errored).toMatchObject({ level: 50, req: { method: 'POST', url: '/api/request-token' } });
  expect(errored?.err).toMatchObject({ message: expect.stringMatching(/^failed with status code 5\d\d$/) });
  // The error handler's own line (the cause, at error) went through req.log.
  expect(mine.filter((line) => line.level === 50 && line.msg !== 'request errored').length).toBeGreaterThan(
    0,
  );
});
