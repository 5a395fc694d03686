// Nothing secret reaches the logs: after full flows (successes, wrong codes, too many attempts, refusals
// by every limit, Vonage failing in every way the simulator can, 401s, cancels, a test number, a store
// failure right after a start), everything the service logged (h.logs, at debug level) holds no code the
// simulator issued, no API key, no Vonage credential, no Authorization value and no full phone number.
//
// How codes are searched without being fooled: codes are 6-digit strings, and a log line is full of
// innocent digits (epoch-ms times, pids, durations, UUIDs, 32-hex Vonage request ids, stack line
// numbers). A plain substring search would report a code that happens to sit inside a timestamp or a hex
// id, and excluding whole fields would hide a code that leaks into them. So each line is parsed as JSON;
// only the top-level fields pino itself fills with numbers (time, pid, hostname, responseTime) are
// dropped; every id the flows received (request ids, X-Request-Id UUIDs) is replaced by a placeholder;
// and what is left is cut into maximal runs of digits. A code leaks if some run of 6 or more digits
// contains it: "123456", "code=123456", {"pin":123456} and a code glued to other digits all show up as
// such a run, while the leftovers of innocent values (ISO dates, ports, line:column, errno) are runs of
// at most 5 digits, which cannot contain a 6-digit code. The test checks that premise (every code has 6
// digits) and that no innocent long run is left, which would make the search blind or noisy.
// Phone numbers are searched the same way through their national significant number (7400123456),
// which every written form of the number (E.164, without '+', with a leading 0) contains.

import { createHash } from 'node:crypto';
import type { Response } from 'supertest';
import { CREATE_RECORD } from '../src/store/redis/scripts';
import { codeFor, type Harness, KEYS, startHarness, ukMobile, VONAGE } from './support/harness';
import { type RedisServer, startRedisServer } from './support/redis-server';

const TEST_NUMBER = '+15005550006';
const TEST_CODE = '724193';
const WRONG_KEYS = ['wrong-key-7c1d9e2f4a6b', 'key-alpha-0123456788'];

let h: Harness;
/** Every simulator whose codes and ids the search must know (the main harness's, and others'). */
const sims: Array<() => Harness['sim'] | undefined> = [() => h.sim];
const messages = () => sims.flatMap((sim) => sim()?.messages() ?? []);
/** Every phone number the flows used, as E.164. */
const phones = new Set<string>([TEST_NUMBER]);
/** Every id the service handed out (with the simulator's): safe to log, replaced before the digit search. */
const ids = new Set<string>();

beforeAll(async () => {
  h = await startHarness({
    env: {
      LIMIT_SENDS_PER_NUMBER: '3/1h',
      LIMIT_FAILED_CHECKS_PER_NUMBER: '4/1h',
      LIMIT_AUTH_FAILURES_PER_IP: '2/1m',
      VONAGE_TIMEOUT_MS: '1000',
      TEST_NUMBERS: `${TEST_NUMBER}:${TEST_CODE}`,
    },
  });
});

afterAll(async () => {
  await h.close();
});

function phone(): string {
  const number = ukMobile();
  phones.add(number);
  return number;
}

/** Notes the ids an answer carries, so the digit search can tell them from secrets. */
function seen(res: Response): Response {
  const requestId = res.headers['x-request-id'];
  if (typeof requestId === 'string') ids.add(requestId);
  const body = res.body as { requestId?: unknown; replacedRequestId?: unknown } | undefined;
  for (const id of [body?.requestId, body?.replacedRequestId]) if (typeof id === 'string') ids.add(id);
  return res;
}

async function post(path: string, body: object, caller: 'alpha' | 'beta' = 'alpha'): Promise<Response> {
  return seen(await h.as(caller).post(path, body));
}

async function start(phoneNumber: string, extra: object = {}): Promise<string> {
  const res = await post('/api/request-token', { phoneNumber, ...extra });
  expect(res.status).toBe(201);
  return res.body.requestId as string;
}

