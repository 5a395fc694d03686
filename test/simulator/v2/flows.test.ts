// The Verify v2 simulator's workflows, driven by the real @vonage/server-sdk verify2 client over HTTP:
// each channel, right and wrong codes, three wrong codes, channel_timeout on the virtual clock, reuse_code,
// the concurrent 409, the cancel window, next_workflow, silent authentication's check_url chain, and the 422s.

import type { VerificationRequestParams } from '@vonage/verify2';
import { call, closeAll, failure, freshNumber, type Harness, harness, SECOND, T0 } from './harness';

type Step = Record<string, unknown>;

function params(workflow: Step[], extra: Record<string, unknown> = {}): VerificationRequestParams {
  return { brand: 'Acme', workflow, ...extra } as unknown as VerificationRequestParams;
}

async function start(h: Harness, workflow: Step[], extra: Record<string, unknown> = {}): Promise<string> {
  const { requestId } = await h.vonage.verify2.newRequest(params(workflow, extra));
  expect(requestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  return requestId;
}

function defined<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('expected a value');
  return value;
}

function lastCode(h: Harness, requestId: string): string {
  const message = h.sim.messages({ requestId })[0];
  if (!message) throw new Error(`no message for ${requestId}`);
  return message.code;
}

/** A wrong code of the right shape: the real one with its first digit changed. */
function wrong(code: string): string {
  return `${code[0] === '1' ? '2' : '1'}${code.slice(1)}`;
}

afterAll(closeAll);

describe('starting with each channel', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await harness();
  });

  it.each([
    ['sms', (to: string) => ({ channel: 'sms', to })],
    ['voice', (to: string) => ({ channel: 'voice', to })],
    ['whatsapp', (to: string) => ({ channel: 'whatsapp', to, from: '447700400080' })],
    [
      'email',
      (_to: string) => ({ channel: 'email', to: `user${Math.random().toString(36).slice(2)}@example.com` }),
    ],
    ['rcs', (to: string) => ({ channel: 'rcs', to, from: 'acmeagent' })],
  ])(
    '%s: 202 with a request id, one code delivered, the right code completes it once',
    async (channel, step) => {
      const workflowStep = step(freshNumber());
      const requestId = await start(h, [workflowStep]);
      const messages = h.sim.messages({ requestId });
      expect(messages).toEqual([
        expect.objectContaining({
          requestId,
          to: workflowStep.to,
          channel,
          brand: 'Acme',
          locale: 'en-us',
          step: 0,
          at: new Date(T0).toISOString(),
        }),
      ]);
      expect(messages[0]?.code).toMatch(/^\d{4}$/);
      expect(await h.vonage.verify2.checkCode(requestId, lastCode(h, requestId))).toBe('completed');
      const again = await failure(h.vonage.verify2.checkCode(requestId, lastCode(h, requestId)));
      expect(again).toEqual({
        status: 404,
        body: {
          type: 'https://developer.vonage.com/api-errors#not-found',
          title: 'Not Found',
          detail: `Request ${requestId} was not found or it has been verified already.`,
          instance: expect.any(String),
        },
      });
    },
  );

  it('answers 202 as application/json with only request_id when silent_auth is not first', async () => {
    const res = await call(h.sim.url, 'POST', '/v2/verify', {
      brand: 'Acme',
      workflow: [{ channel: 'sms', to: freshNumber() }],
    });
    expect(res.status).toBe(202);
    expect(res.headers.get('content-type')).toBe('application/json');
    expect(Object.keys((await res.json()) as object)).toEqual(['request_id']);
  });

  it('uses code_length, locale and brand; a custom code is sent as given', async () => {
    const long = await start(h, [{ channel: 'sms', to: freshNumber() }], {
      codeLength: 8,
      locale: 'es-es',
      brand: 'Tienda',
    });
    const message = h.sim.messages({ requestId: long })[0];
    expect(message).toMatchObject({ brand: 'Tienda', locale: 'es-es' });
    expect(message?.code).toMatch(/^\d{8}$/);
    expect(message?.text).toContain('Tienda');
    expect(message?.text).toContain(message?.code);

    const custom = await start(h, [{ channel: 'sms', to: freshNumber() }], { code: 'Ab12Cd' });
    expect(lastCode(h, custom)).toBe('Ab12Cd');
    expect(await h.vonage.verify2.checkCode(custom, 'Ab12Cd')).toBe('completed');
  });

  it('lists delivered messages newest first, filters by to and request id, and forgets them on reset', async () => {
    const own = await harness();
    const to = freshNumber();
    const first = await start(own, [{ channel: 'sms', to }]);
    await own.vonage.verify2.checkCode(first, lastCode(own, first));
    const second = await start(own, [{ channel: 'voice', to }]);
    expect(own.sim.messages({ to }).map((m) => m.requestId)).toEqual([second, first]);
    expect(own.sim.messages({ requestId: first })).toHaveLength(1);
    own.sim.reset();
    expect(own.sim.messages()).toEqual([]);
  });
});

