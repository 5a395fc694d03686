// request-token for numbers it has seen lately: the parse of each written form is remembered and the
// remembered refusal of a number over its limit is answered before any promise (admitStart). The answers
// must be exactly those of a fresh parse and of Redis: equivalent written forms share one number and its
// limit, one text under two countries is two numbers, a text that is no number stays refused the same
// way, and every refusal is still counted in the funnel metric. Also: the common body checked without zod
// is exactly what zod accepts, and anything else gets zod's errors.

import type { Response } from 'supertest';
import { commonRequestTokenBody, requestTokenBody } from '../../src/http/schemas';
import { type Harness, startHarness } from '../support/harness';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ env: { LIMIT_SENDS_PER_NUMBER: '1/1h' } });
});
afterAll(async () => {
  await h.close();
});

/** Eight random digits, so no two tests (or runs) share a number. */
const digits = () => String(Math.floor(Math.random() * 100_000_000)).padStart(8, '0');

const start = (body: Record<string, unknown>) => h.as('alpha').post('/api/request-token', body);

/** 429 rate_limited for the per-number window of 1/1h, with its Retry-After. */
function expectNumberLimited(res: Response): void {
  expect({ status: res.status, body: res.body, retryAfter: res.headers['retry-after'] }).toEqual({
    status: 429,
    body: {
      type: 'urn:otp-verify:problem:rate_limited',
      title: 'Too many requests',
      status: 429,
      detail: 'Rate limit reached: codes sent to this number (1/1h).',
      code: 'rate_limited',
      retryAfterSeconds: 3600,
    },
    retryAfter: '3600',
  });
}

