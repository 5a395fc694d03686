// The core component flows, run under both Verify APIs from one table of cases: the same HTTP calls must
// give callers the same answers whether the service talks to Verify v1 or v2 (VONAGE_VERIFY_API). Real
// Redis, the real SDK over HTTP to the v1 or v2 simulator, one virtual clock shared with the simulator.
// Only what Vonage itself does differently (ids, timings, channel names) comes from the per-API table.

import {
  codeFor,
  codeForV2,
  type Harness,
  startHarness,
  startV2Harness,
  ukMobile,
  type V2Harness,
} from '../support/harness';

/** What differs between the two APIs, as the tests need it. */
interface Api {
  h: Pick<Harness, 'as' | 'clock' | 'composed'>;
  code(requestId: string): string;
  advance(ms: number): void;
  /** Channels the simulator delivered for a request, oldest first (v1 "tts" is "voice"). */
  delivered(requestId: string): string[];
  /** The request's state at the simulator. */
  state(requestId: string): 'in_progress' | 'cancelled' | 'other';
  /** Started verifications at the simulator so far. */
  started(): number;
  close(): Promise<void>;
}

interface ApiCase {
  name: 'v1' | 'v2';
  start(): Promise<Api>;
  requestIdPattern: RegExp;
  /** When the second delivery of the default workflow ([sms, voice, voice]) starts. */
  secondDeliveryMs: number;
  /** Default lifetime of a verification (v1: the code's expiry; v2: three channels of 180 s). */
  lifetimeMs: number;
  /** Options that make a verification end after 60 s. */
  shortLived: Record<string, unknown>;
}

function v1(h: Harness): Api {
  return {
    h,
    code: (id) => codeFor(h.sim, id),
    advance: (ms) => h.sim.advance(ms),
    delivered: (id) =>
      h.sim.messages({ requestId: id }).map((m) => (m.channel === 'tts' ? 'voice' : m.channel)),
    state: (id) => {
      const status = h.sim.requestState(id)?.status;
      return status === 'IN PROGRESS' ? 'in_progress' : status === 'CANCELLED' ? 'cancelled' : 'other';
    },
    started: () => h.sim.stats.verificationsStarted,
    close: () => h.close(),
  };
}

function v2(h: V2Harness): Api {
  let started = 0;
  return {
    h,
    code: (id) => codeForV2(h.sim, id),
    advance: (ms) => h.sim.advance(ms),
    delivered: (id) =>
      h.sim
        .messages({ requestId: id })
        .reverse()
        .map((m) => m.channel),
    state: (id) => {
      const status = h.sim.simulator.requestState(id)?.status;
      return status === 'in_progress' || status === 'cancelled' ? status : 'other';
    },
    started: () => {
      // Every request the simulator knows started with a first delivery: count distinct request ids.
      started = new Set(h.sim.messages().map((m) => m.requestId)).size;
      return started;
    },
    close: () => h.close(),
  };
}

const APIS: ApiCase[] = [
  {
    name: 'v1',
    start: async () => v1(await startHarness()),
    requestIdPattern: /^[0-9a-f]{32}$/,
    secondDeliveryMs: 125_000,
    // Workflow 1 with Vonage's default waits: SMS, 125 s, voice, 180 s, voice, 300 s, then it ends.
    lifetimeMs: 605_000,
    shortLived: { workflowId: 6, nextEventWait: 60, pinExpiry: 60 },
  },
  {
    name: 'v2',
    start: async () => v2(await startV2Harness()),
    requestIdPattern: /^[0-9a-f-]{36}$/,
    secondDeliveryMs: 180_000,
    lifetimeMs: 540_000,
    shortLived: { workflowId: 6, nextEventWait: 60 },
  },
];

/** Vonage calls the service made so far, from its own metrics (same for both APIs). */
async function vonageCalls(api: Api): Promise<number> {
  const text = await api.h.composed.metrics.registry.metrics();
  return text
    .split('\n')
    .filter((line) => line.startsWith('otp_vonage_calls_total{'))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
}