describe('wrong codes', () => {
  it('a wrong code is 400 invalid-code as problem+json; the right one still works after two', async () => {
    const h = await harness();
    const requestId = await start(h, [{ channel: 'sms', to: freshNumber() }]);
    const code = lastCode(h, requestId);
    const res = await call(h.sim.url, 'POST', `/v2/verify/${requestId}`, { code: wrong(code) });
    expect(res.status).toBe(400);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    expect(await res.json()).toEqual({
      type: 'https://developer.vonage.com/en/api-errors/verify-v2#invalid-code',
      title: 'Invalid Code',
      detail: 'The code you provided does not match the expected value.',
      instance: expect.any(String),
    });
    expect((await failure(h.vonage.verify2.checkCode(requestId, wrong(code)))).status).toBe(400);
    expect(await h.vonage.verify2.checkCode(requestId, code)).toBe('completed');
  });

  it.each([
    ['third', [400, 400, 410], 404],
    ['fourth', [400, 400, 400], 410],
  ] as const)(
    'mode %s: answers %j to three wrong codes, then %i to the right code',
    async (mode, answers, after) => {
      const h = await harness({ wrongCodeMode: mode });
      const requestId = await start(h, [{ channel: 'sms', to: freshNumber() }]);
      const code = lastCode(h, requestId);
      const statuses: number[] = [];
      for (let i = 0; i < 3; i += 1) {
        statuses.push((await failure(h.vonage.verify2.checkCode(requestId, wrong(code)))).status);
      }
      expect(statuses).toEqual(answers);
      const last = await failure(h.vonage.verify2.checkCode(requestId, code));
      expect(last.status).toBe(after);
      if (mode === 'third') {
        const third = await call(h.sim.url, 'POST', `/v2/verify/${requestId}`, { code });
        expect(third.status).toBe(404);
      } else {
        expect(last.body).toMatchObject({
          title: 'Invalid Code',
          detail: 'An incorrect code has been provided too many times. Workflow terminated.',
        });
      }
      expect(h.sim.simulator.requestState(requestId)?.status).toBe('failed');
    },
  );

  it('the third wrong code answers the documented 410 body', async () => {
    const h = await harness();
    const requestId = await start(h, [{ channel: 'sms', to: freshNumber() }]);
    const code = lastCode(h, requestId);
    await failure(h.vonage.verify2.checkCode(requestId, wrong(code)));
    await failure(h.vonage.verify2.checkCode(requestId, wrong(code)));
    expect(await failure(h.vonage.verify2.checkCode(requestId, wrong(code)))).toEqual({
      status: 410,
      body: {
        type: 'https://developer.nexmo.com/api-errors#gone',
        title: 'Invalid Code',
        detail: 'An incorrect code has been provided too many times. Workflow terminated.',
        instance: expect.any(String),
      },
    });
  });
});

