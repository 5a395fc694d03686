// The request-token fast path (src/http/start-fast-path.ts) answers as Express does: the same request
// sent to the service as it is served (the fast paths in front of Express) and to its Express app alone
// get the same status, headers in order, body, metrics (funnel included) and log lines. What refuses a
// request-token before its number's lock is answered by the fast path; a body the parser refuses is read
// there and handed on to Express with the parser's error; a request it must not take (an Idempotency-Key,
// another Content-Type, a query string, a chunked body) reaches Express unread. Real Redis, own prefix.

import { type Answered, expectSameBothWays, type Send } from '../support/both-ways';
import { type Harness, KEYS, startHarness } from '../support/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ env: { LIMIT_SENDS_PER_NUMBER: '1/1h' } });
});
afterAll(async () => {
  await h.close();
});

const answered: Answered = (composed) => composed.startFastPath.answered;
const handedOn = () => h.composed.startFastPath.handedOn;

/** Eight random digits, so no two tests (or runs) share a number. */
const digits = () => String(Math.floor(Math.random() * 100_000_000)).padStart(8, '0');
const freshNumber = () => `+447400${digits().slice(2)}`;

/** request-token as alpha with this raw body and Content-Type: application/json. */
const startWith =
  (body: string, headers: Record<string, string> = {}): Send =>
  (http) =>
    http
      .post('/api/request-token')
      .set('Authorization', `Bearer ${KEYS.alpha}`)
      .set('Content-Type', 'application/json')
      .set(headers)
      .send(body);

/** A number over its send window of 1/1h, which this instance remembers: started once, then refused once. */
async function limitedNumber(): Promise<string> {
  const phoneNumber = freshNumber();
  const started = await h.as('alpha').post('/api/request-token', { phoneNumber });
  expect(started.status).toBe(201);
  // Redis says so the first time (through Express); the refusal is remembered for a while (1 s).
  expect((await h.as('alpha').post('/api/request-token', { phoneNumber })).status).toBe(429);
  return phoneNumber;
}

describe('refused before the number lock: answered by the fast path, as Express answers', () => {
  test('a number over its send limit: 429, labelled as request-token, counted in the funnel', async () => {
    const phoneNumber = await limitedNumber();
    const seen = await expectSameBothWays(
      h,
      startWith(JSON.stringify({ phoneNumber }), { 'X-Request-Id': 'limited-1' }),
      answered,
    );
    expect(seen.status).toBe(429);
    expect(JSON.parse(seen.body)).toMatchObject({ code: 'rate_limited', retryAfterSeconds: 3600 });
    expect(seen.metrics).toEqual({
      'otp_http_requests_total{"route":"/api/request-token","method":"POST","status":"429"}': 1,
      'otp_http_request_duration_seconds_count{"route":"/api/request-token","method":"POST"}': 1,
      'otp_verifications_total{"caller":"alpha","event":"rate_limited"}': 1,
    });
    expect(seen.lines).toMatchObject([
      { level: 20, reqId: 'limited-1', problem: 'rate_limited', status: 429 },
      { level: 30, reqId: 'limited-1', res: { statusCode: 429 }, msg: 'request completed' },
    ]);
  });

  test('a body with a byte order mark is read as the parser reads it: the limited number refused', async () => {
    const phoneNumber = await limitedNumber();
    // Sent as UTF-8: EF BB BF first.
    const seen = await expectSameBothWays(h, startWith(`\ufeff${JSON.stringify({ phoneNumber })}`), answered);
    expect(seen.status).toBe(429);
  });

  const refused: Array<[title: string, body: () => string, status: number, code: string]> = [
    [
      'a text that is no number',
      () => JSON.stringify({ phoneNumber: 'not-a-number' }),
      400,
      'invalid_phone_number',
    ],
    [
      'an unknown field',
      () => JSON.stringify({ phoneNumber: freshNumber(), extra: 1 }),
      400,
      'validation_failed',
    ],
    ['an empty object', () => '{}', 400, 'validation_failed'],
    ['an array', () => '[1]', 400, 'validation_failed'],
    [
      'a language the Verify API lacks',
      () => JSON.stringify({ phoneNumber: freshNumber(), locale: 'xx-xx' }),
      400,
      'validation_failed',
    ],
    [
      'workflowId and channels both',
      () => JSON.stringify({ phoneNumber: freshNumber(), workflowId: 1, channels: ['sms'] }),
      400,
      'validation_failed',
    ],
  ];
  test.each(refused)('%s', async (_title, body, status, code) => {
    const seen = await expectSameBothWays(h, startWith(body()), answered);
    expect(seen.status).toBe(status);
    expect(JSON.parse(seen.body)).toMatchObject({ code });
  });
});

