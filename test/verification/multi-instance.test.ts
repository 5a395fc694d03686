// Two instances of the service over one real Redis (one key prefix, one simulator, one virtual clock):
// whatever one instance starts, the other can verify, cancel and read; the limits and the one-verification-
// per-number rule hold across them; and a load run of thousands of complete flows loses nothing.

import type { Server } from 'node:http';
import { Agent, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHttpServer } from '../../src/http/http-server';
import { codeFor, type Harness, KEYS, type Pair, startPair, ukMobile } from '../support/harness';

function wrongCode(code: string): string {
  return code.replace(/\d$/, (d) => String((Number(d) + 1) % 10));
}

describe('two instances over one Redis', () => {
  let pair: Pair;

  beforeAll(async () => {
    pair = await startPair({ LIMIT_SENDS_PER_NUMBER: '3/1h', LIMIT_FAILED_CHECKS_PER_NUMBER: '2/1h' });
  });

  afterAll(async () => {
    await pair?.close();
  });

  test('the instances are separate processes in all but Redis: separate apps and Redis connections', () => {
    expect(pair.a.composed.app).not.toBe(pair.b.composed.app);
    expect(pair.a.composed.redis).toBeDefined();
    expect(pair.a.composed.redis).not.toBe(pair.b.composed.redis);
    expect(pair.b.prefix).toBe(pair.a.prefix);
  });

  test('started on one instance: status, wrong code, verify and spent-state through the other', async () => {
    const { a, b } = pair;
    const phoneNumber = ukMobile();
    const started = await a.as('alpha').post('/api/request-token', { phoneNumber });
    expect(started.status).toBe(201);
    const requestId: string = started.body.requestId;

    const status = await b.as('alpha').get(`/api/verifications/${requestId}`);
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({ requestId, phoneNumber, status: 'pending' });

    const bad = await b
      .as('alpha')
      .post('/api/verify-token', { requestId, code: wrongCode(codeFor(a.sim, requestId)) });
    expect(bad.status).toBe(422);
    expect(bad.body.code).toBe('code_mismatch');

    const good = await b
      .as('alpha')
      .post('/api/verify-token', { phoneNumber, code: codeFor(a.sim, requestId) });
    expect(good.status).toBe(200);
    expect(good.body).toEqual({ verified: true, requestId, phoneNumber });

    const again = await a
      .as('alpha')
      .post('/api/verify-token', { requestId, code: codeFor(a.sim, requestId) });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('already_verified');
    const after = await a.as('alpha').get(`/api/verifications/${requestId}`);
    expect(after.body).toMatchObject({ requestId, status: 'verified' });
  });

  test('started on one instance, cancelled through the other; the first then sees it cancelled', async () => {
    const { a, b } = pair;
    const started = await b.as('alpha').post('/api/request-token', { phoneNumber: ukMobile() });
    expect(started.status).toBe(201);
    const requestId: string = started.body.requestId;

    const early = await a.as('alpha').post('/api/cancel', { requestId });
    expect(early.status).toBe(409);
    expect(early.body.code).toBe('cancel_not_allowed');

    a.sim.advance(31_000);
    const cancelled = await a.as('alpha').post('/api/cancel', { requestId });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toEqual({ cancelled: true, requestId });

    const status = await b.as('alpha').get(`/api/verifications/${requestId}`);
    expect(status.body).toMatchObject({ requestId, status: 'cancelled' });
    const verify = await b
      .as('alpha')
      .post('/api/verify-token', { requestId, code: codeFor(a.sim, requestId) });
    expect(verify.status).toBe(410);
    expect(verify.body.code).toBe('verification_expired');
  });

  test('next-event through the other instance moves the same verification on', async () => {
    const { a, b } = pair;
    const started = await a.as('beta').post('/api/request-token', { phoneNumber: ukMobile(), workflowId: 1 });
    const requestId: string = started.body.requestId;
    const next = await b.as('beta').post('/api/next-event', { requestId });
    expect(next.status).toBe(200);
    expect(a.sim.messages({ requestId }).map((m) => m.channel)).toEqual(['sms', 'tts']);
    const ok = await a.as('beta').post('/api/verify-token', { requestId, code: codeFor(a.sim, requestId) });
    expect(ok.status).toBe(200);
  });

  test('callers stay isolated across instances: another caller id is 404 on either one', async () => {
    const { a, b } = pair;
    const started = await a.as('alpha').post('/api/request-token', { phoneNumber: ukMobile() });
    const requestId: string = started.body.requestId;
    for (const h of [a, b]) {
      const res = await h.as('beta').get(`/api/verifications/${requestId}`);
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('verification_not_found');
    }
    await b.as('alpha').post('/api/verify-token', { requestId, code: codeFor(a.sim, requestId) });
  });

  test('sends per number (3/1h) are counted across instances: the fourth is refused without Vonage', async () => {
    const { a, b } = pair;
    const phoneNumber = ukMobile();
    const startsBefore = a.sim.stats.verificationsStarted;
    // Alternate instances; each code is verified (through the other instance) so the next one can start.
    for (const [sender, checker] of [
      [a, b],
      [b, a],
      [a, b],
    ] as const) {
      const started = await sender.as('alpha').post('/api/request-token', { phoneNumber });
      expect(started.status).toBe(201);
      const requestId: string = started.body.requestId;
      const ok = await checker
        .as('alpha')
        .post('/api/verify-token', { requestId, code: codeFor(a.sim, requestId) });
      expect(ok.status).toBe(200);
    }
    const calls = a.sim.stats.calls.start;
    for (const h of [b, a]) {
      const refused = await h.as('alpha').post('/api/request-token', { phoneNumber });
      expect(refused.status).toBe(429);
      expect(refused.body.code).toBe('rate_limited');
      expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
      expect(refused.body.retryAfterSeconds).toBeGreaterThan(0);
    }
    expect(a.sim.stats.calls.start).toBe(calls);
    expect(a.sim.stats.verificationsStarted).toBe(startsBefore + 3);
    // The limit is per caller and number: another caller may still send to it.
    const other = await b.as('beta').post('/api/request-token', { phoneNumber });
    expect(other.status).toBe(201);
    await a.as('beta').post('/api/verify-token', {
      requestId: other.body.requestId,
      code: codeFor(a.sim, other.body.requestId),
    });
  });

  test('failed checks per number (2/1h) are counted across instances: then even the right code is refused', async () => {
    const { a, b } = pair;
    const started = await a.as('alpha').post('/api/request-token', { phoneNumber: ukMobile() });
    const requestId: string = started.body.requestId;
    const code = codeFor(a.sim, requestId);
    const first = await a.as('alpha').post('/api/verify-token', { requestId, code: wrongCode(code) });
    expect(first.status).toBe(422);
    const second = await b.as('alpha').post('/api/verify-token', { requestId, code: wrongCode(code) });
    expect(second.status).toBe(422);
    const checks = a.sim.stats.calls.check;
    for (const h of [a, b]) {
      const refused = await h.as('alpha').post('/api/verify-token', { requestId, code });
      expect(refused.status).toBe(429);
      expect(refused.body.code).toBe('rate_limited');
    }
    expect(a.sim.stats.calls.check).toBe(checks);
  });

  test('racing request-tokens for one number over both instances start exactly one verification', async () => {
    const { a, b } = pair;
    const phoneNumber = ukMobile();
    const startsBefore = a.sim.stats.verificationsStarted;
    const answers = await Promise.all(
      Array.from({ length: 30 }, (_, i) =>
        (i % 2 === 0 ? a : b).as('alpha').post('/api/request-token', { phoneNumber }),
      ),
    );
    const created = answers.filter((res) => res.status === 201);
    expect(created).toHaveLength(1);
    const requestId: string = created[0]?.body.requestId;
    for (const res of answers.filter((r) => r.status !== 201)) {
      expect(res.status).toBe(409);
      expect(res.body).toMatchObject({ code: 'verification_in_progress', requestId });
    }
    expect(a.sim.stats.verificationsStarted).toBe(startsBefore + 1);
    expect(a.sim.messages({ number: phoneNumber.slice(1) })).toHaveLength(1);
    const ok = await b.as('alpha').post('/api/verify-token', { requestId, code: codeFor(a.sim, requestId) });
    expect(ok.status).toBe(200);
  });
});