describe('channel_timeout on the virtual clock', () => {
  it('a one-step request expires after channel_timeout (default 180 s) and its code stops working', async () => {
    const h = await harness();
    const requestId = await start(h, [{ channel: 'sms', to: freshNumber() }]);
    const code = lastCode(h, requestId);
    h.sim.advance(179 * SECOND);
    expect(h.sim.simulator.requestState(requestId)?.status).toBe('in_progress');
    h.sim.advance(1 * SECOND);
    expect(h.sim.simulator.requestState(requestId)).toMatchObject({
      status: 'expired',
      steps: [{ channel: 'sms', status: 'expired' }],
    });
    expect((await failure(h.vonage.verify2.checkCode(requestId, code))).status).toBe(404);
  });

  it('each step lasts channel_timeout; the next step brings a new code, and only it checks', async () => {
    const h = await harness();
    const to = freshNumber();
    const requestId = await start(
      h,
      [
        { channel: 'sms', to },
        { channel: 'voice', to },
      ],
      {
        channelTimeout: 60,
        codeLength: 10,
      },
    );
    const smsCode = lastCode(h, requestId);
    h.sim.advance(60 * SECOND);
    const [voice] = h.sim.messages({ requestId });
    expect(voice).toMatchObject({ channel: 'voice', step: 1, at: new Date(T0 + 60 * SECOND).toISOString() });
    expect(voice?.code).not.toBe(smsCode);
    expect((await failure(h.vonage.verify2.checkCode(requestId, smsCode))).status).toBe(400);
    expect(await h.vonage.verify2.checkCode(requestId, voice?.code ?? '')).toBe('completed');
  });

  it('a big jump ends every step in time order: the request expired at start + steps × timeout', async () => {
    const h = await harness();
    const to = freshNumber();
    const requestId = await start(
      h,
      [
        { channel: 'sms', to },
        { channel: 'voice', to },
        { channel: 'voice', to },
      ],
      {
        channelTimeout: 15,
      },
    );
    h.sim.advance(3600 * SECOND);
    expect(h.sim.messages({ requestId }).map((m) => m.at)).toEqual([
      new Date(T0 + 30 * SECOND).toISOString(),
      new Date(T0 + 15 * SECOND).toISOString(),
      new Date(T0).toISOString(),
    ]);
    expect(h.sim.simulator.requestState(requestId)?.status).toBe('expired');
  });

  it('reuse_code sends the previous step its code again', async () => {
    const h = await harness();
    const to = freshNumber();
    const requestId = await start(
      h,
      [
        { channel: 'sms', to },
        { channel: 'voice', to, reuseCode: true },
      ],
      {
        codeLength: 10,
      },
    );
    const first = lastCode(h, requestId);
    expect(await h.vonage.verify2.nextWorkflow(requestId)).toBe(true);
    expect(h.sim.messages({ requestId })[0]).toMatchObject({ channel: 'voice', code: first });
  });
});

describe('one verification per number', () => {
  it('a second start to the same number in flight is 409 concurrent; it works again once the first ends', async () => {
    const h = await harness();
    const to = freshNumber();
    const first = await start(h, [{ channel: 'sms', to }]);
    const conflict = await failure(h.vonage.verify2.newRequest(params([{ channel: 'voice', to }])));
    expect(conflict).toEqual({
      status: 409,
      body: {
        type: 'https://developer.vonage.com/en/api-errors/verify-v2#concurrent',
        title: 'Conflict',
        detail: 'Concurrent verifications to the same number are not allowed.',
        instance: expect.any(String),
      },
    });
    // Another number is not affected; a number later in the workflow counts too.
    await start(h, [{ channel: 'sms', to: freshNumber() }]);
    const other = freshNumber();
    expect(
      (
        await failure(
          h.vonage.verify2.newRequest(
            params([
              { channel: 'sms', to: other },
              { channel: 'voice', to },
            ]),
          ),
        )
      ).status,
    ).toBe(409);
    await h.vonage.verify2.checkCode(first, lastCode(h, first));
    await start(h, [{ channel: 'sms', to }]);
  });

  it('with concurrentIncludesRequestId the 409 names the request in flight', async () => {
    const h = await harness({ concurrentIncludesRequestId: true });
    const to = freshNumber();
    const first = await start(h, [{ channel: 'sms', to }]);
    const conflict = await failure(h.vonage.verify2.newRequest(params([{ channel: 'sms', to }])));
    expect(conflict.body.request_id).toBe(first);
  });

  it('after expiry the number is free; concurrentAfterCancelMs keeps it blocked for a while after a cancel', async () => {
    const h = await harness({ concurrentAfterCancelMs: 12 * SECOND });
    const to = freshNumber();
    await start(h, [{ channel: 'sms', to }], { channelTimeout: 15 });
    h.sim.advance(15 * SECOND);
    const second = await start(h, [{ channel: 'sms', to }]);
    h.sim.advance(30 * SECOND);
    expect(await h.vonage.verify2.cancel(second)).toBe(true);
    expect((await failure(h.vonage.verify2.newRequest(params([{ channel: 'sms', to }])))).status).toBe(409);
    h.sim.advance(12 * SECOND);
    await start(h, [{ channel: 'sms', to }]);
  });
});

