// /metrics after real flows: HTTP traffic, Vonage calls and the verification funnel are counted.

import { codeFor, type Harness, startHarness, ukMobile } from '../support/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ env: { LIMIT_SENDS_PER_NUMBER: '1/1h', ALLOWED_COUNTRIES: 'GB' } });
});
afterAll(async () => {
  await h.close();
});

/** The value of one sample line, e.g. otp_verifications_total{caller="alpha",event="started"}. */
function sample(text: string, name: string, labels: Record<string, string>): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const labelText = line.slice(name.length + 1, line.indexOf('}'));
    const parts = labelText.split(',');
    if (wanted.every((w) => parts.includes(w))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return 0;
}

test('counts the funnel, Vonage calls and HTTP requests of a flow', async () => {
  const phoneNumber = ukMobile();
  const started = await h.as('beta').post('/api/request-token', { phoneNumber });
  expect(started.status).toBe(201);
  const { requestId } = started.body;
  const code = codeFor(h.sim, requestId);
  await h.as('beta').post('/api/verify-token', { requestId, code: code === '000000' ? '111111' : '000000' });
  await h.as('beta').post('/api/verify-token', { requestId, code });
  h.sim.advance(400_000);
  expect((await h.as('beta').post('/api/request-token', { phoneNumber })).status).toBe(429);
  expect((await h.as('beta').post('/api/request-token', { phoneNumber: '+12015550123' })).status).toBe(403);
  const short = await h.as('beta').post('/api/request-token', { phoneNumber: ukMobile(), pinExpiry: 60 });
  // Vonage ends a workflow-1 request 605 s after its start, whatever pinExpiry.
  h.sim.advance(606_000);
  const late = { requestId: short.body.requestId, code: codeFor(h.sim, short.body.requestId) };
  expect((await h.as('beta').post('/api/verify-token', late)).status).toBe(410);
  expect((await h.as('beta').post('/api/verify-token', late)).status).toBe(410);

  const res = await h.http.get('/metrics');
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/plain/);
  const text = res.text;
  const funnel = (event: string) => sample(text, 'otp_verifications_total', { caller: 'beta', event });
  expect(funnel('started')).toBe(2);
  expect(funnel('expired')).toBe(1);
  expect(funnel('wrong_code')).toBe(1);
  expect(funnel('verified')).toBe(1);
  expect(funnel('rate_limited')).toBe(1);
  expect(funnel('refused_country')).toBe(1);
  expect(
    sample(text, 'otp_vonage_calls_total', { operation: 'start', outcome: 'started' }),
  ).toBeGreaterThanOrEqual(1);
  expect(
    sample(text, 'otp_vonage_calls_total', { operation: 'check', outcome: 'mismatch' }),
  ).toBeGreaterThanOrEqual(1);
  expect(
    sample(text, 'otp_http_requests_total', { route: '/api/request-token', method: 'POST', status: '201' }),
  ).toBeGreaterThanOrEqual(1);
  expect(
    sample(text, 'otp_http_request_duration_seconds_count', { route: '/api/verify-token', method: 'POST' }),
  ).toBeGreaterThanOrEqual(2);
});
