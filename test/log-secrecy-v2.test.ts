// Nothing secret reaches the logs on Verify v2 either: after full flows (successes, wrong codes, too many
// attempts, cancels, next-event, silent authentication, Vonage failing in every way the v2 simulator can,
// and signed, forged and tampered callbacks), everything the service logged at debug level holds no code,
// no part of the application's private key, no JWT (the SDK's Bearer tokens, the callbacks' tokens), no
// signature secret and no full phone number. The digit search works as in log-secrecy.test.ts: pino's
// numeric fields are dropped, UUIDs (v2 request ids) replaced, and what is left is cut into runs of digits
// that must not contain a code or a number's national significant number.

import { createHash, createHmac, randomUUID } from 'node:crypto';
import type { Response } from 'supertest';
import {
  codeForV2,
  startV2Harness,
  ukMobile,
  V2_SIGNATURE_SECRET,
  type V2Harness,
  v2Application,
} from './support/harness';

let h: V2Harness;
const phones = new Set<string>();
/** Codes handed out by the silent-auth redirect chain (letters and digits). */
const silentCodes = new Set<string>();

beforeAll(async () => {
  h = await startV2Harness({ env: { VONAGE_TIMEOUT_MS: '1000' } });
}, 30_000);

afterAll(async () => {
  await h.close();
});

function phone(): string {
  const number = ukMobile();
  phones.add(number);
  return number;
}

const post = (path: string, body: object): Promise<Response> => h.as('alpha').post(path, body);

async function start(extra: object = {}): Promise<string> {
  const res = await post('/api/request-token', { phoneNumber: phone(), ...extra });
  expect(res.status).toBe(201);
  return res.body.requestId as string;
}

const nsn = (e164: string) => e164.replace(/^\+44/, '');
const wrong = (code: string) => code.replace(/\d$/, (d) => String((Number(d) + 1) % 10));
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;
const JWT = /eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/;

function literals(): string[] {
  const { privateKey } = v2Application();
  // Every line of the key's body: a log holding any part of the key holds one of them, or a long run of one.
  const keyLines = privateKey
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('-----'))
    .map((line) => line.slice(0, 32));
  return [
    ...keyLines,
    'PRIVATE KEY',
    V2_SIGNATURE_SECRET,
    ...silentCodes,
    ...[...phones].flatMap((p) => [p, p.slice(1), `0${nsn(p)}`]),
  ];
}

function findLeaks(lines: string[]): string[] {
  const codes = [...new Set(h.sim.messages().map((m) => m.code))].filter((code) => /^\d+$/.test(code));
  const numbers = [...phones].map(nsn);
  const leaks: string[] = [];
  for (const line of lines.flatMap((chunk) => chunk.split('\n')).filter((l) => l.trim() !== '')) {
    for (const literal of literals()) if (line.includes(literal)) leaks.push(`"${literal}" in ${line}`);
    if (JWT.test(line)) leaks.push(`a JWT in ${line}`);
    const {
      time: _t,
      pid: _p,
      hostname: _h,
      responseTime: _r,
      ...rest
    } = JSON.parse(line) as Record<string, unknown>;
    for (const run of JSON.stringify(rest)
      .replace(UUID, '<uuid>')
      .match(/\d{6,}/g) ?? []) {
      const found = [...codes, ...numbers].filter((secret) => run.includes(secret));
      leaks.push(
        found.length > 0 ? `${found.join(',')} in ${line}` : `innocent long digit run ${run} in ${line}`,
      );
    }
  }
  return leaks;
}

function signed(body: string, secret = V2_SIGNATURE_SECRET, hashOf = body): string {
  const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const header = b64({ alg: 'HS256', typ: 'JWT' });
  const claims = b64({
    iat: Math.floor(Date.now() / 1000),
    jti: randomUUID(),
    payload_hash: createHash('sha256').update(hashOf).digest('hex'),
  });
  return `${header}.${claims}.${createHmac('sha256', secret).update(`${header}.${claims}`).digest('base64url')}`;
}

