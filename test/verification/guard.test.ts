// The abuse guard (design: Limits, "Abuse guard: SMS pumping"): velocity per prefix and per country
// across callers and instances, the conversion block from cancelled, expired and failed outcomes (an
// expiry nobody asks about included), shadow mode, the safelist, a block ending on the virtual clock,
// the operator lifting one, the metrics and log lines, and failing closed when the guard's store cannot
// answer. Real Redis, the real SDK against the simulator; Vonage calls are counted at the simulator.

import { randomInt } from 'node:crypto';
import Redis from 'ioredis';
import type { Response } from 'supertest';
import type { VerifySimulator } from '../../src/simulator/v1/simulator';
import { codeFor, type Harness, type Pair, startHarness, startPair, testRedisUrl } from '../support/harness';

const ADMIN = 'admin-key-0123456789abcdef';

function vonageCalls(sim: VerifySimulator): number {
  const { calls } = sim.stats;
  return calls.start + calls.check + calls.control + calls.search;
}

function expectProblem(res: Response, status: number, code: string): void {
  expect({ status: res.status, code: res.body.code }).toEqual({ status, code });
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
}

/** A fresh UK mobile prefix (+447400 and 3 digits): numbers in it share all but their last 3 digits. */
function freshPrefix(): string {
  return `+44740${randomInt(1000, 10_000)}`;
}

function inPrefix(prefix: string, n: number): string {
  return `${prefix}${String(n).padStart(3, '0')}`;
}

async function start(h: Harness, phoneNumber: string, caller: 'alpha' | 'beta' = 'alpha'): Promise<string> {
  const res = await h.as(caller).post('/api/request-token', { phoneNumber });
  expect(res.status).toBe(201);
  return res.body.requestId as string;
}