describe('cancel', () => {
  it.each([
    ['inside the first 30 s', 29, false, 409],
    ['at 30 s, still on the first step', 30, false, 204],
    ['after the second step started', 31, true, 409],
  ])(
    '%s (at %i s, second step started: %s): DELETE answers %i',
    async (_case, seconds, nextFirst, status) => {
      const h = await harness();
      const to = freshNumber();
      const requestId = await start(h, [
        { channel: 'sms', to },
        { channel: 'voice', to },
      ]);
      if (nextFirst) await h.vonage.verify2.nextWorkflow(requestId);
      h.sim.advance(seconds * SECOND);
      const res = await call(h.sim.url, 'DELETE', `/v2/verify/${requestId}`);
      expect(res.status).toBe(status);
      if (status === 204) {
        expect(await res.text()).toBe('');
        expect(h.sim.simulator.requestState(requestId)?.status).toBe('cancelled');
        // The cancelled request is gone for check, cancel and next_workflow; the number is free.
        expect((await failure(h.vonage.verify2.checkCode(requestId, '1234'))).status).toBe(404);
        expect((await call(h.sim.url, 'DELETE', `/v2/verify/${requestId}`)).status).toBe(404);
        expect((await call(h.sim.url, 'POST', `/v2/verify/${requestId}/next_workflow`)).status).toBe(404);
        await start(h, [{ channel: 'sms', to }]);
      } else {
        expect(res.headers.get('content-type')).toBe('application/problem+json');
        expect(await res.json()).toMatchObject({
          title: 'Conflict',
          detail: expect.stringContaining('30 seconds'),
        });
        expect(h.sim.simulator.requestState(requestId)?.status).toBe('in_progress');
      }
    },
  );

  it('the refusal status is configurable; an unknown id is 404', async () => {
    const h = await harness({ cancelRefusalStatus: 400 });
    const requestId = await start(h, [{ channel: 'sms', to: freshNumber() }]);
    expect((await call(h.sim.url, 'DELETE', `/v2/verify/${requestId}`)).status).toBe(400);
    expect((await call(h.sim.url, 'DELETE', '/v2/verify/6a3c1f47-1111-4222-8333-444455556666')).status).toBe(
      404,
    );
  });
});

describe('next_workflow', () => {
  it('moves through every step at once with a new code each, then 409 "no more events"', async () => {
    const h = await harness();
    const to = freshNumber();
    const requestId = await start(
      h,
      [
        { channel: 'sms', to },
        { channel: 'whatsapp', to, from: '447700400080' },
        { channel: 'voice', to },
      ],
      { codeLength: 10 },
    );
    expect(await h.vonage.verify2.nextWorkflow(requestId)).toBe(true);
    expect(await h.vonage.verify2.nextWorkflow(requestId)).toBe(true);
    const messages = h.sim.messages({ requestId });
    expect(messages.map((m) => [m.channel, m.step, m.at])).toEqual([
      ['voice', 2, new Date(T0).toISOString()],
      ['whatsapp', 1, new Date(T0).toISOString()],
      ['sms', 0, new Date(T0).toISOString()],
    ]);
    expect(new Set(messages.map((m) => m.code)).size).toBe(3);
    const res = await call(h.sim.url, 'POST', `/v2/verify/${requestId}/next_workflow`);
    expect(res.status).toBe(409);
    expect(await res.json()).toEqual({
      type: 'https://developer.nexmo.com/api-errors#conflict',
      title: 'Conflict',
      detail: 'There are no more events left to trigger.',
      instance: expect.any(String),
    });
    // The last step still runs for its full channel_timeout, from when it started.
    h.sim.advance(179 * SECOND);
    expect(await h.vonage.verify2.checkCode(requestId, messages[0]?.code ?? '')).toBe('completed');
  });

  it('answers 200 with no body', async () => {
    const h = await harness();
    const to = freshNumber();
    const requestId = await start(h, [
      { channel: 'sms', to },
      { channel: 'voice', to },
    ]);
    const res = await call(h.sim.url, 'POST', `/v2/verify/${requestId}/next_workflow`);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
  });
});