function wrong(code: string): string {
  return code.replace(/\d$/, (d) => String((Number(d) + 1) % 10));
}

function nsn(e164: string): string {
  return e164.replace(/^\+(44|1)/, '');
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/** A log line as text to search: pino's own numeric fields dropped, known ids replaced. */
function searchable(line: string): string {
  const parsed = JSON.parse(line) as Record<string, unknown>;
  const { time: _time, pid: _pid, hostname: _hostname, responseTime: _responseTime, ...rest } = parsed;
  let text = JSON.stringify(rest);
  for (const id of [...ids, ...messages().map((m) => m.requestId)]) text = text.split(id).join('<id>');
  // Redis error replies name the Lua script by its SHA1, whose hex may hold a long digit run.
  return text.replace(UUID, '<uuid>').replace(/script: [0-9a-f]{40}/g, 'script: <sha1>');
}

function secrets(): { codes: string[]; literals: string[] } {
  const codes = [...new Set([...messages().map((m) => m.code), TEST_CODE])];
  const basic = Buffer.from(`${VONAGE.apiKey}:${VONAGE.apiSecret}`).toString('base64');
  const literals = [
    ...Object.values(KEYS),
    ...WRONG_KEYS,
    VONAGE.apiKey,
    VONAGE.apiSecret,
    basic,
    ...[...phones].flatMap((p) => [p, p.slice(1), `0${nsn(p)}`, nsn(p)]),
  ];
  return { codes, literals };
}

/** Every secret found in these log lines, with the line; also any innocent run that would blind the search. */
function findLeaks(lines: string[]): string[] {
  const { codes, literals } = secrets();
  const numbers = [...phones].map(nsn);
  const leaks: string[] = [];
  for (const line of lines.flatMap((chunk) => chunk.split('\n')).filter((l) => l.trim() !== '')) {
    for (const literal of literals) {
      if (line.includes(literal)) leaks.push(`"${literal}" in ${line}`);
    }
    for (const run of searchable(line).match(/\d{6,}/g) ?? []) {
      const found = [...codes, ...numbers].filter((secret) => run.includes(secret));
      leaks.push(
        found.length > 0 ? `${found.join(',')} in ${line}` : `innocent long digit run ${run} in ${line}`,
      );
    }
  }
  return leaks;
}

function expectNoSecrets(lines: string[]): void {
  expect(secrets().codes.every((code) => /^\d{6}$/.test(code))).toBe(true);
  expect(findLeaks(lines)).toEqual([]);
}

/** Runs a flow and checks what it logged. */
async function logsOf(flow: () => Promise<void>): Promise<string[]> {
  const from = h.logs.length;
  await flow();
  const lines = h.logs.slice(from);
  expect(lines.length).toBeGreaterThan(0);
  expectNoSecrets(lines);
  return lines;
}

test('success, by request id and by a number written in national form', async () => {
  await logsOf(async () => {
    const a = await start(phone());
    expect((await post('/api/verify-token', { requestId: a, code: codeFor(h.sim, a) })).status).toBe(200);
    const number = phone();
    const b = await start(`0${nsn(number).slice(0, 4)} ${nsn(number).slice(4)}`, { country: 'GB' });
    const ok = await post('/api/verify-token', { phoneNumber: number.slice(1), code: codeFor(h.sim, b) });
    expect(ok.status).toBe(200);
    expect((await seen(await h.as('alpha').get(`/api/verifications/${b}`))).status).toBe(200);
  });
});

test('wrong codes, too many attempts, then the right code too late', async () => {
  await logsOf(async () => {
    const requestId = await start(phone());
    const code = codeFor(h.sim, requestId);
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) {
      statuses.push((await post('/api/verify-token', { requestId, code: wrong(code) })).status);
    }
    statuses.push((await post('/api/verify-token', { requestId, code })).status);
    expect(statuses).toEqual([422, 422, 410, 410]);
    // The code also travels in a body refused by validation.
    expect((await post('/api/verify-token', { requestId, code, pin: code })).status).toBe(400);
  });
});