/** The value of one metric series on /metrics (0 when absent). */
async function metric(h: Harness, series: string): Promise<number> {
  const text = (await h.http.get('/metrics')).text;
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

/** Three outcomes known in one prefix, none verified: one cancelled, one failed, one expired unasked. */
async function threeFailures(h: Harness, prefix: string): Promise<void> {
  const cancelled = await start(h, inPrefix(prefix, 1));
  const failed = await start(h, inPrefix(prefix, 2));
  const expired = await start(h, inPrefix(prefix, 3));
  h.sim.advance(31_000);
  expect((await h.as('alpha').post('/api/cancel', { requestId: cancelled })).status).toBe(200);
  const wrong = codeFor(h.sim, failed).replace(/\d$/, (d) => String((Number(d) + 1) % 10));
  const answers: number[] = [];
  for (let i = 0; i < 3; i++) {
    answers.push((await h.as('alpha').post('/api/verify-token', { requestId: failed, code: wrong })).status);
  }
  expect(answers).toEqual([422, 422, 410]);
  // Nobody asks about `expired` again: only the sweeper can learn that it ended.
  h.sim.advance(20 * 60_000);
  const swept = await h.composed.guard.sweep();
  expect(swept.expired).toBe(1);
  const status = await h.as('alpha').get(`/api/verifications/${expired}`);
  expect(status.body.status).toBe('expired');
}

describe('LIMIT_SENDS_PER_PREFIX and LIMIT_SENDS_PER_COUNTRY across callers and instances', () => {
  let p: Pair;
  beforeAll(async () => {
    p = await startPair({ LIMIT_SENDS_PER_PREFIX: '3/1h', LIMIT_SENDS_PER_COUNTRY: '5/1h,6/1d' });
  });
  afterAll(async () => {
    await p.close();
  });

  test('the fourth code to one prefix is refused for every caller on every instance, without a Vonage call', async () => {
    const prefix = freshPrefix();
    await start(p.a, inPrefix(prefix, 1), 'alpha');
    await start(p.b, inPrefix(prefix, 2), 'beta');
    // A start Vonage refuses is no send: its prefix slot is given back.
    p.a.sim.forceStatus('start', '15');
    expectProblem(
      await p.a.as('alpha').post('/api/request-token', { phoneNumber: inPrefix(prefix, 3) }),
      422,
      'number_not_supported',
    );
    await start(p.b, inPrefix(prefix, 4), 'alpha');
    const calls = vonageCalls(p.a.sim);
    for (const [h, caller] of [
      [p.a, 'beta'],
      [p.b, 'alpha'],
    ] as const) {
      const res = await h.as(caller).post('/api/request-token', { phoneNumber: inPrefix(prefix, 5) });
      expectProblem(res, 429, 'rate_limited');
      expect(res.body.detail).toMatch(/numbers in this range \(3\/1h\)/);
      expect(res.headers['retry-after']).toBe(String(res.body.retryAfterSeconds));
      expect(res.body.retryAfterSeconds).toBe(3600);
    }
    expect(vonageCalls(p.a.sim)).toBe(calls);
    p.a.sim.advance(3_600_000);
    await start(p.b, inPrefix(prefix, 6), 'beta');
  });

  test('a country limit of several rules: 5 an hour and 6 a day, all callers together', async () => {
    // France: numbers spread over prefixes, so only the country limit can refuse them.
    const fr = (n: number) =>
      `+33612${String(randomInt(0, 100)).padStart(2, '0')}${String(n).padStart(4, '0')}`;
    for (let i = 0; i < 5; i++) await start(i % 2 ? p.a : p.b, fr(i), i % 2 ? 'alpha' : 'beta');
    const calls = vonageCalls(p.a.sim);
    const hourly = await p.a.as('alpha').post('/api/request-token', { phoneNumber: fr(10) });
    expectProblem(hourly, 429, 'rate_limited');
    expect(hourly.body.detail).toMatch(/this country \(5\/1h,6\/1d\)/);
    expect(hourly.body.retryAfterSeconds).toBe(3600);
    expect(vonageCalls(p.a.sim)).toBe(calls);
    p.a.sim.advance(3_600_000);
    await start(p.b, fr(11), 'beta');
    const daily = await p.b.as('beta').post('/api/request-token', { phoneNumber: fr(12) });
    expectProblem(daily, 429, 'rate_limited');
    expect(daily.body.retryAfterSeconds).toBe(86_400 - 3600);
    // Another country is not affected.
    await start(p.a, inPrefix(freshPrefix(), 1), 'alpha');
  });
});

describe('conversion guard (enforce): blocks, metrics, operator routes', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      env: {
        PUMPING_GUARD: 'enforce',
        PUMPING_MIN_SETTLED: '3',
        PUMPING_MIN_CONVERSION: '0.5',
        PUMPING_WINDOW: '30m',
        PUMPING_BLOCK: '30m',
        PUMPING_SAFELIST: '+447400999',
        ADMIN_API_KEY: ADMIN,
      },
      guardSweepMs: 0,
    });
  });
  afterAll(async () => {
    await h.close();
  });

  test('cancelled, failed and expired outcomes block the prefix and the country; another country passes', async () => {
    const prefix = freshPrefix();
    await threeFailures(h, prefix);
    const calls = vonageCalls(h.sim);
    const blocked = await h.as('beta').post('/api/request-token', { phoneNumber: inPrefix(prefix, 7) });
    expectProblem(blocked, 403, 'destination_blocked');
    expect(blocked.body).toMatchObject({
      reason: 'low_conversion',
      scope: 'prefix',
      retryAfterSeconds: 1800,
    });
    expect(blocked.headers['retry-after']).toBe('1800');
    // The country saw the same three outcomes: another UK range is blocked by country.
    const country = await h
      .as('alpha')
      .post('/api/request-token', { phoneNumber: inPrefix(freshPrefix(), 8) });
    expectProblem(country, 403, 'destination_blocked');
    expect(country.body.scope).toBe('country');
    expect(vonageCalls(h.sim)).toBe(calls);
    await start(h, '+33612345678');

    // The safelist: never blocked by the guard.
    await start(h, '+447400999001');

    expect(
      await metric(h, 'otp_guard_decisions_total{scope="prefix",decision="blocked",reason="low_conversion"}'),
    ).toBe(1);
    // Both requests met the country block (the first one the prefix block too).
    expect(
      await metric(
        h,
        'otp_guard_decisions_total{scope="country",decision="blocked",reason="low_conversion"}',
      ),
    ).toBe(2);
    expect(
      await metric(h, 'otp_guard_decisions_total{scope="prefix",decision="allowed",reason="safelisted"}'),
    ).toBe(1);
    expect(
      await metric(h, 'otp_guard_decisions_total{scope="prefix",decision="allowed",reason="ok"}'),
    ).toBeGreaterThan(0);
    const started = h.logs.filter((line) => line.includes('abuse guard: block started'));
    expect(started).toHaveLength(2);
    expect(started.join('\n')).toContain(`"value":"${prefix}"`);
    expect(started.join('\n')).not.toContain(inPrefix(prefix, 1));

    // The operator view lists both blocks and the conversion seen.
    const view = await h.http.get('/admin/guard').set('Authorization', `Bearer ${ADMIN}`);
    expect(view.status).toBe(200);
    expect(view.body.mode).toBe('enforce');
    expect(view.body.blocks).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ scope: 'prefix', value: prefix, settled: 3, verified: 0, conversion: 0 }),
        expect.objectContaining({ scope: 'country', value: 'GB', retryAfterSeconds: 1800 }),
      ]),
    );
    expect(view.body.busiest.prefix).toContainEqual({
      value: prefix,
      settled: 3,
      verified: 0,
      conversion: 0,
    });
    await h.composed.guard.sweep();
    expect(await metric(h, 'otp_guard_active_blocks')).toBe(2);

    // The operator lifts the country block: UK codes flow again (its outcomes so far are forgotten).
    const lifted = await h.http
      .delete('/admin/guard/blocks/country/GB')
      .set('Authorization', `Bearer ${ADMIN}`);
    expect(lifted.status).toBe(200);
    expect(lifted.body).toEqual({ lifted: true, scope: 'country', value: 'GB' });
    expect(
      h.logs.some((line) => line.includes('lifted by an operator') && line.includes('"value":"GB"')),
    ).toBe(true);
    await start(h, inPrefix(freshPrefix(), 9));
    // The prefix block stays.
    expectProblem(
      await h.as('alpha').post('/api/request-token', { phoneNumber: inPrefix(prefix, 10) }),
      403,
      'destination_blocked',
    );
    const again = await h.http
      .delete('/admin/guard/blocks/country/GB')
      .set('Authorization', `Bearer ${ADMIN}`);
    expectProblem(again, 404, 'not_found');

    // The block ends on the clock that started it: one log line, the gauge drops.
    h.sim.advance(30 * 60_000);
    await h.composed.guard.sweep();
    expect(h.logs.some((line) => line.includes('abuse guard: block ended') && line.includes(prefix))).toBe(
      true,
    );
    expect(await metric(h, 'otp_guard_active_blocks')).toBe(0);
    await start(h, inPrefix(prefix, 11));
  });

  test('a verified code counts for the prefix: good conversion is never blocked', async () => {
    // Germany: the UK outcomes of the test above do not weigh here.
    const prefix = `+49151${randomInt(10_000, 100_000)}`;
    for (let n = 0; n < 4; n++) {
      const requestId = await start(h, inPrefix(prefix, n), n % 2 ? 'alpha' : 'beta');
      const res = await h
        .as(n % 2 ? 'alpha' : 'beta')
        .post('/api/verify-token', { requestId, code: codeFor(h.sim, requestId) });
      expect(res.status).toBe(200);
    }
    await start(h, inPrefix(prefix, 9));
  });

  test('operator routes: the admin key is required, and a wrong scope is a 400', async () => {
    expectProblem(await h.http.get('/admin/guard'), 401, 'unauthorized');
    expectProblem(
      await h.http.get('/admin/guard').set('Authorization', 'Bearer key-alpha-0123456789'),
      401,
      'unauthorized',
    );
    const bad = await h.http
      .delete('/admin/guard/blocks/planet/earth')
      .set('Authorization', `Bearer ${ADMIN}`);
    expectProblem(bad, 400, 'validation_failed');
  });
});

