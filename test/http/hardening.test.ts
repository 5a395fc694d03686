// Hardening of the HTTP surface: security headers, body limits and parsing, unknown and dangerous keys,
// content types, CORS, client addresses behind proxies (TRUST_PROXY), and the number policy
// (ALLOWED_COUNTRIES, invalid and premium-rate / shared-cost / toll-free numbers), all without Vonage.

import express from 'express';
import helmet from 'helmet';
import request, { type Response } from 'supertest';
import { ConfigError, loadConfig } from '../../src/config';
import type { VerifySimulator } from '../../src/simulator/v1/simulator';
import { type Harness, KEYS, startHarness, ukMobile } from '../support/harness';

function vonageCalls(sim: VerifySimulator): number {
  const { calls } = sim.stats;
  return calls.start + calls.check + calls.control + calls.search;
}

function expectProblem(res: Response, status: number, code: string): void {
  expect({ status: res.status, code: problemOf(res).code }).toEqual({ status, code });
}

/** The problem+json body, parsed from the text so the content type is checked, not trusted. */
function problemOf(res: Response): { code?: unknown; errors?: unknown; status?: unknown } {
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  return JSON.parse(res.text) as { code?: unknown; errors?: unknown; status?: unknown };
}

function expectFieldErrors(res: Response): { path: string; message: string }[] {
  expectProblem(res, 400, 'validation_failed');
  const fieldErrors = problemOf(res).errors as { path: unknown; message: unknown }[];
  expect(Array.isArray(fieldErrors)).toBe(true);
  expect(fieldErrors.length).toBeGreaterThan(0);
  for (const error of fieldErrors) {
    expect(typeof error.path).toBe('string');
    expect(typeof error.message).toBe('string');
  }
  return fieldErrors as { path: string; message: string }[];
}

const auth = { Authorization: `Bearer ${KEYS.alpha}` };
const POSTS = ['/api/request-token', '/api/verify-token', '/api/cancel', '/api/next-event'];

