// Component tests of the whole flow over HTTP: real Redis, the real Vonage SDK talking to the simulator,
// one virtual clock shared by the service and the simulator.

import { codeFor, type Harness, startHarness, ukMobile } from '../support/harness';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h.close();
});

async function requestCode(phoneNumber = ukMobile(), caller: 'alpha' | 'beta' = 'alpha', extra: object = {}) {
  const res = await h.as(caller).post('/api/request-token', { phoneNumber, ...extra });
  expect(res.status).toBe(201);
  return { phoneNumber, requestId: res.body.requestId as string, body: res.body };
}

function wrongCode(code: string): string {
  return code.replace(/\d$/, (d) => String((Number(d) + 1) % 10));
}

describe('request-token', () => {
  test('starts a verification at Vonage and answers 201 pending with E.164 and expiry', async () => {
    const before = h.sim.stats.verificationsStarted;
    const phone = ukMobile();
    const { body } = await requestCode(phone.replace('+44', '0'), 'alpha', { country: 'GB' });
    expect(body).toEqual({
      requestId: expect.stringMatching(/^[0-9a-f]{32}$/),
      phoneNumber: phone,
      status: 'pending',
      // Workflow 1 with Vonage's default waits: SMS, 125 s, voice, 180 s, voice, 300 s, then it ends.
      expiresAt: new Date(h.clock.now() + 605_000).toISOString(),
      channels: ['sms', 'voice', 'voice'],
    });
    expect(h.sim.stats.verificationsStarted).toBe(before + 1);
    const delivered = h.sim.messages({ requestId: body.requestId });
    expect(delivered).toHaveLength(1);
    expect(delivered[0]?.number).toBe(phone.slice(1));
    expect(delivered[0]?.code).toMatch(/^\d{6}$/);
  });

  test.each([
    ['+44 7400 123456', undefined, '+447400123456'],
    ['447400123457', undefined, '+447400123457'],
    ['07400 123458', 'GB', '+447400123458'],
    ['(0)7400-123459', 'gb', '+447400123459'],
    ['+1 (201) 555-0123', undefined, '+12015550123'],
    ['(201) 555-0124', 'US', '+12015550124'],
  ])('accepts %s (country %s) as %s', async (written, country, e164) => {
    const res = await h
      .as('alpha')
      .post('/api/request-token', { phoneNumber: written, ...(country ? { country } : {}) });
    expect(res.status).toBe(201);
    expect(res.body.phoneNumber).toBe(e164);
    await h
      .as('alpha')
      .post('/api/verify-token', { requestId: res.body.requestId, code: codeFor(h.sim, res.body.requestId) });
  });

  test.each([
    ['12345', undefined],
    ['+44 123', undefined],
    ['07400 123456', undefined],
    ['not a number', 'GB'],
  ])('refuses %s (country %s) with invalid_phone_number and no Vonage call', async (written, country) => {
    const calls = h.sim.stats.calls.start;
    const res = await h
      .as('alpha')
      .post('/api/request-token', { phoneNumber: written, ...(country ? { country } : {}) });
    expect(res.status).toBe(400);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.code).toBe('invalid_phone_number');
    expect(h.sim.stats.calls.start).toBe(calls);
  });

  test('status 10 inside the cancel window: 409 verification_in_progress with the caller own requestId', async () => {
    const first = await requestCode();
    h.sim.advance(5_000);
    const res = await h.as('alpha').post('/api/request-token', { phoneNumber: first.phoneNumber });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({
      code: 'verification_in_progress',
      requestId: first.requestId,
      retryAfterSeconds: 25,
    });
    expect(res.headers['retry-after']).toBe('25');
    // The code already sent is still the one that verifies.
    const ok = await h
      .as('alpha')
      .post('/api/verify-token', { requestId: first.requestId, code: codeFor(h.sim, first.requestId) });
    expect(ok.status).toBe(200);
  });

  test('status 10 after the cancel window: cancels the old one and starts again (201 replacedRequestId)', async () => {
    const first = await requestCode();
    h.sim.advance(31_000);
    const res = await h.as('alpha').post('/api/request-token', { phoneNumber: first.phoneNumber });
    expect(res.status).toBe(201);
    expect(res.body.replacedRequestId).toBe(first.requestId);
    expect(res.body.requestId).not.toBe(first.requestId);
    expect(h.sim.requestState(first.requestId)?.status).toBe('CANCELLED');
    const old = await h.as('alpha').get(`/api/verifications/${first.requestId}`);
    expect(old.body.status).toBe('cancelled');
    const ok = await h.as('alpha').post('/api/verify-token', {
      phoneNumber: first.phoneNumber,
      code: codeFor(h.sim, res.body.requestId),
    });
    expect(ok.status).toBe(200);
    expect(ok.body.requestId).toBe(res.body.requestId);
  });

  test('status 10 for another caller in-flight number: 409 concurrent_verification revealing nothing', async () => {
    const theirs = await requestCode(ukMobile(), 'alpha');
    h.sim.advance(40_000);
    const res = await h.as('beta').post('/api/request-token', { phoneNumber: theirs.phoneNumber });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('concurrent_verification');
    expect(JSON.stringify(res.body)).not.toContain(theirs.requestId);
    expect(res.body.requestId).toBeUndefined();
    // Theirs was not cancelled.
    expect(h.sim.requestState(theirs.requestId)?.status).toBe('IN PROGRESS');
  });

  test('50 racing request-tokens for one number start exactly one verification at Vonage', async () => {
    const phoneNumber = ukMobile();
    const startsBefore = h.sim.stats.verificationsStarted;
    const answers = await Promise.all(
      Array.from({ length: 50 }, () => h.as('alpha').post('/api/request-token', { phoneNumber })),
    );
    const created = answers.filter((res) => res.status === 201);
    expect(created).toHaveLength(1);
    const requestId = created[0]?.body.requestId;
    for (const res of answers.filter((r) => r.status !== 201)) {
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({ code: 'verification_in_progress', requestId });
    }
    expect(h.sim.stats.verificationsStarted).toBe(startsBefore + 1);
    expect(h.sim.messages({ number: phoneNumber.slice(1) })).toHaveLength(1);
  });
});