describe('a block kept by the key layout before 2026-11-30 (a rolling deploy)', () => {
  let h: Harness;
  let redis: Redis;
  beforeAll(async () => {
    h = await startHarness({ env: { PUMPING_GUARD: 'enforce', ADMIN_API_KEY: ADMIN }, guardSweepMs: 0 });
    redis = new Redis(testRedisUrl());
  });
  afterAll(async () => {
    redis.disconnect();
    await h.close();
  });

  test('is applied after a sweep, shown with its outcomes, and lifted from both layouts', async () => {
    const prefix = freshPrefix();
    const now = h.clock.now();
    const until = now + 600_000;
    // What an instance of the previous version writes when it starts a block: the scope's own slot.
    const legacy = `${h.prefix}{g:prefix:${prefix}}:block`;
    await redis.set(legacy, `25:2:${now}:${until}`, 'PX', 600_000);
    await redis.zadd(`${h.prefix}{guard}:blocks`, until, `prefix|${prefix}`);
    await h.composed.guard.sweep();
    const calls = vonageCalls(h.sim);
    const blocked = await h.as('alpha').post('/api/request-token', { phoneNumber: inPrefix(prefix, 1) });
    expectProblem(blocked, 403, 'destination_blocked');
    expect(blocked.body).toMatchObject({ scope: 'prefix', retryAfterSeconds: 600 });
    expect(vonageCalls(h.sim)).toBe(calls);
    const view = await h.http.get('/admin/guard').set('Authorization', `Bearer ${ADMIN}`);
    expect(view.body.blocks).toContainEqual(
      expect.objectContaining({ scope: 'prefix', value: prefix, settled: 25, verified: 2, since: now }),
    );
    const lifted = await h.http
      .delete(`/admin/guard/blocks/prefix/${encodeURIComponent(prefix)}`)
      .set('Authorization', `Bearer ${ADMIN}`);
    expect(lifted.status).toBe(200);
    expect(await redis.exists(legacy, `${h.prefix}{guard}:prefix:${prefix}:block`)).toBe(0);
    await start(h, inPrefix(prefix, 2));
  });
});