function wrongCode(code: string): string {
  return code.replace(/\d$/, (d) => String((Number(d) + 1) % 10));
}

describe.each(APIS)('Verify $name', (apiCase) => {
  let api: Api;
  beforeAll(async () => {
    api = await apiCase.start();
  }, 30_000);
  afterAll(async () => {
    await api.close();
  });

  async function requestCode(
    phoneNumber = ukMobile(),
    caller: 'alpha' | 'beta' = 'alpha',
    extra: object = {},
  ) {
    const res = await api.h.as(caller).post('/api/request-token', { phoneNumber, ...extra });
    expect(res.status).toBe(201);
    return { phoneNumber, requestId: res.body.requestId as string, body: res.body };
  }

  test('request-token starts one verification and answers 201 with the resolved channels', async () => {
    const before = api.started();
    const phone = ukMobile();
    const { body } = await requestCode(phone.replace('+44', '0'), 'alpha', { country: 'GB' });
    expect(body).toEqual({
      requestId: expect.stringMatching(apiCase.requestIdPattern),
      phoneNumber: phone,
      status: 'pending',
      expiresAt: new Date(api.h.clock.now() + apiCase.lifetimeMs).toISOString(),
      channels: ['sms', 'voice', 'voice'],
    });
    expect(api.started()).toBe(before + 1);
    expect(api.delivered(body.requestId)).toEqual(['sms']);
  });

  test('verifies by requestId; then the request is spent (409 already_verified)', async () => {
    const { requestId, phoneNumber } = await requestCode();
    const code = api.code(requestId);
    const res = await api.h.as('alpha').post('/api/verify-token', { requestId, code });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ verified: true, requestId, phoneNumber });
    const again = await api.h.as('alpha').post('/api/verify-token', { requestId, code });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('already_verified');
  });

  test('verifies by phone number written in another form', async () => {
    const { requestId, phoneNumber } = await requestCode();
    const local = `0${phoneNumber.slice(3, 7)} ${phoneNumber.slice(7)}`;
    const res = await api.h
      .as('alpha')
      .post('/api/verify-token', { phoneNumber: local, country: 'GB', code: api.code(requestId) });
    expect(res.status).toBe(200);
    expect(res.body.requestId).toBe(requestId);
  });

  test('a wrong code is 422 code_mismatch and the request stays open', async () => {
    const { requestId } = await requestCode();
    const code = api.code(requestId);
    const bad = await api.h.as('alpha').post('/api/verify-token', { requestId, code: wrongCode(code) });
    expect(bad.status).toBe(422);
    expect(bad.body).toMatchObject({ code: 'code_mismatch', requestId });
    const good = await api.h.as('alpha').post('/api/verify-token', { requestId, code });
    expect(good.status).toBe(200);
  });

  test('too many wrong codes: 410 too_many_attempts, then the right code fails too', async () => {
    const { requestId } = await requestCode();
    const code = api.code(requestId);
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await api.h.as('alpha').post('/api/verify-token', { requestId, code: wrongCode(code) });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([422, 422, 410]);
    const after = await api.h.as('alpha').post('/api/verify-token', { requestId, code });
    expect(after.status).toBe(410);
    expect(after.body.code).toBe('too_many_attempts');
    const status = await api.h.as('alpha').get(`/api/verifications/${requestId}`);
    expect(status.body.status).toBe('failed');
    // Deliveries (v2 callbacks) arrive on their own time; the service's own entries are exact.
    const own = status.body.events.filter((e: { type: string }) => e.type !== 'delivery');
    expect(own.map((e: { type: string }) => e.type)).toEqual([
      'started',
      'check_failed',
      'check_failed',
      'check_failed',
      'failed',
    ]);
  });

  test('cancel inside the first 30 s: 409 cancel_not_allowed with retryAfterSeconds', async () => {
    const { requestId } = await requestCode();
    api.advance(10_000);
    const res = await api.h.as('alpha').post('/api/cancel', { requestId });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: 'cancel_not_allowed', requestId, retryAfterSeconds: 20 });
    expect(res.headers['retry-after']).toBe('20');
    expect(api.state(requestId)).toBe('in_progress');
  });

  test('cancel after 30 s: cancelled at Vonage, then verify answers 410 verification_expired', async () => {
    const { requestId, phoneNumber } = await requestCode();
    const code = api.code(requestId);
    api.advance(30_000);
    const res = await api.h.as('alpha').post('/api/cancel', { phoneNumber });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ cancelled: true, requestId });
    expect(api.state(requestId)).toBe('cancelled');
    const verify = await api.h.as('alpha').post('/api/verify-token', { requestId, code });
    expect(verify.status).toBe(410);
    expect(verify.body.code).toBe('verification_expired');
  });

  test('cancel after the second delivery: 409 cancel_not_allowed without retryAfterSeconds', async () => {
    const { requestId } = await requestCode();
    api.advance(apiCase.secondDeliveryMs + 5_000);
    const res = await api.h.as('alpha').post('/api/cancel', { requestId });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('cancel_not_allowed');
    expect(res.body.retryAfterSeconds).toBeUndefined();
  });

  test('own verification in flight, inside the cancel window: 409 verification_in_progress with its id', async () => {
    const first = await requestCode();
    api.advance(5_000);
    const res = await api.h.as('alpha').post('/api/request-token', { phoneNumber: first.phoneNumber });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({
      code: 'verification_in_progress',
      requestId: first.requestId,
      retryAfterSeconds: 25,
    });
    expect(res.headers['retry-after']).toBe('25');
    const ok = await api.h
      .as('alpha')
      .post('/api/verify-token', { requestId: first.requestId, code: api.code(first.requestId) });
    expect(ok.status).toBe(200);
  });

  test('own verification in flight, after the window: cancelled and started again (201 replacedRequestId)', async () => {
    const first = await requestCode();
    api.advance(31_000);
    const res = await api.h.as('alpha').post('/api/request-token', { phoneNumber: first.phoneNumber });
    expect(res.status).toBe(201);
    expect(res.body.replacedRequestId).toBe(first.requestId);
    expect(res.body.requestId).not.toBe(first.requestId);
    expect(api.state(first.requestId)).toBe('cancelled');
    const old = await api.h.as('alpha').get(`/api/verifications/${first.requestId}`);
    expect(old.body.status).toBe('cancelled');
    const ok = await api.h
      .as('alpha')
      .post('/api/verify-token', { phoneNumber: first.phoneNumber, code: api.code(res.body.requestId) });
    expect(ok.status).toBe(200);
    expect(ok.body.requestId).toBe(res.body.requestId);
  });

  test("another caller's verification in flight: 409 concurrent_verification revealing nothing", async () => {
    const theirs = await requestCode(ukMobile(), 'alpha');
    api.advance(40_000);
    const res = await api.h.as('beta').post('/api/request-token', { phoneNumber: theirs.phoneNumber });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('concurrent_verification');
    expect(JSON.stringify(res.body)).not.toContain(theirs.requestId);
    expect(res.body.requestId).toBeUndefined();
    expect(api.state(theirs.requestId)).toBe('in_progress');
  });

  test('next-event moves through the workflow to its end (409 no_more_events)', async () => {
    const { requestId, phoneNumber } = await requestCode(ukMobile(), 'alpha', { workflowId: 1 });
    const first = await api.h.as('alpha').post('/api/next-event', { requestId });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ requestId });
    const second = await api.h.as('alpha').post('/api/next-event', { phoneNumber });
    expect(second.status).toBe(200);
    const third = await api.h.as('alpha').post('/api/next-event', { requestId });
    expect(third.status).toBe(409);
    expect(third.body).toMatchObject({ code: 'no_more_events', requestId });
    expect(api.delivered(requestId)).toEqual(['sms', 'voice', 'voice']);
    const ok = await api.h.as('alpha').post('/api/verify-token', { requestId, code: api.code(requestId) });
    expect(ok.status).toBe(200);
  });

  test('status through its life: pending, then verified with finishedAt and its timeline', async () => {
    const { requestId, phoneNumber } = await requestCode();
    const created = new Date(api.h.clock.now()).toISOString();
    const pending = await api.h.as('alpha').get(`/api/verifications/${requestId}`);
    expect(pending.status).toBe(200);
    expect(pending.body).toEqual({
      requestId,
      phoneNumber,
      status: 'pending',
      createdAt: created,
      expiresAt: new Date(api.h.clock.now() + apiCase.lifetimeMs).toISOString(),
      channels: ['sms', 'voice', 'voice'],
      events: [{ at: created, type: 'started', channel: 'sms' }],
    });
    api.advance(2_000);
    await api.h.as('alpha').post('/api/next-event', { requestId });
    const code = api.code(requestId);
    await api.h.as('alpha').post('/api/verify-token', { requestId, code: wrongCode(code) });
    await api.h.as('alpha').post('/api/verify-token', { requestId, code });
    const verified = await api.h.as('alpha').get(`/api/verifications/${requestId}`);
    const now = new Date(api.h.clock.now()).toISOString();
    expect(verified.body).toMatchObject({ status: 'verified', finishedAt: now });
    const types = verified.body.events.map((e: { type: string }) => e.type);
    expect(types.filter((t: string) => t !== 'delivery')).toEqual([
      'started',
      'next_event',
      'check_failed',
      'verified',
    ]);
    expect(JSON.stringify(verified.body.events)).not.toContain(code);
  });

  test('a verification past its end reads as expired, and verify answers 410 without calling Vonage', async () => {
    const { requestId } = await requestCode(ukMobile(), 'alpha', apiCase.shortLived);
    const code = api.code(requestId);
    api.advance(61_000);
    const res = await api.h.as('alpha').get(`/api/verifications/${requestId}`);
    expect(res.body.status).toBe('expired');
    const calls = await vonageCalls(api);
    const verify = await api.h.as('alpha').post('/api/verify-token', { requestId, code });
    expect(verify.status).toBe(410);
    expect(verify.body.code).toBe('verification_expired');
    expect(await vonageCalls(api)).toBe(calls);
  });

  test("caller isolation: another caller's id or number answers like an unknown one, without calling Vonage", async () => {
    const { requestId, phoneNumber } = await requestCode(ukMobile(), 'alpha');
    const code = api.code(requestId);
    const calls = await vonageCalls(api);
    const unknown = 'ffffffffffffffffffffffffffffffff';
    const beta = api.h.as('beta');
    const theirs = await Promise.all([
      beta.post('/api/verify-token', { requestId, code }),
      beta.post('/api/verify-token', { phoneNumber, code }),
      beta.post('/api/cancel', { requestId }),
      beta.post('/api/cancel', { phoneNumber }),
      beta.post('/api/next-event', { requestId }),
      beta.post('/api/next-event', { phoneNumber }),
      beta.get(`/api/verifications/${requestId}`),
    ]);
    const nobody = await beta.post('/api/verify-token', { requestId: unknown, code });
    const shape = (res: { status: number; body: Record<string, unknown> }) => ({
      ...res.body,
      status: res.status,
    });
    for (const res of theirs) expect(shape(res)).toEqual(shape(nobody));
    expect(await vonageCalls(api)).toBe(calls);
    const ok = await api.h.as('alpha').post('/api/verify-token', { requestId, code });
    expect(ok.status).toBe(200);
  });

  test('50 racing request-tokens for one number start exactly one verification', async () => {
    const phoneNumber = ukMobile();
    const before = api.started();
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => api.h.as('alpha').post('/api/request-token', { phoneNumber })),
    );
    const created = answers.filter((res) => res.status === 201);
    expect(created).toHaveLength(1);
    const requestId = created[0]?.body.requestId;
    for (const res of answers.filter((r) => r.status !== 201)) {
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({ code: 'verification_in_progress', requestId });
    }
    expect(api.started()).toBe(before + 1);
    expect(api.delivered(requestId)).toEqual(['sms']);
  }, 30_000);
});