describe('verify-token', () => {
  test('verifies by requestId, then the request is spent (409 already_verified)', async () => {
    const { requestId, phoneNumber } = await requestCode();
    const code = codeFor(h.sim, requestId);
    const res = await h.as('alpha').post('/api/verify-token', { requestId, code });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ verified: true, requestId, phoneNumber });
    const again = await h.as('alpha').post('/api/verify-token', { requestId, code });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('already_verified');
    const cancel = await h.as('alpha').post('/api/cancel', { requestId });
    expect(cancel.status).toBe(409);
    expect(cancel.body.code).toBe('already_verified');
  });

  test('verifies by phone number written in another form', async () => {
    const { requestId, phoneNumber } = await requestCode();
    const local = `0${phoneNumber.slice(3, 7)} ${phoneNumber.slice(7)}`;
    const res = await h
      .as('alpha')
      .post('/api/verify-token', { phoneNumber: local, country: 'GB', code: codeFor(h.sim, requestId) });
    expect(res.status).toBe(200);
    expect(res.body.requestId).toBe(requestId);
  });

  test('a wrong code is 422 code_mismatch and the request stays open', async () => {
    const { requestId } = await requestCode();
    const code = codeFor(h.sim, requestId);
    const bad = await h.as('alpha').post('/api/verify-token', { requestId, code: wrongCode(code) });
    expect(bad.status).toBe(422);
    expect(bad.body).toMatchObject({ code: 'code_mismatch', requestId });
    const good = await h.as('alpha').post('/api/verify-token', { requestId, code });
    expect(good.status).toBe(200);
  });

  test('too many wrong codes: 410 too_many_attempts, and the right code no longer works', async () => {
    const { requestId } = await requestCode();
    const code = codeFor(h.sim, requestId);
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      statuses.push(
        (await h.as('alpha').post('/api/verify-token', { requestId, code: wrongCode(code) })).status,
      );
    }
    expect(statuses).toEqual([422, 422, 410]);
    const after = await h.as('alpha').post('/api/verify-token', { requestId, code });
    expect(after.status).toBe(410);
    expect(after.body.code).toBe('too_many_attempts');
    const status = await h.as('alpha').get(`/api/verifications/${requestId}`);
    expect(status.body.status).toBe('failed');
  });

  test('an expired verification answers 410 verification_expired without calling Vonage', async () => {
    const { requestId } = await requestCode(ukMobile(), 'alpha', { pinExpiry: 60 });
    h.sim.advance(600_000);
    const code = codeFor(h.sim, requestId);
    h.sim.advance(5_000);
    expect(h.sim.requestState(requestId)?.status).toBe('EXPIRED');
    const checks = h.sim.stats.calls.check;
    const res = await h.as('alpha').post('/api/verify-token', { requestId, code });
    expect(res.status).toBe(410);
    expect(res.body.code).toBe('verification_expired');
    expect(h.sim.stats.calls.check).toBe(checks);
  });

  test('20 racing correct checks give exactly one 200', async () => {
    const { requestId } = await requestCode();
    const code = codeFor(h.sim, requestId);
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => h.as('alpha').post('/api/verify-token', { requestId, code })),
    );
    const statuses = answers.map((res) => res.status).sort();
    expect(statuses.filter((s) => s === 200)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(19);
    for (const res of answers.filter((r) => r.status === 409)) expect(res.body.code).toBe('already_verified');
  });

  test('unknown ids and numbers are 404 verification_not_found', async () => {
    const byId = await h
      .as('alpha')
      .post('/api/verify-token', { requestId: 'ffffffffffffffffffffffffffffffff', code: '1234' });
    expect(byId.status).toBe(404);
    expect(byId.body.code).toBe('verification_not_found');
    const byNumber = await h.as('alpha').post('/api/verify-token', { phoneNumber: ukMobile(), code: '1234' });
    expect(byNumber.status).toBe(404);
  });
});