describe('conversion guard in shadow mode, and without ADMIN_API_KEY', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      env: { PUMPING_GUARD: 'shadow', PUMPING_MIN_SETTLED: '3', PUMPING_MIN_CONVERSION: '0.5' },
      guardSweepMs: 0,
    });
  });
  afterAll(async () => {
    await h.close();
  });

  test('shadow decides, logs and counts the block but refuses nothing', async () => {
    const prefix = freshPrefix();
    await threeFailures(h, prefix);
    const calls = h.sim.stats.calls.start;
    await start(h, inPrefix(prefix, 7));
    await start(h, inPrefix(prefix, 8), 'beta');
    expect(h.sim.stats.calls.start).toBe(calls + 2);
    expect(
      await metric(
        h,
        'otp_guard_decisions_total{scope="prefix",decision="would_block",reason="low_conversion"}',
      ),
    ).toBe(2);
    expect(
      await metric(h, 'otp_guard_decisions_total{scope="prefix",decision="blocked",reason="low_conversion"}'),
    ).toBe(0);
    expect(
      h.logs.filter((line) => line.includes('abuse guard: block started') && line.includes(prefix)),
    ).toHaveLength(1);
  });

  test('without ADMIN_API_KEY the operator routes do not exist', async () => {
    expectProblem(await h.http.get('/admin/guard'), 404, 'not_found');
    expectProblem(
      await h.http.delete('/admin/guard/blocks/prefix/%2B447400123').set('Authorization', `Bearer ${ADMIN}`),
      404,
      'not_found',
    );
  });
});

describe('expiries are noticed by the periodic sweep, with nobody asking', () => {
  let p: Pair;
  beforeAll(async () => {
    p = await startPair({
      PUMPING_GUARD: 'enforce',
      PUMPING_MIN_SETTLED: '2',
      PUMPING_MIN_CONVERSION: '0.5',
    });
  });
  afterAll(async () => {
    await p.close();
  });

  test('two codes expire unasked; each instance sweeps every few seconds; the prefix is blocked', async () => {
    const prefix = freshPrefix();
    await start(p.a, inPrefix(prefix, 1));
    await start(p.b, inPrefix(prefix, 2), 'beta');
    p.a.sim.advance(20 * 60_000);
    // No request and no explicit sweep: the instances' own timers (every 5 s) settle the expiries.
    const deadline = Date.now() + 20_000;
    let res: Response;
    for (;;) {
      res = await p.b.as('alpha').post('/api/request-token', { phoneNumber: inPrefix(prefix, 3) });
      if (res.status !== 201 || Date.now() > deadline) break;
      await new Promise((resolve) => setTimeout(resolve, 1000));
      // A 201 above was a send: let it expire too, so the count stays "nothing verified".
      p.a.sim.advance(20 * 60_000);
    }
    expectProblem(res, 403, 'destination_blocked');
  }, 40_000);
});