describe('HTTP surface', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  test('helmet security headers are set and X-Powered-By is not, on successes and errors alike', async () => {
    const answers = [
      await h.http.get('/healthz'),
      await h.http.post('/api/request-token').send({}),
      await h.as('alpha').post('/api/cancel', { requestId: 'nope' }),
      await h.http.get('/no-such-page'),
    ];
    for (const res of answers) {
      expect(res.headers['x-powered-by']).toBeUndefined();
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['x-frame-options']).toBe('SAMEORIGIN');
      expect(res.headers['strict-transport-security']).toMatch(/max-age=\d+/);
      expect(res.headers['content-security-policy']).toContain("default-src 'self'");
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.headers['cross-origin-opener-policy']).toBe('same-origin');
    }
    expectProblem(answers[3] as Response, 404, 'not_found');
  });

  test("the security headers are exactly helmet's own (the list is made from helmet once, at start-up)", async () => {
    // helmet's middleware on an app of its own: the headers it sets on an answer.
    const plain = express();
    plain.use(helmet());
    plain.get('/', (_req, res) => {
      res.end();
    });
    const own = await request(plain).get('/');
    const notHelmets = new Set(['date', 'connection', 'keep-alive', 'content-length', 'transfer-encoding']);
    const helmets = Object.entries(own.headers).filter(([name]) => !notHelmets.has(name));
    expect(helmets.length).toBeGreaterThan(10);
    const answers = [
      await h.http.get('/healthz'),
      await h.http.post('/api/verify-token').set('Authorization', 'Bearer wrong').send({}),
      await h.as('alpha').post('/api/request-token', { phoneNumber: 'nope' }),
      await h.http.get('/no-such-page'),
    ];
    for (const res of answers) {
      for (const [name, value] of helmets)
        expect({ name, value: res.headers[name] }).toEqual({ name, value });
    }
  });

  test('a body over the limit is 413 payload_too_large, without calling Vonage', async () => {
    const calls = vonageCalls(h.sim);
    for (const path of POSTS) {
      const res = await h.as('alpha').post(path, { phoneNumber: ukMobile(), padding: 'x'.repeat(20_000) });
      expectProblem(res, 413, 'payload_too_large');
    }
    expect(vonageCalls(h.sim)).toBe(calls);
  });

  test('unknown fields are 400 validation_failed with errors [{path, message}]', async () => {
    const calls = vonageCalls(h.sim);
    const bodies: [string, object][] = [
      ['/api/request-token', { phoneNumber: ukMobile(), extra: 1 }],
      ['/api/verify-token', { requestId: 'abc', code: '123456', admin: true }],
      ['/api/cancel', { requestId: 'abc', force: true }],
      ['/api/next-event', { requestId: 'abc', channel: 'voice' }],
    ];
    for (const [path, body] of bodies) {
      const fieldErrors = expectFieldErrors(await h.as('alpha').post(path, body));
      // The unknown field is named by its path.
      expect(fieldErrors.map((e) => e.path)).toContain(Object.keys(body).at(-1));
    }
    // Wrong types name the field.
    const wrongType = expectFieldErrors(
      await h.as('alpha').post('/api/request-token', { phoneNumber: ukMobile(), codeLength: 5 }),
    );
    expect(wrongType.map((e) => e.path)).toContain('codeLength');
    expect(vonageCalls(h.sim)).toBe(calls);
  });

  test.each([
    ['__proto__ at the top', '{"phoneNumber":"+447400123456","__proto__":{"polluted":"yes"}}', '__proto__'],
    [
      'constructor.prototype',
      '{"phoneNumber":"+447400123456","constructor":{"prototype":{"polluted":"yes"}}}',
      'constructor',
    ],
    ['prototype', '{"phoneNumber":"+447400123456","prototype":{"polluted":"yes"}}', 'prototype'],
    ['__proto__ nested', '{"phoneNumber":{"__proto__":{"polluted":"yes"}}}', undefined],
    ['__proto__ in an array', '[{"__proto__":{"polluted":"yes"}}]', undefined],
  ])('%s: 400 validation_failed and no prototype pollution', async (_name, raw, key) => {
    const calls = vonageCalls(h.sim);
    for (const path of POSTS) {
      const res = await h.http.post(path).set(auth).set('Content-Type', 'application/json').send(raw);
      const fieldErrors = expectFieldErrors(res);
      // Otherwise a valid request-token: refused for the dangerous key itself.
      if (path === '/api/request-token' && key !== undefined) {
        expect(fieldErrors.map((e) => e.path)).toEqual([key]);
      }
    }
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
    expect(vonageCalls(h.sim)).toBe(calls);
  });

  test.each([
    ['text/plain', '{"phoneNumber":"+447400123456"}'],
    ['application/x-www-form-urlencoded', 'phoneNumber=%2B447400123456'],
    [
      'multipart/form-data; boundary=x',
      '--x\r\nContent-Disposition: form-data; name="phoneNumber"\r\n\r\n+447400123456\r\n--x--',
    ],
    ['application/xml', '<phoneNumber>+447400123456</phoneNumber>'],
  ])('Content-Type %s is a 4xx problem', async (type, raw) => {
    const calls = vonageCalls(h.sim);
    for (const path of POSTS) {
      const res = await h.http.post(path).set(auth).set('Content-Type', type).send(raw);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      expect(typeof problemOf(res).code).toBe('string');
    }
    expect(vonageCalls(h.sim)).toBe(calls);
  });

  test.each([
    ['truncated', '{"phoneNumber":"+4474'],
    ['single quotes', "{'phoneNumber':'+447400123456'}"],
    ['trailing comma', '{"phoneNumber":"+447400123456",}'],
    ['a bare string', '"+447400123456"'],
    ['null', 'null'],
    ['a number', '42'],
  ])('invalid JSON (%s) is 400 validation_failed', async (_name, raw) => {
    for (const path of POSTS) {
      const res = await h.http.post(path).set(auth).set('Content-Type', 'application/json').send(raw);
      expectFieldErrors(res);
    }
  });

  // Both once answered 500 internal_error (found by test/http/fuzz.test.ts).
  test('a body that does not inflate, and a malformed %-escape in the path, are 400 validation_failed', async () => {
    for (const encoding of ['gzip', 'deflate']) {
      const res = await h.http
        .post('/api/verify-token')
        .set(auth)
        .set('Content-Type', 'application/json')
        .set('Content-Encoding', encoding)
        .send(Buffer.from('{"not":"compressed"}'));
      expectProblem(res, 400, 'validation_failed');
    }
    const unsupported = await h.http
      .post('/api/cancel')
      .set(auth)
      .set('Content-Type', 'application/json')
      .set('Content-Encoding', 'x-bogus')
      .send('{}');
    expectProblem(unsupported, 400, 'validation_failed');
    for (const segment of ['%', '%E0%A4%A', '%ff', 'abc%zz']) {
      expectProblem(await h.as('alpha').get(`/api/verifications/${segment}`), 400, 'validation_failed');
    }
  });

  test('CORS is off by default: no Access-Control-Allow-Origin, not even on a preflight', async () => {
    const simple = await h.http.get('/healthz').set('Origin', 'https://app.example.com');
    expect(simple.headers['access-control-allow-origin']).toBeUndefined();
    const preflight = await h.http
      .options('/api/request-token')
      .set('Origin', 'https://app.example.com')
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'authorization,content-type');
    expect(preflight.headers['access-control-allow-origin']).toBeUndefined();
    expect(preflight.headers['access-control-allow-headers']).toBeUndefined();
  });
});

