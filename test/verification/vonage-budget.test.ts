// Vonage account protection (design: "Vonage account protection", issue 11 item 2): every Vonage call
// made for a caller counts against LIMIT_VONAGE_CALLS_PER_CALLER whatever its outcome (a status 10, a
// refused cancel, a next-event with nothing left), and VONAGE_MAX_REQUESTS_PER_SECOND caps the calls of
// all instances together: over it the call is not made and the answer is 503 upstream_unavailable with
// Retry-After: 1. Calls are counted where they arrive: at the simulator.

import type { Response } from 'supertest';
import type { VerifySimulator } from '../../src/simulator/v1/simulator';
import { codeFor, type Pair, startPair, ukMobile } from '../support/harness';

function vonageCalls(sim: VerifySimulator): number {
  const { calls } = sim.stats;
  return calls.start + calls.check + calls.control + calls.search;
}

function expectProblem(res: Response, status: number, code: string): void {
  expect({ status: res.status, code: res.body.code }).toEqual({ status, code });
}

describe('LIMIT_VONAGE_CALLS_PER_CALLER (20/1m), two instances', () => {
  let p: Pair;
  beforeAll(async () => {
    p = await startPair({ LIMIT_VONAGE_CALLS_PER_CALLER: '20/1m' });
  });
  afterAll(async () => {
    await p.close();
  });

  test("100 request-tokens on the caller's own number inside 30 s make 20 Vonage calls, not 200", async () => {
    const phoneNumber = ukMobile();
    const before = vonageCalls(p.a.sim);
    const statuses = new Map<string, number>();
    for (let i = 0; i < 100; i++) {
      const res = await p.at(i).as('alpha').post('/api/request-token', { phoneNumber });
      const key = `${res.status} ${res.body.code ?? ''}`.trim();
      statuses.set(key, (statuses.get(key) ?? 0) + 1);
    }
    // The first starts; each retry costs a start (status 10) and a refused cancel (status 19) until the
    // caller's 20 calls are spent: 1 + 2 x 9 = 19 calls, the 20th a start answered 10 whose cancel is
    // refused before it is made, then nothing reaches Vonage.
    expect(vonageCalls(p.a.sim) - before).toBe(20);
    expect(Object.fromEntries(statuses)).toEqual({
      '201': 1,
      '409 verification_in_progress': 9,
      '429 rate_limited': 90,
    });
    const refused = await p.b.as('alpha').post('/api/request-token', { phoneNumber });
    expect(refused.body.detail).toMatch(/calls to Vonage made for this caller \(20\/1m\)/);
    expect(refused.headers['retry-after']).toBe('60');

    // Another caller has a budget of its own.
    const beta = await p.b.as('beta').post('/api/request-token', { phoneNumber: ukMobile() });
    expect(beta.status).toBe(201);

    // The window slides: a minute later the caller may call Vonage again.
    p.a.sim.advance(60_000);
    const again = await p.a.as('alpha').post('/api/request-token', { phoneNumber: ukMobile() });
    expect(again.status).toBe(201);
  });

  test('next-event with nothing left and checks count too: the budget is calls, not sends', async () => {
    p.a.sim.advance(60_000);
    const phoneNumber = ukMobile();
    const started = await p.a.as('beta').post('/api/request-token', { phoneNumber, workflowId: 6 });
    expect(started.status).toBe(201);
    const requestId = started.body.requestId as string;
    const before = vonageCalls(p.a.sim);
    const answers: string[] = [];
    for (let i = 0; i < 25; i++) {
      const res = await p.at(i).as('beta').post('/api/next-event', { requestId });
      answers.push(`${res.status} ${res.body.code}`);
    }
    // 1 start + 19 refused next-events use the 20 calls; the next 6 never reach Vonage.
    expect(vonageCalls(p.a.sim) - before).toBe(19);
    expect(answers.filter((a) => a === '409 no_more_events')).toHaveLength(19);
    expect(answers.filter((a) => a === '429 rate_limited')).toHaveLength(6);
    // A check is a call as well: refused before Vonage while the budget is spent.
    const check = await p.b
      .as('beta')
      .post('/api/verify-token', { requestId, code: codeFor(p.a.sim, requestId) });
    expectProblem(check, 429, 'rate_limited');
    expect(vonageCalls(p.a.sim) - before).toBe(19);
  });
});

describe('VONAGE_MAX_REQUESTS_PER_SECOND (5), two instances and two callers', () => {
  let p: Pair;
  beforeAll(async () => {
    p = await startPair({ VONAGE_MAX_REQUESTS_PER_SECOND: '5' });
  });
  afterAll(async () => {
    await p.close();
  });

  test('12 parallel starts in one second: 5 reach Vonage, 7 get 503 upstream_unavailable with Retry-After: 1', async () => {
    const before = p.a.sim.stats.calls.start;
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        p
          .at(i)
          .as(i % 3 ? 'alpha' : 'beta')
          .post('/api/request-token', { phoneNumber: ukMobile() }),
      ),
    );
    expect(p.a.sim.stats.calls.start - before).toBe(5);
    expect(answers.filter((res) => res.status === 201)).toHaveLength(5);
    const refused = answers.filter((res) => res.status !== 201);
    expect(refused).toHaveLength(7);
    for (const res of refused) {
      expectProblem(res, 503, 'upstream_unavailable');
      expect(res.headers['retry-after']).toBe('1');
      expect(res.body.retryAfterSeconds).toBe(1);
    }
    // A refused call is no send and costs the caller nothing: the same number starts a second later.
    p.a.sim.advance(1_000);
    const later = await p.b.as('alpha').post('/api/request-token', { phoneNumber: ukMobile() });
    expect(later.status).toBe(201);
  });
});