describe('sends per caller across instances', () => {
  let pair: Pair;

  beforeAll(async () => {
    pair = await startPair({ LIMIT_SENDS_PER_CALLER: '5/1h' });
  });

  afterAll(async () => {
    await pair?.close();
  });

  test('12 racing requests for 12 numbers over both instances: exactly 5 start, 7 are refused', async () => {
    const { a, b } = pair;
    const startsBefore = a.sim.stats.verificationsStarted;
    const answers = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        (i % 2 === 0 ? a : b).as('alpha').post('/api/request-token', { phoneNumber: ukMobile() }),
      ),
    );
    expect(answers.filter((res) => res.status === 201)).toHaveLength(5);
    const refused = answers.filter((res) => res.status !== 201);
    expect(refused).toHaveLength(7);
    for (const res of refused) {
      expect(res.status).toBe(429);
      expect(res.body.code).toBe('rate_limited');
    }
    expect(a.sim.stats.verificationsStarted).toBe(startsBefore + 5);
    // Another caller has its own budget.
    const other = await b.as('beta').post('/api/request-token', { phoneNumber: ukMobile() });
    expect(other.status).toBe(201);
  });
});

// --- load -----------------------------------------------------------------------------------------------

interface Reply {
  status: number;
  body: Record<string, unknown>;
}