describe('a body the parser refuses: read by the fast path, answered by Express with the parser error', () => {
  const unreadable: Array<[title: string, body: string, status: number]> = [
    ['JSON cut short', '{"phoneNumber":', 400],
    ['a bare string (strict JSON)', '"+447400000001"', 400],
    ['over 16 kB', JSON.stringify({ phoneNumber: 'x'.repeat(20_000) }), 413],
  ];
  test.each(unreadable)('%s', async (_title, body, status) => {
    const before = handedOn();
    const seen = await expectSameBothWays(h, startWith(body), answered, 0);
    expect(seen.status).toBe(status);
    expect(handedOn() - before).toBe(1);
  });
});

describe('what the fast path lets through', () => {
  test('a number under its limit: read and admitted once, started by Express (201)', async () => {
    const before = { handed: handedOn(), answered: h.composed.startFastPath.answered };
    const phoneNumber = freshNumber();
    const res = await startWith(JSON.stringify({ phoneNumber }))(h.http);
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ phoneNumber });
    expect(handedOn() - before.handed).toBe(1);
    expect(h.composed.startFastPath.answered).toBe(before.answered);
    // One send counted: the next start of the number is over its window of 1.
    expect((await startWith(JSON.stringify({ phoneNumber }))(h.http)).status).toBe(429);
  });

  const untouched: Array<[title: string, send: (phoneNumber: string) => Send]> = [
    [
      'an Idempotency-Key',
      // A key of its own for each send: the second would be a replay of the first.
      (n) => (http) =>
        startWith(JSON.stringify({ phoneNumber: n }), { 'Idempotency-Key': `k-${digits()}` })(http),
    ],
    [
      'a charset parameter',
      (n) =>
        startWith(JSON.stringify({ phoneNumber: n }), { 'Content-Type': 'application/json; charset=utf-8' }),
    ],
    [
      'a query string',
      (n) => (http) =>
        http
          .post('/api/request-token?x=1')
          .set('Authorization', `Bearer ${KEYS.alpha}`)
          .send({ phoneNumber: n }),
    ],
  ];
  test.each(untouched)(
    'a request with %s goes to Express unread (and is answered alike)',
    async (_title, send) => {
      const phoneNumber = await limitedNumber();
      const before = handedOn();
      const seen = await expectSameBothWays(h, send(phoneNumber), answered, 0);
      expect(seen.status).toBe(429);
      expect(handedOn()).toBe(before);
    },
  );

  test('a chunked body goes to Express unread', async () => {
    const phoneNumber = await limitedNumber();
    const before = { handed: handedOn(), answered: h.composed.startFastPath.answered };
    const req = h.http
      .post('/api/request-token')
      .set('Authorization', `Bearer ${KEYS.alpha}`)
      .set('Content-Type', 'application/json')
      .set('Transfer-Encoding', 'chunked');
    req.write(JSON.stringify({ phoneNumber }));
    const res = await req;
    expect(res.status).toBe(429);
    expect(handedOn()).toBe(before.handed);
    expect(h.composed.startFastPath.answered).toBe(before.answered);
  });
});
