// The Verify v2 simulator's authentication (RS256 JWT against the application's public key, Basic), its
// fault switches as the real SDK sees them, the control API, and how verify2's cancel() and nextWorkflow()
// hide every failure behind `false` while the SDK's own sendDeleteRequest/sendPostRequest keep the status.

import type { VerificationRequestParams } from '@vonage/verify2';
import { VetchError } from '@vonage/vetch';
import {
  APPLICATION_ID,
  call,
  closeAll,
  failure,
  freshNumber,
  type Harness,
  harness,
  hs256Token,
  KEYS,
  OTHER_KEYS,
  rs256Token,
  SECOND,
  sdk,
  validClaims,
} from './harness';

function smsRequest(to = freshNumber()): VerificationRequestParams {
  return { brand: 'Acme', workflow: [{ channel: 'sms', to }] } as unknown as VerificationRequestParams;
}

const UNAUTHORIZED = {
  type: 'https://developer.vonage.com/api-errors#unauthorized',
  title: 'Unauthorized',
  detail: 'You did not provide correct credentials',
  instance: expect.any(String),
};

afterAll(closeAll);

describe('authentication', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness({ apiKey: 'acct-key', apiSecret: 'acct-secret' });
  });

  it('accepts the SDK: a fresh RS256 JWT signed with the application private key', async () => {
    const { requestId } = await h.vonage.verify2.newRequest(smsRequest());
    expect(requestId).toEqual(expect.any(String));
  });

  it('refuses the SDK when it signs with another private key', async () => {
    const stranger = sdk(h.sim.url, OTHER_KEYS.privateKey);
    const to = freshNumber();
    expect(await failure(stranger.verify2.newRequest(smsRequest(to)))).toEqual({
      status: 401,
      body: UNAUTHORIZED,
    });
    expect(h.sim.messages({ to })).toEqual([]);
  });

  it('refuses the SDK with another application id', async () => {
    const other = sdk(h.sim.url, KEYS.privateKey, 5000, 'another-application');
    expect((await failure(other.verify2.newRequest(smsRequest()))).status).toBe(401);
  });

  const now = () => Math.floor(Date.now() / 1000);
  it.each([
    ['no Authorization header', null, UNAUTHORIZED],
    ['a token that is not a JWT', 'not-a-jwt', UNAUTHORIZED],
    ['signed by another key', rs256Token(OTHER_KEYS.privateKey, validClaims()), UNAUTHORIZED],
    [
      'alg none',
      `${rs256Token(KEYS.privateKey, validClaims(), { alg: 'none' }).split('.').slice(0, 2).join('.')}.`,
      UNAUTHORIZED,
    ],
    ['HS256 with the public key as secret', hs256Token(KEYS.publicKey, validClaims()), UNAUTHORIZED],
    [
      'a tampered payload',
      (() => {
        const [header, , signature] = rs256Token(KEYS.privateKey, validClaims()).split('.');
        const claims = Buffer.from(JSON.stringify(validClaims({ jti: 'tampered' }))).toString('base64url');
        return `${header}.${claims}.${signature}`;
      })(),
      UNAUTHORIZED,
    ],
    [
      'no application_id',
      rs256Token(KEYS.privateKey, validClaims({ application_id: undefined })),
      UNAUTHORIZED,
    ],
    ['no exp', rs256Token(KEYS.privateKey, validClaims({ exp: undefined })), UNAUTHORIZED],
    [
      'an expired token',
      rs256Token(KEYS.privateKey, validClaims({ iat: now() - 1000, exp: now() - 100 })),
      {
        type: 'https://developer.vonage.com/en/api-errors#jwt-expired',
        title: 'You did not provide correct credentials.',
        detail: 'The JWT provided has expired.',
        instance: expect.any(String),
      },
    ],
  ])('%s → 401 problem', async (_case, token, body) => {
    for (const [method, path, payload] of [
      ['POST', '/v2/verify', { brand: 'Acme', workflow: [{ channel: 'sms', to: freshNumber() }] }],
      ['POST', '/v2/verify/6a3c1f47-1111-4222-8333-444455556666', { code: '1234' }],
      ['DELETE', '/v2/verify/6a3c1f47-1111-4222-8333-444455556666', undefined],
      ['POST', '/v2/verify/6a3c1f47-1111-4222-8333-444455556666/next_workflow', undefined],
    ] as const) {
      const res = await call(h.sim.url, method, path, payload, token);
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toBe('application/problem+json');
      expect(await res.json()).toEqual(body);
    }
  });

  it('accepts Basic with the account key and secret (no callbacks for those), refuses a wrong secret', async () => {
    const basic = (secret: string) =>
      fetch(`${h.sim.url}/v2/verify`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Basic ${Buffer.from(`acct-key:${secret}`).toString('base64')}`,
        },
        body: JSON.stringify({ brand: 'Acme', workflow: [{ channel: 'sms', to: freshNumber() }] }),
      });
    expect((await basic('acct-secret')).status).toBe(202);
    expect((await basic('wrong')).status).toBe(401);
  });

  it('a valid token for this application passes whatever its jti', async () => {
    const res = await call(
      h.sim.url,
      'POST',
      '/v2/verify',
      { brand: 'Acme', workflow: [{ channel: 'sms', to: freshNumber() }] },
      rs256Token(KEYS.privateKey, validClaims({ application_id: APPLICATION_ID })),
    );
    expect(res.status).toBe(202);
  });
});

describe('fault switches through the SDK', () => {
  it.each([
    ['http500', 500, 'Internal error', null],
    ['http401', 401, 'Unauthorized', null],
    ['http402', 402, 'Low balance', null],
    ['http429', 429, 'Rate Limit Hit', '1'],
    ['http429NoRetryAfter', 429, 'Rate Limit Hit', null],
  ] as const)(
    '%s: newRequest rejects with VetchError %i and a problem body',
    async (mode, status, title, retryAfter) => {
      const h = await harness();
      h.sim.faults.set({ mode, times: 1 });
      let caught: unknown;
      try {
        await h.vonage.verify2.newRequest(smsRequest());
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(VetchError);
      const response = (caught as VetchError).response as Response;
      expect(response.status).toBe(status);
      expect(response.headers.get('content-type')).toBe('application/problem+json');
      expect(response.headers.get('retry-after')).toBe(retryAfter);
      expect(await response.json()).toMatchObject({
        title,
        type: expect.any(String),
        instance: expect.any(String),
      });
      // times: 1 — the next call goes through, and the faulted one started nothing.
      expect(h.sim.messages()).toEqual([]);
      await h.vonage.verify2.newRequest(smsRequest());
    },
  );

  it('hang: the SDK gives up at its timeout with an AbortError', async () => {
    const h = await harness({}, { timeout: 300 });
    h.sim.faults.set({ mode: 'hang' });
    const began = performance.now();
    await expect(h.vonage.verify2.newRequest(smsRequest())).rejects.toMatchObject({ name: 'AbortError' });
    expect(performance.now() - began).toBeLessThan(10 * SECOND);
  });

  it('badJson: a 200 whose JSON is cut short makes newRequest throw', async () => {
    const h = await harness();
    h.sim.faults.set({ mode: 'badJson' });
    await expect(h.vonage.verify2.newRequest(smsRequest())).rejects.toThrow();
  });

  it('notJson: a 200 text/plain answer makes newRequest resolve without a request id', async () => {
    const h = await harness();
    h.sim.faults.set({ mode: 'notJson' });
    expect(await h.vonage.verify2.newRequest(smsRequest())).toEqual({
      requestId: undefined,
      checkUrl: undefined,
    });
  });

  it('reset: the connection drops and fetch fails', async () => {
    const h = await harness();
    h.sim.faults.set({ mode: 'reset' });
    await expect(h.vonage.verify2.newRequest(smsRequest())).rejects.toThrow(/fetch failed/);
  });

  it('a fault limited to some operations leaves the others alone, and clear() ends it', async () => {
    const h = await harness();
    const { requestId } = await h.vonage.verify2.newRequest(smsRequest());
    h.sim.faults.set({ mode: 'http500', operations: ['check'] });
    expect((await failure(h.vonage.verify2.checkCode(requestId, '0000'))).status).toBe(500);
    await h.vonage.verify2.newRequest(smsRequest());
    h.sim.faults.clear();
    const code = h.sim.messages({ requestId })[0]?.code ?? '';
    expect(await h.vonage.verify2.checkCode(requestId, code)).toBe('completed');
  });

  it('replicationDelay: next_workflow answers the retryable 409; other operations ignore it', async () => {
    const h = await harness();
    const to = freshNumber();
    const { requestId } = await h.vonage.verify2.newRequest({
      brand: 'Acme',
      workflow: [
        { channel: 'sms', to },
        { channel: 'voice', to },
      ],
    } as unknown as VerificationRequestParams);
    h.sim.faults.set({ mode: 'replicationDelay', times: 1 });
    const res = await call(h.sim.url, 'POST', `/v2/verify/${requestId}/next_workflow`);
    expect(res.status).toBe(409);
    expect(await res.json()).toEqual({
      type: 'https://developer.vonage.com/en/api-errors/verify-v2#conflict',
      title: 'Conflict',
      detail: 'The operation cannot be performed at this time. Please try again later.',
      instance: expect.any(String),
    });
    expect(await h.vonage.verify2.nextWorkflow(requestId)).toBe(true);
    expect(h.sim.messages({ requestId })[0]?.channel).toBe('voice');
  });

  it('refuses an unknown fault mode', async () => {
    const h = await harness();
    expect(() => h.sim.faults.set({ mode: 'nope' as 'hang' })).toThrow(RangeError);
  });
});

describe('verify2 cancel() and nextWorkflow() hide errors', () => {
  // Both methods wrap the call in try/catch and resolve false on ANY failure, so a caller cannot tell
  // "too early to cancel" from "unknown id" from "Vonage is down". The SDK's public sendDeleteRequest /
  // sendPostRequest (what a gateway should call) reject with a VetchError that keeps the status.
  const unknown = '6a3c1f47-1111-4222-8333-444455556666';

  it.each([
    ['unknown id', 404, 'none'],
    ['inside the 30 s window', 409, 'fresh'],
    ['HTTP 500', 500, 'http500'],
  ] as const)('cancel(): %s → false; sendDeleteRequest shows %i', async (_case, status, setup) => {
    const h = await harness();
    let id = unknown;
    if (setup !== 'none') id = (await h.vonage.verify2.newRequest(smsRequest())).requestId;
    if (setup === 'http500') h.sim.faults.set({ mode: 'http500', operations: ['cancel'] });
    expect(await h.vonage.verify2.cancel(id)).toBe(false);
    const direct = await failure(h.vonage.verify2.sendDeleteRequest(`${h.sim.url}/v2/verify/${id}`));
    expect(direct.status).toBe(status);
  });

  it('cancel(): a connection reset → false too', async () => {
    const h = await harness();
    const { requestId } = await h.vonage.verify2.newRequest(smsRequest());
    h.sim.advance(30 * SECOND);
    h.sim.faults.set({ mode: 'reset', times: 1 });
    expect(await h.vonage.verify2.cancel(requestId)).toBe(false);
    expect(await h.vonage.verify2.cancel(requestId)).toBe(true);
  });

  it.each([
    ['unknown id', 404, 'none'],
    ['no more steps', 409, 'single'],
    ['HTTP 500', 500, 'http500'],
  ] as const)('nextWorkflow(): %s → false; sendPostRequest shows %i', async (_case, status, setup) => {
    const h = await harness();
    let id = unknown;
    if (setup !== 'none') id = (await h.vonage.verify2.newRequest(smsRequest())).requestId;
    if (setup === 'http500') h.sim.faults.set({ mode: 'http500', operations: ['next'] });
    expect(await h.vonage.verify2.nextWorkflow(id)).toBe(false);
    const direct = await failure(
      h.vonage.verify2.sendPostRequest(`${h.sim.url}/v2/verify/${id}/next_workflow`),
    );
    expect(direct.status).toBe(status);
  });
});

describe('control API over HTTP', () => {
  it('faults, messages, request state, clock and reset can be driven by another process', async () => {
    const h = await harness();
    const control = (method: string, path: string, body?: unknown) =>
      fetch(`${h.sim.url}/_simulator${path}`, {
        method,
        headers: { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    const to = freshNumber();
    const { requestId } = await h.vonage.verify2.newRequest(smsRequest(to));
    const listed = (await (await control('GET', `/messages?to=${to}`)).json()) as {
      messages: { requestId: string }[];
    };
    expect(listed.messages.map((m) => m.requestId)).toEqual([requestId]);
    expect(await (await control('GET', `/requests/${requestId}`)).json()).toMatchObject({
      status: 'in_progress',
      currentStep: 0,
    });
    expect((await control('PUT', '/fault', { mode: 'http500', times: 1 })).status).toBe(200);
    expect((await failure(h.vonage.verify2.newRequest(smsRequest()))).status).toBe(500);
    expect((await control('PUT', '/fault', { mode: 'bogus' })).status).toBe(400);
    expect((await control('POST', '/clock/advance', { ms: 180 * SECOND })).status).toBe(200);
    expect(await (await control('GET', `/requests/${requestId}`)).json()).toMatchObject({
      status: 'expired',
    });
    expect((await control('POST', '/reset')).status).toBe(204);
    expect(await (await control('GET', '/messages')).json()).toEqual({ messages: [] });
    expect((await control('GET', `/requests/${requestId}`)).status).toBe(404);
  });
});
