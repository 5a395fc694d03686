// POST /webhooks/vonage/verify: Verify v2's signed callbacks, as the v2 simulator sends them (through its
// switches for duplicates, unsigned, badly signed and tampered callbacks) and as crafted here with an
// independent HS256 signer. What changes is seen the way a caller sees it: GET /api/verifications/:id.

import { createHash, createHmac, randomUUID } from 'node:crypto';
import { codeForV2, startV2Harness, ukMobile, V2_SIGNATURE_SECRET, type V2Harness } from '../support/harness';

const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** An HS256 callback token over `body`, as Vonage signs: payload_hash = SHA-256 hex of the body bytes. */
function sign(body: string, options: { secret?: string; claims?: object; header?: object } = {}): string {
  const header = b64(options.header ?? { alg: 'HS256', typ: 'JWT' });
  const claims = b64({
    iat: Math.floor(Date.now() / 1000),
    jti: randomUUID(),
    iss: 'Vonage',
    payload_hash: createHash('sha256').update(body).digest('hex'),
    ...options.claims,
  });
  const signature = createHmac('sha256', options.secret ?? V2_SIGNATURE_SECRET)
    .update(`${header}.${claims}`)
    .digest('base64url');
  return `${header}.${claims}.${signature}`;
}

function summary(requestId: string, status: string, workflow: object[] = []): string {
  return JSON.stringify({
    request_id: requestId,
    submitted_at: '2026-01-01T12:00:00.000Z',
    status,
    type: 'summary',
    channel_timeout: 180,
    workflow,
  });
}

function event(requestId: string, channel: string, status: string, at = '2026-01-01T12:00:20.000Z'): string {
  return JSON.stringify({
    request_id: requestId,
    triggered_at: '2026-01-01T12:00:00.000Z',
    type: 'event',
    channel,
    status,
    finalized_at: at,
    channel_timeout: 180,
  });
}