test('refusals by every limit', async () => {
  await logsOf(async () => {
    const sent = phone();
    for (let i = 0; i < 3; i++) {
      const requestId = await start(sent);
      expect((await post('/api/verify-token', { requestId, code: codeFor(h.sim, requestId) })).status).toBe(
        200,
      );
    }
    expect((await post('/api/request-token', { phoneNumber: sent })).status).toBe(429);

    const checked = phone();
    const first = await start(checked);
    for (let i = 0; i < 3; i++)
      await post('/api/verify-token', { requestId: first, code: wrong(codeFor(h.sim, first)) });
    const second = await start(checked);
    const code = codeFor(h.sim, second);
    expect((await post('/api/verify-token', { phoneNumber: checked, code: wrong(code) })).status).toBe(422);
    expect((await post('/api/verify-token', { phoneNumber: checked, code })).status).toBe(429);
    expect((await post('/api/next-event', { requestId: second })).status).toBe(200);
    expect((await post('/api/next-event', { requestId: second })).status).toBe(429);
  });
});

test('401s with wrong, missing and malformed keys, then the auth-failure limit', async () => {
  await logsOf(async () => {
    const number = phone();
    const statuses: number[] = [];
    for (const authorization of [
      `Bearer ${WRONG_KEYS[0]}`,
      `Bearer ${WRONG_KEYS[1]}`,
      `Basic ${Buffer.from(`alpha:${KEYS.alpha}`).toString('base64')}`,
      `${KEYS.beta}`,
    ]) {
      const res = await h.http
        .post('/api/request-token')
        .set('Authorization', authorization)
        .send({ phoneNumber: number });
      statuses.push(seen(res).status);
    }
    expect(statuses).toEqual([401, 401, 429, 429]);
  });
});

test('cancel: refused in the first 30 s, then done; next-event; status', async () => {
  await logsOf(async () => {
    const requestId = await start(phone());
    expect((await post('/api/cancel', { requestId })).status).toBe(409);
    expect((await post('/api/next-event', { requestId })).status).toBe(200);
    const other = phone();
    const cancelled = await start(other);
    h.sim.advance(31_000);
    expect((await post('/api/cancel', { phoneNumber: other })).status).toBe(200);
    const late = await post('/api/verify-token', { requestId: cancelled, code: codeFor(h.sim, cancelled) });
    expect(late.status).toBe(410);
  });
});

test('Vonage failing: faults on every operation and forced error statuses', async () => {
  const lines = await logsOf(async () => {
    const modes = ['http500', 'http401', 'http429', 'badJson', 'reset', 'noContentType'] as const;
    for (const mode of modes) {
      h.sim.setFault({ mode, operations: ['start'], times: 1 });
      const started = await post('/api/request-token', { phoneNumber: phone() });
      expect(started.status).toBeGreaterThanOrEqual(500);

      // The right code travels in a check that fails, and then in one that works.
      const requestId = await start(phone());
      const code = codeFor(h.sim, requestId);
      h.sim.setFault({ mode, operations: ['check'], times: 1 });
      expect((await post('/api/verify-token', { requestId, code })).status).toBeGreaterThanOrEqual(500);
      h.sim.setFault({ mode, operations: ['control'], times: 1 });
      expect((await post('/api/next-event', { requestId })).status).toBeGreaterThanOrEqual(500);
      // noContentType garbles only the answer: the simulator did verify the code, and its search lags a
      // minute behind a finished request, so the service cannot tell yet (503 with Retry-After).
      const after = await post('/api/verify-token', { requestId, code });
      expect(after.status).toBe(mode === 'noContentType' ? 503 : 200);
    }

    const hanging = await start(phone());
    h.sim.setFault({ mode: 'hang', operations: ['check'], times: 1 });
    const timedOut = await post('/api/verify-token', { requestId: hanging, code: codeFor(h.sim, hanging) });
    expect(timedOut.status).toBe(504);

    for (const status of ['1', '4', '5', '9']) {
      h.sim.forceStatus('start', status);
      expect((await post('/api/request-token', { phoneNumber: phone() })).status).toBeGreaterThanOrEqual(500);
    }
    const forced = await start(phone());
    const code = codeFor(h.sim, forced);
    for (const status of ['1', '2', '5']) {
      h.sim.forceStatus('check', status);
      expect((await post('/api/verify-token', { requestId: forced, code })).status).toBeGreaterThanOrEqual(
        500,
      );
    }
    h.sim.forceStatus('control', '5');
    expect((await post('/api/next-event', { requestId: forced })).status).toBe(502);
  });
  // The failures were logged (with their causes), just not the secrets.
  expect(
    lines.filter((line) => line.includes('"level":50') && line.includes('"err"')).length,
  ).toBeGreaterThan(10);
});

