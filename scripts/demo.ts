// `npm run demo`: the whole flow of the README against a sandbox, with nothing copied by hand. It uses
// the service at BASE_URL (default http://localhost:$PORT, PORT defaulting to 3000) or, when nothing
// answers there, starts one in sandbox mode itself. Every HTTP call is printed as a curl command you can
// paste, with the status and body it got. It sends a code to a number of its own (never the README's or
// the API docs' example number), reads the code from GET /sandbox/messages?requestId=..., tries a wrong
// code, checks the right one, and ends with the verification as GET /api/verifications/:id shows it.
// It does not cancel: Vonage refuses a cancel in a verification's first 30 seconds (409 cancel_not_allowed).
// Exit status 0 only when the code was verified.

import { type ChildProcess, spawn } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { resolve } from 'node:path';

const ROOT = resolve(__dirname, '..');
const API_KEY = process.env.DEMO_API_KEY ?? 'dev-key';

interface Answer {
  status: number;
  body: Record<string, unknown>;
}

const out = (line = '') => process.stdout.write(`${line}\n`);

/** A single-quoted shell word: the command pastes into sh, bash or zsh as printed. */
const quote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;

function curlCommand(base: string, method: string, path: string, body?: object, auth = true): string {
  const parts = ['curl -sS -w', quote('\\nHTTP %{http_code}\\n')];
  if (method !== 'GET') parts.push('-X', method);
  parts.push(quote(`${base}${path}`));
  if (auth) parts.push('-H', quote(`Authorization: Bearer ${API_KEY}`));
  if (body) parts.push('-H', quote('Content-Type: application/json'), '-d', quote(JSON.stringify(body)));
  return parts.join(' ');
}

async function call(base: string, method: string, path: string, body?: object, auth = true): Promise<Answer> {
  out(`$ ${curlCommand(base, method, path, body, auth)}`);
  const res = await fetch(`${base}${path}`, {
    method,
    headers: {
      ...(auth ? { Authorization: `Bearer ${API_KEY}` } : {}),
      ...(body ? { 'Content-Type': 'application/json' } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  let parsed: Record<string, unknown> = {};
  try {
    parsed = JSON.parse(text) as Record<string, unknown>;
  } catch {
    parsed = { text };
  }
  out(JSON.stringify(parsed, null, 2));
  out(`HTTP ${res.status}`);
  out();
  return { status: res.status, body: parsed };
}

function step(title: string): void {
  out(`# ${title}`);
}

class DemoFailed extends Error {}

function expectStatus(answer: Answer, status: number, what: string): void {
  if (answer.status === status) return;
  const code = typeof answer.body.code === 'string' ? ` (${answer.body.code})` : '';
  throw new DemoFailed(`${what}: expected HTTP ${status}, got ${answer.status}${code}`);
}

/** Whether a sandbox answers at base; throws when a service answers that is not a sandbox. */
async function sandboxAt(base: string): Promise<boolean> {
  let index: Response;
  try {
    index = await fetch(`${base}/`, { signal: AbortSignal.timeout(2000) });
  } catch {
    return false;
  }
  const body = (await index.json().catch(() => ({}))) as { sandbox?: unknown };
  if (body.sandbox !== true) {
    throw new DemoFailed(
      `the service at ${base} is not in sandbox mode: the demo reads codes from /sandbox/messages, ` +
        'which only a sandbox has. Point BASE_URL at a sandbox, or at a free port to let the demo start one.',
    );
  }
  return true;
}

/** Starts the service in sandbox mode (no Vonage credentials, no .env) on a free port. */
async function startSandbox(): Promise<{ base: string; child: ChildProcess }> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: '0',
    DOTENV_CONFIG_PATH: resolve(ROOT, '.env.demo-none'),
  };
  for (const name of ['VONAGE_API_KEY', 'VONAGE_API_SECRET', 'API_KEYS', 'REDIS_URL', 'NODE_ENV'])
    delete env[name];
  const child = spawn(process.execPath, ['--import', 'tsx', resolve(ROOT, 'src/server.ts')], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let text = '';
  const port = await new Promise<number>((done, fail) => {
    const timer = setTimeout(() => fail(new DemoFailed('the sandbox did not start within 60 s')), 60_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      const match = /"port":(\d+)[^\n]*"msg":"listening/.exec(text);
      if (match) {
        clearTimeout(timer);
        done(Number(match[1]));
      }
    });
    child.once('exit', (code) =>
      fail(new DemoFailed(`the sandbox exited (${code}) before listening:\n${text}`)),
    );
  });
  return { base: `http://localhost:${port}`, child };
}

/** The walk-through itself; returns the verified request id. */
async function walk(base: string): Promise<string> {
  // A number of the demo's own range (+44 7400 9xxxxx), fresh on every run: no verification still in
  // flight and no send limit (5 codes per number per hour) from an earlier run gets in the way.
  const phoneNumber = `+4474009${String(randomInt(0, 100_000)).padStart(5, '0')}`;

  step('1. Send a code');
  const started = await call(base, 'POST', '/api/request-token', { phoneNumber });
  expectStatus(started, 201, 'request-token');
  const requestId = String(started.body.requestId);

  step('2. Read the code the simulator "delivered" (newest first; this verification only)');
  const inbox = await call(
    base,
    'GET',
    `/sandbox/messages?requestId=${encodeURIComponent(requestId)}`,
    undefined,
    false,
  );
  expectStatus(inbox, 200, 'sandbox messages');
  const [message] = (inbox.body.messages ?? []) as { code?: string }[];
  const code = message?.code;
  if (!code) throw new DemoFailed(`no message for ${requestId} at /sandbox/messages`);

  step('3. A wrong code is refused, and the verification stays open');
  const wrong = code === '000000' ? '111111' : '000000';
  expectStatus(await call(base, 'POST', '/api/verify-token', { requestId, code: wrong }), 422, 'wrong code');

  step('4. The right code verifies it');
  const verified = await call(base, 'POST', '/api/verify-token', { requestId, code });
  expectStatus(verified, 200, 'verify-token');

  step('5. The verification, with its timeline when the service records one');
  const status = await call(base, 'GET', `/api/verifications/${encodeURIComponent(requestId)}`);
  expectStatus(status, 200, 'status');
  if (status.body.status !== 'verified') throw new DemoFailed(`status is ${String(status.body.status)}`);
  if (Array.isArray(status.body.events)) {
    out('Timeline:');
    for (const event of status.body.events as Record<string, unknown>[]) {
      out(`  ${String(event.at ?? '')}  ${String(event.type ?? JSON.stringify(event))}`);
    }
    out();
  }
  return requestId;
}

async function main(): Promise<void> {
  const base = (process.env.BASE_URL ?? `http://localhost:${process.env.PORT ?? '3000'}`).replace(/\/$/, '');
  let child: ChildProcess | undefined;
  let target = base;
  if (!(await sandboxAt(base))) {
    out(`# Nothing answers at ${base}: starting a sandbox for this demo (stopped at the end).`);
    ({ base: target, child } = await startSandbox());
    out(`# Sandbox at ${target}`);
    out();
  }
  try {
    const requestId = await walk(target);
    out(`Verified: ${requestId}. Cancel is left out: Vonage refuses it in a verification's first 30 s.`);
  } finally {
    child?.kill('SIGTERM');
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = 1;
});
