// `npm run demo` as a new user runs it: against a sandbox already running at http://localhost:$PORT, and
// with nothing running (it starts a sandbox, and stops it after). It ends with a verified code, and every
// curl command it prints is one a shell parses into the very request it made.

import { spawn, spawnSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import type { Composed } from '../src/compose';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/logger';
import { composeAsServer } from './support/harness';
import { freePort, probeConnect } from './support/net';

const ROOT = resolve(__dirname, '..');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runDemo(env: Record<string, string>): Promise<Run> {
  return new Promise((done) => {
    const child = spawn('npm', ['run', 'demo', '--silent'], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
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
    child.once('exit', (code) => done({ code, stdout, stderr }));
  });
}

async function listen(
  env: Record<string, string>,
): Promise<{ composed: Composed; server: Server; port: number }> {
  const config = loadConfig({ LOG_LEVEL: 'silent', ...env });
  const composed = await composeAsServer(config, createLogger('silent'), { defaultMetrics: false });
  const server = await new Promise<Server>((done) => {
    const s = createServer(composed.app).listen(0, () => done(s));
  });
  return { composed, server, port: (server.address() as AddressInfo).port };
}

/** The argv a POSIX shell makes of a printed command, with curl replaced by a function that prints it. */
function shellWords(command: string): string[] {
  const script = `curl() { for arg in "$@"; do printf '%s\\0' "$arg"; done; }; ${command}`;
  const result = spawnSync('sh', ['-c', script], { encoding: 'utf8' });
  expect(result.status).toBe(0);
  return result.stdout.split('\0').slice(0, -1);
}

/** Replays curl's argv (-X, -H, -d, the URL; -sS and -w only shape the output) with fetch. */
async function replay(argv: string[]): Promise<{ status: number; body: Record<string, unknown> }> {
  let method = 'GET';
  let url = '';
  let body: string | undefined;
  const headers: Record<string, string> = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '-X') method = argv[++i] ?? '';
    else if (arg === '-H') {
      const [name, ...value] = (argv[++i] ?? '').split(':');
      headers[name ?? ''] = value.join(':').trim();
    } else if (arg === '-d') {
      body = argv[++i];
      if (method === 'GET') method = 'POST';
    } else if (arg === '-w') i++;
    else if (!arg.startsWith('-')) url = arg;
  }
  const res = await fetch(url, { method, headers, ...(body === undefined ? {} : { body }) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const printedCommands = (stdout: string) =>
  stdout
    .split('\n')
    .filter((line) => line.startsWith('$ curl '))
    .map((line) => line.slice(2));

describe('against a running sandbox at http://localhost:$PORT', () => {
  let sandbox: Awaited<ReturnType<typeof listen>>;
  let run: Run;

  beforeAll(async () => {
    sandbox = await listen({});
    run = await runDemo({ PORT: String(sandbox.port) });
  }, 90_000);
  afterAll(async () => {
    sandbox.server.close();
    await sandbox.composed.close();
  });

  test('ends with the code verified, and says so', () => {
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^Verified: [0-9a-f]+\./m);
    expect(run.stdout).not.toContain('starting a sandbox');
    const statuses = [...run.stdout.matchAll(/^HTTP (\d{3})$/gm)].map((match) => Number(match[1]));
    expect(statuses).toEqual([201, 200, 422, 200, 200]);
  });

  test('uses a number of its own, not the README walk-through nor the API docs example', () => {
    expect(run.stdout).toMatch(/"phoneNumber": "\+4474009\d{5}"/);
    expect(run.stdout).not.toMatch(/7400123456|7911123456/);
  });

  test('every printed curl command, parsed by a shell, makes the request the demo made', async () => {
    const commands = printedCommands(run.stdout);
    expect(commands).toHaveLength(5);
    for (const command of commands) expect(command).toMatch(new RegExp(`localhost:${sandbox.port}/`));
    // Replayed now: the status is verified, the code is spent, the message is still there.
    const status = await replay(shellWords(commands[4] ?? ''));
    expect(status).toEqual({ status: 200, body: expect.objectContaining({ status: 'verified' }) });
    const again = await replay(shellWords(commands[3] ?? ''));
    expect(again).toEqual({ status: 409, body: expect.objectContaining({ code: 'already_verified' }) });
    const inbox = await replay(shellWords(commands[1] ?? ''));
    expect(inbox.status).toBe(200);
    expect(inbox.body.messages).toHaveLength(1);
  });
});

test('with nothing running at BASE_URL it starts a sandbox, ends verified, and stops it', async () => {
  const port = await freePort();
  const run = await runDemo({ BASE_URL: `http://localhost:${port}` });
  expect(run.code).toBe(0);
  expect(run.stdout).toContain(`Nothing answers at http://localhost:${port}: starting a sandbox`);
  expect(run.stdout).toMatch(/^Verified: /m);
  const started = /# Sandbox at http:\/\/localhost:(\d+)/.exec(run.stdout);
  expect(started).not.toBeNull();
  expect(await probeConnect(Number(started?.[1]))).not.toBe('connected');
}, 90_000);

test('refuses a service that is not a sandbox, saying why', async () => {
  const live = await listen({
    API_KEYS: 'shop:shop-key-0123456789',
    VONAGE_API_KEY: 'k',
    VONAGE_API_SECRET: 's',
    VONAGE_API_HOST: 'http://127.0.0.1:9',
  });
  try {
    const run = await runDemo({ BASE_URL: `http://127.0.0.1:${live.port}` });
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/is not in sandbox mode/);
  } finally {
    live.server.close();
    await live.composed.close();
  }
}, 90_000);