test('a test number, and a store failure right after a start (the untracked-verification log)', async () => {
  await logsOf(async () => {
    const requestId = await start(TEST_NUMBER, {});
    expect((await post('/api/verify-token', { requestId, code: '000000' })).status).toBe(422);
    expect((await post('/api/verify-token', { requestId, code: TEST_CODE })).status).toBe(200);

    const redis = h.composed.redis;
    if (!redis) throw new Error('the harness should use Redis');
    // The write of the new record (its script, by digest) fails as a dropped connection would.
    const evalsha = redis.evalsha.bind(redis);
    const spy = jest
      .spyOn(redis, 'evalsha')
      .mockImplementation(((sha: string, numKeys: number, ...rest: (string | number)[]) =>
        sha === CREATE_RECORD.sha
          ? Promise.reject(new Error('Connection is closed.'))
          : evalsha(sha, numKeys, ...rest)) as never);
    try {
      const number = phone();
      const res = await post('/api/request-token', { phoneNumber: number });
      expect(res.status).toBe(503);
      // The code was sent all the same: it must not be in the log that reports it.
      expect(h.sim.messages({ number: number.slice(1) })).toHaveLength(1);
    } finally {
      spy.mockRestore();
    }
  });
});

test('the search finds planted secrets in any shape, and ignores timestamps and ids', async () => {
  const number = phone();
  const requestId = await start(number);
  const code = codeFor(h.sim, requestId);
  const planted = [
    { msg: `checking ${code}` },
    // As a JSON number (a leading 0 would be lost, and the number would no longer be the code).
    { pin: code.startsWith('0') ? Number(`9${code}`) : Number(code) },
    { detail: `x${code}y` },
    { joined: `${number.slice(1)}${code}` },
    { err: { message: `POST /verify/check/json?code=${code}&request_id=${requestId}` } },
    { msg: `to ${number}` },
    { msg: `to 0${nsn(number)}` },
    { headers: { authorization: `Bearer ${KEYS.beta}` } },
    { body: `api_key=${VONAGE.apiKey}&api_secret=${VONAGE.apiSecret}` },
  ];
  for (const fields of planted) {
    expect(findLeaks([JSON.stringify({ level: 30, time: 1, ...fields })]).length).toBeGreaterThan(0);
  }
  const innocent = {
    level: 30,
    time: Number(`17${code}00000`),
    pid: Number(code),
    reqId: `aaaaaaaa-bbbb-cccc-dddd-${code}abcdef`,
    requestId,
    msg: 'ok',
  };
  expect(findLeaks([JSON.stringify(innocent)])).toEqual([]);
});

