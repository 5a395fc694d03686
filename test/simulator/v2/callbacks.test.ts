// The Verify v2 simulator's callbacks, received by a real HTTP endpoint: per-channel events, the request
// summary, silent authentication's action_pending, the fraud block; each signed as Vonage signs webhooks
// (Bearer HS256 JWT with the signature secret, payload_hash = SHA-256 hex of the body) and checked here with
// the SDK's own verifySignature; retries on non-2xx; the switches that spoil callbacks.

import { createHash } from 'node:crypto';
import { verifySignature } from '@vonage/jwt';
import type { VerificationRequestParams } from '@vonage/verify2';
import {
  APPLICATION_ID,
  callbackReceiver,
  claimsOf,
  closeAll,
  failure,
  freshNumber,
  type Harness,
  harness,
  type Received,
  SECOND,
  SIGNATURE_SECRET,
  T0,
} from './harness';

type Body = Record<string, unknown>;

afterAll(closeAll);

function params(workflow: object[], extra: object = {}): VerificationRequestParams {
  return { brand: 'Acme', workflow, ...extra } as unknown as VerificationRequestParams;
}

async function withReceiver(
  statuses: number[] = [],
  options: Parameters<typeof harness>[0] = {},
): Promise<{ h: Harness; received: Received[] }> {
  const receiver = await callbackReceiver(statuses);
  const h = await harness({ callbackUrl: receiver.url, ...options });
  return { h, received: receiver.received };
}

function token(r: Received): string {
  const match = /^Bearer (\S+)$/.exec(r.headers.authorization ?? '');
  if (!match?.[1]) throw new Error('no Bearer token');
  return match[1];
}

/** What a receiving webhook must check: the HS256 signature, and payload_hash against the raw body. */
function verified(r: Received, secret = SIGNATURE_SECRET): boolean {
  const jwt = token(r);
  const hash = createHash('sha256').update(r.body).digest('hex');
  return verifySignature(jwt, secret) && claimsOf(jwt).payload_hash === hash;
}

const bodies = (received: Received[]) => received.map((r) => JSON.parse(r.body) as Body);

