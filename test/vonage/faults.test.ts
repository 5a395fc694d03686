// Vonage faults through the real SDK (issue #4, part 1): the simulator's fault switches make the SDK throw
// the way it does against Vonage (AbortError on a hang, VetchError on HTTP 500/401/429 and on a body it
// cannot decode, TypeError on a reset or refused connection), and each request-token, verify-token,
// cancel and next-event must answer the mapped problem within VONAGE_TIMEOUT_MS plus one second, never
// retry a start, and leave the verification usable once the fault clears.

import { VirtualClock } from '../../src/clock';
import { type FaultMode, type SimOperation, VerifySimulator } from '../../src/simulator/v1/simulator';
import { type DelayProxy, startDelayProxy } from '../support/delay-proxy';
import { codeFor, type Harness, startHarness, ukMobile, VONAGE } from '../support/harness';
import { timed } from '../support/net';

const TIMEOUT_MS = 500;
const BOUND_MS = TIMEOUT_MS + 1000;

type Operation = 'start' | 'check' | 'cancel' | 'next-event';
const OPERATIONS: Operation[] = ['start', 'check', 'cancel', 'next-event'];
const SIM_OPERATION: Record<Operation, SimOperation> = {
  start: 'start',
  check: 'check',
  cancel: 'control',
  'next-event': 'control',
};

/** What each fault must become for the caller. */
const EXPECTED: Record<Exclude<FaultMode, 'noContentType'>, Array<[number, string]>> = {
  hang: [[504, 'upstream_timeout']],
  http500: [[502, 'upstream_error']],
  badJson: [[502, 'upstream_error']],
  http401: [[502, 'upstream_error']],
  http429: [[503, 'upstream_unavailable']],
  // The SDK sees "fetch failed" (other side closed): unreachable, not an answer.
  reset: [
    [503, 'upstream_unavailable'],
    [502, 'upstream_error'],
  ],
};
const MODES = Object.keys(EXPECTED) as Array<keyof typeof EXPECTED>;

let clock: VirtualClock;
let sim: VerifySimulator;
let simPort: number;
let h: Harness;
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  clock = new VirtualClock(Date.UTC(2026, 0, 1, 12));
  sim = new VerifySimulator({ ...VONAGE, clock });
  const simUrl = await sim.listen(0, '127.0.0.1');
  simPort = Number(new URL(simUrl).port);
  h = await startHarness({ sim, simUrl, clock, env: { VONAGE_TIMEOUT_MS: String(TIMEOUT_MS) } });
});

afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  await h?.close();
  await sim?.close();
});

afterEach(() => sim.setFault(null));

interface Pending {
  phoneNumber: string;
  requestId: string;
}

async function requestCode(target: Harness = h, phoneNumber = ukMobile()): Promise<Pending> {
  const res = await target.as('alpha').post('/api/request-token', { phoneNumber });
  expect(res.status).toBe(201);
  return { phoneNumber, requestId: res.body.requestId as string };
}

/** A verification ready for `operation`: none for start; past the 30 s cancel window for cancel. */
async function prepare(operation: Operation): Promise<Pending> {
  if (operation === 'start') return { phoneNumber: ukMobile(), requestId: '' };
  const pending = await requestCode();
  if (operation === 'cancel') sim.advance(31_000);
  return pending;
}

function call(operation: Operation, { phoneNumber, requestId }: Pending) {
  const as = h.as('alpha');
  switch (operation) {
    case 'start':
      return as.post('/api/request-token', { phoneNumber });
    case 'check':
      return as.post('/api/verify-token', { requestId, code: codeFor(sim, requestId) });
    case 'cancel':
      return as.post('/api/cancel', { requestId });
    case 'next-event':
      return as.post('/api/next-event', { requestId });
  }
}

/** The same call once the fault is gone must do what it would have done. */
async function expectRecovered(operation: Operation, pending: Pending): Promise<void> {
  const res = await call(operation, pending);
  const expected = {
    start: [201, { phoneNumber: pending.phoneNumber, status: 'pending' }],
    check: [200, { verified: true, requestId: pending.requestId }],
    cancel: [200, { cancelled: true, requestId: pending.requestId }],
    'next-event': [200, { requestId: pending.requestId }],
  } as const;
  const [status, body] = expected[operation];
  expect({ status: res.status, body: res.body as object }).toMatchObject({ status, body });
}

