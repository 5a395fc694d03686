// The lease renewal of running Idempotency-Keys, on fake time: one interval (not one per request) renews
// every running request's key every half lease, so a key is still held several leases later; the
// interval stops once no request runs; a request whose connection closed is no longer renewed. Only
// setInterval and clearInterval are faked; the store's lease expiry runs on a VirtualClock moved with them.

import { request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type Response } from 'express';
import supertest from 'supertest';
import { VirtualClock } from '../../src/clock';
import { createErrorHandler } from '../../src/http/error-handler';
import { createIdempotency, keepRawBody } from '../../src/http/idempotency';
import { MemoryIdempotencyStore } from '../../src/store/memory/idempotency';
import { pollUntil } from '../support/net';

const LEASE_MS = 10_000;

/** A memory store that counts renewals, and an app whose /slow answers only when told to. */
async function slowApp() {
  const clock = new VirtualClock(0);
  const memory = new MemoryIdempotencyStore(clock);
  const counts = { renewals: 0, runs: 0 };
  const store = {
    begin: memory.begin.bind(memory),
    complete: memory.complete.bind(memory),
    release: memory.release.bind(memory),
    renew: (...args: Parameters<MemoryIdempotencyStore['renew']>) => {
      counts.renewals += 1;
      return memory.renew(...args);
    },
  };
  const waiting: Array<{ res: Response; answer: () => void }> = [];
  const app = express();
  app.use((_req, res, next) => {
    res.locals.caller = 'alpha';
    next();
  });
  app.use(express.json({ verify: keepRawBody }));
  app.use(createIdempotency({ store, ttlMs: 600_000, leaseMs: LEASE_MS }));
  app.post('/slow', (req, res) => {
    counts.runs += 1;
    waiting.push({ res, answer: () => res.json({ done: req.body }) });
  });
  app.use(createErrorHandler());
  const server: Server = app.listen(0, '127.0.0.1');
  await new Promise<void>((resolve) => server.once('listening', resolve));
  return { clock, counts, waiting, server, http: supertest(server) };
}

/** Moves the store's clock and the faked intervals by `ms`, then lets the renewals' promises settle. */
async function advance(clock: VirtualClock, ms: number): Promise<void> {
  clock.advance(ms);
  jest.advanceTimersByTime(ms);
  await new Promise((resolve) => setImmediate(resolve));
}

beforeEach(() => {
  jest.useFakeTimers({
    doNotFake: [
      'Date',
      'hrtime',
      'nextTick',
      'performance',
      'queueMicrotask',
      'setImmediate',
      'clearImmediate',
      'setTimeout',
      'clearTimeout',
    ],
  });
});

afterEach(() => {
  jest.useRealTimers();
});

describe('the lease renewal of running requests', () => {
  test('one interval renews every running key each half lease; it stops once none runs', async () => {
    const { clock, counts, waiting, server, http } = await slowApp();
    try {
      const first = http
        .post('/slow')
        .set('Idempotency-Key', 'a')
        .send({ n: 1 })
        .then((res) => res);
      const second = http
        .post('/slow')
        .set('Idempotency-Key', 'b')
        .send({ n: 2 })
        .then((res) => res);
      await pollUntil('both requests to run', async () => (waiting.length === 2 ? true : undefined));
      expect(jest.getTimerCount()).toBe(1);

      // 3.5 leases on: renewed at every half lease, both keys are still held.
      for (let i = 0; i < 7; i += 1) await advance(clock, LEASE_MS / 2);
      expect(counts.renewals).toBe(14);
      const during = await http.post('/slow').set('Idempotency-Key', 'a').send({ n: 1 });
      expect(during.status).toBe(409);
      expect(during.body.code).toBe('idempotency_in_progress');
      expect(counts.runs).toBe(2);

      for (const { answer } of waiting) answer();
      expect((await first).status).toBe(200);
      expect((await second).status).toBe(200);
      await advance(clock, LEASE_MS / 2);
      expect(counts.renewals).toBe(14);
      expect(jest.getTimerCount()).toBe(0);

      const replayed = await http.post('/slow').set('Idempotency-Key', 'b').send({ n: 2 });
      expect(replayed.headers['idempotent-replayed']).toBe('true');
      expect(replayed.text).toBe('{"done":{"n":2}}');
      expect(counts.runs).toBe(2);
    } finally {
      server.close();
    }
  });

  test('a request whose connection closed is no longer renewed, and its key is free after its lease', async () => {
    const { clock, counts, waiting, server, http } = await slowApp();
    try {
      const { port } = server.address() as AddressInfo;
      const body = JSON.stringify({ n: 1 });
      const client = httpRequest({
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/slow',
        headers: { 'content-type': 'application/json', 'idempotency-key': 'gone' },
      });
      client.on('error', () => {});
      client.end(body);
      await pollUntil('the request to run', async () => (waiting.length === 1 ? true : undefined));
      const held = waiting[0];
      if (!held) throw new Error('no request ran');
      client.destroy();
      await pollUntil('its connection to close', async () => (held.res.destroyed ? true : undefined));

      await advance(clock, LEASE_MS / 2);
      expect(counts.renewals).toBe(0);
      await advance(clock, LEASE_MS / 2);
      // Not renewed, the lease has run out: the retry runs.
      const retried = http
        .post('/slow')
        .set('Idempotency-Key', 'gone')
        .set('Content-Type', 'application/json')
        .send(body)
        .then((res) => res);
      await pollUntil('the retry to run', async () => (waiting.length === 2 ? true : undefined));
      for (const { answer } of waiting) answer();
      expect((await retried).status).toBe(200);
      expect(counts.runs).toBe(2);
    } finally {
      server.close();
    }
  });
});
