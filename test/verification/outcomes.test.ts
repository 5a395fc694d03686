// Issue 11 item 1 and issue 14 item 2, over HTTP with real Redis and the real SDK against the v1
// simulator. (1) The service never ends a verification before Vonage does: `expiresAt` is when Vonage's
// workflow runs out, codes go to Vonage until then, and every 409's retryAfterSeconds is the real wait.
// (2) A call whose answer was lost (the simulator does the work, then hangs or resets the connection) is
// resolved on the next request for that verification, through Vonage's search, which lags about a
// minute behind a finished request: 503 with Retry-After until it knows, never 404 for a code that worked.

import { type Harness, startHarness, ukMobile, VONAGE } from '../support/harness';

const TIMEOUT_MS = 500;
let h: Harness;

beforeAll(async () => {
  h = await startHarness({ env: { VONAGE_TIMEOUT_MS: String(TIMEOUT_MS) } });
});

afterAll(async () => {
  await h?.close();
});

afterEach(() => h.sim.setFault(null));

async function requestCode(phoneNumber = ukMobile(), body: Record<string, unknown> = {}) {
  const res = await h.as('alpha').post('/api/request-token', { phoneNumber, ...body });
  expect(res.status).toBe(201);
  return { phoneNumber, requestId: res.body.requestId as string, expiresAt: res.body.expiresAt as string };
}

const statusOf = async (requestId: string) =>
  (await h.as('alpha').get(`/api/verifications/${requestId}`)).body.status as string;

const vonageCalls = () => {
  const { start, check, control, search } = h.sim.stats.calls;
  return start + check + control + search;
};

describe('the verification lasts as long as it does at Vonage (issue 11 item 1)', () => {
  test("pinExpiry 60, past the second delivery and 62 s more: pending, and Vonage's current code verifies", async () => {
    const t0 = h.clock.now();
    const { requestId, expiresAt } = await requestCode(ukMobile(), { pinExpiry: 60 });
    // Workflow 1 with Vonage's default waits ends 125 + 180 + 300 s after the start.
    expect(expiresAt).toBe(new Date(t0 + 605_000).toISOString());
    h.sim.advance(126_000 + 62_000);
    // Vonage sent a new PIN at the second delivery and still runs the request.
    expect(h.sim.requestState(requestId)).toMatchObject({ status: 'IN PROGRESS', eventsDelivered: 2 });
    expect(await statusOf(requestId)).toBe('pending');

    const code = h.sim.currentCode(requestId);
    const res = await h.as('alpha').post('/api/verify-token', { requestId, code });
    expect([res.status, res.body.verified]).toEqual([200, true]);
  });

  test('a 409 past the second delivery carries the real wait (until Vonage ends it); after it, a new code starts', async () => {
    const { phoneNumber, requestId, expiresAt } = await requestCode(ukMobile(), { pinExpiry: 60 });
    h.sim.advance(188_000);

    const refused = await h.as('alpha').post('/api/request-token', { phoneNumber });
    expect([refused.status, refused.body.code, refused.body.requestId]).toEqual([
      409,
      'verification_in_progress',
      requestId,
    ]);
    const wait = Math.ceil((Date.parse(expiresAt) - h.clock.now()) / 1000);
    expect(refused.body.retryAfterSeconds).toBe(wait);
    expect(refused.headers['retry-after']).toBe(String(wait));
    // The detail never promises that a code is still good: after a resend the first one is not.
    expect(refused.body.detail).not.toMatch(/still valid|is valid/i);

    h.sim.advance(wait * 1000);
    expect(h.sim.requestState(requestId)?.status).toBe('EXPIRED');
    expect(await statusOf(requestId)).toBe('expired');
    const fresh = await h.as('alpha').post('/api/request-token', { phoneNumber });
    expect(fresh.status).toBe(201);
  });

  test('a 409 inside the 30-second cancel window waits for its end; then the code is replaced', async () => {
    const { phoneNumber, requestId } = await requestCode();
    h.sim.advance(10_000);
    const refused = await h.as('alpha').post('/api/request-token', { phoneNumber });
    expect([refused.status, refused.body.retryAfterSeconds]).toEqual([409, 20]);
    h.sim.advance(20_000);
    const replaced = await h.as('alpha').post('/api/request-token', { phoneNumber });
    expect([replaced.status, replaced.body.replacedRequestId]).toEqual([201, requestId]);
  });

  test('next-event moves the schedule: expiresAt follows the delivery it made', async () => {
    const t0 = h.clock.now();
    const { requestId } = await requestCode();
    h.sim.advance(10_000);
    expect((await h.as('alpha').post('/api/next-event', { requestId })).status).toBe(200);
    // The second delivery now, then 180 s to the third, then 300 s to the end.
    const view = await h.as('alpha').get(`/api/verifications/${requestId}`);
    expect(view.body.expiresAt).toBe(new Date(t0 + 10_000 + 480_000).toISOString());
    h.sim.advance(479_000);
    expect(h.sim.requestState(requestId)?.status).toBe('IN PROGRESS');
    h.sim.advance(1_000);
    expect(h.sim.requestState(requestId)?.status).toBe('EXPIRED');
    expect(await statusOf(requestId)).toBe('expired');
  });

  test('a workflow of one SMS ends after its one wait', async () => {
    const t0 = h.clock.now();
    const { requestId, expiresAt } = await requestCode(ukMobile(), { workflowId: 6 });
    expect(expiresAt).toBe(new Date(t0 + 300_000).toISOString());
    h.sim.advance(300_000);
    expect(h.sim.requestState(requestId)?.status).toBe('EXPIRED');
  });
});