function expectProblem(res: { status: number; body: { code?: unknown }; headers: Record<string, string> }) {
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  return [res.status, res.body.code];
}

describe.each(OPERATIONS)('%s', (operation) => {
  test.each(MODES)(
    `fault %s: mapped problem within ${BOUND_MS} ms, one call, usable afterwards`,
    async (mode) => {
      const pending = await prepare(operation);
      const simOperation = SIM_OPERATION[operation];
      const callsBefore = sim.stats.calls[simOperation];
      sim.setFault({ mode, operations: [simOperation], times: 1 });

      const { value: res, ms } = await timed(async () => call(operation, pending));

      expect(EXPECTED[mode]).toContainEqual(expectProblem(res));
      expect(ms).toBeLessThan(BOUND_MS);
      if (mode === 'hang') expect(ms).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
      // Exactly one HTTP call reached "Vonage": never a retry, least of all for a start (a second SMS).
      expect(sim.stats.calls[simOperation]).toBe(callsBefore + 1);
      await expectRecovered(operation, pending);
    },
  );
});

test('connection refused (nothing listening): 503 upstream_unavailable for every operation, then recovers', async () => {
  const pending = {
    start: await prepare('start'),
    check: await prepare('check'),
    cancel: await prepare('cancel'),
    'next-event': await prepare('next-event'),
  };
  await sim.close();
  try {
    for (const operation of OPERATIONS) {
      const { value: res, ms } = await timed(async () => call(operation, pending[operation]));
      expect([operation, ...expectProblem(res)]).toEqual([operation, 503, 'upstream_unavailable']);
      expect(ms).toBeLessThan(BOUND_MS);
    }
  } finally {
    await sim.listen(simPort, '127.0.0.1');
  }
  for (const operation of OPERATIONS) await expectRecovered(operation, pending[operation]);
});

test('a verification whose check timed out is checked fine afterwards', async () => {
  const pending = await requestCode();
  sim.setFault({ mode: 'hang', operations: ['check'] });
  const first = await call('check', pending);
  expect(expectProblem(first)).toEqual([504, 'upstream_timeout']);
  // Still hanging: the number's lock and the failed-check slot were given back, so this is not a 409/429.
  const second = await call('check', pending);
  expect(expectProblem(second)).toEqual([504, 'upstream_timeout']);
  sim.setFault(null);
  const status = await h.as('alpha').get(`/api/verifications/${pending.requestId}`);
  expect(status.body.status).toBe('pending');
  await expectRecovered('check', pending);
});

test('the process kept serving: no unhandled rejection, healthz 200', async () => {
  expect(unhandled).toEqual([]);
  expect((await h.http.get('/healthz')).status).toBe(200);
});

