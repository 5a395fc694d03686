// The rate limits of the contract ("Limits" in the design): each one refuses the N+1th with 429
// rate_limited, a Retry-After header and retryAfterSeconds, costs no Vonage call when it refuses, lets
// requests through again once its window has passed on the virtual clock, and counts exactly across two
// app instances sharing one Redis. Also: Redis failing while a limit is checked, and TEST_NUMBERS.

import type { Response } from 'supertest';
import type { VerifySimulator } from '../../src/simulator/v1/simulator';
import * as scripts from '../../src/store/redis/scripts';
import {
  codeFor,
  type Harness,
  KEYS,
  type Pair,
  startHarness,
  startPair,
  ukMobile,
} from '../support/harness';

const HOUR_MS = 3_600_000;

/** Every call the simulator received, of any operation. */
function vonageCalls(sim: VerifySimulator): number {
  const { calls } = sim.stats;
  return calls.start + calls.check + calls.control + calls.search;
}

function expectProblem(res: Response, status: number, code: string): void {
  expect({ status: res.status, code: res.body.code }).toEqual({ status, code });
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
}

/** 429 rate_limited, with Retry-After equal to retryAfterSeconds (and that value when given). */
function expectRateLimited(res: Response, seconds?: number): number {
  expectProblem(res, 429, 'rate_limited');
  const retryAfter = res.body.retryAfterSeconds as number;
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThan(0);
  expect(res.headers['retry-after']).toBe(String(retryAfter));
  if (seconds !== undefined) expect(retryAfter).toBe(seconds);
  return retryAfter;
}

function wrongCode(code: string): string {
  return code.replace(/\d$/, (d) => String((Number(d) + 1) % 10));
}

async function requestCode(h: Harness, phoneNumber: string): Promise<string> {
  const res = await h.as('alpha').post('/api/request-token', { phoneNumber });
  expect(res.status).toBe(201);
  return res.body.requestId as string;
}

async function verify(h: Harness, requestId: string): Promise<void> {
  const res = await h.as('alpha').post('/api/verify-token', { requestId, code: codeFor(h.sim, requestId) });
  expect(res.status).toBe(200);
}

describe('LIMIT_SENDS_PER_NUMBER (2/1h), two instances', () => {
  let p: Pair;
  beforeAll(async () => {
    p = await startPair({ LIMIT_SENDS_PER_NUMBER: '2/1h' });
  });
  afterAll(async () => {
    await p.close();
  });

  test('the third code for a number is refused without a Vonage call until the hour has passed', async () => {
    const phone = ukMobile();
    await verify(p.b, await requestCode(p.a, phone));
    p.a.sim.advance(1_000);
    await verify(p.a, await requestCode(p.b, phone));
    p.a.sim.advance(1_000);

    const calls = vonageCalls(p.a.sim);
    expectRateLimited(await p.a.as('alpha').post('/api/request-token', { phoneNumber: phone }), 3598);
    expectRateLimited(await p.b.as('alpha').post('/api/request-token', { phoneNumber: phone }), 3598);
    expect(vonageCalls(p.a.sim)).toBe(calls);

    // The limit is per caller and number: another number, or another caller, is not affected.
    await verify(p.b, await requestCode(p.b, ukMobile()));
    const beta = await p.a.as('beta').post('/api/request-token', { phoneNumber: phone });
    expect(beta.status).toBe(201);

    p.a.sim.advance(3_597_000);
    expectRateLimited(await p.b.as('alpha').post('/api/request-token', { phoneNumber: phone }), 1);
    p.a.sim.advance(1_000);
    await verify(p.a, await requestCode(p.b, phone));
  });

  test('a request answered 409 verification_in_progress is not a send', async () => {
    const phone = ukMobile();
    const first = await requestCode(p.a, phone);
    const again = await p.b.as('alpha').post('/api/request-token', { phoneNumber: phone });
    expectProblem(again, 409, 'verification_in_progress');
    expect(again.body.requestId).toBe(first);
    await verify(p.a, first);
    await verify(p.b, await requestCode(p.b, phone));
    expectRateLimited(await p.a.as('alpha').post('/api/request-token', { phoneNumber: phone }));
  });

  test('a start Vonage refused or failed is not a send', async () => {
    const phone = ukMobile();
    p.a.sim.forceStatus('start', '15');
    expectProblem(
      await p.a.as('alpha').post('/api/request-token', { phoneNumber: phone }),
      422,
      'number_not_supported',
    );
    p.a.sim.forceStatus('start', '3');
    expectProblem(
      await p.b.as('alpha').post('/api/request-token', { phoneNumber: phone }),
      400,
      'invalid_phone_number',
    );
    p.a.sim.setFault({ mode: 'http500', operations: ['start'], times: 1 });
    expectProblem(
      await p.a.as('alpha').post('/api/request-token', { phoneNumber: phone }),
      502,
      'upstream_error',
    );
    // Invalid input never reaches the limits either.
    const invalid = await p.a.as('alpha').post('/api/request-token', { phoneNumber: '+44 123' });
    expectProblem(invalid, 400, 'invalid_phone_number');

    await verify(p.b, await requestCode(p.a, phone));
    await verify(p.a, await requestCode(p.b, phone));
    expectRateLimited(await p.a.as('alpha').post('/api/request-token', { phoneNumber: phone }));
  });

  test('next-event counts as a send, and a refused next-event makes no Vonage call', async () => {
    const phone = ukMobile();
    const requestId = await requestCode(p.a, phone);
    const next = await p.b.as('alpha').post('/api/next-event', { requestId });
    expect(next.status).toBe(200);
    const control = p.a.sim.stats.calls.control;
    expectRateLimited(await p.a.as('alpha').post('/api/next-event', { requestId }), 3600);
    expect(p.a.sim.stats.calls.control).toBe(control);
    await verify(p.b, requestId);
    expectRateLimited(await p.a.as('alpha').post('/api/request-token', { phoneNumber: phone }), 3600);
    p.a.sim.advance(HOUR_MS);
    await verify(p.a, await requestCode(p.b, phone));
  });
});