describe('silent authentication', () => {
  it('check_url redirects through a chain and ends in a code that the check accepts', async () => {
    const h = await harness();
    const to = freshNumber();
    const { requestId, checkUrl } = await h.vonage.verify2.newRequest(
      params([
        { channel: 'silent_auth', to },
        { channel: 'sms', to },
      ]),
    );
    expect(checkUrl).toBe(`${h.sim.url}/v2/verify/${requestId}/silent-auth/redirect`);
    expect(h.sim.messages({ requestId })).toEqual([]);

    // Follow by hand to see the chain: no credentials, as a handset opens it.
    let url = defined(checkUrl);
    const hops: number[] = [];
    let res = await fetch(url, { redirect: 'manual' });
    while (res.status >= 300 && res.status < 400) {
      hops.push(res.status);
      url = new URL(res.headers.get('location') ?? '', url).toString();
      res = await fetch(url, { redirect: 'manual' });
    }
    expect(hops.length).toBeGreaterThanOrEqual(2);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { request_id: string; code: string };
    expect(body.request_id).toBe(requestId);
    expect(body.code).toMatch(/^[a-zA-Z0-9]{4,10}$/);
    expect(h.sim.messages({ requestId })[0]).toMatchObject({ channel: 'silent_auth', code: body.code, to });
    expect(await h.vonage.verify2.checkCode(requestId, body.code)).toBe('completed');
  });

  it('with redirect_url the chain ends there, with request_id and code in the fragment', async () => {
    const h = await harness();
    const { requestId, checkUrl } = await h.vonage.verify2.newRequest(
      params([{ channel: 'silent_auth', to: freshNumber(), redirectUrl: 'https://app.example/sa' }]),
    );
    let res = await fetch(defined(checkUrl), { redirect: 'manual' });
    let location = '';
    for (let i = 0; i < 10 && res.status === 302; i += 1) {
      location = new URL(res.headers.get('location') ?? '', checkUrl).toString();
      if (location.startsWith('https://app.example/')) break;
      res = await fetch(location, { redirect: 'manual' });
    }
    const fragment = new URLSearchParams(new URL(location).hash.slice(1));
    expect(fragment.get('request_id')).toBe(requestId);
    expect(await h.vonage.verify2.checkCode(requestId, fragment.get('code') ?? '')).toBe('completed');
  });

  it('allows one attempt: a wrong code moves to the next step, which sends a code', async () => {
    const h = await harness();
    const to = freshNumber();
    const { requestId } = await h.vonage.verify2.newRequest(
      params([
        { channel: 'silent_auth', to },
        { channel: 'sms', to },
      ]),
    );
    expect((await failure(h.vonage.verify2.checkCode(requestId, 'zzzz99'))).status).toBe(400);
    const [sms] = h.sim.messages({ requestId });
    expect(sms).toMatchObject({ channel: 'sms', step: 1 });
    expect(await h.vonage.verify2.checkCode(requestId, sms?.code ?? '')).toBe('completed');
  });

  it('its step lasts 60 s whatever channel_timeout says', async () => {
    const h = await harness();
    const to = freshNumber();
    const { requestId } = await h.vonage.verify2.newRequest(
      params(
        [
          { channel: 'silent_auth', to },
          { channel: 'sms', to },
        ],
        { channelTimeout: 600 },
      ),
    );
    h.sim.advance(60 * SECOND);
    expect(h.sim.messages({ requestId })[0]).toMatchObject({
      channel: 'sms',
      at: new Date(T0 + 60 * SECOND).toISOString(),
    });
  });

  it('an unsupported network is 412 at start with coverage_check, or at the end of the chain without it', async () => {
    const h = await harness();
    const unsupported = freshNumber('99977');
    const refused = await failure(
      h.vonage.verify2.newRequest(params([{ channel: 'silent_auth', to: unsupported }])),
    );
    expect(refused).toEqual({
      status: 412,
      body: {
        type: 'https://developer.vonage.com/en/api-errors/verify-v2#precondition-failed',
        title: 'Network not supported',
        detail: 'Device number does not resolve to a supported Mobile Network Operator.',
        instance: expect.any(String),
      },
    });
    const { requestId, checkUrl } = await h.vonage.verify2.newRequest(
      params([
        { channel: 'silent_auth', to: unsupported, coverageCheck: false },
        { channel: 'sms', to: unsupported },
      ]),
    );
    expect(checkUrl).toBeDefined();
    const res = await fetch(defined(checkUrl));
    expect(res.status).toBe(412);
    expect(h.sim.messages({ requestId })[0]).toMatchObject({ channel: 'sms', step: 1 });
  });
});