describe('a start that Vonage performed but answered too late', () => {
  let proxy: DelayProxy;
  let late: Harness;

  beforeAll(async () => {
    proxy = await startDelayProxy(`http://127.0.0.1:${simPort}`);
    late = await startHarness({
      sim,
      simUrl: proxy.url,
      clock,
      env: { VONAGE_TIMEOUT_MS: String(TIMEOUT_MS) },
    });
  });

  afterAll(async () => {
    await late?.close();
    await proxy?.close();
  });

  test('504 upstream_timeout; the retry adopts the code Vonage did send: 409 with its requestId, and it verifies', async () => {
    const phoneNumber = ukMobile();
    const number = phoneNumber.slice(1);
    const started = sim.stats.verificationsStarted;
    proxy.setDelay({ path: /^\/verify\/json/, ms: TIMEOUT_MS + 1000 });

    const { value: res, ms } = await timed(async () =>
      late.as('alpha').post('/api/request-token', { phoneNumber }),
    );
    expect(expectProblem(res)).toEqual([504, 'upstream_timeout']);
    expect(ms).toBeLessThan(BOUND_MS);
    proxy.setDelay(null);

    // Vonage did start it, and the phone got a code under an id the service never saw.
    expect(sim.stats.verificationsStarted).toBe(started + 1);
    const [message] = sim.messages({ number });
    const orphan = message?.requestId ?? '';
    expect(sim.requestState(orphan)?.status).toBe('IN PROGRESS');

    // Another caller cannot claim it: to them it is someone else's verification.
    const theirs = await late.as('beta').post('/api/request-token', { phoneNumber });
    expect(expectProblem(theirs)).toEqual([409, 'concurrent_verification']);

    // The same caller's retry gets status 10 with that id; the timed-out start was noted, so the id
    // is adopted: inside Vonage's 30 s cancel window the answer is 409 with the code already sent.
    const retry = await late.as('alpha').post('/api/request-token', { phoneNumber });
    expect(expectProblem(retry)).toEqual([409, 'verification_in_progress']);
    expect(retry.body.requestId).toBe(orphan);
    expect(sim.messages({ number })).toHaveLength(1);
    const check = await late
      .as('alpha')
      .post('/api/verify-token', { requestId: orphan, code: message?.code });
    expect(check.status).toBe(200);
  });

  test('after a timed-out start and 30 s, the retry replaces the unseen verification (201 replacedRequestId)', async () => {
    const phoneNumber = ukMobile();
    proxy.setDelay({ path: /^\/verify\/json/, ms: TIMEOUT_MS + 1000 });
    const res = await late.as('alpha').post('/api/request-token', { phoneNumber });
    expect(expectProblem(res)).toEqual([504, 'upstream_timeout']);
    proxy.setDelay(null);
    const orphan = sim.messages({ number: phoneNumber.slice(1) })[0]?.requestId ?? '';

    sim.advance(31_000);
    const retry = await late.as('alpha').post('/api/request-token', { phoneNumber });
    expect(retry.status).toBe(201);
    expect(retry.body.replacedRequestId).toBe(orphan);
    expect(sim.requestState(orphan)?.status).toBe('CANCELLED');
  });

  test("after a timed-out start, another caller's later verification of the number is never adopted", async () => {
    const phoneNumber = ukMobile();
    proxy.setDelay({ path: /^\/verify\/json/, ms: TIMEOUT_MS + 1000 });
    const res = await late.as('alpha').post('/api/request-token', { phoneNumber });
    expect(expectProblem(res)).toEqual([504, 'upstream_timeout']);
    proxy.setDelay(null);
    // The unseen verification ends at Vonage; then beta verifies the same number.
    sim.advance(606_000);
    const theirs = await late.as('beta').post('/api/request-token', { phoneNumber });
    expect(theirs.status).toBe(201);
    sim.advance(31_000);
    // alpha's retry gets status 10 with beta's id: alpha's note of a timed-out start must not claim it.
    const retry = await late.as('alpha').post('/api/request-token', { phoneNumber });
    expect(expectProblem(retry)).toEqual([409, 'concurrent_verification']);
    expect(sim.requestState(theirs.body.requestId)?.status).toBe('IN PROGRESS');
    const ok = await late.as('beta').post('/api/verify-token', {
      requestId: theirs.body.requestId,
      code: codeFor(sim, theirs.body.requestId),
    });
    expect(ok.status).toBe(200);
  });

  test('a right code whose check answer came too late: 504; the retry resolves it through search (503 while search lags, then 200)', async () => {
    const { phoneNumber, requestId } = await requestCode(late);
    proxy.setDelay({ path: /^\/verify\/check\/json/, ms: TIMEOUT_MS + 1000 });
    const code = codeFor(sim, requestId);

    const first = await late.as('alpha').post('/api/verify-token', { requestId, code });
    expect(expectProblem(first)).toEqual([504, 'upstream_timeout']);
    proxy.setDelay(null);
    expect(sim.requestState(requestId)?.status).toBe('SUCCESS');

    // Vonage's search does not know the finished request for about a minute: no guess meanwhile.
    const early = await late.as('alpha').post('/api/verify-token', { phoneNumber, code });
    expect(expectProblem(early)).toEqual([503, 'upstream_unavailable']);
    expect(Number(early.headers['retry-after'])).toBeGreaterThanOrEqual(5);
    sim.advance(Number(early.headers['retry-after']) * 1000);
    const checks = sim.stats.calls.check;
    const retry = await late.as('alpha').post('/api/verify-token', { phoneNumber, code });
    expect([retry.status, retry.body]).toEqual([200, expect.objectContaining({ verified: true, requestId })]);
    expect(sim.stats.calls.check).toBe(checks);
    const status = await late.as('alpha').get(`/api/verifications/${requestId}`);
    expect(status.body.status).toBe('verified');
  });
});
