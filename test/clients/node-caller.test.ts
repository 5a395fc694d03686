// examples/node-caller runs its whole flow through the typed client against the real service in sandbox
// mode (its own process, in-memory store): request a code, read it from /sandbox/messages, a wrong code
// (422 code_mismatch), the right one, the status.

import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';
import { type ServiceProcess, startService } from '../support/service-process';

const ROOT = resolve(__dirname, '..', '..');
let svc: ServiceProcess;

beforeAll(async () => {
  svc = await startService({ env: { PORT: '0', LOG_LEVEL: 'info' }, startTimeoutMs: 40_000 });
}, 60_000);

afterAll(async () => {
  await svc?.kill();
});

function runExample(
  env: Record<string, string>,
): Promise<{ code: number | null; lines: Record<string, unknown>[]; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(join(ROOT, 'node_modules/.bin/tsx'), ['examples/node-caller/index.ts'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.once('exit', (code) => {
      const lines = stdout
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      done({ code, lines, stderr });
    });
  });
}

test('runs request, wrong code, right code and status against the sandbox', async () => {
  const result = await runExample({ OTP_URL: svc.url, OTP_API_KEY: 'dev-key', PHONE: '+447400123458' });
  expect({ code: result.code, stderr: result.stderr }).toEqual({ code: 0, stderr: '' });
  expect(result.lines).toEqual([
    expect.objectContaining({ step: 'request-token', ok: true, status: 201, phoneNumber: '+447400123458' }),
    expect.objectContaining({ step: 'verify-token', ok: false, status: 422, code: 'code_mismatch' }),
    expect.objectContaining({ step: 'verify-token', ok: true, status: 200, verified: true }),
    expect.objectContaining({ step: 'status', ok: true, status: 'verified' }),
  ]);
}, 60_000);

test('stops at the first problem and says which (a wrong API key: 401 unauthorized)', async () => {
  const result = await runExample({ OTP_URL: svc.url, OTP_API_KEY: 'not-a-key', PHONE: '+447400123459' });
  expect(result.code).toBe(1);
  expect(result.lines).toEqual([
    expect.objectContaining({ step: 'request-token', ok: false, status: 401, code: 'unauthorized' }),
  ]);
}, 60_000);