describe('CORS_ORIGINS', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { CORS_ORIGINS: 'https://app.example.com' } });
  });
  afterAll(async () => {
    await h.close();
  });

  test('allows the listed origin only', async () => {
    const listed = await h.as('alpha').get('/api/verifications/abc').set('Origin', 'https://app.example.com');
    expect(listed.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(listed.headers['access-control-expose-headers']).toContain('Retry-After');
    expect(listed.headers['access-control-expose-headers']).toContain('Idempotent-Replayed');
    const preflight = await h.http
      .options('/api/request-token')
      .set('Origin', 'https://app.example.com')
      .set('Access-Control-Request-Method', 'POST')
      .set('Access-Control-Request-Headers', 'authorization,content-type');
    expect(preflight.status).toBeLessThan(300);
    expect(preflight.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(preflight.headers['access-control-allow-headers']?.toLowerCase()).toContain('authorization');
    expect(preflight.headers['access-control-allow-headers']?.toLowerCase()).toContain('idempotency-key');

    for (const origin of [
      'https://evil.example.com',
      'http://app.example.com',
      'https://app.example.com.evil.io',
    ]) {
      const other = await h.as('alpha').get('/api/verifications/abc').set('Origin', origin);
      expect(other.headers['access-control-allow-origin']).toBeUndefined();
      const otherPreflight = await h.http
        .options('/api/request-token')
        .set('Origin', origin)
        .set('Access-Control-Request-Method', 'POST');
      expect(otherPreflight.headers['access-control-allow-origin']).toBeUndefined();
    }
  });
});