describe('callbacks', () => {
  it('a completed request sends a completed event, then the summary, signed and compact', async () => {
    const { h, received } = await withReceiver();
    const to = freshNumber();
    const { requestId } = await h.vonage.verify2.newRequest(
      params(
        [
          { channel: 'sms', to },
          { channel: 'voice', to },
        ],
        { clientRef: 'order42', channelTimeout: 60 },
      ),
    );
    h.sim.advance(60 * SECOND);
    h.sim.advance(5 * SECOND);
    const code = h.sim.messages({ requestId })[0]?.code ?? '';
    await h.vonage.verify2.checkCode(requestId, code);
    await h.sim.callbacksIdle();

    expect(bodies(received)).toEqual([
      {
        request_id: requestId,
        triggered_at: new Date(T0 + 60 * SECOND).toISOString(),
        type: 'event',
        channel: 'voice',
        status: 'completed',
        finalized_at: new Date(T0 + 65 * SECOND).toISOString(),
        channel_timeout: 60,
        client_ref: 'order42',
      },
      {
        request_id: requestId,
        submitted_at: new Date(T0).toISOString(),
        status: 'completed',
        type: 'summary',
        channel_timeout: 60,
        workflow: [
          { channel: 'sms', initiated_at: new Date(T0).toISOString(), status: 'expired' },
          { channel: 'voice', initiated_at: new Date(T0 + 60 * SECOND).toISOString(), status: 'completed' },
        ],
        client_ref: 'order42',
      },
    ]);
    for (const r of received) {
      expect(r.headers['content-type']).toBe('application/json');
      expect(r.body).toBe(JSON.stringify(JSON.parse(r.body)));
      expect(verified(r)).toBe(true);
      expect(verified(r, 'another-secret')).toBe(false);
      const claims = claimsOf(token(r));
      expect(claims).toMatchObject({ api_key: 'sandbox', application_id: APPLICATION_ID, iss: 'Vonage' });
      expect(claims.jti).toEqual(expect.any(String));
      expect(Math.abs(Number(claims.iat) - Date.now() / 1000)).toBeLessThan(60);
    }
    expect(new Set(received.map((r) => claimsOf(token(r)).jti)).size).toBe(2);
    expect(h.sim.callbacks({ requestId }).map((c) => [c.kind, c.delivered, c.responseStatus])).toEqual([
      ['event', true, 200],
      ['summary', true, 200],
    ]);
  });

  it('an expired request sends only the summary: tried steps expired, the rest unused', async () => {
    const { h, received } = await withReceiver();
    const to = freshNumber();
    const { requestId } = await h.vonage.verify2.newRequest(
      params(
        [
          { channel: 'sms', to },
          { channel: 'voice', to },
          { channel: 'voice', to },
        ],
        { channelTimeout: 15 },
      ),
    );
    await h.vonage.verify2.nextWorkflow(requestId);
    h.sim.advance(15 * SECOND);
    // next_workflow at T0 skipped step 1's wait; step 2 ran from T0 + 15 s.
    h.sim.advance(15 * SECOND);
    await h.sim.callbacksIdle();
    expect(bodies(received)).toEqual([
      expect.objectContaining({
        type: 'summary',
        status: 'expired',
        workflow: [
          { channel: 'sms', initiated_at: new Date(T0).toISOString(), status: 'expired' },
          { channel: 'voice', initiated_at: new Date(T0).toISOString(), status: 'expired' },
          { channel: 'voice', initiated_at: new Date(T0 + 15 * SECOND).toISOString(), status: 'expired' },
        ],
      }),
    ]);

    const single = await h.vonage.verify2.newRequest(
      params([
        { channel: 'sms', to: freshNumber() },
        { channel: 'voice', to: freshNumber() },
      ]),
    );
    h.sim.advance(180 * SECOND);
    await h.vonage.verify2.checkCode(
      single.requestId,
      h.sim.messages({ requestId: single.requestId })[0]?.code ?? '',
    );
    await h.sim.callbacksIdle();
    expect(bodies(received).at(-1)).toMatchObject({
      type: 'summary',
      workflow: [{ status: 'expired' }, { status: 'completed' }],
    });
  });

  it('three wrong codes send a failed event and a failed summary with the next step unused', async () => {
    const { h, received } = await withReceiver();
    const to = freshNumber();
    const { requestId } = await h.vonage.verify2.newRequest(
      params([
        { channel: 'sms', to },
        { channel: 'voice', to },
      ]),
    );
    for (let i = 0; i < 3; i += 1) await failure(h.vonage.verify2.checkCode(requestId, 'zzzz'));
    await h.sim.callbacksIdle();
    expect(bodies(received)).toEqual([
      expect.objectContaining({ type: 'event', channel: 'sms', status: 'failed' }),
      expect.objectContaining({
        type: 'summary',
        status: 'failed',
        workflow: [expect.objectContaining({ status: 'failed' }), { channel: 'voice', status: 'unused' }],
      }),
    ]);
  });

  it('silent authentication announces its check_url with action_pending', async () => {
    const { h, received } = await withReceiver();
    const { requestId, checkUrl } = await h.vonage.verify2.newRequest(
      params([{ channel: 'silent_auth', to: freshNumber() }]),
    );
    await h.sim.callbacksIdle();
    expect(bodies(received)).toEqual([
      {
        request_id: requestId,
        triggered_at: new Date(T0).toISOString(),
        type: 'event',
        channel: 'silent_auth',
        status: 'action_pending',
        action: { type: 'check', check_url: checkUrl },
      },
    ]);
    expect(verified(received[0] as Received)).toBe(true);
  });

  it('a fraud-checked request to a blocked number gets a blocked summary with a reason and no code', async () => {
    const { h, received } = await withReceiver();
    const to = freshNumber('99877');
    const { requestId } = await h.vonage.verify2.newRequest(
      params([{ channel: 'sms', to }], { fraudCheck: true }),
    );
    await h.sim.callbacksIdle();
    expect(h.sim.messages({ requestId })).toEqual([]);
    expect(bodies(received)).toEqual([
      expect.objectContaining({
        request_id: requestId,
        type: 'summary',
        status: 'blocked',
        workflow: [
          {
            channel: 'sms',
            status: 'blocked',
            reason: expect.stringContaining('Fraudulent traffic detected'),
            finalized_at: new Date(T0).toISOString(),
          },
        ],
      }),
    ]);
  });

  it('a cancel sends no callback; nothing is sent without a callback URL until one is set', async () => {
    const receiver = await callbackReceiver();
    const h = await harness();
    const first = await h.vonage.verify2.newRequest(params([{ channel: 'sms', to: freshNumber() }]));
    await h.vonage.verify2.checkCode(
      first.requestId,
      h.sim.messages({ requestId: first.requestId })[0]?.code ?? '',
    );
    expect(h.sim.callbacks()).toEqual([]);
    h.sim.setCallbackUrl(receiver.url);
    const second = await h.vonage.verify2.newRequest(params([{ channel: 'sms', to: freshNumber() }]));
    h.sim.advance(30 * SECOND);
    expect(await h.vonage.verify2.cancel(second.requestId)).toBe(true);
    await h.sim.callbacksIdle();
    expect(receiver.received).toEqual([]);
  });

  it('requests started with Basic auth get no callbacks', async () => {
    const { h, received } = await withReceiver([], { apiKey: 'acct', apiSecret: 'secret' });
    const res = await fetch(`${h.sim.url}/v2/verify`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        authorization: `Basic ${Buffer.from('acct:secret').toString('base64')}`,
      },
      body: JSON.stringify({ brand: 'Acme', workflow: [{ channel: 'sms', to: freshNumber() }] }),
    });
    const { request_id } = (await res.json()) as { request_id: string };
    h.sim.advance(180 * SECOND);
    expect(h.sim.simulator.requestState(request_id)?.status).toBe('expired');
    await h.sim.callbacksIdle();
    expect(received).toEqual([]);
  });

  it('retries a callback answered non-2xx, with the same body, until it is accepted', async () => {
    const { h, received } = await withReceiver([500, 503]);
    const { requestId } = await h.vonage.verify2.newRequest(params([{ channel: 'sms', to: freshNumber() }]));
    h.sim.advance(180 * SECOND);
    await h.sim.callbacksIdle();
    expect(received).toHaveLength(3);
    expect(new Set(received.map((r) => r.body)).size).toBe(1);
    expect(received.every((r) => verified(r))).toBe(true);
    expect(h.sim.callbacks({ requestId })).toEqual([
      expect.objectContaining({ kind: 'summary', attempts: 3, delivered: true, responseStatus: 200 }),
    ]);
  });

  it('gives up after the configured retries', async () => {
    const { h, received } = await withReceiver([500, 500, 500], { callbackRetries: 2 });
    const { requestId } = await h.vonage.verify2.newRequest(params([{ channel: 'sms', to: freshNumber() }]));
    h.sim.advance(180 * SECOND);
    await h.sim.callbacksIdle();
    expect(received).toHaveLength(3);
    expect(h.sim.callbacks({ requestId })[0]).toMatchObject({
      attempts: 3,
      delivered: false,
      responseStatus: 500,
    });
  });
});