describe('LIMIT_SENDS_PER_CALLER (3/1m), two instances', () => {
  let p: Pair;
  beforeAll(async () => {
    p = await startPair({ LIMIT_SENDS_PER_CALLER: '3/1m', LIMIT_SENDS_PER_NUMBER: '2/1h' });
  });
  afterAll(async () => {
    await p.close();
  });

  test('alternating instances, exactly three codes start in the window; then it frees up', async () => {
    p.a.sim.advance(60_000);
    const started = p.a.sim.stats.verificationsStarted;
    const statuses: number[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await p.at(i).as('alpha').post('/api/request-token', { phoneNumber: ukMobile() });
      statuses.push(res.status);
      if (res.status === 429) expectRateLimited(res, 60);
    }
    expect(statuses).toEqual([201, 201, 201, 429, 429, 429]);
    expect(p.a.sim.stats.verificationsStarted).toBe(started + 3);
    // Another caller has a budget of its own.
    expect((await p.b.as('beta').post('/api/request-token', { phoneNumber: ukMobile() })).status).toBe(201);

    p.a.sim.advance(60_000);
    const racing = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        p.at(i).as('alpha').post('/api/request-token', { phoneNumber: ukMobile() }),
      ),
    );
    expect(racing.filter((res) => res.status === 201)).toHaveLength(3);
    for (const res of racing.filter((r) => r.status !== 201)) expectRateLimited(res, 60);
    expect(p.a.sim.stats.verificationsStarted).toBe(started + 1 + 6);
  });

  test('a send refused by the caller limit does not use up the number limit', async () => {
    p.a.sim.advance(60_000);
    const phone = ukMobile();
    await verify(p.a, await requestCode(p.a, phone));
    await requestCode(p.b, ukMobile());
    await requestCode(p.a, ukMobile());
    const calls = vonageCalls(p.a.sim);
    expectRateLimited(await p.b.as('alpha').post('/api/request-token', { phoneNumber: phone }), 60);
    expect(vonageCalls(p.a.sim)).toBe(calls);

    p.a.sim.advance(60_000);
    // Second send to this number: the refused attempt above did not take a per-number slot.
    await verify(p.b, await requestCode(p.a, phone));
    expectRateLimited(await p.a.as('alpha').post('/api/request-token', { phoneNumber: phone }), 3540);
  });
});