describe('cancel', () => {
  test('inside the first 30 s: 409 cancel_not_allowed with retryAfterSeconds', async () => {
    const { requestId } = await requestCode();
    h.sim.advance(10_000);
    const res = await h.as('alpha').post('/api/cancel', { requestId });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: 'cancel_not_allowed', requestId, retryAfterSeconds: 20 });
    expect(res.headers['retry-after']).toBe('20');
  });

  test('after 30 s: cancelled, then verify answers 410 verification_expired', async () => {
    const { requestId, phoneNumber } = await requestCode();
    const code = codeFor(h.sim, requestId);
    h.sim.advance(30_000);
    const res = await h.as('alpha').post('/api/cancel', { phoneNumber });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ cancelled: true, requestId });
    expect(h.sim.requestState(requestId)?.status).toBe('CANCELLED');
    const verify = await h.as('alpha').post('/api/verify-token', { requestId, code });
    expect(verify.status).toBe(410);
    expect(verify.body.code).toBe('verification_expired');
  });

  test('after the second delivery: 409 cancel_not_allowed without retryAfterSeconds', async () => {
    const { requestId } = await requestCode();
    h.sim.advance(130_000);
    const res = await h.as('alpha').post('/api/cancel', { requestId });
    expect(res.status).toBe(409);
    expect(res.body.code).toBe('cancel_not_allowed');
    expect(res.body.retryAfterSeconds).toBeUndefined();
  });
});

describe('next-event', () => {
  test('moves through the workflow until nothing is left (409 no_more_events)', async () => {
    const { requestId, phoneNumber } = await requestCode(ukMobile(), 'alpha', { workflowId: 1 });
    const first = await h.as('alpha').post('/api/next-event', { requestId });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ requestId });
    const second = await h.as('alpha').post('/api/next-event', { phoneNumber });
    expect(second.status).toBe(200);
    const third = await h.as('alpha').post('/api/next-event', { requestId });
    expect(third.status).toBe(409);
    expect(third.body).toMatchObject({ code: 'no_more_events', requestId });
    expect(h.sim.messages({ requestId }).map((m) => m.channel)).toEqual(['sms', 'tts', 'tts']);
    const ok = await h.as('alpha').post('/api/verify-token', { requestId, code: codeFor(h.sim, requestId) });
    expect(ok.status).toBe(200);
  });
});

describe('status', () => {
  test('shows a verification through its life: pending, verified with finishedAt', async () => {
    const { requestId, phoneNumber } = await requestCode();
    const created = new Date(h.clock.now()).toISOString();
    const pending = await h.as('alpha').get(`/api/verifications/${requestId}`);
    expect(pending.status).toBe(200);
    expect(pending.body).toEqual({
      requestId,
      phoneNumber,
      status: 'pending',
      createdAt: created,
      expiresAt: new Date(h.clock.now() + 605_000).toISOString(),
      channels: ['sms', 'voice', 'voice'],
      events: [{ at: created, type: 'started', channel: 'sms' }],
    });
    h.sim.advance(2_000);
    await h.as('alpha').post('/api/verify-token', { requestId, code: codeFor(h.sim, requestId) });
    const verified = await h.as('alpha').get(`/api/verifications/${requestId}`);
    expect(verified.body).toMatchObject({
      status: 'verified',
      finishedAt: new Date(h.clock.now()).toISOString(),
    });
  });

  test('a pending verification past its expiry reads as expired', async () => {
    const { requestId } = await requestCode(ukMobile(), 'alpha', { pinExpiry: 60 });
    h.sim.advance(604_000);
    expect((await h.as('alpha').get(`/api/verifications/${requestId}`)).body.status).toBe('pending');
    h.sim.advance(1_000);
    const res = await h.as('alpha').get(`/api/verifications/${requestId}`);
    expect(res.body.status).toBe('expired');
  });
});