describe('callback fault switches', () => {
  it.each([
    ['unsigned', (r: Received) => expect(r.headers.authorization).toBeUndefined()],
    [
      'badSignature',
      (r: Received) => {
        expect(verifySignature(token(r), SIGNATURE_SECRET)).toBe(false);
      },
    ],
    [
      'badPayloadHash',
      (r: Received) => {
        expect(verifySignature(token(r), SIGNATURE_SECRET)).toBe(true);
        expect(claimsOf(token(r)).payload_hash).not.toBe(createHash('sha256').update(r.body).digest('hex'));
      },
    ],
  ] as const)('%s spoils the next callback only (times: 1)', async (mode, expectSpoiled) => {
    const { h, received } = await withReceiver();
    h.sim.faults.setCallback({ mode, times: 1 });
    await h.vonage.verify2.newRequest(params([{ channel: 'sms', to: freshNumber() }]));
    await h.vonage.verify2.newRequest(params([{ channel: 'sms', to: freshNumber() }]));
    h.sim.advance(180 * SECOND);
    await h.sim.callbacksIdle();
    expect(received).toHaveLength(2);
    expectSpoiled(received[0] as Received);
    expect(verified(received[1] as Received)).toBe(true);
  });

  it('duplicate sends the same callback twice, each validly signed', async () => {
    const { h, received } = await withReceiver();
    h.sim.faults.setCallback({ mode: 'duplicate' });
    await h.vonage.verify2.newRequest(params([{ channel: 'sms', to: freshNumber() }]));
    h.sim.advance(180 * SECOND);
    await h.sim.callbacksIdle();
    expect(received).toHaveLength(2);
    expect(received[0]?.body).toBe(received[1]?.body);
    expect(received.every((r) => verified(r))).toBe(true);
    h.sim.faults.clearCallback();
  });
});