/** The funnel counter of one event, from /metrics. */
async function funnel(event: string): Promise<number> {
  const text = (await h.http.get('/metrics')).text;
  const line = text
    .split('\n')
    .find(
      (l) =>
        l.startsWith('otp_verifications_total{') &&
        l.includes(`event="${event}"`) &&
        l.includes('caller="alpha"'),
    );
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

test('every written form of one number shares its limit, asked again and again', async () => {
  const national = `7400${digits().slice(2)}`;
  const e164 = `+44${national}`;
  const started = await start({ phoneNumber: `+44 ${national.slice(0, 4)} ${national.slice(4)}` });
  expect(started.status).toBe(201);
  expect(started.body.phoneNumber).toBe(e164);
  const forms: Array<Record<string, string>> = [
    { phoneNumber: e164 },
    { phoneNumber: `44${national}` },
    { phoneNumber: `0${national}`, country: 'GB' },
    { phoneNumber: `0${national}`, country: 'gb' },
    { phoneNumber: `+44 ${national.slice(0, 4)} ${national.slice(4)}` },
  ];
  const before = await funnel('rate_limited');
  for (let round = 0; round < 3; round++) {
    for (const form of forms) expectNumberLimited(await start(form));
  }
  // Each refusal is counted, from Redis or from this instance's memory alike.
  expect((await funnel('rate_limited')) - before).toBe(forms.length * 3);
});

test('one text under two countries is two numbers, whichever was asked first', async () => {
  // 0612 and six digits: a mobile number both in the Netherlands and in France, and no number in the US.
  const text = `0612${digits().slice(2)}`;
  const nl = await start({ phoneNumber: text, country: 'NL' });
  expect({ status: nl.status, phoneNumber: nl.body.phoneNumber }).toEqual({
    status: 201,
    phoneNumber: `+31${text.slice(1)}`,
  });
  expectNumberLimited(await start({ phoneNumber: text, country: 'NL' }));
  // The same text for France is another number, with a window of its own.
  const fr = await start({ phoneNumber: text, country: 'FR' });
  expect({ status: fr.status, phoneNumber: fr.body.phoneNumber }).toEqual({
    status: 201,
    phoneNumber: `+33${text.slice(1)}`,
  });
  // And for the United States, or with no country, it is no number at all.
  for (const body of [
    { phoneNumber: text, country: 'US' },
    { phoneNumber: text },
    { phoneNumber: text, country: 'US' },
  ]) {
    const res = await start(body);
    expect({ status: res.status, code: res.body.code }).toEqual({
      status: 400,
      code: 'invalid_phone_number',
    });
  }
  expectNumberLimited(await start({ phoneNumber: text, country: 'FR' }));
  expectNumberLimited(await start({ phoneNumber: text, country: 'NL' }));
});

test('a text that is no number gets the same answer every time', async () => {
  const answers = [];
  for (let i = 0; i < 3; i++) answers.push(await start({ phoneNumber: '+44 12' }));
  for (const res of answers) {
    expect({ status: res.status, body: res.body }).toEqual({
      status: 400,
      body: {
        type: 'urn:otp-verify:problem:invalid_phone_number',
        title: 'Invalid phone number',
        status: 400,
        detail: 'Not a valid phone number; write it with its country code (+44...) or give "country".',
        code: 'invalid_phone_number',
      },
    });
  }
});

test('validation still comes before the limit: a limited number with a bad field is 400 with zod errors', async () => {
  const phoneNumber = `+447400${digits().slice(2)}`;
  expect((await start({ phoneNumber })).status).toBe(201);
  expectNumberLimited(await start({ phoneNumber }));
  const bad = await start({ phoneNumber, country: 'UK', brand: '' });
  expect({ status: bad.status, errors: bad.body.errors }).toEqual({
    status: 400,
    errors: [
      { path: 'country', message: 'UK is not an ISO 3166 alpha-2 code; use GB' },
      { path: 'brand', message: expect.any(String) },
    ],
  });
  const unknown = await start({ phoneNumber, extra: 1 });
  expect({ status: unknown.status, errors: unknown.body.errors }).toEqual({
    status: 400,
    errors: [{ path: 'extra', message: 'unknown field' }],
  });
  expectNumberLimited(await start({ phoneNumber, country: 'GB' }));
});

describe('the common request-token body', () => {
  const bodies: unknown[] = [
    { phoneNumber: '+447400123456' },
    { phoneNumber: '07400 123456', country: 'gb' },
    { phoneNumber: '07400 123456', country: 'Gb' },
    { phoneNumber: 'abc' },
    { phoneNumber: 'x'.repeat(32) },
    { phoneNumber: 'ab' },
    { phoneNumber: 'x'.repeat(33) },
    { phoneNumber: '+447400123456', country: 'UK' },
    { phoneNumber: '+447400123456', country: 'ZZ' },
    { phoneNumber: '+447400123456', country: 'GBR' },
    { phoneNumber: '+447400123456', country: null },
    { phoneNumber: '+447400123456', country: 44 },
    { phoneNumber: 447400123456 },
    { phoneNumber: null },
    { phoneNumber: '+447400123456', brand: 'Shop' },
    { phoneNumber: '+447400123456', extra: true },
    JSON.parse('{"phoneNumber":"+447400123456","__proto__":{"country":"GB"}}'),
    {},
    [],
    ['+447400123456'],
    null,
    '+447400123456',
    undefined,
  ];

  test('is taken exactly when zod takes it, with the same output and key order', () => {
    let taken = 0;
    for (const body of bodies) {
      const quick = commonRequestTokenBody(body);
      if (quick === undefined) continue;
      taken++;
      const parsed = requestTokenBody.safeParse(body);
      expect({ body, parsed }).toEqual({ body, parsed: { success: true, data: quick } });
      expect(Object.keys(quick)).toEqual(Object.keys(parsed.data ?? {}));
    }
    // Every valid body of only phoneNumber and country is taken; with any other field it is left to zod.
    expect(taken).toBe(5);
  });

  test('refuses over HTTP with zod errors whatever it does not take', async () => {
    const short = await start({ phoneNumber: 'ab' });
    expect({
      status: short.status,
      code: short.body.code,
      paths: short.body.errors.map((e: { path: string }) => e.path),
    }).toEqual({
      status: 400,
      code: 'validation_failed',
      paths: ['phoneNumber'],
    });
    const noCountry = await start({ phoneNumber: '+447400123456', country: 'ZZ' });
    expect(noCountry.body.errors).toEqual([
      { path: 'country', message: 'ZZ is not a known ISO 3166 alpha-2 country code' },
    ]);
  });
});
