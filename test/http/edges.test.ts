// The edges a new user hits first: the wrong method on a known path (405 with Allow), no body at all,
// a country written "UK", and a JSON syntax error, each answered with a problem that says what to fix.

import type { Response } from 'supertest';
import { type Harness, KEYS, startHarness } from '../support/harness';

const auth = { Authorization: `Bearer ${KEYS.alpha}` };

function problem(res: Response): {
  code: string;
  detail: string;
  errors?: { path: string; message: string }[];
} {
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  return JSON.parse(res.text) as {
    code: string;
    detail: string;
    errors?: { path: string; message: string }[];
  };
}

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ redis: false });
});
afterAll(async () => {
  await h.close();
});

describe('405 method_not_allowed', () => {
  test.each([
    ['GET', '/api/request-token', 'POST'],
    ['PUT', '/api/verify-token', 'POST'],
    ['DELETE', '/api/cancel', 'POST'],
    ['POST', '/api/verifications/abc123', 'GET, HEAD'],
    ['POST', '/healthz', 'GET, HEAD'],
    ['DELETE', '/readyz', 'GET, HEAD'],
  ])('%s %s answers 405 with Allow: %s', async (method, path, allow) => {
    const res = await h.http[method.toLowerCase() as 'get' | 'post' | 'put' | 'delete'](path).set(auth);
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe(allow);
    const body = problem(res);
    expect(body.code).toBe('method_not_allowed');
    expect(body.detail).toContain(method);
  });

  test('an unknown path is still 404 not_found, with no Allow header', async () => {
    const res = await h.http.get('/api/no-such-thing').set(auth);
    expect(res.status).toBe(404);
    expect(problem(res).code).toBe('not_found');
    expect(res.headers.allow).toBeUndefined();
    const outside = await h.http.post('/nowhere');
    expect(outside.status).toBe(404);
  });

  test('the key is still checked first under /api: no key is 401, not 405', async () => {
    const res = await h.http.get('/api/request-token');
    expect(res.status).toBe(401);
  });

  test('the right method on those paths still works', async () => {
    expect((await h.http.get('/healthz')).status).toBe(200);
    expect((await h.http.head('/healthz')).status).toBe(200);
  });
});

describe('an empty body', () => {
  test.each([
    ['no body and no Content-Type (curl -X POST)', undefined, undefined],
    ['Content-Type: application/json and no body', 'application/json', undefined],
    ['Content-Length: 0 with a form Content-Type (curl -d "")', 'application/x-www-form-urlencoded', ''],
  ])('%s: 400 "a JSON body is required"', async (_name, type, body) => {
    for (const path of ['/api/request-token', '/api/verify-token', '/api/cancel', '/api/next-event']) {
      let req = h.http.post(path).set(auth);
      if (type) req = req.set('Content-Type', type);
      const res = body === undefined ? await req : await req.send(body);
      expect(res.status).toBe(400);
      const p = problem(res);
      expect(p.code).toBe('validation_failed');
      expect(p.errors).toEqual([{ path: '', message: 'a JSON body is required' }]);
      expect(p.detail).toMatch(/JSON body is required/);
    }
  });

  test('a body with the wrong Content-Type still says the Content-Type is wrong', async () => {
    const res = await h.http
      .post('/api/request-token')
      .set(auth)
      .set('Content-Type', 'text/plain')
      .send('{}');
    expect(problem(res).errors).toEqual([{ path: '', message: 'Content-Type must be application/json' }]);
  });
});

describe('country codes', () => {
  test('"UK" is refused with a hint to use GB, before any Vonage call', async () => {
    const calls = h.sim.stats.calls.start;
    const res = await h
      .as('alpha')
      .post('/api/request-token', { phoneNumber: '07400 123456', country: 'UK' });
    expect(res.status).toBe(400);
    const p = problem(res);
    expect(p.code).toBe('validation_failed');
    expect(p.errors).toEqual([{ path: 'country', message: 'UK is not an ISO 3166 alpha-2 code; use GB' }]);
    expect(h.sim.stats.calls.start).toBe(calls);
  });

  test('an unknown code says so; a known one in lower case works', async () => {
    const unknown = await h
      .as('alpha')
      .post('/api/request-token', { phoneNumber: '07400 123456', country: 'XX' });
    expect(problem(unknown).errors).toEqual([
      { path: 'country', message: 'XX is not a known ISO 3166 alpha-2 country code' },
    ]);
    const lower = await h
      .as('alpha')
      .post('/api/request-token', { phoneNumber: '07400 900123', country: 'gb' });
    expect(lower.status).toBe(201);
    expect(lower.body.phoneNumber).toBe('+447400900123');
  });
});

describe('JSON syntax errors name their position', () => {
  test.each([
    [
      'a missing comma',
      '{"phoneNumber": "+447400123456" "country": "GB"}',
      'unexpected "\\"" at line 1, column 33 (position 32)',
    ],
    [
      'a trailing comma',
      '{"phoneNumber":"+447400123456",}',
      'unexpected "}" at line 1, column 32 (position 31)',
    ],
    ['single quotes', "{'phoneNumber':'+447400123456'}", `unexpected "'" at line 1, column 2 (position 1)`],
    ['a value that is not JSON', '{"phoneNumber":}', 'unexpected "}" at line 1, column 16 (position 15)'],
    [
      'a second line',
      '{\n  "phoneNumber": +447400123456\n}',
      'unexpected "+" at line 2, column 18 (position 19)',
    ],
    [
      'a truncated body',
      '{"phoneNumber":"+4474',
      'the body ends too early at line 1, column 22 (position 21)',
    ],
  ])('%s', async (_name, raw, where) => {
    const res = await h.http
      .post('/api/request-token')
      .set(auth)
      .set('Content-Type', 'application/json')
      .send(raw);
    expect(res.status).toBe(400);
    const p = problem(res);
    expect(p.code).toBe('validation_failed');
    expect(p.detail).toBe(`The body is not valid JSON: ${where}.`);
    expect(p.errors).toEqual([{ path: '', message: `body is not valid JSON: ${where}` }]);
    // The body itself is never quoted back.
    expect(res.text).not.toContain('7400123456');
  });
});

describe('the auth-failure limit, as the README describes it', () => {
  test('after the limit, wrong keys from the address get 429, and the right key from it keeps working', async () => {
    const limited = await startHarness({ redis: false, env: { LIMIT_AUTH_FAILURES_PER_IP: '3/1m' } });
    try {
      const wrong = () => limited.http.get('/api/verifications/abc').set('Authorization', 'Bearer wrong-key');
      const statuses: number[] = [];
      for (let i = 0; i < 5; i++) statuses.push((await wrong()).status);
      expect(statuses).toEqual([401, 401, 401, 429, 429]);
      const right = await limited.as('alpha').get('/api/verifications/abc');
      expect(right.status).toBe(404);
      expect(problem(right).code).toBe('verification_not_found');
      // A missing key counts as a wrong one.
      expect((await limited.http.get('/api/verifications/abc')).status).toBe(429);
    } finally {
      await limited.close();
    }
  });
});
