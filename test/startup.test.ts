// How the service starts and stops as a process: `npm start` is one process that SIGTERM stops (the port
// closes, nothing is left running); on a terminal it prints a readable summary and text log lines, and
// anywhere else JSON lines only. The terminal is a real pseudo-terminal from `script` (util-linux).

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { loadConfig } from '../src/config';
import { startupFacts, startupSummary, textLine } from '../src/console';
import { buildOpenApiDocument } from '../src/http/docs/openapi';
import { API_VERSION } from '../src/version';
import { pollUntil, probeConnect } from './support/net';

const ROOT = resolve(__dirname, '..');
const NO_ENV_FILE = join(ROOT, 'test', 'support', 'no-such.env');

/** PATH and HOME only, plus what the test sets: a developer's environment and .env stay out. */
const cleanEnv = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({
  PATH: process.env.PATH,
  HOME: process.env.HOME,
  DOTENV_CONFIG_PATH: NO_ENV_FILE,
  PORT: '0',
  ...extra,
});

interface Running {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

function run(command: string, args: string[], env: NodeJS.ProcessEnv): Running {
  const child = spawn(command, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let text = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  return { child, output: () => text, exited };
}

/** The safety net: the whole process group, whatever is left of it. */
function killGroup(child: ChildProcess | undefined): void {
  if (child?.pid === undefined) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // gone
  }
}

const portIn = (text: string, pattern: RegExp) => {
  const match = pattern.exec(text);
  return match ? Number(match[1]) : undefined;
};

describe('npm start', () => {
  let started: Running | undefined;
  afterAll(() => killGroup(started?.child));

  test('is one process: SIGTERM to the pid of `npm start` stops the server and closes its port', async () => {
    started = run('npm', ['start', '--silent'], cleanEnv());
    const s = started;
    const port = await pollUntil(
      'npm start to log "listening"',
      () => portIn(s.output(), /"port":(\d+)[^\n]*"msg":"listening/),
      { timeoutMs: 30_000, intervalMs: 50 },
    );
    expect(await probeConnect(port)).toBe('connected');
    // npm's own pid: what a developer or a process manager that ran `npm start` holds.
    s.child.kill('SIGTERM');
    expect(await s.exited).toBe(0);
    await pollUntil(
      'the port to close',
      async () => ((await probeConnect(port)) !== 'connected' ? true : undefined),
      {
        timeoutMs: 10_000,
        intervalMs: 50,
      },
    );
    expect(s.output()).toContain('"msg":"stopped"');
  }, 60_000);
});

describe('start-up output', () => {
  let running: Running | undefined;
  afterEach(() => killGroup(running?.child));

  test('not on a terminal: JSON lines only, the listening line naming port, mode, store and API version', async () => {
    running = run(process.execPath, ['--import', 'tsx', 'src/server.ts'], cleanEnv());
    const r = running;
    await pollUntil('the listening line', () => (/"msg":"listening/.test(r.output()) ? true : undefined), {
      timeoutMs: 30_000,
      intervalMs: 50,
    });
    const lines = r
      .output()
      .split('\n')
      .filter((line) => line.length > 0);
    const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(parsed.find((line) => line.msg === `listening on :${String(line.port)}`)).toEqual(
      expect.objectContaining({ sandbox: true, store: 'memory', apiVersion: API_VERSION }),
    );
    expect(r.output()).not.toContain('otp-verify is running');
    r.child.kill('SIGTERM');
    expect(await r.exited).toBe(0);
  }, 60_000);

  test('on a terminal: a readable summary (URL, mode, API version, store, sandbox key, /docs) and text lines', async () => {
    expect(spawnSync('script', ['--version']).status).toBe(0);
    const command = `${process.execPath} --import tsx src/server.ts`;
    running = run('script', ['-qec', command, '/dev/null'], cleanEnv({ TERM: 'dumb' }));
    const r = running;
    const port = await pollUntil(
      'the summary',
      () =>
        /Stop with Ctrl-C/.test(r.output())
          ? portIn(r.output(), /URL\s+http:\/\/localhost:(\d+)/)
          : undefined,
      { timeoutMs: 30_000, intervalMs: 50 },
    );
    const text = r.output().replace(/\r/g, '');
    expect(text).toMatch(new RegExp(`URL +http://localhost:${port}\\n`));
    expect(text).toMatch(/mode +SANDBOX: codes go to the local Verify simulator/);
    expect(text).toMatch(new RegExp(`API version +${API_VERSION.replace(/\./g, '\\.')}`));
    expect(text).toMatch(/store +memory/);
    expect(text).toMatch(/sandbox key +dev-key/);
    expect(text).toContain(`http://localhost:${port}/docs`);
    expect(text).toMatch(/\d\d:\d\d:\d\d INFO {2}listening on :\d+/);
    expect(text).not.toMatch(/^\{"level"/m);
    expect(await probeConnect(port)).toBe('connected');
    process.kill(-(r.child.pid ?? 0), 'SIGTERM');
    await r.exited;
  }, 60_000);
});

describe('the summary itself', () => {
  const sandboxConfig = (env: Record<string, string> = {}) => loadConfig({ LOG_LEVEL: 'silent', ...env });

  test('shows the built-in sandbox key, and never a configured one', () => {
    expect(startupSummary(startupFacts(sandboxConfig(), 3000, 'http://127.0.0.1:1'))).toContain('dev-key');
    const configured = startupSummary(
      startupFacts(sandboxConfig({ API_KEYS: 'shop:very-secret-key-123' }), 3000, 'http://127.0.0.1:1'),
    );
    expect(configured).not.toContain('very-secret-key-123');
    expect(configured).toMatch(/callers +shop/);
  });

  test('names Redis by host only, never with its password', () => {
    const facts = startupFacts(
      sandboxConfig({ REDIS_URL: 'redis://user:hunter2@redis.internal:6380/0' }),
      3000,
      'http://127.0.0.1:1',
    );
    expect(facts.store).toBe('Redis at redis.internal:6380');
    expect(startupSummary(facts)).not.toContain('hunter2');
  });

  test('live mode names the Vonage host and offers no sandbox routes', () => {
    const config = loadConfig({
      LOG_LEVEL: 'silent',
      API_KEYS: 'shop:very-secret-key-123',
      VONAGE_API_KEY: 'k',
      VONAGE_API_SECRET: 's',
    });
    const summary = startupSummary(startupFacts(config, 8080, 'https://api.nexmo.com'));
    expect(summary).toMatch(/mode +live: Vonage Verify at https:\/\/api\.nexmo\.com/);
    expect(summary).not.toContain('/sandbox/');
    expect(summary).not.toContain('very-secret-key-123');
  });

  test('text log lines: time, level, message, the request in short, then the other fields', () => {
    const line = textLine(
      JSON.stringify({
        level: 30,
        time: Date.UTC(2026, 0, 1, 12, 0, 1),
        service: 'otp-verify',
        req: { method: 'POST', url: '/api/request-token' },
        res: { statusCode: 201 },
        responseTime: 12,
        reqId: 'abc',
        msg: 'request completed',
      }),
    );
    expect(line).toMatch(
      /^\d\d:\d\d:\d\d INFO {2}request completed POST \/api\/request-token 201 12ms {2}reqId=abc$/,
    );
    expect(textLine('not json')).toBe('not json');
  });
});

test('the API version is one number: package.json, the OpenAPI document and the start-up line agree', () => {
  const pkg = require('../package.json') as { version: string };
  const doc = buildOpenApiDocument({ sandbox: false }) as { info: { version: string } };
  expect(pkg.version).toBe(API_VERSION);
  expect(doc.info.version).toBe(API_VERSION);
});