describe('lost answers are resolved on the next request (issue 14 item 2)', () => {
  // What the caller gets for the call whose answer was lost (hang, reset) or unreadable (badJson).
  const LOST_STATUS = { hang: 504, reset: 503, badJson: 502 } as const;

  test.each(['hang', 'reset', 'badJson'] as const)(
    'check (%s after Vonage verified): the retry gets 503 + Retry-After while search lags, then 200; never 404',
    async (mode) => {
      const { phoneNumber, requestId } = await requestCode();
      const code = h.sim.currentCode(requestId);
      h.sim.setFault({ mode, operations: ['check'], afterWork: true, times: 1 });
      const lost = await h.as('alpha').post('/api/verify-token', { requestId, code });
      expect(lost.status).toBe(LOST_STATUS[mode]);
      expect(h.sim.requestState(requestId)?.status).toBe('SUCCESS');

      const early = await h.as('alpha').post('/api/verify-token', { phoneNumber, code });
      expect([early.status, early.body.code]).toEqual([503, 'upstream_unavailable']);
      const retryAfter = Number(early.headers['retry-after']);
      expect(retryAfter).toBeGreaterThanOrEqual(5);
      expect(early.body.retryAfterSeconds).toBe(retryAfter);
      // The status endpoint does not guess either.
      expect((await h.as('alpha').get(`/api/verifications/${requestId}`)).status).toBe(503);

      h.sim.advance(retryAfter * 1000);
      const checks = h.sim.stats.calls.check;
      const retry = await h.as('alpha').post('/api/verify-token', { phoneNumber, code });
      expect([retry.status, retry.body.verified, retry.body.requestId]).toEqual([200, true, requestId]);
      expect(h.sim.stats.calls.check).toBe(checks);
      expect(await statusOf(requestId)).toBe('verified');
      const again = await h.as('alpha').post('/api/verify-token', { requestId, code });
      expect([again.status, again.body.code]).toEqual([409, 'already_verified']);
    },
  );

  test('check: after a lost answer that verified it, a different code gets 409 already_verified', async () => {
    const { requestId } = await requestCode();
    h.sim.setFault({ mode: 'hang', operations: ['check'], afterWork: true, times: 1 });
    await h.as('alpha').post('/api/verify-token', { requestId, code: h.sim.currentCode(requestId) });
    h.sim.advance(60_000);
    const other = await h.as('alpha').post('/api/verify-token', { requestId, code: '000000' });
    expect([other.status, other.body.code]).toEqual([409, 'already_verified']);
  });

  test('check: a lost answer Vonage never acted on is resolved at once (still running) and the code is checked', async () => {
    const { requestId } = await requestCode();
    const code = h.sim.currentCode(requestId);
    h.sim.setFault({ mode: 'hang', operations: ['check'], times: 1 });
    expect((await h.as('alpha').post('/api/verify-token', { requestId, code })).status).toBe(504);
    const retry = await h.as('alpha').post('/api/verify-token', { requestId, code });
    expect([retry.status, retry.body.verified]).toEqual([200, true]);
  });

  test.each(['hang', 'reset'] as const)(
    'cancel (%s after Vonage cancelled): the retry gets 200 cancelled once search knows; status cancelled',
    async (mode) => {
      const { requestId } = await requestCode();
      h.sim.advance(31_000);
      h.sim.setFault({ mode, operations: ['control'], afterWork: true, times: 1 });
      const lost = await h.as('alpha').post('/api/cancel', { requestId });
      expect(lost.status).toBeGreaterThanOrEqual(503);
      expect(h.sim.requestState(requestId)?.status).toBe('CANCELLED');

      const early = await h.as('alpha').post('/api/cancel', { requestId });
      expect([early.status, early.body.code]).toEqual([503, 'upstream_unavailable']);
      h.sim.advance(Number(early.headers['retry-after']) * 1000);
      const retry = await h.as('alpha').post('/api/cancel', { requestId });
      expect([retry.status, retry.body]).toEqual([200, { cancelled: true, requestId }]);
      expect(await statusOf(requestId)).toBe('cancelled');
    },
  );

  test.each(['hang', 'reset'] as const)(
    'next-event (%s after Vonage delivered): the retry answers 200 without a second resend',
    async (mode) => {
      const t0 = h.clock.now();
      const { requestId } = await requestCode();
      h.sim.advance(10_000);
      h.sim.setFault({ mode, operations: ['control'], afterWork: true, times: 1 });
      const lost = await h.as('alpha').post('/api/next-event', { requestId });
      expect(lost.status).toBeGreaterThanOrEqual(503);
      expect(h.sim.messages({ requestId })).toHaveLength(2);

      const controls = h.sim.stats.calls.control;
      const retry = await h.as('alpha').post('/api/next-event', { requestId });
      expect([retry.status, retry.body]).toEqual([200, { requestId }]);
      expect(h.sim.stats.calls.control).toBe(controls);
      expect(h.sim.messages({ requestId })).toHaveLength(2);
      // The schedule follows the delivery that did happen (search dates are whole seconds).
      const view = await h.as('alpha').get(`/api/verifications/${requestId}`);
      expect(Date.parse(view.body.expiresAt)).toBe(t0 + 10_000 + 480_000);
    },
  );

  test.each(['hang', 'reset', 'badJson'] as const)(
    'start (%s after Vonage sent a code): the retry adopts it (409 with its id) and the code verifies',
    async (mode) => {
      const phoneNumber = ukMobile();
      h.sim.setFault({ mode, operations: ['start'], afterWork: true, times: 1 });
      const lost = await h.as('alpha').post('/api/request-token', { phoneNumber });
      expect(lost.status).toBe(LOST_STATUS[mode]);
      const [sent] = h.sim.messages({ number: phoneNumber.slice(1) });
      expect(sent).toBeDefined();

      const before = vonageCalls();
      const retry = await h.as('alpha').post('/api/request-token', { phoneNumber });
      expect([retry.status, retry.body.code, retry.body.requestId]).toEqual([
        409,
        'verification_in_progress',
        sent?.requestId,
      ]);
      // start (status 10) and the refused cancel: no second code.
      expect(vonageCalls()).toBe(before + 2);
      expect(h.sim.messages({ number: phoneNumber.slice(1) })).toHaveLength(1);
      const check = await h.as('alpha').post('/api/verify-token', { phoneNumber, code: sent?.code });
      expect(check.status).toBe(200);
    },
  );

  test('request-token replacing its own: the cancel is lost after Vonage cancelled; the retry starts anew and the old one reads cancelled', async () => {
    const { phoneNumber, requestId } = await requestCode();
    h.sim.advance(31_000);
    h.sim.setFault({ mode: 'hang', operations: ['control'], afterWork: true, times: 1 });
    const lost = await h.as('alpha').post('/api/request-token', { phoneNumber });
    expect([lost.status, lost.body.code]).toEqual([504, 'upstream_timeout']);
    expect(h.sim.requestState(requestId)?.status).toBe('CANCELLED');

    const retry = await h.as('alpha').post('/api/request-token', { phoneNumber });
    expect(retry.status).toBe(201);
    h.sim.advance(60_000);
    expect(await statusOf(requestId)).toBe('cancelled');
  });

  test('another caller never adopts a start whose answer was lost', async () => {
    const phoneNumber = ukMobile();
    h.sim.setFault({ mode: 'reset', operations: ['start'], afterWork: true, times: 1 });
    await h.as('alpha').post('/api/request-token', { phoneNumber });
    const theirs = await h.as('beta').post('/api/request-token', { phoneNumber });
    expect([theirs.status, theirs.body.code]).toEqual([409, 'concurrent_verification']);
    expect(theirs.body.requestId).toBeUndefined();
  });

  test("status 6 for a verification cancelled at Vonage behind the service's back: its search decides (410, status cancelled)", async () => {
    const { requestId } = await requestCode();
    h.sim.advance(31_000);
    // Cancelled straight at Vonage (another tool on the same account), not through the service.
    const auth = Buffer.from(`${VONAGE.apiKey}:${VONAGE.apiSecret}`).toString('base64');
    const direct = await fetch(`${h.config.VONAGE_API_HOST}/verify/control/json`, {
      method: 'POST',
      headers: { authorization: `Basic ${auth}`, 'content-type': 'application/json' },
      body: JSON.stringify({ request_id: requestId, cmd: 'cancel' }),
    });
    expect(((await direct.json()) as { status: string }).status).toBe('0');

    const early = await h.as('alpha').post('/api/verify-token', { requestId, code: '123456' });
    expect([early.status, early.body.code]).toEqual([503, 'upstream_unavailable']);
    h.sim.advance(Number(early.headers['retry-after']) * 1000);
    const ended = await h.as('alpha').post('/api/verify-token', { requestId, code: '123456' });
    expect([ended.status, ended.body.code]).toEqual([410, 'verification_expired']);
    expect(await statusOf(requestId)).toBe('cancelled');
  });

  test('status 6 and search never finding it (past the lag): 404 verification_not_found', async () => {
    const { requestId } = await requestCode();
    h.sim.forceStatus('control', '6');
    h.sim.forceStatus('search', '101', 2);
    h.sim.advance(31_000);
    const early = await h.as('alpha').post('/api/cancel', { requestId });
    expect([early.status, early.body.code]).toEqual([503, 'upstream_unavailable']);
    h.sim.advance(200_000);
    const gone = await h.as('alpha').post('/api/cancel', { requestId });
    expect([gone.status, gone.body.code]).toEqual([404, 'verification_not_found']);
  });
});