describe('LIMIT_FAILED_CHECKS_PER_NUMBER (4/1h), two instances', () => {
  let p: Pair;
  beforeAll(async () => {
    p = await startPair({ LIMIT_FAILED_CHECKS_PER_NUMBER: '4/1h' });
  });
  afterAll(async () => {
    await p.close();
  });

  test('a new code does not reset the count; once reached, even the right code is refused', async () => {
    const phone = ukMobile();
    const first = await requestCode(p.a, phone);
    const wrongFirst = wrongCode(codeFor(p.a.sim, first));
    const answers: number[] = [];
    for (let i = 0; i < 3; i++) {
      answers.push(
        (
          await p
            .at(i + 1)
            .as('alpha')
            .post('/api/verify-token', { requestId: first, code: wrongFirst })
        ).status,
      );
    }
    // The simulator ends a request at its third wrong code (Vonage status 17).
    expect(answers).toEqual([422, 422, 410]);

    // A new code after the old one ended: the three failures still count.
    const second = await requestCode(p.b, phone);
    const code = codeFor(p.a.sim, second);
    const fourth = await p.a
      .as('alpha')
      .post('/api/verify-token', { requestId: second, code: wrongCode(code) });
    expectProblem(fourth, 422, 'code_mismatch');

    p.a.sim.advance(10_000);
    const checks = p.a.sim.stats.calls.check;
    expectRateLimited(await p.b.as('alpha').post('/api/verify-token', { requestId: second, code }), 3590);
    expectRateLimited(await p.a.as('alpha').post('/api/verify-token', { phoneNumber: phone, code }), 3590);
    expectRateLimited(
      await p.b.as('alpha').post('/api/verify-token', { requestId: second, code: wrongCode(code) }),
      3590,
    );
    expect(p.a.sim.stats.calls.check).toBe(checks);

    // Yet another code: still refused, the right one included.
    p.a.sim.advance(31_000);
    const third = await requestCode(p.a, phone);
    expectRateLimited(
      await p.b.as('alpha').post('/api/verify-token', { requestId: third, code: codeFor(p.a.sim, third) }),
      3559,
    );
    expect(p.a.sim.stats.calls.check).toBe(checks);

    // Another caller's checks for the same number are counted apart.
    p.a.sim.advance(31_000);
    expect((await p.a.as('alpha').post('/api/cancel', { requestId: third })).status).toBe(200);
    const theirs = await p.b.as('beta').post('/api/request-token', { phoneNumber: phone });
    expect(theirs.status).toBe(201);
    const ok = await p.a.as('beta').post('/api/verify-token', {
      requestId: theirs.body.requestId,
      code: codeFor(p.a.sim, theirs.body.requestId),
    });
    expect(ok.status).toBe(200);

    // The window passes: checks go through again.
    p.a.sim.advance(HOUR_MS - 72_000);
    const fresh = await requestCode(p.b, phone);
    await verify(p.a, fresh);
  });

  test('right codes do not count as failures', async () => {
    const phone = ukMobile();
    for (let i = 0; i < 5; i++) {
      await verify(p.at(i + 1), await requestCode(p.at(i), phone));
    }
  });
});

describe('LIMIT_AUTH_FAILURES_PER_IP (3/1m), two instances', () => {
  let p: Pair;
  beforeAll(async () => {
    p = await startPair({ LIMIT_AUTH_FAILURES_PER_IP: '3/1m' });
  });
  afterAll(async () => {
    await p.close();
  });

  const wrongKey = (h: Harness) =>
    h.http
      .post('/api/request-token')
      .set('Authorization', 'Bearer not-a-key')
      .send({ phoneNumber: ukMobile() });

  test('the fourth failure from one address is refused, across instances, until the minute passes', async () => {
    const calls = vonageCalls(p.a.sim);
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await wrongKey(p.at(i))).status);
    expect(statuses).toEqual([401, 401, 401]);
    expectRateLimited(await wrongKey(p.b), 60);
    expectRateLimited(await p.a.http.post('/api/cancel').send({ requestId: 'abc' }), 60);
    expectRateLimited(
      await p.b.http.get('/api/verifications/abc').set('Authorization', `Bearer ${KEYS.alpha}x`),
    );

    // A caller with a valid key from the same address is not locked out.
    const own = await p.a.as('alpha').get('/api/verifications/abc');
    expectProblem(own, 404, 'verification_not_found');
    expect(vonageCalls(p.a.sim)).toBe(calls);

    p.a.sim.advance(60_000);
    expectProblem(await wrongKey(p.b), 401, 'unauthorized');
  });
});

