// The service over a real three-master Redis Cluster (REDIS_CLUSTER=true, seed nodes in REDIS_URL): the
// full flow and the limits work, and the keys of one verification sit in one slot, so its transaction
// and scripts never meet CROSSSLOT.

import Redis, { Cluster } from 'ioredis';
import { codeFor, type Harness, KEYS, startHarness, ukMobile } from '../support/harness';
import { type RedisClusterHandle, startRedisCluster } from '../support/redis-cluster';

let cluster: RedisClusterHandle | undefined;
let h: Harness;

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3, timeoutMs: 40_000 });
  h = await startHarness({
    env: {
      REDIS_CLUSTER: 'true',
      REDIS_URL: cluster.seedUrl,
      // 4: the next-event test sends three codes (request + two resends) and is refused nothing.
      LIMIT_SENDS_PER_NUMBER: '4/1h',
      LIMIT_FAILED_CHECKS_PER_NUMBER: '2/1h',
      LIMIT_AUTH_FAILURES_PER_IP: '3/1m',
      // The abuse guard's scripts run in the cluster too (each scope's keys in one slot).
      PUMPING_GUARD: 'enforce',
      PUMPING_MIN_SETTLED: '2',
      PUMPING_MIN_CONVERSION: '0.5',
      LIMIT_SENDS_PER_COUNTRY: '1000/1h,5000/1d',
    },
    guardSweepMs: 0,
  });
}, 60_000);

afterAll(async () => {
  await h?.close();
  await cluster?.stop();
}, 30_000);

function wrongCode(code: string): string {
  return code.replace(/\d$/, (d) => String((Number(d) + 1) % 10));
}

async function requestCode(phoneNumber = ukMobile(), caller: 'alpha' | 'beta' = 'alpha', extra: object = {}) {
  const res = await h.as(caller).post('/api/request-token', { phoneNumber, ...extra });
  expect(res.status).toBe(201);
  return { phoneNumber, requestId: res.body.requestId as string };
}

test('the service really talks to a three-master cluster', async () => {
  expect(cluster?.ports).toHaveLength(3);
  expect(h.config.REDIS_CLUSTER).toBe(true);
  expect(h.config.REDIS_URL?.split(',')).toHaveLength(2);
  const info = await cluster?.cli(cluster.ports[0] ?? 0, 'cluster', 'info');
  expect(info).toMatch(/cluster_state:ok/);
  expect(info).toMatch(/cluster_size:3/);
  expect(h.composed.redis).toBeInstanceOf(Cluster);
  const ready = await h.http.get('/readyz');
  expect(ready.status).toBe(200);
});

test('full flow: request, wrong code, verify, status, spent', async () => {
  const { requestId, phoneNumber } = await requestCode();
  const pending = await h.as('alpha').get(`/api/verifications/${requestId}`);
  expect(pending.status).toBe(200);
  expect(pending.body).toMatchObject({ requestId, phoneNumber, status: 'pending' });

  const bad = await h
    .as('alpha')
    .post('/api/verify-token', { requestId, code: wrongCode(codeFor(h.sim, requestId)) });
  expect(bad.status).toBe(422);
  expect(bad.body.code).toBe('code_mismatch');

  const good = await h
    .as('alpha')
    .post('/api/verify-token', { phoneNumber, code: codeFor(h.sim, requestId) });
  expect(good.status).toBe(200);
  expect(good.body).toEqual({ verified: true, requestId, phoneNumber });

  const status = await h.as('alpha').get(`/api/verifications/${requestId}`);
  expect(status.body).toMatchObject({ requestId, status: 'verified', finishedAt: expect.any(String) });
  const again = await h.as('alpha').post('/api/verify-token', { requestId, code: codeFor(h.sim, requestId) });
  expect(again.status).toBe(409);
  expect(again.body.code).toBe('already_verified');
  const other = await h.as('beta').get(`/api/verifications/${requestId}`);
  expect(other.status).toBe(404);
});

test('cancel: refused inside 30 s, then cancelled, then verify is 410', async () => {
  const { requestId } = await requestCode();
  const early = await h.as('alpha').post('/api/cancel', { requestId });
  expect(early.status).toBe(409);
  expect(early.body.code).toBe('cancel_not_allowed');
  h.sim.advance(31_000);
  const cancelled = await h.as('alpha').post('/api/cancel', { requestId });
  expect(cancelled.status).toBe(200);
  expect(cancelled.body).toEqual({ cancelled: true, requestId });
  const status = await h.as('alpha').get(`/api/verifications/${requestId}`);
  expect(status.body).toMatchObject({ status: 'cancelled' });
  const verify = await h
    .as('alpha')
    .post('/api/verify-token', { requestId, code: codeFor(h.sim, requestId) });
  expect(verify.status).toBe(410);
});