/** A keep-alive JSON client: supertest opens a server per request, too slow for thousands of flows. */
function client(base: string, agent: Agent) {
  return (method: 'GET' | 'POST', path: string, body?: unknown): Promise<Reply> =>
    new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : JSON.stringify(body);
      const req = request(
        new URL(path, base),
        {
          method,
          agent,
          headers: {
            authorization: `Bearer ${KEYS.alpha}`,
            ...(payload
              ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
              : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            try {
              resolve({
                status: res.statusCode ?? 0,
                body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
              });
            } catch (error) {
              reject(error);
            }
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
}

/**
 * The instance served as src/server.ts serves it (createHttpServer: keep-alive 65 s). Node's default of
 * 5 s let the server close a pooled connection that sat idle under load just as the client reused it
 * ("socket hang up"), which no deployment behind a load balancer would see.
 */
function listen(h: Harness): Promise<{ server: Server; base: string }> {
  return new Promise((resolve) => {
    const server = createHttpServer(h.composed.app).listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      resolve({ server, base: `http://127.0.0.1:${port}` });
    });
  });
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

describe('load: complete flows spread over two instances', () => {
  const FLOWS = Number(process.env.MULTI_INSTANCE_FLOWS ?? 2000);
  const CONCURRENCY = 20;
  let pair: Pair;
  const servers: Server[] = [];
  const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });

  beforeAll(async () => {
    // Debug logs for thousands of requests would cost more than the flows themselves.
    pair = await startPair({ LIMIT_SENDS_PER_CALLER: '100000/1m', LOG_LEVEL: 'warn' });
  });

  afterAll(async () => {
    agent.destroy();
    await Promise.all(servers.map(closeServer));
    await pair?.close();
  });

  test(`${FLOWS} flows (request on one instance, verify on the other): none lost, no 5xx`, async () => {
    const { a, b } = pair;
    const listening = await Promise.all([listen(a), listen(b)]);
    servers.push(...listening.map((l) => l.server));
    const [callA, callB] = listening.map((l) => client(l.base, agent));
    if (!callA || !callB) throw new Error('instances did not listen');

    // Distinct numbers from a random base, so the status-10 rule never joins two flows.
    const base = Math.floor(Math.random() * 500_000);
    const numbers = Array.from({ length: FLOWS }, (_, i) => `+447400${String(base + i).padStart(6, '0')}`);
    const statuses = new Map<number, number>();
    const count = (status: number) => statuses.set(status, (statuses.get(status) ?? 0) + 1);
    const verified = new Map<string, string>();
    const failures: string[] = [];
    const startsBefore = a.sim.stats.verificationsStarted;
    const startedAt = Date.now();

    let next = 0;
    const worker = async () => {
      for (let i = next++; i < FLOWS; i = next++) {
        const phoneNumber = numbers[i] as string;
        const [first, second] = i % 2 === 0 ? [callA, callB] : [callB, callA];
        const started = await first('POST', '/api/request-token', { phoneNumber });
        count(started.status);
        if (started.status !== 201) {
          failures.push(`request ${phoneNumber}: ${started.status} ${JSON.stringify(started.body)}`);
          continue;
        }
        const requestId = String(started.body.requestId);
        const code = a.sim.currentCode(requestId);
        if (!code) {
          failures.push(`no code delivered for ${requestId}`);
          continue;
        }
        const checked = await second('POST', '/api/verify-token', { requestId, code });
        count(checked.status);
        if (
          checked.status !== 200 ||
          checked.body.verified !== true ||
          checked.body.requestId !== requestId
        ) {
          failures.push(`verify ${requestId}: ${checked.status} ${JSON.stringify(checked.body)}`);
          continue;
        }
        verified.set(requestId, phoneNumber);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    const seconds = (Date.now() - startedAt) / 1000;

    expect(failures.slice(0, 5)).toEqual([]);
    expect([...statuses.keys()].filter((status) => status >= 500)).toEqual([]);
    expect(verified.size).toBe(FLOWS);
    expect(a.sim.stats.verificationsStarted - startsBefore).toBe(FLOWS);

    // Nothing lost afterwards either: every verification reads as verified, through the instance that
    // did not start it.
    const lost: string[] = [];
    const ids = [...verified.keys()];
    let cursor = 0;
    const reader = async () => {
      for (let i = cursor++; i < ids.length; i = cursor++) {
        const requestId = ids[i] as string;
        const res = await (i % 2 === 0 ? callB : callA)('GET', `/api/verifications/${requestId}`);
        if (
          res.status !== 200 ||
          res.body.status !== 'verified' ||
          res.body.phoneNumber !== verified.get(requestId)
        ) {
          lost.push(`${requestId}: ${res.status} ${JSON.stringify(res.body)}`);
        }
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, reader));
    expect(lost.slice(0, 5)).toEqual([]);
    // One line for whoever reads the test output: how fast the two instances went.
    process.stdout.write(`multi-instance load: ${FLOWS} flows in ${seconds.toFixed(1)} s\n`);
  }, 120_000);
});