describe('start validation: 422 with invalid_parameters naming the field', () => {
  const to = '447700900123';
  const cases: [string, object, string][] = [
    ['no brand', { workflow: [{ channel: 'sms', to }] }, 'brand'],
    ['brand over 18 characters', { brand: 'B'.repeat(19), workflow: [{ channel: 'sms', to }] }, 'brand'],
    ...['/', '{', '}', ':', '$'].map((c): [string, object, string] => [
      `brand with ${c}`,
      { brand: `Ac${c}me`, workflow: [{ channel: 'sms', to }] },
      'brand',
    ]),
    ['no workflow', { brand: 'Acme' }, 'workflow'],
    ['empty workflow', { brand: 'Acme', workflow: [] }, 'workflow'],
    ['four steps', { brand: 'Acme', workflow: Array(4).fill({ channel: 'sms', to }) }, 'workflow'],
    [
      'whatsapp_interactive',
      { brand: 'Acme', workflow: [{ channel: 'whatsapp_interactive', to }] },
      'workflow[0].channel',
    ],
    ['whatsapp without from', { brand: 'Acme', workflow: [{ channel: 'whatsapp', to }] }, 'workflow[0].from'],
    [
      'to with a leading +',
      { brand: 'Acme', workflow: [{ channel: 'sms', to: `+${to}` }] },
      'workflow[0].to',
    ],
    [
      'silent_auth not first',
      {
        brand: 'Acme',
        workflow: [
          { channel: 'sms', to },
          { channel: 'silent_auth', to },
        ],
      },
      'workflow[1].channel',
    ],
    ['code_length 3', { brand: 'Acme', code_length: 3, workflow: [{ channel: 'sms', to }] }, 'code_length'],
    ['code_length 11', { brand: 'Acme', code_length: 11, workflow: [{ channel: 'sms', to }] }, 'code_length'],
    [
      'channel_timeout 14',
      { brand: 'Acme', channel_timeout: 14, workflow: [{ channel: 'sms', to }] },
      'channel_timeout',
    ],
    [
      'channel_timeout 901',
      { brand: 'Acme', channel_timeout: 901, workflow: [{ channel: 'sms', to }] },
      'channel_timeout',
    ],
    [
      'client_ref with a hyphen',
      { brand: 'Acme', client_ref: 'my-ref', workflow: [{ channel: 'sms', to }] },
      'client_ref',
    ],
    ['code with a hyphen', { brand: 'Acme', code: 'ab-12', workflow: [{ channel: 'sms', to }] }, 'code'],
  ];
  it.each(cases)('%s', async (_case, body, name) => {
    const h = await harness();
    const res = await call(h.sim.url, 'POST', '/v2/verify', body);
    expect(res.status).toBe(422);
    expect(res.headers.get('content-type')).toBe('application/problem+json');
    const problem = (await res.json()) as { invalid_parameters: { name: string }[] };
    expect(problem).toMatchObject({
      type: 'https://developer.vonage.com/en/api-errors#invalid-params',
      title: 'Invalid params',
      detail: 'The value of one or more parameters is invalid.',
    });
    expect(problem.invalid_parameters.map((p) => p.name)).toContain(name);
    expect(h.sim.messages()).toEqual([]);
  });

  it('no brand says "Brand is required", as the SPEC example', async () => {
    const h = await harness();
    const res = await call(h.sim.url, 'POST', '/v2/verify', { workflow: [{ channel: 'sms', to }] });
    expect(await res.json()).toMatchObject({
      invalid_parameters: [{ name: 'brand', reason: 'Brand is required' }],
    });
  });
});