test('status 10 after the cancel window: replaced in one request (cancel + start through the cluster)', async () => {
  const first = await requestCode();
  h.sim.advance(31_000);
  const res = await h.as('alpha').post('/api/request-token', { phoneNumber: first.phoneNumber });
  expect(res.status).toBe(201);
  expect(res.body.replacedRequestId).toBe(first.requestId);
  const ok = await h
    .as('alpha')
    .post('/api/verify-token', { requestId: res.body.requestId, code: codeFor(h.sim, res.body.requestId) });
  expect(ok.status).toBe(200);
});

test('next-event moves through the workflow until 409 no_more_events', async () => {
  const { requestId, phoneNumber } = await requestCode(ukMobile(), 'alpha', { workflowId: 1 });
  expect((await h.as('alpha').post('/api/next-event', { requestId })).status).toBe(200);
  expect((await h.as('alpha').post('/api/next-event', { phoneNumber })).status).toBe(200);
  const third = await h.as('alpha').post('/api/next-event', { requestId });
  expect(third.status).toBe(409);
  expect(third.body.code).toBe('no_more_events');
  const ok = await h.as('alpha').post('/api/verify-token', { requestId, code: codeFor(h.sim, requestId) });
  expect(ok.status).toBe(200);
});

test('racing request-tokens for one number start exactly one verification (lock in the cluster)', async () => {
  const phoneNumber = ukMobile();
  const before = h.sim.stats.verificationsStarted;
  const answers = await Promise.all(
    Array.from({ length: 20 }, () => h.as('beta').post('/api/request-token', { phoneNumber })),
  );
  expect(answers.filter((res) => res.status === 201)).toHaveLength(1);
  expect(answers.filter((res) => res.status === 409)).toHaveLength(19);
  expect(h.sim.stats.verificationsStarted).toBe(before + 1);
});

describe('limits through the cluster', () => {
  test('sends per number (4/1h), resends included: the fifth code is refused before Vonage', async () => {
    const phoneNumber = ukMobile();
    for (let i = 0; i < 3; i++) {
      const { requestId } = await requestCode(phoneNumber);
      if (i === 0) expect((await h.as('alpha').post('/api/next-event', { requestId })).status).toBe(200);
      await h.as('alpha').post('/api/verify-token', { requestId, code: codeFor(h.sim, requestId) });
    }
    const calls = h.sim.stats.calls.start;
    const refused = await h.as('alpha').post('/api/request-token', { phoneNumber });
    expect(refused.status).toBe(429);
    expect(refused.body.code).toBe('rate_limited');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(h.sim.stats.calls.start).toBe(calls);
  });

  test('failed checks per number (2/1h): then the right code is refused too', async () => {
    const { requestId } = await requestCode();
    const code = codeFor(h.sim, requestId);
    for (let i = 0; i < 2; i++) {
      expect(
        (await h.as('alpha').post('/api/verify-token', { requestId, code: wrongCode(code) })).status,
      ).toBe(422);
    }
    const refused = await h.as('alpha').post('/api/verify-token', { requestId, code });
    expect(refused.status).toBe(429);
    expect(refused.body.code).toBe('rate_limited');
  });

  test('auth failures per address (3/1m): the fourth bad key is 429, a good key still works', async () => {
    const statuses: number[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await h.http.get('/api/verifications/none').set('Authorization', 'Bearer wrong-key');
      statuses.push(res.status);
    }
    expect(statuses).toEqual([401, 401, 401, 429]);
    const good = await h.http.get('/api/verifications/none').set('Authorization', `Bearer ${KEYS.alpha}`);
    expect(good.status).toBe(404);
  });
});

// --- slots ----------------------------------------------------------------------------------------------

/** Every key under the test prefix on every master, with the node it lives on. */
async function keysOnMasters(prefix: string): Promise<Map<string, number>> {
  const where = new Map<string, number>();
  for (const port of cluster?.ports ?? []) {
    const node = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 1 });
    try {
      await node.connect();
      let cursor = '0';
      do {
        const [nextCursor, keys] = await node.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
        for (const key of keys) where.set(key, port);
        cursor = nextCursor;
      } while (cursor !== '0');
    } finally {
      node.disconnect();
    }
  }
  return where;
}

async function keyslot(key: string): Promise<number> {
  const port = cluster?.ports[0] ?? 0;
  return Number((await cluster?.cli(port, 'cluster', 'keyslot', key))?.trim());
}