describe('fail closed: the guard store cannot answer', () => {
  let h: Harness;
  let redis: Redis;
  beforeAll(async () => {
    h = await startHarness({ env: { PUMPING_GUARD: 'enforce' }, guardSweepMs: 0 });
    redis = new Redis(testRedisUrl());
  });
  afterAll(async () => {
    const keys = await redis.keys(`${h.prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
    await h.close();
  });

  test('a Redis error in the prefix scope is a 503 store_unavailable, no Vonage call, and no slot kept', async () => {
    const prefix = freshPrefix();
    // The scope's outcome set holds a string: every script on it fails (WRONGTYPE), as a broken store would.
    await redis.set(`${h.prefix}{guard}:prefix:${prefix}:settled`, 'x');
    const calls = vonageCalls(h.sim);
    for (let i = 0; i < 3; i++) {
      const res = await h.as('alpha').post('/api/request-token', { phoneNumber: inPrefix(prefix, 1) });
      expectProblem(res, 503, 'store_unavailable');
    }
    expect(vonageCalls(h.sim)).toBe(calls);
    // The per-number slots taken before the guard refused were given back: the number can still be sent to.
    await redis.del(`${h.prefix}{guard}:prefix:${prefix}:settled`);
    await start(h, inPrefix(prefix, 1));
  });

  test('the account-wide Vonage window failing is a 503 store_unavailable too, never a free pass', async () => {
    await redis.set(`${h.prefix}{vonage}:limit:calls`, 'x');
    const calls = vonageCalls(h.sim);
    const res = await h.as('alpha').post('/api/request-token', { phoneNumber: inPrefix(freshPrefix(), 1) });
    expectProblem(res, 503, 'store_unavailable');
    expect(vonageCalls(h.sim)).toBe(calls);
    await redis.del(`${h.prefix}{vonage}:limit:calls`);
  });
});

describe('multi-rule limits in the in-memory store (sandbox)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      redis: false,
      env: { LIMIT_SENDS_PER_CALLER: '2/1m,3/1h', PUMPING_GUARD: 'enforce', PUMPING_MIN_SETTLED: '2' },
      guardSweepMs: 0,
    });
  });
  afterAll(async () => {
    await h.close();
  });

  test('2 a minute and 3 an hour: both rules refuse in turn, with the wait of the rule that is full', async () => {
    const number = () => inPrefix(freshPrefix(), 1);
    await start(h, number());
    await start(h, number());
    const minute = await h.as('alpha').post('/api/request-token', { phoneNumber: number() });
    expectProblem(minute, 429, 'rate_limited');
    expect(minute.body.retryAfterSeconds).toBe(60);
    h.sim.advance(60_000);
    await start(h, number());
    const hour = await h.as('alpha').post('/api/request-token', { phoneNumber: number() });
    expectProblem(hour, 429, 'rate_limited');
    expect(hour.body.retryAfterSeconds).toBe(3540);
  });

  test('the conversion guard works the same over the memory store', async () => {
    const prefix = freshPrefix();
    await start(h, inPrefix(prefix, 1), 'beta');
    await start(h, inPrefix(prefix, 2), 'beta');
    h.sim.advance(20 * 60_000);
    expect((await h.composed.guard.sweep()).expired).toBeGreaterThanOrEqual(2);
    const res = await h.as('beta').post('/api/request-token', { phoneNumber: inPrefix(prefix, 3) });
    expectProblem(res, 403, 'destination_blocked');
    expect(res.body.scope).toBe('prefix');
  });
});