describe('TRUST_PROXY and the auth-failure limit (3/1m)', () => {
  const wrongKey = (h: Harness, forwardedFor: string) =>
    h.http
      .get('/api/verifications/abc')
      .set('Authorization', 'Bearer wrong-key')
      .set('X-Forwarded-For', forwardedFor);

  test('unset: a spoofed X-Forwarded-For buys no extra budget', async () => {
    const h = await startHarness({ env: { LIMIT_AUTH_FAILURES_PER_IP: '3/1m' } });
    try {
      const statuses: number[] = [];
      for (let i = 1; i <= 6; i++) statuses.push((await wrongKey(h, `198.51.100.${i}`)).status);
      expect(statuses).toEqual([401, 401, 401, 429, 429, 429]);
    } finally {
      await h.close();
    }
  });

  test('1: the address the proxy appended counts, whatever the client put to its left', async () => {
    const h = await startHarness({ env: { LIMIT_AUTH_FAILURES_PER_IP: '3/1m', TRUST_PROXY: '1' } });
    try {
      const statuses: number[] = [];
      for (let i = 1; i <= 6; i++) {
        statuses.push((await wrongKey(h, `198.51.100.${i}, 10.9.8.${i}, 203.0.113.7`)).status);
      }
      expect(statuses).toEqual([401, 401, 401, 429, 429, 429]);
      // Another real client behind the same proxy has its own budget.
      expectProblem(await wrongKey(h, '203.0.113.7, 203.0.113.8'), 401, 'unauthorized');
    } finally {
      await h.close();
    }
  });

  test('config refuses TRUST_PROXY=true (or *), which would trust any client', () => {
    for (const value of ['true', '*']) {
      let thrown: unknown;
      try {
        loadConfig({ TRUST_PROXY: value });
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(ConfigError);
      expect((thrown as ConfigError).problems.some((p) => p.startsWith('TRUST_PROXY'))).toBe(true);
    }
    expect(loadConfig({ TRUST_PROXY: '2' }).TRUST_PROXY).toBe(2);
    expect(loadConfig({ TRUST_PROXY: '10.0.0.0/8, 127.0.0.1' }).TRUST_PROXY).toEqual([
      '10.0.0.0/8',
      '127.0.0.1',
    ]);
  });
});

describe('number policy, before any Vonage call', () => {
  let h: Harness;
  let limited: Harness;
  beforeAll(async () => {
    h = await startHarness();
    limited = await startHarness({ env: { ALLOWED_COUNTRIES: 'gb,FR' } });
  });
  afterAll(async () => {
    await limited.close();
    await h.close();
  });

  test('ALLOWED_COUNTRIES: other countries are 403 country_not_allowed', async () => {
    const calls = vonageCalls(limited.sim);
    for (const [phoneNumber, country] of [
      ['+12015550123', undefined],
      ['(201) 555-0124', 'US'],
      ['+4915112345678', undefined],
      ['015112345678', 'DE'],
    ]) {
      const res = await limited
        .as('alpha')
        .post('/api/request-token', { phoneNumber, ...(country ? { country } : {}) });
      expectProblem(res, 403, 'country_not_allowed');
    }
    expect(vonageCalls(limited.sim)).toBe(calls);
    const allowed = await limited.as('alpha').post('/api/request-token', { phoneNumber: '+33612345678' });
    expect(allowed.status).toBe(201);
    expect((await limited.as('alpha').post('/api/request-token', { phoneNumber: ukMobile() })).status).toBe(
      201,
    );
  });

  test.each([
    ['12345', undefined],
    ['+44 123', undefined],
    ['+447400 12345 678', undefined],
    ['07400123456', undefined],
    ['07400123456', 'US'],
    ['+999 1234 5678', undefined],
    ['phone', 'GB'],
    ['+44740012345a', undefined],
    ['+0447400123456', undefined],
  ])('%s (country %s) is 400 invalid_phone_number', async (phoneNumber, country) => {
    const calls = vonageCalls(h.sim);
    const res = await h
      .as('alpha')
      .post('/api/request-token', { phoneNumber, ...(country ? { country } : {}) });
    expectProblem(res, 400, 'invalid_phone_number');
    expect(vonageCalls(h.sim)).toBe(calls);
  });

  // Types from libphonenumber-js/max getType(); UK 0845 is classed as premium rate in its metadata.
  test.each([
    ['+44 909 879 0123', undefined, 'premium rate'],
    ['0845 123 4567', 'GB', 'premium rate (0845)'],
    ['+1 900 555 0199', undefined, 'premium rate'],
    ['+33 8 91 23 45 67', undefined, 'premium rate'],
    ['+34 901 123 456', undefined, 'shared cost'],
    ['0810 12 34 56', 'FR', 'shared cost'],
    ['+43 810 123456', undefined, 'shared cost'],
    ['0800 123 4567', 'GB', 'toll free'],
    ['+1 800 555 0199', undefined, 'toll free'],
    ['+44 300 123 4567', undefined, 'UAN'],
  ])('%s (country %s, %s) is 422 number_not_supported', async (phoneNumber, country, _type) => {
    const calls = vonageCalls(h.sim);
    const res = await h
      .as('alpha')
      .post('/api/request-token', { phoneNumber, ...(country ? { country } : {}) });
    expectProblem(res, 422, 'number_not_supported');
    expect(vonageCalls(h.sim)).toBe(calls);
  });
});