test('abuse guard through the cluster: outcomes, the sweep and a prefix block, with no CROSSSLOT', async () => {
  // A US range (the other tests' UK numbers do not share its prefix or country).
  const prefix = `+1201555${String(Math.floor(Math.random() * 10)).padStart(1, '0')}`;
  const first = await requestCode(`${prefix}101`);
  await requestCode(`${prefix}102`, 'beta');
  h.sim.advance(31_000);
  expect((await h.as('alpha').post('/api/cancel', { requestId: first.requestId })).status).toBe(200);
  h.sim.advance(20 * 60_000);
  expect((await h.composed.guard.sweep()).expired).toBeGreaterThanOrEqual(1);
  const res = await h.as('beta').post('/api/request-token', { phoneNumber: `${prefix}103` });
  expect(res.status).toBe(403);
  expect(res.body).toMatchObject({ code: 'destination_blocked', scope: 'prefix', reason: 'low_conversion' });
  expect(h.logs.some((line) => line.includes('CROSSSLOT'))).toBe(false);
});

test('the keys of one verification, and its number limits, sit in one slot on one master', async () => {
  // Fresh verifications with every kind of key: record, current pointer, sends and failed-checks limits.
  const made: { caller: 'alpha' | 'beta'; phoneNumber: string; requestId: string }[] = [];
  for (let i = 0; i < 8; i++) {
    const caller = i % 2 === 0 ? 'alpha' : 'beta';
    const { requestId, phoneNumber } = await requestCode(ukMobile(), caller);
    const code = codeFor(h.sim, requestId);
    await h.as(caller).post('/api/verify-token', { requestId, code: wrongCode(code) });
    await h.as(caller).post('/api/verify-token', { requestId, code });
    made.push({ caller, phoneNumber, requestId });
  }

  const where = await keysOnMasters(h.prefix);
  for (const { caller, phoneNumber, requestId } of made) {
    const tag = `${h.prefix}{${caller}:${phoneNumber}}`;
    const own = [...where.keys()].filter((key) => key.startsWith(tag));
    expect(own.sort()).toEqual(
      [`${tag}:cur`, `${tag}:limit:failed`, `${tag}:limit:sends`, `${tag}:v:${requestId}`].sort(),
    );
    const slots = new Set(await Promise.all(own.map(keyslot)));
    expect(slots.size).toBe(1);
    expect(new Set(own.map((key) => where.get(key))).size).toBe(1);
    // The slot is the one of the hash tag alone: nothing but the tag decides where the keys go.
    expect([...slots][0]).toBe(await keyslot(`${caller}:${phoneNumber}`));

    // The request-id index is the one key that cannot share the tag (a lookup by id knows only the id):
    // it is written alone, before the record, and hashes on the id.
    const index = `${h.prefix}id:{${requestId}}`;
    expect(where.has(index)).toBe(true);
    expect(await keyslot(index)).toBe(await keyslot(requestId));
  }

  // Per-caller limits: one key each, in the caller's own slot.
  for (const caller of ['alpha', 'beta']) {
    const key = `${h.prefix}{${caller}}:limit:sends`;
    expect(where.has(key)).toBe(true);
    expect(await keyslot(key)).toBe(await keyslot(caller));
  }

  // The abuse guard: every key (each scope's, and the lists that span scopes) in {guard}'s slot, so a
  // code's admission and its settling are one script each.
  const scopeKeys = [...where.keys()].filter((key) => /\{guard\}:(prefix|country):/.test(key));
  expect(scopeKeys.length).toBeGreaterThan(0);
  expect([...where.keys()].filter((key) => key.includes('{g:'))).toEqual([]);
  for (const key of [...where.keys()].filter((k) => k.includes('{guard}') || k.includes('{vonage}'))) {
    expect(await keyslot(key)).toBe(await keyslot(key.includes('{guard}') ? 'guard' : 'vonage'));
  }

  // No key escaped the grouping above unexplained, and the data really is spread over the masters.
  const known =
    /:(cur|limit:failed|limit:sends|limit:auth|limit:vonage|limit:calls|settled|verified|block|blocks|pending|seen:prefix|seen:country|v:[^:]+)$|:id:\{[^}]+\}$|:readyz$/;
  expect([...where.keys()].filter((key) => !known.test(key))).toEqual([]);
  expect(new Set(where.values()).size).toBeGreaterThanOrEqual(2);
});

test('an Idempotency-Key answer is kept and replayed through the cluster', async () => {
  const body = { phoneNumber: ukMobile() };
  const first = await h.as('alpha').post('/api/request-token', body).set('Idempotency-Key', 'cluster-key');
  expect(first.status).toBe(201);
  const starts = h.sim.stats.calls.start;
  const again = await h.as('alpha').post('/api/request-token', body).set('Idempotency-Key', 'cluster-key');
  expect(again.status).toBe(201);
  expect(again.text).toBe(first.text);
  expect(again.headers['idempotent-replayed']).toBe('true');
  expect(h.sim.stats.calls.start).toBe(starts);
});
