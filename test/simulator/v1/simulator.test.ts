// The Verify v1 simulator, driven by the real @vonage/server-sdk over HTTP (and by plain fetch where the SDK
// cannot send what a test needs): every item of the "Simulator checklist" in docs/vonage-verify-v1.md, the
// virtual clock, the fault switches and the /_simulator control API. Time moves with sim.advance().

import { randomInt } from 'node:crypto';
import { Auth } from '@vonage/auth';
import { Vonage } from '@vonage/server-sdk';
import { VerifyWorkflows } from '@vonage/verify';
import { VetchError } from '@vonage/vetch';
import { systemClock, VirtualClock } from '../../../src/clock';
import { type SimulatorOptions, VerifySimulator } from '../../../src/simulator/v1/simulator';

const API_KEY = 'sim-test-key';
const API_SECRET = 'sim-test-secret';
const T0 = Date.UTC(2030, 0, 1, 12, 0, 0);
const SECOND = 1000;

const TEXT = {
  checkNotFound: (id: string) =>
    `The Vonage platform was unable to process this message for the following reason: Request '${id}' was not found or it has been verified already.`,
  controlNotFound: (id: string) => `The requestId '${id}' does not exist or its no longer active.`,
  cancelTooEarly: (id: string) =>
    `Verification request ['${id}'] can't be cancelled within the first 30 seconds.`,
  cancelTooLate: (id: string) =>
    `Verification request  ['${id}'] can't be cancelled now. Too many attempts to re-deliver have already been made.`,
  noMoreEvents: (id: string) => `No more events are left to execute for the request ['${id}']`,
  concurrent: 'Concurrent verifications to the same number are not allowed',
  mismatch: 'The code inserted does not match the expected value',
  tooMany: 'The wrong code was provided too many times. Request terminated',
};

type Body = Record<string, unknown>;

interface Harness {
  sim: VerifySimulator;
  clock: VirtualClock;
  url: string;
  vonage: Vonage;
}

const opened: VerifySimulator[] = [];

async function harness(options: Partial<SimulatorOptions> = {}, timeout = 5000): Promise<Harness> {
  const clock = new VirtualClock(T0);
  const sim = new VerifySimulator({ apiKey: API_KEY, apiSecret: API_SECRET, clock, ...options });
  opened.push(sim);
  const url = await sim.listen(0);
  return { sim, clock, url, vonage: sdk(url, timeout) };
}

function sdk(url: string, timeout = 5000, apiSecret = API_SECRET): Vonage {
  return new Vonage(new Auth({ apiKey: API_KEY, apiSecret }), { apiHost: url, timeout });
}

afterAll(async () => {
  await Promise.all(opened.map((sim) => sim.close()));
});

const usedNumbers = new Set<string>();
/** A made-up UK mobile number no other test uses. */
function freshNumber(): string {
  for (;;) {
    const number = `4477009${String(randomInt(0, 100_000)).padStart(5, '0')}`;
    if (!usedNumbers.has(number)) {
      usedNumbers.add(number);
      return number;
    }
  }
}

function fields(value: object): Body {
  return value as Body;
}

async function startOk(
  h: Harness,
  extra: Partial<{
    workflowId: VerifyWorkflows;
    nextEventWait: number;
    pinExpiry: number;
    codeLength: number;
  }> = {},
  number = freshNumber(),
): Promise<{ id: string; number: string }> {
  const res = fields(await h.vonage.verify.start({ number, brand: 'Acme', ...extra }));
  expect(res.status).toBe('0');
  expect(typeof res.request_id).toBe('string');
  return { id: String(res.request_id), number };
}

interface RawResponse {
  status: number;
  contentType: string | null;
  body: Body;
}

type RawAuth = 'basic' | 'params' | 'none';

/** Plain fetch for what the SDK never sends: forms, query strings, GET, api_key params, bad values. */
async function raw(
  url: string,
  path: string,
  init: {
    method?: string;
    json?: Body;
    form?: Record<string, string>;
    query?: Record<string, string>;
    auth?: RawAuth;
  } = {},
): Promise<RawResponse> {
  const auth = init.auth ?? 'basic';
  const credentials = { api_key: API_KEY, api_secret: API_SECRET };
  const headers: Record<string, string> = {};
  if (auth === 'basic')
    headers.authorization = `Basic ${Buffer.from(`${API_KEY}:${API_SECRET}`).toString('base64')}`;
  const query = new URLSearchParams({
    ...init.query,
    ...(auth === 'params' && !init.json && !init.form ? credentials : {}),
  });
  let body: string | undefined;
  if (init.json) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify({ ...init.json, ...(auth === 'params' ? credentials : {}) });
  } else if (init.form) {
    headers['content-type'] = 'application/x-www-form-urlencoded';
    body = new URLSearchParams({ ...init.form, ...(auth === 'params' ? credentials : {}) }).toString();
  }
  const qs = query.toString();
  const res = await fetch(`${url}${path}${qs ? `?${qs}` : ''}`, {
    method: init.method ?? (body === undefined ? 'GET' : 'POST'),
    headers,
    body,
  });
  const text = await res.text();
  return {
    status: res.status,
    contentType: res.headers.get('content-type'),
    body: text ? (JSON.parse(text) as Body) : {},
  };
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw');
}

function codesOf(h: Harness, requestId: string): string[] {
  return h.sim.messages({ requestId }).map((m) => m.code);
}