describe('Redis failing while a limit is checked', () => {
  test('Redis unreachable: 503 store_unavailable, no Vonage call, and no free pass for wrong keys', async () => {
    const h = await startHarness({
      env: { REDIS_URL: 'redis://127.0.0.1:1', LIMIT_AUTH_FAILURES_PER_IP: '2/1m' },
    });
    try {
      const calls = vonageCalls(h.sim);
      expectProblem(
        await h.as('alpha').post('/api/request-token', { phoneNumber: ukMobile() }),
        503,
        'store_unavailable',
      );
      expectProblem(
        await h.as('alpha').post('/api/verify-token', { phoneNumber: ukMobile(), code: '123456' }),
        503,
        'store_unavailable',
      );
      expectProblem(
        await h.as('alpha').post('/api/next-event', { phoneNumber: ukMobile() }),
        503,
        'store_unavailable',
      );
      for (let i = 0; i < 4; i++) {
        const res = await h.http
          .post('/api/cancel')
          .set('Authorization', 'Bearer wrong')
          .send({ requestId: 'x' });
        expectProblem(res, 503, 'store_unavailable');
        expect(res.headers['retry-after']).toBe('1');
      }
      expectProblem(await h.http.post('/api/cancel').send({ requestId: 'x' }), 503, 'store_unavailable');
      expect(vonageCalls(h.sim)).toBe(calls);
    } finally {
      await h.close();
    }
  });

  describe('Redis failing only for the limiter', () => {
    let h: Harness;
    type Eval = (script: string, numKeys: number, ...args: (string | number)[]) => Promise<unknown>;
    let target: { eval: Eval; evalsha: Eval };

    beforeAll(async () => {
      h = await startHarness();
      if (!h.composed.redis) throw new Error('the harness should use Redis');
      target = h.composed.redis as unknown as { eval: Eval; evalsha: Eval };
    });
    afterAll(async () => {
      await h.close();
    });

    /**
     * Makes the rate-limit scripts (those reading a window: the text has ZREMRANGEBYSCORE) fail as a
     * dropped connection would, sent by text or by digest; other commands keep working.
     */
    function failLimiter(): jest.SpyInstance[] {
      const windowScripts = Object.values(scripts).filter((script) =>
        script.source.includes('ZREMRANGEBYSCORE'),
      );
      const fail = (method: 'eval' | 'evalsha', isWindow: (first: string) => boolean) => {
        const original = target[method].bind(target);
        return jest
          .spyOn(target, method)
          .mockImplementation((first, numKeys, ...args) =>
            isWindow(first)
              ? Promise.reject(new Error('Connection is closed.'))
              : original(first, numKeys, ...args),
          );
      };
      return [
        fail('eval', (source) => source.includes('ZREMRANGEBYSCORE')),
        fail('evalsha', (sha) => windowScripts.some((script) => script.sha === sha)),
      ];
    }

    test('send, check, next-event and a wrong key all answer 503 without calling Vonage; then it recovers', async () => {
      const phone = ukMobile();
      const requestId = await requestCode(h, phone);
      const code = codeFor(h.sim, requestId);
      const spies = failLimiter();
      try {
        const calls = vonageCalls(h.sim);
        expectProblem(
          await h.as('alpha').post('/api/request-token', { phoneNumber: ukMobile() }),
          503,
          'store_unavailable',
        );
        expectProblem(
          await h.as('alpha').post('/api/verify-token', { requestId, code }),
          503,
          'store_unavailable',
        );
        expectProblem(await h.as('alpha').post('/api/next-event', { requestId }), 503, 'store_unavailable');
        expectProblem(
          await h.http.post('/api/cancel').set('Authorization', 'Bearer wrong').send({ requestId }),
          503,
          'store_unavailable',
        );
        expect(vonageCalls(h.sim)).toBe(calls);
      } finally {
        for (const spy of spies) spy.mockRestore();
      }
      const ok = await h.as('alpha').post('/api/verify-token', { requestId, code });
      expect(ok.status).toBe(200);
      await verify(h, await requestCode(h, ukMobile()));
    });
  });
});

