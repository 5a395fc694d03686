// Starts the real service process the way the README says (`npm start` with no configuration: sandbox
// mode, in-memory store) and walks the README's curl flow with fetch, then stops it with SIGTERM.

import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(__dirname, '..');
let child: ChildProcess;
let base = '';
const output: string[] = [];

beforeAll(async () => {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    PORT: '0',
    LOG_LEVEL: 'info',
  };
  // A temp working directory, so a developer's own .env cannot change what this test starts.
  child = spawn(join(root, 'node_modules/.bin/tsx'), [join(root, 'src/server.ts')], {
    cwd: mkdtempSync(join(tmpdir(), 'otp-sandbox-')),
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stderr?.on('data', (chunk) => output.push(String(chunk)));
  base = await new Promise<string>((done, fail) => {
    const timer = setTimeout(() => fail(new Error(`service did not start:\n${output.join('')}`)), 20_000);
    child.stdout?.on('data', (chunk) => {
      output.push(String(chunk));
      const match = /"port":(\d+)[^\n]*listening/.exec(output.join(''));
      if (match) {
        clearTimeout(timer);
        done(`http://127.0.0.1:${match[1]}`);
      }
    });
    child.once('exit', (code) => fail(new Error(`service exited ${code}:\n${output.join('')}`)));
  });
}, 30_000);

afterAll(() => {
  if (child.exitCode === null) child.kill('SIGKILL');
});

async function call(method: string, path: string, body?: object) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { Authorization: 'Bearer dev-key', 'Content-Type': 'application/json' },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  return {
    status: res.status,
    type: res.headers.get('content-type') ?? '',
    body: (await res.json()) as Record<string, unknown>,
  };
}

test('says loudly that it runs in sandbox mode', () => {
  expect(output.join('')).toMatch(/SANDBOX MODE/);
});

test('serves the README walk-through: request, read the code, verify, status', async () => {
  const requested = await call('POST', '/api/request-token', { phoneNumber: '+44 7400 123456' });
  expect(requested.status).toBe(201);
  const requestId = String(requested.body.requestId);
  expect(requested.body.phoneNumber).toBe('+447400123456');

  const inbox = await call('GET', '/sandbox/messages?phoneNumber=%2B447400123456');
  const messages = inbox.body.messages as { requestId: string; code: string; number: string }[];
  const message = messages.find((m) => m.requestId === requestId);
  expect(message?.number).toBe('+447400123456');
  expect(message?.code).toMatch(/^\d{6}$/);

  const wrong = await call('POST', '/api/verify-token', {
    requestId,
    code: message?.code === '000000' ? '111111' : '000000',
  });
  expect(wrong.status).toBe(422);
  expect(wrong.type).toMatch(/^application\/problem\+json/);
  expect(wrong.body.code).toBe('code_mismatch');

  const verified = await call('POST', '/api/verify-token', { requestId, code: message?.code });
  expect(verified).toMatchObject({
    status: 200,
    body: { verified: true, requestId, phoneNumber: '+447400123456' },
  });

  const status = await call('GET', `/api/verifications/${requestId}`);
  expect(status.body).toMatchObject({ requestId, status: 'verified' });

  expect((await call('GET', '/healthz')).status).toBe(200);
  expect((await call('GET', '/readyz')).body).toMatchObject({ status: 'ready', vonage: 'sandbox' });
});

test('exits 0 on SIGTERM', async () => {
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  child.kill('SIGTERM');
  expect(await exited).toBe(0);
});