describe('VerifySimulator (Verify v1 over HTTP, real SDK)', () => {
  let h: Harness;

  beforeAll(async () => {
    h = await harness();
  });

  afterEach(() => {
    h.sim.setFault(null);
  });

  describe('checklist 1-3: routes, parameter encodings, authentication, HTTP 200 + JSON', () => {
    test('the SDK round trip works with Basic auth, and every answer is HTTP 200 application/json with a string status', async () => {
      const { id } = await startOk(h);
      expect(fields(await h.vonage.verify.check(id, '0000')).status).toBe('16');
      expect(fields(await h.vonage.verify.search(id)).status).toBe('IN PROGRESS');
      expect(fields(await h.vonage.verify.cancel(id)).status).toBe('19');

      for (const path of [
        '/verify/json',
        '/verify/check/json',
        '/verify/control/json',
        '/verify/search/json',
      ]) {
        const res = await raw(h.url, path, { json: {} });
        expect(res.status).toBe(200);
        expect(res.contentType).toMatch(/^application\/json/);
        expect(typeof res.body.status).toBe('string');
      }
    });

    test('GET /verify/json with everything in the query string (curl style, api_key/api_secret params)', async () => {
      const number = freshNumber();
      const res = await raw(h.url, '/verify/json', { auth: 'params', query: { number, brand: 'Acme' } });
      expect(res).toMatchObject({ status: 200, body: { status: '0' } });
      expect(h.sim.requestState(String(res.body.request_id))?.number).toBe(number);
    });

    test('form-encoded POST for check, GET with query for control, GET and POST for search', async () => {
      const { id } = await startOk(h);
      const check = await raw(h.url, '/verify/check/json', {
        auth: 'params',
        form: { request_id: id, code: 'zzzz' },
      });
      expect(check.body).toEqual({ request_id: id, status: '16', error_text: TEXT.mismatch });

      const trigger = await raw(h.url, '/verify/control/json', {
        auth: 'params',
        query: { request_id: id, cmd: 'trigger_next_event' },
      });
      expect(trigger.body).toEqual({ status: '0', command: 'trigger_next_event' });

      const searchGet = await raw(h.url, '/verify/search/json', {
        auth: 'params',
        query: { request_id: id },
      });
      const searchPost = await raw(h.url, '/verify/search/json', {
        auth: 'params',
        form: { request_id: id },
      });
      expect(searchGet.body.request_id).toBe(id);
      expect(searchPost.body).toEqual(searchGet.body);
    });

    test('PSD2 start goes to /verify/psd2/json when there is no brand', async () => {
      const number = freshNumber();
      const res = fields(await h.vonage.verify.start({ number, payee: 'Acme Shop', amount: 48 }));
      expect(res.status).toBe('0');
      const [message] = h.sim.messages({ requestId: String(res.request_id) });
      expect(message).toMatchObject({ channel: 'sms', brand: 'Acme Shop' });
      expect(message?.text).toContain('EUR 48.00 to Acme Shop');
      const missing = await raw(h.url, '/verify/psd2/json', { json: { number: freshNumber(), amount: 1 } });
      expect(missing.body).toEqual({
        status: '2',
        error_text: 'Your request is incomplete and missing the mandatory parameter `payee`',
      });
    });

    test.each(['/verify/json', '/verify/check/json', '/verify/control/json', '/verify/search/json'])(
      'no credentials at %s: status 2 "Missing api_key"; key without secret: "Missing api_secret"',
      async (path) => {
        expect((await raw(h.url, path, { auth: 'none', json: {} })).body).toEqual({
          status: '2',
          error_text: 'Missing api_key',
        });
        const keyOnly = await raw(h.url, path, { auth: 'none', query: { api_key: API_KEY } });
        expect(keyOnly.body).toEqual({ status: '2', error_text: 'Missing api_secret' });
      },
    );

    test('wrong credentials: status 4 "Invalid credentials were provided" at start, "Bad credentials" elsewhere', async () => {
      const wrong = sdk(h.url, 5000, 'not-the-secret');
      const { id } = await startOk(h);
      expect(fields(await wrong.verify.start({ number: freshNumber(), brand: 'Acme' }))).toMatchObject({
        status: '4',
        error_text: 'Invalid credentials were provided',
      });
      for (const res of [
        await wrong.verify.check(id, '1234'),
        await wrong.verify.cancel(id),
        await wrong.verify.search(id),
      ]) {
        expect(fields(res)).toMatchObject({ status: '4', error_text: 'Bad credentials' });
      }
      const viaParams = await raw(h.url, '/verify/check/json', {
        auth: 'none',
        form: { api_key: API_KEY, api_secret: 'nope', request_id: id, code: '1234' },
      });
      expect(viaParams.body).toEqual({ status: '4', error_text: 'Bad credentials' });
      expect(h.sim.requestState(id)?.status).toBe('IN PROGRESS');
    });

    test('unknown paths answer a JSON 404', async () => {
      const res = await raw(h.url, '/verify/nothing/json');
      expect(res).toMatchObject({
        status: 404,
        contentType: 'application/json',
        body: { error: 'not_found' },
      });
    });
  });

  describe('checklist 4-8: start', () => {
    test('success: 32 lowercase hex request_id, a 4-digit PIN by default and one SMS', async () => {
      const { id, number } = await startOk(h);
      expect(id).toMatch(/^[0-9a-f]{32}$/);
      const code = h.sim.currentCode(id);
      expect(code).toMatch(/^\d{4}$/);
      expect(h.sim.messages({ requestId: id })).toEqual([
        {
          requestId: id,
          number,
          channel: 'sms',
          code,
          brand: 'Acme',
          text: `Acme code: ${code}. Valid for 5 minutes.`,
          at: new Date(h.clock.now()).toISOString(),
        },
      ]);
      expect(h.sim.requestState(id)).toEqual({
        status: 'IN PROGRESS',
        number,
        eventsDelivered: 1,
        createdAt: h.clock.now(),
      });
    });

    test('codeLength 6 gives a 6-digit PIN', async () => {
      const { id } = await startOk(h, { codeLength: 6 });
      expect(h.sim.currentCode(id)).toMatch(/^\d{6}$/);
    });

    test.each<[string, Body, string, string]>([
      [
        'missing number',
        { brand: 'Acme' },
        '2',
        'Your request is incomplete and missing the mandatory parameter `number`',
      ],
      [
        'missing brand',
        { number: 'FRESH' },
        '2',
        'Your request is incomplete and missing the mandatory parameter `brand`',
      ],
      ['non-numeric number', { number: 'abc', brand: 'Acme' }, '3', 'Invalid value for parameter `number`'],
      [
        'brand over 18',
        { number: 'FRESH', brand: 'B'.repeat(19) },
        '3',
        'Invalid value for parameter `brand`',
      ],
      [
        'sender_id over 11',
        { number: 'FRESH', brand: 'Acme', sender_id: 'S'.repeat(12) },
        '3',
        'Invalid value for parameter `sender_id`',
      ],
      [
        'code_length 5',
        { number: 'FRESH', brand: 'Acme', code_length: 5 },
        '3',
        'Invalid value for parameter `code_length`',
      ],
      [
        'unknown lg',
        { number: 'FRESH', brand: 'Acme', lg: 'xx-xx' },
        '3',
        'Invalid value for parameter `lg`',
      ],
      [
        'pin_expiry 59',
        { number: 'FRESH', brand: 'Acme', pin_expiry: 59 },
        '3',
        'Invalid value for parameter `pin_expiry`',
      ],
      [
        'pin_expiry 3601',
        { number: 'FRESH', brand: 'Acme', pin_expiry: 3601 },
        '3',
        'Invalid value for parameter `pin_expiry`',
      ],
      [
        'next_event_wait 59',
        { number: 'FRESH', brand: 'Acme', next_event_wait: 59 },
        '3',
        'Invalid value for parameter `next_event_wait`',
      ],
      [
        'next_event_wait 901',
        { number: 'FRESH', brand: 'Acme', next_event_wait: '901' },
        '3',
        'Invalid value for parameter `next_event_wait`',
      ],
      [
        'workflow_id 0',
        { number: 'FRESH', brand: 'Acme', workflow_id: 0 },
        '3',
        'Invalid value for parameter `workflow_id`',
      ],
      [
        'workflow_id 8',
        { number: 'FRESH', brand: 'Acme', workflow_id: '8' },
        '3',
        'Invalid value for parameter `workflow_id`',
      ],
      [
        'workflow_id 1.5',
        { number: 'FRESH', brand: 'Acme', workflow_id: 1.5 },
        '3',
        'Invalid value for parameter `workflow_id`',
      ],
    ])('validation: %s -> status %s', async (_name, params, status, errorText) => {
      const before = h.sim.stats.verificationsStarted;
      const json = { ...params, ...(params.number === 'FRESH' ? { number: freshNumber() } : {}) };
      const res = await raw(h.url, '/verify/json', { json });
      expect(res).toMatchObject({ status: 200, body: { status, error_text: errorText } });
      expect(res.body.request_id).toBeUndefined();
      expect(h.sim.stats.verificationsStarted).toBe(before);
    });

    test('numbers are accepted as JSON numbers or strings', async () => {
      const asNumbers = await raw(h.url, '/verify/json', {
        json: {
          number: Number(freshNumber()),
          brand: 'Acme',
          workflow_id: 6,
          code_length: 6,
          pin_expiry: 120,
        },
      });
      const asStrings = await raw(h.url, '/verify/json', {
        json: { number: freshNumber(), brand: 'Acme', workflow_id: '6', code_length: '6', pin_expiry: '120' },
      });
      for (const res of [asNumbers, asStrings]) {
        expect(res.body.status).toBe('0');
        expect(h.sim.currentCode(String(res.body.request_id))).toMatch(/^\d{6}$/);
      }
      const viaEnum = await startOk(h, { workflowId: VerifyWorkflows.SMS });
      h.sim.advance(300 * SECOND);
      expect(h.sim.requestState(viaEnum.id)).toMatchObject({ status: 'EXPIRED', eventsDelivered: 1 });
    });

    test('with country, a national number is formatted to E.164 digits', async () => {
      const number = freshNumber();
      const res = await raw(h.url, '/verify/json', {
        json: { number: `0${number.slice(2)}`, country: 'GB', brand: 'Acme' },
      });
      expect(res.body.status).toBe('0');
      expect(h.sim.requestState(String(res.body.request_id))?.number).toBe(number);
    });

    test('pin_code is refused with status 20 on a standard account, and used when the account allows it', async () => {
      const refused = await raw(h.url, '/verify/json', {
        json: { number: freshNumber(), brand: 'Acme', pin_code: '9876' },
      });
      expect(refused.body).toEqual({
        status: '20',
        error_text: 'This account does not support the parameter: pin_code.',
      });

      const custom = await harness({ pinCodeEnabled: true });
      const res = await raw(custom.url, '/verify/json', {
        json: { number: freshNumber(), brand: 'Acme', pin_code: '9876' },
      });
      expect(custom.sim.currentCode(String(res.body.request_id))).toBe('9876');
    });

    test('checklist 5: a pin_expiry that is not a multiple of next_event_wait becomes next_event_wait', async () => {
      const adjusted = await startOk(h, { pinExpiry: 200, nextEventWait: 120 });
      const multiple = await startOk(h, { pinExpiry: 240, nextEventWait: 120 });
      h.sim.advance(120 * SECOND);
      const [a0, a1] = codesOf(h, adjusted.id);
      const [m0, m1] = codesOf(h, multiple.id);
      // 200 -> 120: the second event already carries a new PIN; 240 keeps the first PIN for it.
      expect(a1).not.toBe(a0);
      expect(m1).toBe(m0);
      expect(h.sim.messages({ requestId: adjusted.id })[0]?.text).toContain('Valid for 2 minutes.');
    });

    test('checklist 7: a second start for the number in flight answers status 10 with the in-flight request_id', async () => {
      const { id, number } = await startOk(h);
      for (const again of [number, `+${number}`]) {
        const res = fields(await h.vonage.verify.start({ number: again, brand: 'Other' }));
        expect(res).toMatchObject({
          request_id: id,
          requestId: id,
          status: '10',
          error_text: TEXT.concurrent,
        });
      }
      expect(h.sim.messages({ number })).toHaveLength(1);
    });

    test('checklist 7: the number is free again after SUCCESS, FAILED, EXPIRED and CANCELLED', async () => {
      const verified = await startOk(h);
      await h.vonage.verify.check(verified.id, h.sim.currentCode(verified.id) ?? '');

      const failed = await startOk(h);
      for (let i = 0; i < 3; i++) await h.vonage.verify.check(failed.id, 'zzzz');

      const cancelled = await startOk(h);
      const expired = await startOk(h, { workflowId: VerifyWorkflows.SMS });
      h.sim.advance(30 * SECOND);
      expect(fields(await h.vonage.verify.cancel(cancelled.id)).status).toBe('0');
      h.sim.advance(270 * SECOND);

      const states = [verified, failed, expired, cancelled].map((r) => h.sim.requestState(r.id)?.status);
      expect(states).toEqual(['SUCCESS', 'FAILED', 'EXPIRED', 'CANCELLED']);
      for (const previous of [verified, failed, expired, cancelled]) {
        const again = await startOk(h, {}, previous.number);
        expect(again.id).not.toBe(previous.id);
      }
    });

    test.each<[string, string]>([
      ['1', 'Throttled'],
      ['5', 'Internal Error'],
      [
        '6',
        'The Vonage platform was unable to process this message for the following reason: The request could not be routed.',
      ],
      ['8', 'The api_key you supplied is for an account that has been barred from submitting messages.'],
      ['9', 'Partner quota exceeded'],
      ['15', 'The destination number is not in a supported network'],
      [
        '29',
        'Your Vonage account is still in demo mode. While in demo mode you must add target numbers to the approved list for your account. Add funds to your account to remove this limitation.',
      ],
    ])(
      'checklist 8: forced start status %s carries its documented text and changes nothing',
      async (status, errorText) => {
        const number = freshNumber();
        const started = h.sim.stats.verificationsStarted;
        h.sim.forceStatus('start', status);
        const res = fields(await h.vonage.verify.start({ number, brand: 'Acme' }));
        expect(res).toMatchObject({ status, error_text: errorText });
        expect(res.request_id).toBeUndefined();
        expect(h.sim.messages({ number })).toEqual([]);
        expect(h.sim.stats.verificationsStarted).toBe(started);
        await startOk(h, {}, number);
      },
    );

    test('checklist 8: forced status 7 has a network and no request_id', async () => {
      h.sim.forceStatus('start', '7');
      const res = fields(await h.vonage.verify.start({ number: freshNumber(), brand: 'Acme' }));
      expect(res).toMatchObject({
        status: '7',
        error_text: 'The number you are trying to verify is blacklisted for verification.',
      });
      expect(typeof res.network).toBe('string');
      expect(res.request_id).toBeUndefined();
    });

    test('forced statuses: times, queueing, other operations, an errorText override, and bad input', async () => {
      h.sim.forceStatus('start', '9', 2);
      h.sim.forceStatus('start', '15');
      const statuses: unknown[] = [];
      for (let i = 0; i < 4; i++)
        statuses.push(fields(await h.vonage.verify.start({ number: freshNumber(), brand: 'Acme' })).status);
      expect(statuses).toEqual(['9', '9', '15', '0']);

      const { id } = await startOk(h);
      h.sim.forceStatus('check', '5');
      expect(fields(await h.vonage.verify.check(id, h.sim.currentCode(id) ?? ''))).toMatchObject({
        request_id: id,
        status: '5',
        error_text: 'Internal Error',
      });
      expect(h.sim.requestState(id)?.status).toBe('IN PROGRESS');

      h.sim.advance(30 * SECOND);
      h.sim.forceStatus('control', '19');
      expect(fields(await h.vonage.verify.cancel(id))).toMatchObject({
        status: '19',
        error_text: TEXT.cancelTooLate(id),
      });
      h.sim.forceStatus('control', '19', 1, 'custom text');
      expect(fields(await h.vonage.verify.trigger(id))).toMatchObject({
        status: '19',
        error_text: 'custom text',
      });
      expect(fields(await h.vonage.verify.cancel(id))).toEqual({ status: '0', command: 'cancel' });

      expect(() => h.sim.forceStatus('check', '10')).toThrow(RangeError);
      expect(() => h.sim.forceStatus('start', '5', 0)).toThrow(RangeError);
    });

    test('throttlePerSecond: above the limit within one clock second, status 1 "Throttled"', async () => {
      const t = await harness({ throttlePerSecond: 2 });
      await startOk(t);
      await startOk(t);
      const number = freshNumber();
      expect(fields(await t.vonage.verify.start({ number, brand: 'Acme' }))).toMatchObject({
        status: '1',
        error_text: 'Throttled',
      });
      expect(t.sim.messages({ number })).toEqual([]);
      t.sim.advance(SECOND);
      await startOk(t, {}, number);
    });
  });

  describe('checklist 9-13: check', () => {
    test('checklist 9: the right code answers 0 with event_id, price and currency, and stops the sequence', async () => {
      const { id, number } = await startOk(h);
      h.sim.advance(125 * SECOND);
      // Searched while it runs: search lags behind a request that has just ended (checklist 20).
      const search = fields(await h.vonage.verify.search(id));
      const res = fields(await h.vonage.verify.check(id, h.sim.currentCode(id) ?? ''));
      const events = search.events as { id: string }[];
      expect(res).toMatchObject({
        request_id: id,
        event_id: events[1]?.id,
        status: '0',
        price: '0.10000000',
        currency: 'EUR',
        estimated_price_messages_sent: '0.06660000',
      });
      expect(res.event_id).toMatch(/^[0-9A-F]{16}$/);
      expect(h.sim.requestState(id)?.status).toBe('SUCCESS');
      h.sim.advance(3600 * SECOND);
      expect(h.sim.messages({ number })).toHaveLength(2);
    });

    test('checklist 10: a wrong code answers 16 and the request stays open', async () => {
      const { id } = await startOk(h);
      expect(fields(await h.vonage.verify.check(id, 'zzzz'))).toMatchObject({
        request_id: id,
        status: '16',
        error_text: TEXT.mismatch,
      });
      expect(fields(await h.vonage.verify.check(id, h.sim.currentCode(id) ?? '')).status).toBe('0');
    });

    test('checklist 11: the 3rd wrong code answers 17, FAILED, and even the right code is refused after', async () => {
      const { id } = await startOk(h);
      const statuses: unknown[] = [];
      for (let i = 0; i < 3; i++) statuses.push(fields(await h.vonage.verify.check(id, 'zzzz')).status);
      expect(statuses).toEqual(['16', '16', '17']);
      expect(h.sim.requestState(id)?.status).toBe('FAILED');
      expect(fields(await h.vonage.verify.check(id, h.sim.currentCode(id) ?? ''))).toMatchObject({
        status: '6',
        error_text: TEXT.checkNotFound(id),
      });
    });

    test('checklist 11: the 17 text, and maxWrongCodes is configurable', async () => {
      const m = await harness({ maxWrongCodes: 5 });
      const { id } = await startOk(m);
      const answers: Body[] = [];
      for (let i = 0; i < 5; i++) answers.push(fields(await m.vonage.verify.check(id, 'zzzz')));
      expect(answers.map((a) => a.status)).toEqual(['16', '16', '16', '16', '17']);
      expect(answers[4]).toMatchObject({ request_id: id, error_text: TEXT.tooMany });
    });

    test('checklist 11: the wrong-code count is per PIN: kept across an event with the same PIN, reset by a new PIN', async () => {
      const same = await startOk(h);
      const renewed = await startOk(h);
      for (const r of [same, renewed]) {
        await h.vonage.verify.check(r.id, 'zzzz');
        await h.vonage.verify.check(r.id, 'zzzz');
      }
      h.sim.advance(125 * SECOND); // 2nd event, PIN only 125 s old: same PIN
      expect(codesOf(h, same.id)).toHaveLength(2);
      expect(fields(await h.vonage.verify.check(same.id, 'zzzz')).status).toBe('17');

      const oldCode = h.sim.currentCode(renewed.id) ?? '';
      h.sim.advance(180 * SECOND); // 3rd event at 305 s, PIN older than 300 s: new PIN, fresh allowance
      const newCode = h.sim.currentCode(renewed.id);
      expect(newCode).not.toBe(oldCode);
      expect(fields(await h.vonage.verify.check(renewed.id, oldCode)).status).toBe('16');
      expect(fields(await h.vonage.verify.check(renewed.id, 'zzzz')).status).toBe('16');
      expect(fields(await h.vonage.verify.check(renewed.id, newCode ?? '')).status).toBe('0');
    });

    test('checklist 12: check on an unknown, verified, expired, cancelled or failed request answers 6', async () => {
      const unknown = 'abcdef0123456789abcdef0123456789';
      const verified = await startOk(h);
      const code = h.sim.currentCode(verified.id) ?? '';
      await h.vonage.verify.check(verified.id, code);
      const failed = await startOk(h);
      for (let i = 0; i < 3; i++) await h.vonage.verify.check(failed.id, 'zzzz');
      const cancelled = await startOk(h);
      const expired = await startOk(h, { workflowId: VerifyWorkflows.TTS });
      h.sim.advance(30 * SECOND);
      await h.vonage.verify.cancel(cancelled.id);
      h.sim.advance(270 * SECOND);

      const cases: [string, string][] = [
        [unknown, '1234'],
        [verified.id, code],
        [failed.id, h.sim.currentCode(failed.id) ?? ''],
        [cancelled.id, h.sim.currentCode(cancelled.id) ?? ''],
        [expired.id, h.sim.currentCode(expired.id) ?? ''],
      ];
      for (const [id, c] of cases) {
        expect(fields(await h.vonage.verify.check(id, c))).toMatchObject({
          request_id: id,
          status: '6',
          error_text: TEXT.checkNotFound(id),
        });
      }
    });

    test('checklist 13: missing request_id or code -> 2; request_id over 32 chars or code not 4-6 chars -> 3', async () => {
      const { id } = await startOk(h);
      const post = (json: Body) => raw(h.url, '/verify/check/json', { json }).then((r) => r.body);
      expect(await post({ code: '1234' })).toEqual({
        status: '2',
        error_text: 'Your request is incomplete and missing the mandatory parameter `request_id`',
      });
      expect(await post({ request_id: id })).toEqual({
        request_id: id,
        status: '2',
        error_text: 'Your request is incomplete and missing the mandatory parameter `code`',
      });
      expect(await post({ request_id: `${id}0`, code: '1234' })).toMatchObject({
        status: '3',
        error_text: 'Invalid value for param: request_id',
      });
      for (const code of ['123', '1234567']) {
        expect(await post({ request_id: id, code })).toEqual({
          request_id: id,
          status: '3',
          error_text: 'Invalid value for param: code',
        });
      }
      expect(h.sim.requestState(id)?.status).toBe('IN PROGRESS');
    });
  });

  describe('checklist 14-18: control', () => {
    test('checklist 15 and 14: cancel inside the first 30 s -> 19; at 30 s -> 0, CANCELLED, nothing more is sent', async () => {
      const { id, number } = await startOk(h);
      h.sim.advance(30 * SECOND - 1);
      expect(fields(await h.vonage.verify.cancel(id))).toMatchObject({
        status: '19',
        error_text: TEXT.cancelTooEarly(id),
      });
      h.sim.advance(1);
      expect(fields(await h.vonage.verify.cancel(id))).toEqual({ status: '0', command: 'cancel' });
      expect(h.sim.requestState(id)?.status).toBe('CANCELLED');
      h.sim.advance(3600 * SECOND);
      expect(h.sim.messages({ number })).toHaveLength(1);
      expect(fields(await h.vonage.verify.search(id)).status).toBe('CANCELLED');
    });

    test('checklist 16: cancel after the 2nd event -> 19 "can\'t be cancelled now" (with its double space)', async () => {
      const { id } = await startOk(h);
      h.sim.advance(125 * SECOND);
      const res = fields(await h.vonage.verify.cancel(id));
      expect(res).toMatchObject({ status: '19', error_text: TEXT.cancelTooLate(id) });
      expect(String(res.error_text)).toContain("request  ['");
      expect(h.sim.requestState(id)?.status).toBe('IN PROGRESS');
    });

    test('a single-event workflow can be cancelled any time after 30 s', async () => {
      const { id } = await startOk(h, { workflowId: VerifyWorkflows.SMS });
      h.sim.advance(299 * SECOND);
      expect(fields(await h.vonage.verify.cancel(id))).toEqual({ status: '0', command: 'cancel' });
    });

    test('checklist 17: cancel or trigger on an unknown or finished request -> 6; bad or missing cmd -> 3 / 2', async () => {
      const unknown = 'abcdef0123456789abcdef0123456789';
      const { id } = await startOk(h);
      await h.vonage.verify.check(id, h.sim.currentCode(id) ?? '');
      for (const target of [unknown, id]) {
        for (const res of [await h.vonage.verify.cancel(target), await h.vonage.verify.trigger(target)]) {
          expect(fields(res)).toEqual({
            status: '6',
            error_text: TEXT.controlNotFound(target),
            errorText: TEXT.controlNotFound(target),
          });
        }
      }
      const live = await startOk(h);
      expect(
        (await raw(h.url, '/verify/control/json', { json: { request_id: live.id, cmd: 'pause' } })).body,
      ).toEqual({
        status: '3',
        error_text: 'Invalid value for param: cmd',
      });
      expect((await raw(h.url, '/verify/control/json', { json: { request_id: live.id } })).body).toEqual({
        status: '2',
        error_text: 'Your request is incomplete and missing the mandatory parameter `cmd`',
      });
    });

    test('checklist 18: trigger_next_event delivers the next event at once, then 19 when none are left', async () => {
      const { id } = await startOk(h, { workflowId: VerifyWorkflows.SMS_TTS });
      h.sim.advance(10 * SECOND);
      expect(fields(await h.vonage.verify.trigger(id))).toEqual({
        status: '0',
        command: 'trigger_next_event',
      });
      const messages = h.sim.messages({ requestId: id });
      expect(messages.map((m) => [m.channel, m.at])).toEqual([
        ['sms', new Date(h.clock.now() - 10 * SECOND).toISOString()],
        ['tts', new Date(h.clock.now()).toISOString()],
      ]);
      expect(fields(await h.vonage.verify.trigger(id))).toMatchObject({
        status: '19',
        error_text: TEXT.noMoreEvents(id),
      });
      // The request still expires one wait after the (triggered) last event.
      h.sim.advance(300 * SECOND - 1);
      expect(h.sim.requestState(id)?.status).toBe('IN PROGRESS');
      h.sim.advance(1);
      expect(h.sim.requestState(id)?.status).toBe('EXPIRED');
    });
  });

  describe('checklist 19: workflows and timing', () => {
    test.each<[VerifyWorkflows, string[], number[], number]>([
      [VerifyWorkflows.SMS_TTS_TTS, ['sms', 'tts', 'tts'], [0, 125, 305], 605],
      [VerifyWorkflows.SMS_SMS_TTS, ['sms', 'sms', 'tts'], [0, 125, 305], 605],
      [VerifyWorkflows.TTS_TTS, ['tts', 'tts'], [0, 300], 600],
      [VerifyWorkflows.SMS_SMS, ['sms', 'sms'], [0, 300], 600],
      [VerifyWorkflows.SMS_TTS, ['sms', 'tts'], [0, 300], 600],
      [VerifyWorkflows.SMS, ['sms'], [0], 300],
      [VerifyWorkflows.TTS, ['tts'], [0], 300],
    ])(
      'workflow %s with default timings: %j at %j s, EXPIRED at %d s',
      async (workflowId, channels, offsets, expiry) => {
        const { id, number } = await startOk(h, { workflowId });
        const start = h.clock.now();
        h.sim.advance(expiry * SECOND - 1);
        expect(h.sim.requestState(id)?.status).toBe('IN PROGRESS');
        const messages = h.sim.messages({ requestId: id });
        expect(messages.map((m) => m.channel)).toEqual(channels);
        expect(messages.map((m) => (Date.parse(m.at) - start) / SECOND)).toEqual(offsets);
        const tts = messages.find((m) => m.channel === 'tts');
        if (tts) expect(tts.text).toBe(`Your Acme code is ${tts.code.split('').join(' ')}`);
        h.sim.advance(1);
        expect(h.sim.requestState(id)?.status).toBe('EXPIRED');
        expect(fields(await h.vonage.verify.trigger(id)).status).toBe('6');
        await startOk(h, {}, number);
      },
    );

    test('with next_event_wait, every wait (and the tail before expiry) is next_event_wait', async () => {
      const { id } = await startOk(h, { nextEventWait: 60 });
      const start = h.clock.now();
      h.sim.advance(180 * SECOND - 1);
      expect(h.sim.messages({ requestId: id }).map((m) => (Date.parse(m.at) - start) / SECOND)).toEqual([
        0, 60, 120,
      ]);
      h.sim.advance(1);
      expect(h.sim.requestState(id)?.status).toBe('EXPIRED');
    });

    test.each<[number, boolean[]]>([
      [360, [false, false]],
      [240, [false, true]],
      [120, [true, true]],
    ])(
      'DOC-TIM example: next_event_wait 120, pin_expiry %d -> new PIN at events 2 and 3: %j',
      async (pinExpiry, expected) => {
        const { id } = await startOk(h, { nextEventWait: 120, pinExpiry });
        h.sim.advance(240 * SECOND);
        const [c0, c1, c2] = codesOf(h, id);
        expect([c1 !== c0, c2 !== c1]).toEqual(expected);
      },
    );

    test('default workflow 1: the 3rd event (305 s) carries a new PIN, the 2nd (125 s) does not', async () => {
      const { id } = await startOk(h);
      h.sim.advance(305 * SECOND);
      const [c0, c1, c2] = codesOf(h, id);
      expect(c1).toBe(c0);
      expect(c2).not.toBe(c1);
      expect(h.sim.currentCode(id)).toBe(c2);
    });

    test('a big clock jump replays events of several requests in time order', async () => {
      const a = await startOk(h);
      h.sim.advance(100 * SECOND);
      const b = await startOk(h);
      h.sim.advance(10_000 * SECOND);
      const times = h.sim
        .messages()
        .filter((m) => m.requestId === a.id || m.requestId === b.id)
        .map((m) => Date.parse(m.at));
      expect(times).toEqual([...times].sort((x, y) => x - y));
      expect(times).toHaveLength(6);
    });
  });

  describe('checklist 20: search', () => {
    test('found: every documented field, dates as YYYY-MM-DD HH:MM:SS', async () => {
      const { id, number } = await startOk(h);
      const submitted = h.clock.now();
      await h.vonage.verify.check(id, 'zzzz');
      h.sim.advance(125 * SECOND);
      await h.vonage.verify.check(id, h.sim.currentCode(id) ?? '');
      h.sim.advance(60 * SECOND);
      const res = fields(await h.vonage.verify.search(id));
      const date = (ms: number) => new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
      expect(res).toMatchObject({
        request_id: id,
        account_id: API_KEY,
        status: 'SUCCESS',
        number,
        price: '0.10000000',
        currency: 'EUR',
        sender_id: 'verify',
        date_submitted: date(submitted),
        date_finalized: date(submitted + 125 * SECOND),
        first_event_date: date(submitted),
        last_event_date: date(submitted + 125 * SECOND),
        estimated_price_messages_sent: '0.06660000',
      });
      expect(res.date_submitted).toMatch(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/);
      expect(res.checks).toEqual([
        expect.objectContaining({
          date_received: date(submitted),
          code: 'zzzz',
          status: 'INVALID',
          ip_address: '',
        }),
        expect.objectContaining({
          date_received: date(submitted + 125 * SECOND),
          status: 'VALID',
          ip_address: '',
        }),
      ]);
      expect((res.events as Body[]).map((e) => e.type)).toEqual(['sms', 'tts']);
    });

    test('unknown request_id -> status 101 "No response found"', async () => {
      const unknown = 'abcdef0123456789abcdef0123456789';
      expect(fields(await h.vonage.verify.search(unknown))).toMatchObject({
        request_id: unknown,
        status: '101',
        error_text: 'No response found',
      });
    });

    test('for a minute after a request ends, search answers 101 "No response found"; then it reports it', async () => {
      const { id } = await startOk(h);
      await h.vonage.verify.check(id, h.sim.currentCode(id) ?? '');
      expect(fields(await h.vonage.verify.search(id))).toMatchObject({ request_id: id, status: '101' });
      h.sim.advance(59 * SECOND);
      expect(fields(await h.vonage.verify.search(id)).status).toBe('101');
      h.sim.advance(SECOND);
      expect(fields(await h.vonage.verify.search(id)).status).toBe('SUCCESS');
    });

    test('FAILED and EXPIRED are reported as such, with date_finalized', async () => {
      const failed = await startOk(h);
      for (let i = 0; i < 3; i++) await h.vonage.verify.check(failed.id, 'zzzz');
      const expired = await startOk(h, { workflowId: VerifyWorkflows.SMS });
      const start = h.clock.now();
      h.sim.advance(360 * SECOND);
      expect(fields(await h.vonage.verify.search(failed.id))).toMatchObject({
        status: 'FAILED',
        price: '0.00000000',
      });
      const res = fields(await h.vonage.verify.search(expired.id));
      expect(res.status).toBe('EXPIRED');
      expect(res.date_finalized).toBe(
        new Date(start + 300 * SECOND).toISOString().slice(0, 19).replace('T', ' '),
      );
    });
  });

  describe('checklist 21: virtual clock and test-only reads', () => {
    test('moving the shared VirtualClock directly is enough: the next HTTP call processes what fell due', async () => {
      const { id } = await startOk(h);
      h.clock.advance(125 * SECOND);
      expect(fields(await h.vonage.verify.search(id)).events).toHaveLength(2);
    });

    test('messages() filters by number (with or without +) and by requestId', async () => {
      const a = await startOk(h);
      const b = await startOk(h);
      expect(h.sim.messages({ number: `+${a.number}` }).map((m) => m.requestId)).toEqual([a.id]);
      expect(h.sim.messages({ requestId: b.id }).map((m) => m.number)).toEqual([b.number]);
      expect(h.sim.currentCode('nope')).toBeUndefined();
      expect(h.sim.requestState('nope')).toBeUndefined();
    });

    test('advance() refuses a real clock; the real clock still works lazily', async () => {
      const real = new VerifySimulator({ apiKey: API_KEY, apiSecret: API_SECRET });
      opened.push(real);
      expect(real.clock).toBe(systemClock);
      expect(() => real.advance(1000)).toThrow(/VirtualClock/);
      const url = await real.listen();
      const before = Date.now();
      const res = fields(await sdk(url).verify.start({ number: freshNumber(), brand: 'Acme' }));
      const [message] = real.messages({ requestId: String(res.request_id) });
      expect(Date.parse(message?.at ?? '')).toBeGreaterThanOrEqual(before - 1000);
      expect((await raw(url, '/_simulator/clock/advance', { json: { ms: 1000 } })).body).toMatchObject({
        error: 'clock_not_virtual',
      });
    });
  });

  describe('checklist 22: faults, and what the SDK throws', () => {
    test.each<['http500' | 'http401' | 'http429', number]>([
      ['http500', 500],
      ['http401', 401],
      ['http429', 429],
    ])('%s: VetchError with response.status %d and a JSON body; no state change', async (mode, status) => {
      const number = freshNumber();
      const started = h.sim.stats.verificationsStarted;
      h.sim.setFault({ mode });
      const error = await caught(h.vonage.verify.start({ number, brand: 'Acme' }));
      expect(error).toBeInstanceOf(VetchError);
      const response = (error as VetchError).response;
      expect((error as VetchError).message).toBe(`Request failed with status code ${status}`);
      expect(response?.status).toBe(status);
      expect(response?.headers.get('content-type')).toBe('application/json');
      expect(await response?.json()).toHaveProperty('title');
      expect(h.sim.messages({ number })).toEqual([]);
      expect(h.sim.stats.verificationsStarted).toBe(started);
    });

    test('hang: the SDK times out with AbortError; close() later frees the held socket', async () => {
      const hang = await harness({}, 150);
      hang.sim.setFault({ mode: 'hang' });
      await expect(hang.vonage.verify.start({ number: freshNumber(), brand: 'Acme' })).rejects.toMatchObject({
        name: 'AbortError',
      });
      // Without a client timeout the call would wait forever; close() must end it.
      const pending = fetch(`${hang.url}/verify/search/json?request_id=x`).then(
        () => 'answered',
        // undici's errors come from Node's realm, not jest's sandbox: compare names, not classes.
        (e: { name?: unknown }) => (e.name === 'TypeError' ? 'socket closed' : 'other'),
      );
      while (hang.sim.stats.calls.search === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      await hang.sim.close();
      expect(await pending).toBe('socket closed');
    });

    test('reset: the SDK throws TypeError "fetch failed"', async () => {
      h.sim.setFault({ mode: 'reset' });
      const error = await caught(h.vonage.verify.start({ number: freshNumber(), brand: 'Acme' }));
      expect(error).toMatchObject({ name: 'TypeError', message: 'fetch failed' });
    });

    test('afterWork: Vonage does the work, then the answer is lost (hang: AbortError; reset: TypeError)', async () => {
      const hang = await harness({}, 150);
      const started = await startOk(hang);
      hang.sim.setFault({ mode: 'hang', operations: ['check'], afterWork: true, times: 1 });
      const code = hang.sim.currentCode(started.id) ?? '';
      await expect(hang.vonage.verify.check(started.id, code)).rejects.toMatchObject({ name: 'AbortError' });
      expect(hang.sim.requestState(started.id)?.status).toBe('SUCCESS');

      const number = freshNumber();
      h.sim.setFault({ mode: 'reset', operations: ['start'], afterWork: true, times: 1 });
      const error = await caught(h.vonage.verify.start({ number, brand: 'Acme' }));
      expect(error).toMatchObject({ name: 'TypeError', message: 'fetch failed' });
      expect(h.sim.messages({ number })).toHaveLength(1);
      expect(() => h.sim.setFault({ mode: 'http500', afterWork: true })).toThrow(RangeError);
    });

    test('badJson: VetchError "Failed to decode response body"', async () => {
      h.sim.setFault({ mode: 'badJson' });
      const error = await caught(h.vonage.verify.search('abcdef0123456789abcdef0123456789'));
      expect(error).toBeInstanceOf(VetchError);
      expect((error as VetchError).message).toBe('Failed to decode response body');
    });

    test('noContentType: the SDK returns a garbage object (string indices, no status)', async () => {
      h.sim.setFault({ mode: 'noContentType', times: 1 });
      const res = fields(await h.vonage.verify.search('abcdef0123456789abcdef0123456789'));
      expect(res.status).toBeUndefined();
      expect(res['0']).toBe('{');
    });

    test('noContentType is the one fault that still processes the call, like a proxy stripping the header', async () => {
      const number = freshNumber();
      h.sim.setFault({ mode: 'noContentType', operations: ['start'], times: 1 });
      const garbage = fields(await h.vonage.verify.start({ number, brand: 'Acme' }));
      expect(garbage.request_id).toBeUndefined();
      const [message] = h.sim.messages({ number });
      expect(message).toBeDefined();
      expect(fields(await h.vonage.verify.start({ number, brand: 'Acme' }))).toMatchObject({
        status: '10',
        request_id: message?.requestId,
      });
    });

    test('operations and times: a fault hits only the listed operations, the given number of times', async () => {
      const { id } = await startOk(h);
      h.sim.setFault({ mode: 'http500', operations: ['check'], times: 2 });
      expect(fields(await h.vonage.verify.search(id)).status).toBe('IN PROGRESS');
      await expect(h.vonage.verify.check(id, 'zzzz')).rejects.toBeInstanceOf(VetchError);
      await expect(h.vonage.verify.check(id, 'zzzz')).rejects.toBeInstanceOf(VetchError);
      // Faulted checks did not count as wrong codes: two more wrong ones still answer 16.
      expect(fields(await h.vonage.verify.check(id, 'zzzz')).status).toBe('16');
      expect(fields(await h.vonage.verify.check(id, 'zzzz')).status).toBe('16');
    });

    test('a fault without times lasts until setFault(null); bad faults are refused', async () => {
      h.sim.setFault({ mode: 'http429', operations: ['start'] });
      for (let i = 0; i < 3; i++) {
        await expect(h.vonage.verify.start({ number: freshNumber(), brand: 'Acme' })).rejects.toBeInstanceOf(
          VetchError,
        );
      }
      h.sim.setFault(null);
      await startOk(h);
      expect(() => h.sim.setFault({ mode: 'http500', times: 0 })).toThrow(RangeError);
    });
  });

  describe('HTTP control API under /_simulator', () => {
    test('messages, requests/:id, clock/advance', async () => {
      const { id, number } = await startOk(h);
      const messages = await raw(h.url, `/_simulator/messages?number=${number}`, { auth: 'none' });
      expect(messages.body).toEqual({ messages: h.sim.messages({ number }) });
      const byId = await raw(h.url, `/_simulator/requests/${id}`, { auth: 'none' });
      expect(byId.body).toEqual({
        requestId: id,
        status: 'IN PROGRESS',
        number,
        eventsDelivered: 1,
        createdAt: h.clock.now(),
        code: h.sim.currentCode(id),
      });
      expect((await raw(h.url, '/_simulator/requests/unknown', { auth: 'none' })).status).toBe(404);

      const advanced = await raw(h.url, '/_simulator/clock/advance', {
        auth: 'none',
        json: { ms: 125 * SECOND },
      });
      expect(advanced.body).toEqual({ now: h.clock.now(), at: new Date(h.clock.now()).toISOString() });
      const filtered = await raw(h.url, `/_simulator/messages?requestId=${id}`, { auth: 'none' });
      expect(filtered.body.messages).toHaveLength(2);
      expect((await raw(h.url, '/_simulator/clock/advance', { auth: 'none', json: { ms: -1 } })).status).toBe(
        400,
      );
    });

    test('fault (PUT/DELETE) and force-status', async () => {
      const put = await raw(h.url, '/_simulator/fault', {
        method: 'PUT',
        auth: 'none',
        json: { mode: 'http500', operations: ['search'] },
      });
      expect(put.status).toBe(200);
      await expect(h.vonage.verify.search('x')).rejects.toBeInstanceOf(VetchError);
      expect((await raw(h.url, '/_simulator/fault', { method: 'DELETE', auth: 'none' })).status).toBe(204);
      expect(fields(await h.vonage.verify.search('x')).status).toBe('101');
      expect(
        (await raw(h.url, '/_simulator/fault', { method: 'PUT', auth: 'none', json: { mode: 'explode' } }))
          .status,
      ).toBe(400);
      const afterWorkOn500 = await raw(h.url, '/_simulator/fault', {
        method: 'PUT',
        auth: 'none',
        json: { mode: 'http500', afterWork: true },
      });
      expect(afterWorkOn500.status).toBe(400);
      expect(JSON.stringify(afterWorkOn500.body)).toContain('afterWork');

      const forced = await raw(h.url, '/_simulator/force-status', {
        auth: 'none',
        json: { operation: 'start', status: '15', times: 1 },
      });
      expect(forced.status).toBe(200);
      expect(fields(await h.vonage.verify.start({ number: freshNumber(), brand: 'Acme' })).status).toBe('15');
      const bad = await raw(h.url, '/_simulator/force-status', {
        auth: 'none',
        json: { operation: 'check', status: '10' },
      });
      expect(bad.status).toBe(400);
    });

    test('stats and reset', async () => {
      const s = await harness();
      const { id } = await startOk(s);
      await s.vonage.verify.check(id, 'zzzz');
      await s.vonage.verify.search(id);
      s.sim.setFault({ mode: 'http500', operations: ['control'], times: 1 });
      await expect(s.vonage.verify.cancel(id)).rejects.toBeInstanceOf(VetchError);
      const stats = await raw(s.url, '/_simulator/stats', { auth: 'none' });
      expect(stats.body).toMatchObject({
        calls: { start: 1, check: 1, control: 1, search: 1 },
        verificationsStarted: 1,
      });
      expect(stats.body.connections).toBeGreaterThanOrEqual(1);
      expect(s.sim.stats).toEqual(stats.body);

      s.sim.forceStatus('start', '9');
      expect((await raw(s.url, '/_simulator/reset', { method: 'POST', auth: 'none' })).status).toBe(204);
      expect(s.sim.stats).toEqual({
        calls: { start: 0, check: 0, control: 0, search: 0 },
        verificationsStarted: 0,
        connections: 0,
      });
      expect(s.sim.requestState(id)).toBeUndefined();
      expect(s.sim.messages()).toEqual([]);
      expect(fields(await s.vonage.verify.search(id)).status).toBe('101');
      await startOk(s); // the forced 9 was forgotten too
    });
  });

  describe('lifecycle', () => {
    test('listen() resolves to the base URL, refuses a second listen, and close() is idempotent', async () => {
      const sim = new VerifySimulator({
        apiKey: API_KEY,
        apiSecret: API_SECRET,
        clock: new VirtualClock(T0),
      });
      opened.push(sim);
      const url = await sim.listen(0, '127.0.0.1');
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      await expect(sim.listen(0)).rejects.toThrow(/already listening/);
      await sim.close();
      await sim.close();
      await expect(fetch(`${url}/_simulator/stats`)).rejects.toMatchObject({ name: 'TypeError' });
    });

    test('the constructor refuses missing credentials and bad options', () => {
      expect(() => new VerifySimulator({ apiKey: '', apiSecret: 'x' })).toThrow();
      expect(() => new VerifySimulator({ apiKey: 'k', apiSecret: 's', maxWrongCodes: 0 })).toThrow(
        RangeError,
      );
      expect(() => new VerifySimulator({ apiKey: 'k', apiSecret: 's', throttlePerSecond: 0 })).toThrow(
        RangeError,
      );
    });
  });
});