describe('caller isolation', () => {
  test('another caller id or number answers exactly like an unknown one, without calling Vonage', async () => {
    const { requestId, phoneNumber } = await requestCode(ukMobile(), 'alpha');
    const code = codeFor(h.sim, requestId);
    const calls = { ...h.sim.stats.calls };
    const unknown = 'ffffffffffffffffffffffffffffffff';
    const attempts = [
      () => h.as('beta').post('/api/verify-token', { requestId, code }),
      () => h.as('beta').post('/api/verify-token', { phoneNumber, code }),
      () => h.as('beta').post('/api/cancel', { requestId }),
      () => h.as('beta').post('/api/cancel', { phoneNumber }),
      () => h.as('beta').post('/api/next-event', { requestId }),
      () => h.as('beta').post('/api/next-event', { phoneNumber }),
      () => h.as('beta').get(`/api/verifications/${requestId}`),
    ];
    const unknownAttempts = [
      () => h.as('beta').post('/api/verify-token', { requestId: unknown, code }),
      () => h.as('beta').get(`/api/verifications/${unknown}`),
    ];
    const [theirs, nobody] = await Promise.all([
      Promise.all(attempts.map((a) => a())),
      Promise.all(unknownAttempts.map((a) => a())),
    ]);
    const shape = (res: { status: number; body: Record<string, unknown> }) => ({
      ...res.body,
      status: res.status,
    });
    for (const res of theirs) expect(shape(res)).toEqual(shape(nobody[0] ?? res));
    expect(h.sim.stats.calls).toEqual(calls);
    // And alpha's verification is untouched.
    const ok = await h.as('alpha').post('/api/verify-token', { requestId, code });
    expect(ok.status).toBe(200);
  });

  test('every /api endpoint needs a valid key', async () => {
    const calls = [
      h.http.post('/api/request-token').send({ phoneNumber: ukMobile() }),
      h.http
        .post('/api/verify-token')
        .set('Authorization', 'Bearer wrong')
        .send({ requestId: 'x', code: '1234' }),
      h.http.post('/api/cancel').set('Authorization', 'Basic a2V5OnNlY3JldA==').send({ requestId: 'x' }),
      h.http.post('/api/next-event').send({ requestId: 'x' }),
      h.http.get('/api/verifications/x'),
    ];
    for (const res of await Promise.all(calls)) {
      expect(res.status).toBe(401);
      expect(res.body.code).toBe('unauthorized');
    }
  });
});

describe('timings', () => {
  test('with nextEventWait, the verification lasts its deliveries times that wait, whatever pinExpiry', async () => {
    const res = await h.as('alpha').post('/api/request-token', {
      phoneNumber: ukMobile(),
      pinExpiry: 300,
      nextEventWait: 120,
    });
    expect(res.status).toBe(201);
    // Workflow 1: three deliveries, 120 s apart, and 120 s after the last one Vonage ends it.
    expect(res.body.expiresAt).toBe(new Date(h.clock.now() + 360_000).toISOString());
    const sms = await h.as('alpha').post('/api/request-token', {
      phoneNumber: ukMobile(),
      pinExpiry: 240,
      nextEventWait: 120,
      workflowId: 4,
    });
    expect(sms.body.expiresAt).toBe(new Date(h.clock.now() + 240_000).toISOString());
    h.sim.advance(239_000);
    expect(h.sim.requestState(sms.body.requestId)?.status).toBe('IN PROGRESS');
    h.sim.advance(1_000);
    expect(h.sim.requestState(sms.body.requestId)?.status).toBe('EXPIRED');
    expect(h.sim.requestState(res.body.requestId)?.status).toBe('IN PROGRESS');
  });
});