describe('the webhook with a signature secret', () => {
  let h: V2Harness;
  beforeAll(async () => {
    h = await startV2Harness();
  }, 30_000);
  afterAll(async () => {
    await h.close();
  });
  afterEach(() => h.sim.faults.clearCallback());

  const post = (body: string, token?: string) => {
    const req = h.http.post('/webhooks/vonage/verify').set('Content-Type', 'application/json');
    return (token === undefined ? req : req.set('Authorization', `Bearer ${token}`)).send(body);
  };
  const status = async (requestId: string) =>
    (await h.as('alpha').get(`/api/verifications/${requestId}`)).body;
  const start = async (extra: object = {}) => {
    const res = await h.as('alpha').post('/api/request-token', { phoneNumber: ukMobile(), ...extra });
    expect(res.status).toBe(201);
    return res.body.requestId as string;
  };

  test("valid callbacks from the simulator add the channel's delivery to the timeline", async () => {
    const requestId = await start();
    await h.as('alpha').post('/api/verify-token', { requestId, code: codeForV2(h.sim, requestId) });
    await h.sim.callbacksIdle();
    const sent = h.sim.callbacks({ requestId });
    expect(sent.map((c) => [c.kind, c.responseStatus])).toEqual([
      ['event', 200],
      ['summary', 200],
    ]);
    const body = await status(requestId);
    expect(body.status).toBe('verified');
    expect(body.events).toContainEqual(
      expect.objectContaining({ type: 'delivery', channel: 'sms', status: 'completed' }),
    );
  });

  test('a summary ends a pending verification: expired at Vonage is expired here, with its steps', async () => {
    const requestId = await start({ channels: ['sms', 'voice'], nextEventWait: 15 });
    h.sim.advance(31_000);
    await h.sim.callbacksIdle();
    const body = await status(requestId);
    expect(body.status).toBe('expired');
    const deliveries = body.events.filter((e: { type: string }) => e.type === 'delivery');
    expect(deliveries).toEqual([
      expect.objectContaining({ channel: 'sms', status: 'expired' }),
      expect.objectContaining({ channel: 'voice', status: 'expired' }),
    ]);
  });

  test.each([
    ['badSignature', 'signed with another secret'],
    ['badPayloadHash', 'whose payload_hash is not the body'],
    ['unsigned', 'without a token'],
  ] as const)('%s: a callback %s is 401 and changes nothing', async (mode, _what) => {
    const requestId = await start();
    h.sim.faults.setCallback({ mode });
    await h.as('alpha').post('/api/verify-token', { requestId, code: codeForV2(h.sim, requestId) });
    await h.sim.callbacksIdle();
    const sent = h.sim.callbacks({ requestId });
    expect(sent.length).toBeGreaterThan(0);
    for (const callback of sent) expect(callback.responseStatus).toBe(401);
    const body = await status(requestId);
    expect(body.events.filter((e: { type: string }) => e.type === 'delivery')).toEqual([]);
  });

  test('a crafted summary without a valid token does not end a verification', async () => {
    const requestId = await start();
    const body = summary(requestId, 'failed');
    const forged = [
      undefined,
      'not-a-jwt',
      sign(body, { secret: 'guessed-secret' }),
      sign(body, { header: { alg: 'none', typ: 'JWT' } }),
      sign(`${body} `),
      sign(body, { claims: { iat: Math.floor(Date.now() / 1000) - 3 * 24 * 3600 } }),
      sign(body, { claims: { exp: Math.floor(Date.now() / 1000) - 60 } }),
    ];
    for (const token of forged) {
      const res = await post(body, token);
      expect(res.status).toBe(401);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body.code).toBe('unauthorized');
    }
    expect((await status(requestId)).status).toBe('pending');
  });

  test('a repeated callback changes nothing twice', async () => {
    const requestId = await start();
    h.sim.faults.setCallback({ mode: 'duplicate' });
    await h.as('alpha').post('/api/verify-token', { requestId, code: codeForV2(h.sim, requestId) });
    await h.sim.callbacksIdle();
    expect(h.sim.callbacks({ requestId }).filter((c) => c.responseStatus === 200).length).toBeGreaterThan(2);
    const deliveries = (view: { events: { type: string }[] }) =>
      view.events.filter((e) => e.type === 'delivery');
    expect(deliveries(await status(requestId))).toHaveLength(1);
    // The same crafted callback three times: applied once.
    const body = event(requestId, 'voice', 'failed');
    expect((await post(body, sign(body))).status).toBe(200);
    const once = await status(requestId);
    for (let i = 0; i < 2; i++) expect((await post(body, sign(body))).status).toBe(200);
    const after = await status(requestId);
    expect(after).toEqual(once);
    expect(deliveries(after)).toHaveLength(2);
  });

  test('an unknown request id answers 200 and is ignored', async () => {
    const body = summary(randomUUID(), 'completed');
    const res = await post(body, sign(body));
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ received: true });
  });

  test('out of order: a verified verification stays verified whatever comes later', async () => {
    const requestId = await start();
    await h.as('alpha').post('/api/verify-token', { requestId, code: codeForV2(h.sim, requestId) });
    for (const body of [
      summary(requestId, 'failed'),
      summary(requestId, 'expired'),
      event(requestId, 'voice', 'failed'),
    ]) {
      expect((await post(body, sign(body))).status).toBe(200);
    }
    const after = await status(requestId);
    expect(after.status).toBe('verified');
    // The late delivery is history, kept in time order; the status did not move.
    expect(after.events.map((e: { type: string }) => e.type)).toContain('delivery');
  });

  test('out of order: the summary before the channel event; both are applied, once', async () => {
    const requestId = await start();
    const last = summary(requestId, 'failed', [
      { channel: 'sms', initiated_at: '2026-01-01T12:00:00.000Z', status: 'failed' },
    ]);
    const step = event(requestId, 'sms', 'failed', '2026-01-01T12:00:10.000Z');
    expect((await post(last, sign(last))).status).toBe(200);
    expect((await post(step, sign(step))).status).toBe(200);
    const after = await status(requestId);
    expect(after.status).toBe('failed');
    expect(after.events.filter((e: { type: string }) => e.type === 'delivery')).toEqual([
      { at: '2026-01-01T12:00:10.000Z', type: 'delivery', channel: 'sms', status: 'failed' },
    ]);
  });

  test('a signed body that is not JSON is 400; the route needs no API key', async () => {
    const res = await post('not json', sign('not json'));
    expect(res.status).toBe(400);
    expect(res.body.code).toBe('validation_failed');
  });
});

describe('the webhook without VONAGE_SIGNATURE_SECRET', () => {
  let h: V2Harness;
  beforeAll(async () => {
    h = await startV2Harness({ env: { VONAGE_SIGNATURE_SECRET: '' } });
  }, 30_000);
  afterAll(async () => {
    await h.close();
  });

  test('answers 401 to everything, a correctly signed callback included', async () => {
    const res = await h.as('alpha').post('/api/request-token', { phoneNumber: ukMobile() });
    const requestId = res.body.requestId as string;
    const body = summary(requestId, 'failed');
    for (const token of [sign(body), sign(body, { secret: '' }), undefined]) {
      const req = h.http.post('/webhooks/vonage/verify').set('Content-Type', 'application/json');
      const answer = await (token ? req.set('Authorization', `Bearer ${token}`) : req).send(body);
      expect(answer.status).toBe(401);
    }
    expect((await h.as('alpha').get(`/api/verifications/${requestId}`)).body.status).toBe('pending');
  });
});
