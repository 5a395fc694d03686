// A start whose answer never came (504) may have sent a code under an id the service never saw. Only the
// caller whose start that was may adopt it (issue 11, "Cross-caller adoption"): when two callers' starts
// for one number both time out, the second caller must get 409 concurrent_verification and must not be
// able to verify the first's code, and the first can still finish. Real Redis, the real SDK, the v1
// simulator behind a proxy that can hold answers back (Vonage did the work, the answer was lost) and
// the simulator's own hang fault (the call never reached Vonage's logic).

import { VirtualClock } from '../../src/clock';
import { VerifySimulator } from '../../src/simulator/v1/simulator';
import { type DelayProxy, startDelayProxy } from '../support/delay-proxy';
import { type Harness, startHarness, ukMobile, VONAGE } from '../support/harness';

const TIMEOUT_MS = 500;
const START_PATH = /^\/verify\/json/;

let sim: VerifySimulator;
let proxy: DelayProxy;
let h: Harness;

describe.each([
  ['the Redis store', true],
  ['the in-memory store', false],
])('with %s', (_name, redis) => {
  beforeAll(async () => {
    const clock = new VirtualClock(Date.UTC(2026, 0, 1, 12));
    sim = new VerifySimulator({ ...VONAGE, clock });
    const simUrl = await sim.listen(0, '127.0.0.1');
    proxy = await startDelayProxy(simUrl);
    h = await startHarness({
      sim,
      simUrl: proxy.url,
      clock,
      redis,
      env: { VONAGE_TIMEOUT_MS: String(TIMEOUT_MS) },
    });
  });

  afterAll(async () => {
    await h?.close();
    await proxy?.close();
    await sim?.close();
  });

  afterEach(() => {
    proxy.setDelay(null);
    sim.setFault(null);
  });

  function problem(res: { status: number; body: { code?: unknown } }): [number, unknown] {
    return [res.status, res.body.code];
  }

  /** alpha's start reaches Vonage, which sends a code, but its answer comes too late: 504. */
  async function alphaTimesOutAfterVonageSent(
    phoneNumber: string,
  ): Promise<{ orphan: string; code: string }> {
    proxy.setDelay({ path: START_PATH, ms: TIMEOUT_MS + 1000 });
    const res = await h.as('alpha').post('/api/request-token', { phoneNumber });
    expect(problem(res)).toEqual([504, 'upstream_timeout']);
    proxy.setDelay(null);
    const [message] = sim.messages({ number: phoneNumber.slice(1) });
    if (!message) throw new Error('Vonage should have sent a code');
    return { orphan: message.requestId, code: message.code };
  }

  /** beta cannot reach, replace or verify alpha's code; alpha still can. */
  async function expectOnlyAlphaCanFinish(phoneNumber: string, orphan: string, code: string): Promise<void> {
    const retry = await h.as('beta').post('/api/request-token', { phoneNumber });
    expect(problem(retry)).toEqual([409, 'concurrent_verification']);
    expect(retry.body.requestId).toBeUndefined();
    expect(problem(await h.as('beta').post('/api/verify-token', { phoneNumber, code }))).toEqual([
      404,
      'verification_not_found',
    ]);
    expect(problem(await h.as('beta').post('/api/verify-token', { requestId: orphan, code }))).toEqual([
      404,
      'verification_not_found',
    ]);
    expect(problem(await h.as('beta').get(`/api/verifications/${orphan}`))).toEqual([
      404,
      'verification_not_found',
    ]);
    expect(sim.requestState(orphan)?.status).toBe('IN PROGRESS');

    // The owner adopts its own code: 409 with its id inside the cancel window, and the code verifies.
    const own = await h.as('alpha').post('/api/request-token', { phoneNumber });
    expect(problem(own)).toEqual([409, 'verification_in_progress']);
    expect(own.body.requestId).toBe(orphan);
    const ok = await h.as('alpha').post('/api/verify-token', { requestId: orphan, code });
    expect(ok.status).toBe(200);
    expect(sim.messages({ number: phoneNumber.slice(1) })).toHaveLength(1);
  }

  test("second caller's start hangs (the simulator's hang fault): it cannot adopt the first caller's code", async () => {
    const phoneNumber = ukMobile();
    const { orphan, code } = await alphaTimesOutAfterVonageSent(phoneNumber);
    sim.setFault({ mode: 'hang', operations: ['start'], times: 1 });
    const beta = await h.as('beta').post('/api/request-token', { phoneNumber });
    expect(problem(beta)).toEqual([504, 'upstream_timeout']);
    await expectOnlyAlphaCanFinish(phoneNumber, orphan, code);
  });

  test("second caller's status 10 answer is lost too: it cannot adopt the first caller's code", async () => {
    const phoneNumber = ukMobile();
    const { orphan, code } = await alphaTimesOutAfterVonageSent(phoneNumber);
    proxy.setDelay({ path: START_PATH, ms: TIMEOUT_MS + 1000 });
    const beta = await h.as('beta').post('/api/request-token', { phoneNumber });
    expect(problem(beta)).toEqual([504, 'upstream_timeout']);
    proxy.setDelay(null);
    await expectOnlyAlphaCanFinish(phoneNumber, orphan, code);
  });

  test("a timed-out start's note ends with its code: it cannot claim another caller's later timed-out start", async () => {
    const phoneNumber = ukMobile();
    const { orphan } = await alphaTimesOutAfterVonageSent(phoneNumber);
    // alpha's code ends at Vonage (workflow 1: 605 s) without alpha ever coming back.
    sim.advance(611_000);
    expect(sim.requestState(orphan)?.status).not.toBe('IN PROGRESS');
    // beta's start reaches Vonage, which sends a code, and beta's answer is lost in turn.
    proxy.setDelay({ path: START_PATH, ms: TIMEOUT_MS + 1000 });
    const beta = await h.as('beta').post('/api/request-token', { phoneNumber });
    expect(problem(beta)).toEqual([504, 'upstream_timeout']);
    proxy.setDelay(null);
    const theirs = sim.messages({ number: phoneNumber.slice(1) }).find((m) => m.requestId !== orphan);
    if (!theirs) throw new Error("Vonage should have sent beta's code");
    // alpha's old note must not make beta's code alpha's.
    const alpha = await h.as('alpha').post('/api/request-token', { phoneNumber });
    expect(problem(alpha)).toEqual([409, 'concurrent_verification']);
    expect(alpha.body.requestId).toBeUndefined();
    expect(
      problem(await h.as('alpha').post('/api/verify-token', { phoneNumber, code: theirs.code })),
    ).toEqual([404, 'verification_not_found']);
    // beta adopts its own code.
    const own = await h.as('beta').post('/api/request-token', { phoneNumber });
    expect(problem(own)).toEqual([409, 'verification_in_progress']);
    expect(own.body.requestId).toBe(theirs.requestId);
    expect(
      (await h.as('beta').post('/api/verify-token', { requestId: theirs.requestId, code: theirs.code }))
        .status,
    ).toBe(200);
  });

  test('both starts hang (nothing reached Vonage): the first retry starts a code, the other caller gets 409', async () => {
    const phoneNumber = ukMobile();
    sim.setFault({ mode: 'hang', operations: ['start'], times: 2 });
    expect(problem(await h.as('alpha').post('/api/request-token', { phoneNumber }))).toEqual([
      504,
      'upstream_timeout',
    ]);
    expect(problem(await h.as('beta').post('/api/request-token', { phoneNumber }))).toEqual([
      504,
      'upstream_timeout',
    ]);
    const started = await h.as('beta').post('/api/request-token', { phoneNumber });
    expect(started.status).toBe(201);
    const alpha = await h.as('alpha').post('/api/request-token', { phoneNumber });
    expect(problem(alpha)).toEqual([409, 'concurrent_verification']);
  });
});