test('flows on Verify v2 log no code, key, token, secret or number', async () => {
  const from = h.logs.length;

  const ok = await start();
  expect((await post('/api/verify-token', { requestId: ok, code: codeForV2(h.sim, ok) })).status).toBe(200);

  const failed = await start();
  const code = codeForV2(h.sim, failed);
  for (let i = 0; i < 3; i++) await post('/api/verify-token', { requestId: failed, code: wrong(code) });
  expect((await post('/api/verify-token', { requestId: failed, code })).status).toBe(410);

  const moved = await start();
  expect((await post('/api/cancel', { requestId: moved })).status).toBe(409);
  expect((await post('/api/next-event', { requestId: moved })).status).toBe(200);
  const cancelled = await start();
  h.sim.advance(31_000);
  expect((await post('/api/cancel', { requestId: cancelled })).status).toBe(200);

  const silent = await post('/api/request-token', { phoneNumber: phone(), channels: ['silent_auth', 'sms'] });
  const handset = await fetch(silent.body.checkUrl as string);
  const { code: silentCode } = (await handset.json()) as { code: string };
  silentCodes.add(silentCode);
  expect(
    (await post('/api/verify-token', { requestId: silent.body.requestId, code: silentCode })).status,
  ).toBe(200);

  for (const mode of ['http500', 'http401', 'http429', 'badJson', 'notJson', 'reset', 'hang'] as const) {
    h.sim.faults.set({ mode, operations: ['start'], times: 1 });
    expect((await post('/api/request-token', { phoneNumber: phone() })).status).toBeGreaterThanOrEqual(500);
    const requestId = await start();
    const right = codeForV2(h.sim, requestId);
    h.sim.faults.set({ mode, operations: ['check'], times: 1 });
    expect((await post('/api/verify-token', { requestId, code: right })).status).toBeGreaterThanOrEqual(500);
    // A 2xx that is not JSON is a success for cancel and next_workflow, which answer no body.
    if (mode === 'notJson') continue;
    h.sim.advance(31_000);
    h.sim.faults.set({ mode, operations: ['cancel', 'next'], times: 2 });
    expect((await post('/api/cancel', { requestId })).status).toBeGreaterThanOrEqual(500);
    expect((await post('/api/next-event', { requestId })).status).toBeGreaterThanOrEqual(500);
  }

  const callback = JSON.stringify({
    request_id: ok,
    type: 'event',
    channel: 'sms',
    status: 'completed',
    finalized_at: new Date().toISOString(),
  });
  for (const token of [
    signed(callback),
    signed(callback, 'wrong-secret'),
    signed(callback, V2_SIGNATURE_SECRET, `${callback} `),
  ]) {
    await h.http
      .post('/webhooks/vonage/verify')
      .set('Authorization', `Bearer ${token}`)
      .set('Content-Type', 'application/json')
      .send(callback);
  }
  h.sim.faults.setCallback({ mode: 'badSignature', times: 1 });
  const last = await start();
  await post('/api/verify-token', { requestId: last, code: codeForV2(h.sim, last) });
  await h.sim.callbacksIdle();

  const lines = h.logs.slice(from);
  // The failures were logged, with their causes; the search would see a leak in them.
  expect(lines.filter((line) => line.includes('"level":50')).length).toBeGreaterThan(10);
  expect(findLeaks(lines)).toEqual([]);
}, 60_000);

test('the search finds planted secrets', () => {
  const number = phone();
  const { privateKey } = v2Application();
  const keyLine = privateKey.split('\n')[5] ?? '';
  const planted = [
    { msg: `key ${keyLine}` },
    { headers: { authorization: `Bearer ${signed('{}')}` } },
    { msg: `to ${number}` },
    { msg: `to 0${nsn(number)}` },
    { secret: V2_SIGNATURE_SECRET },
  ];
  for (const fields of planted) {
    expect(findLeaks([JSON.stringify({ level: 30, time: 1, ...fields })]).length).toBeGreaterThan(0);
  }
  expect(findLeaks([JSON.stringify({ level: 30, time: 1, requestId: randomUUID(), msg: 'ok' })])).toEqual([]);
});
