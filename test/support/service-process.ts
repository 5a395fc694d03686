// The real service as its own process (`tsx src/server.ts`), for restart and shutdown tests: started with
// an explicit environment (nothing inherited but PATH and HOME), ready once it logs "listening", its
// pino lines kept. stop() sends a signal and waits for the exit; kill() is the afterAll safety net.

import { type ChildProcess, spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { pollUntil } from './net';

const ROOT = resolve(__dirname, '..', '..');
const TSX = resolve(ROOT, 'node_modules', '.bin', 'tsx');

export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface ServiceProcess {
  readonly pid: number;
  readonly port: number;
  readonly url: string;
  /** Every JSON log line so far, in order. */
  readonly logs: LogLine[];
  /** What the process wrote that was not a JSON log line (stderr, start-up failures). */
  readonly rawOutput: () => string;
  readonly exit: Promise<Exit>;
  /** Sends the signal (tsx passes it on to the node process running the service) and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<Exit>;
  /** Waits for a log line that matches. */
  waitForLog(match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine>;
  /** SIGKILL to the whole process group (tsx and the node process under it); safe to call more than once. */
  kill(): Promise<void>;
}

export interface StartOptions {
  env: Record<string, string>;
  /** How long to wait for "listening" (tsx compiles on start; the machine may be busy). */
  startTimeoutMs?: number;
}

/** The service's JSON log lines as they arrive; anything else it prints is kept as raw text. */
function collectOutput(child: ChildProcess): { logs: LogLine[]; raw: () => string } {
  const logs: LogLine[] = [];
  let raw = '';
  let pending = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      try {
        const parsed = JSON.parse(line) as LogLine;
        if (typeof parsed.msg === 'string') {
          logs.push(parsed);
          continue;
        }
      } catch {
        // not a log line
      }
      raw += `${line}\n`;
    }
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    raw += chunk.toString();
  });
  return { logs, raw: () => raw };
}

export async function startService({ env, startTimeoutMs = 20_000 }: StartOptions): Promise<ServiceProcess> {
  const child: ChildProcess = spawn(TSX, ['src/server.ts'], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: process.env.HOME ?? '/tmp',
      // A developer's .env must not leak into the test's configuration.
      DOTENV_CONFIG_PATH: resolve(ROOT, 'test', 'support', 'no-such.env'),
      // Bursts of test traffic must not meet the account-wide Vonage rate (tested on its own).
      VONAGE_MAX_REQUESTS_PER_SECOND: '100000',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so kill() reaches the node process that tsx starts under itself.
    detached: true,
  });
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not spawn tsx src/server.ts');

  const output = collectOutput(child);
  const { logs } = output;
  const exit = new Promise<Exit>((done) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      done({ code: child.exitCode, signal: child.signalCode });
      return;
    }
    child.once('exit', (code, signal) => done({ code, signal }));
  });
  let gone = false;
  void exit.then(() => {
    gone = true;
  });

  const waitForLog = (match: (line: LogLine) => boolean, timeoutMs = 10_000) =>
    pollUntil(
      'a matching log line',
      () => {
        const found = logs.find(match);
        if (found) return found;
        if (gone) throw new Error(`the service exited; output: ${output.raw().slice(-2000)}`);
        return undefined;
      },
      { timeoutMs, intervalMs: 20 },
    );

  const kill = async () => {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
    await exit;
  };

  let port: number;
  try {
    const listening = await waitForLog((line) => line.msg.startsWith('listening'), startTimeoutMs);
    port = Number(listening.port);
  } catch (error) {
    await kill();
    throw error;
  }

  return {
    pid,
    port,
    url: `http://127.0.0.1:${port}`,
    logs,
    rawOutput: output.raw,
    exit,
    async stop(signal: NodeJS.Signals = 'SIGTERM') {
      if (!gone) child.kill(signal);
      return exit;
    },
    waitForLog,
    kill,
  };
}
