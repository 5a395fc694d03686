// `VONAGE_VERIFY_API=v2 npm start` with no credentials: the real service process in a v2 sandbox (the v2
// simulator in-process, a key pair and a signature secret made at start, its signed callbacks reaching the
// service's own webhook). Walks the README flow, silent authentication end to end (follow checkUrl, get
// the code, verify it), and checks that DEBUG=vonage:* refuses to start without printing a key.

import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { type ServiceProcess, startService } from './support/service-process';

let service: ServiceProcess;

beforeAll(async () => {
  service = await startService({ env: { PORT: '0', LOG_LEVEL: 'info', VONAGE_VERIFY_API: 'v2' } });
}, 30_000);

afterAll(async () => {
  await service.kill();
});

async function call(method: string, path: string, body?: object) {
  const res = await fetch(`${service.url}${path}`, {
    method,
    headers: { Authorization: 'Bearer dev-key', 'Content-Type': 'application/json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function statusOf(requestId: string) {
  return (await call('GET', `/api/verifications/${requestId}`)).body;
}

/** Polls the status until `done` holds (callbacks arrive on their own time, over real HTTP). */
async function eventually(requestId: string, done: (body: Record<string, unknown>) => boolean) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const body = await statusOf(requestId);
    if (done(body) || Date.now() > deadline) return body;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const deliveries = (body: Record<string, unknown>) =>
  (body.events as { type: string; channel?: string; status?: string }[]).filter((e) => e.type === 'delivery');

test('says it runs a Verify v2 sandbox', () => {
  const line = service.logs.find((l) => /SANDBOX MODE/.test(l.msg));
  expect(line?.msg).toMatch(/Verify v2 simulator/);
  expect(line?.verifyApi).toBe('v2');
});

test('serves the README walk-through on v2; the simulator callbacks reach the webhook', async () => {
  const requested = await call('POST', '/api/request-token', { phoneNumber: '+44 7400 123456' });
  expect(requested.status).toBe(201);
  expect(requested.body.channels).toEqual(['sms', 'voice', 'voice']);
  const requestId = String(requested.body.requestId);

  const inbox = await call('GET', '/sandbox/messages?phoneNumber=%2B447400123456');
  const messages = inbox.body.messages as {
    requestId: string;
    code: string;
    number: string;
    channel: string;
  }[];
  const message = messages.find((m) => m.requestId === requestId);
  expect(message).toMatchObject({
    number: '+447400123456',
    channel: 'sms',
    code: expect.stringMatching(/^\d{6}$/),
  });

  const verified = await call('POST', '/api/verify-token', { requestId, code: message?.code });
  expect(verified).toEqual({
    status: 200,
    body: { verified: true, requestId, phoneNumber: '+447400123456' },
  });

  // The simulator's signed callback (the sms step completed) reached the service and was applied.
  const status = await eventually(requestId, (body) => deliveries(body).length > 0);
  expect(status.status).toBe('verified');
  expect(deliveries(status)).toEqual([expect.objectContaining({ channel: 'sms', status: 'completed' })]);
});

test('silent authentication end to end: follow checkUrl, get the code, verify it', async () => {
  const requested = await call('POST', '/api/request-token', {
    phoneNumber: '+44 7400 654321',
    channels: ['silent_auth', 'sms'],
  });
  expect(requested.status).toBe(201);
  expect(requested.body.channels).toEqual(['silent_auth', 'sms']);
  const requestId = String(requested.body.requestId);
  const checkUrl = String(requested.body.checkUrl);
  expect(checkUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v2\/verify\/.+\/silent-auth\/redirect$/);

  // What the app does on the handset over mobile data: open it and follow the redirects.
  const handset = await fetch(checkUrl, { redirect: 'follow' });
  expect(handset.status).toBe(200);
  const { request_id: echoed, code } = (await handset.json()) as { request_id: string; code: string };
  expect(echoed).toBe(requestId);

  const verified = await call('POST', '/api/verify-token', { requestId, code });
  expect(verified).toMatchObject({ status: 200, body: { verified: true, requestId } });
  const status = await eventually(requestId, (body) => deliveries(body).length > 0);
  expect(status.status).toBe('verified');
  expect(deliveries(status)).toEqual([
    expect.objectContaining({ channel: 'silent_auth', status: 'completed' }),
  ]);
});

test('the webhook refuses a callback that is not signed with the generated secret', async () => {
  const res = await fetch(`${service.url}/webhooks/vonage/verify`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ request_id: 'x', type: 'summary', status: 'completed' }),
  });
  expect(res.status).toBe(401);
});

test('DEBUG=vonage:* refuses to start, and says why without printing a key', async () => {
  const root = resolve(__dirname, '..');
  const child = spawn(resolve(root, 'node_modules/.bin/tsx'), ['src/server.ts'], {
    cwd: root,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      DOTENV_CONFIG_PATH: resolve(root, 'test/support/no-such.env'),
      PORT: '0',
      VONAGE_VERIFY_API: 'v2',
      DEBUG: 'express:*,vonage:*',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => {
    output += String(chunk);
  });
  child.stderr.on('data', (chunk) => {
    output += String(chunk);
  });
  const code = await new Promise<number | null>((done) => child.once('exit', done));
  expect(code).toBe(1);
  expect(output).toMatch(/DEBUG: enables vonage:/);
  expect(output).not.toMatch(/PRIVATE KEY|listening/);
}, 30_000);