describe('Redis error replies (a redis-server of this test own: full, read-only, script cache lost, frozen)', () => {
  let server: RedisServer;
  let r: Harness;
  beforeAll(async () => {
    server = await startRedisServer();
    r = await startHarness({ env: { REDIS_URL: server.url, VONAGE_TIMEOUT_MS: '1000' } });
    sims.push(() => r?.sim);
  });
  afterAll(async () => {
    await r?.close();
    await server?.close();
  });

  async function postTo(path: string, body: object): Promise<Response> {
    return seen(await r.as('alpha').post(path, body));
  }

  /** A verification started while Redis is healthy, and the code the simulator sent for it. */
  async function pending(): Promise<{ requestId: string; code: string }> {
    const res = await postTo('/api/request-token', { phoneNumber: phone() });
    expect(res.status).toBe(201);
    const requestId = res.body.requestId as string;
    return { requestId, code: codeFor(r.sim, requestId) };
  }

  /** request-token for a new number and verify-token of a pending one: both refused, 503. */
  async function refusedBoth(verification: { requestId: string; code: string }): Promise<void> {
    const start = await postTo('/api/request-token', { phoneNumber: phone() });
    const check = await postTo('/api/verify-token', verification);
    expect([start.status, start.body.code, check.status, check.body.code]).toEqual([
      503,
      'store_unavailable',
      503,
      'store_unavailable',
    ]);
  }

  /** What this harness logged during the flow; every error line's err has only the four safe fields. */
  async function redisLogsOf(flow: () => Promise<void>, reply: RegExp): Promise<void> {
    const from = r.logs.length;
    await flow();
    const lines = r.logs
      .slice(from)
      .flatMap((chunk) => chunk.split('\n'))
      .filter((l) => l.trim() !== '');
    expectNoSecrets(lines);
    const errs = lines
      .map((line) => JSON.parse(line) as { level: number; err?: Record<string, unknown> })
      .filter((entry) => entry.level >= 50 && entry.err)
      .map((entry) => entry.err as Record<string, unknown>);
    expect(errs.some((err) => reply.test(String(err.message)))).toBe(true);
    for (const err of errs) {
      for (const key of Object.keys(err)) expect(['type', 'message', 'errno', 'stack']).toContain(key);
    }
    for (const line of lines) expect(line).not.toMatch(/"(command|args)"/);
  }

  test('OOM: maxmemory reached with noeviction', async () => {
    const verification = await pending();
    await server.command('CONFIG', 'SET', 'maxmemory', '1');
    try {
      await redisLogsOf(() => refusedBoth(verification), /^OOM|OOM command not allowed/);
    } finally {
      await server.command('CONFIG', 'SET', 'maxmemory', '0');
    }
  });

  test('READONLY: Redis became a replica', async () => {
    const verification = await pending();
    // A master that is not there: the server keeps its data and refuses writes as a replica.
    await server.command('REPLICAOF', '127.0.0.1', '9');
    try {
      await redisLogsOf(() => refusedBoth(verification), /READONLY/);
    } finally {
      await server.command('REPLICAOF', 'NO', 'ONE');
    }
  });

  test('NOSCRIPT: the script cache was flushed under a client that runs scripts by their SHA', async () => {
    const verification = await pending();
    await server.command('SCRIPT', 'FLUSH');
    const redis = r.composed.redis;
    if (!redis) throw new Error('the harness should use Redis');
    // As a client caching scripts would: EVALSHA first. Real Redis answers NOSCRIPT with the same keys.
    const spy = jest
      .spyOn(redis, 'eval')
      .mockImplementation(((script: string, numKeys: number, ...rest: (string | number)[]) =>
        redis.evalsha(createHash('sha1').update(script).digest('hex'), numKeys, ...rest)) as never);
    try {
      await redisLogsOf(() => refusedBoth(verification), /NOSCRIPT/);
    } finally {
      spy.mockRestore();
    }
  });

  test('a timeout: Redis frozen', async () => {
    const verification = await pending();
    server.freeze();
    try {
      await redisLogsOf(() => refusedBoth(verification), /timed out/i);
    } finally {
      server.resume();
    }
  });
});

test('the whole log, every flow together', () => {
  expect(h.logs.length).toBeGreaterThan(100);
  expectNoSecrets(h.logs);
});