describe('TEST_NUMBERS', () => {
  const TEST_NUMBER = '+15005550006';
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      env: {
        TEST_NUMBERS: `${TEST_NUMBER}:123456`,
        LIMIT_SENDS_PER_NUMBER: '2/1h',
        LIMIT_FAILED_CHECKS_PER_NUMBER: '2/1h',
      },
    });
  });
  afterAll(async () => {
    await h.close();
  });

  test('a request succeeds at once without Vonage, only the fixed code verifies, and send limits apply', async () => {
    const calls = vonageCalls(h.sim);
    const started = await h.as('alpha').post('/api/request-token', { phoneNumber: TEST_NUMBER });
    expect(started.status).toBe(201);
    expect(started.body).toMatchObject({ phoneNumber: TEST_NUMBER, status: 'pending' });
    const requestId = started.body.requestId as string;
    expect(h.sim.messages({ number: TEST_NUMBER })).toEqual([]);

    const wrong = await h.as('alpha').post('/api/verify-token', { requestId, code: '654321' });
    expectProblem(wrong, 422, 'code_mismatch');
    const right = await h.as('alpha').post('/api/verify-token', { requestId, code: '123456' });
    expect(right.status).toBe(200);
    expect(right.body).toEqual({ verified: true, requestId, phoneNumber: TEST_NUMBER });
    expectProblem(
      await h.as('alpha').post('/api/verify-token', { requestId, code: '123456' }),
      409,
      'already_verified',
    );

    // Written without "+", it is the same test number; the second send uses up the limit.
    const second = await h.as('alpha').post('/api/request-token', { phoneNumber: '15005550006' });
    expect(second.status).toBe(201);
    expect(second.body.phoneNumber).toBe(TEST_NUMBER);
    const cancelled = await h.as('alpha').post('/api/cancel', { requestId: second.body.requestId });
    expect(cancelled.status).toBe(200);
    expectRateLimited(await h.as('alpha').post('/api/request-token', { phoneNumber: TEST_NUMBER }), 3600);
    expect(vonageCalls(h.sim)).toBe(calls);
  });

  test('the failed-check limit applies to a test number too', async () => {
    const calls = vonageCalls(h.sim);
    const started = await h.as('beta').post('/api/request-token', { phoneNumber: TEST_NUMBER });
    expect(started.status).toBe(201);
    const requestId = started.body.requestId as string;
    for (const code of ['000000', '111111']) {
      expectProblem(await h.as('beta').post('/api/verify-token', { requestId, code }), 422, 'code_mismatch');
    }
    expectRateLimited(await h.as('beta').post('/api/verify-token', { requestId, code: '123456' }), 3600);
    expectProblem(await h.as('beta').post('/api/next-event', { requestId }), 409, 'no_more_events');
    expect(vonageCalls(h.sim)).toBe(calls);
  });
});

describe('the in-memory store (sandbox default) applies the same limits', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      redis: false,
      env: { LIMIT_SENDS_PER_NUMBER: '1/1h', LIMIT_FAILED_CHECKS_PER_NUMBER: '2/1h' },
    });
  });
  afterAll(async () => {
    await h.close();
  });

  test('sends per number and failed checks are refused before Vonage, until the window passes', async () => {
    const phoneNumber = ukMobile();
    const requestId = await requestCode(h, phoneNumber);
    const code = codeFor(h.sim, requestId);
    const calls = vonageCalls(h.sim);
    expectRateLimited(await h.as('alpha').post('/api/request-token', { phoneNumber }));
    expect(vonageCalls(h.sim)).toBe(calls);

    for (let i = 0; i < 2; i++) {
      expectProblem(
        await h.as('alpha').post('/api/verify-token', { requestId, code: wrongCode(code) }),
        422,
        'code_mismatch',
      );
    }
    const checks = vonageCalls(h.sim);
    expectRateLimited(await h.as('alpha').post('/api/verify-token', { requestId, code }));
    expect(vonageCalls(h.sim)).toBe(checks);

    h.sim.advance(HOUR_MS);
    expect((await h.as('alpha').post('/api/request-token', { phoneNumber })).status).toBe(201);
  });
});
