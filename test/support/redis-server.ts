// A redis-server of the test's own, on a free loopback port, with no persistence, that a test can break:
// stop it (SIGTERM or SIGKILL), freeze it (SIGSTOP: connections stay open, nothing answers), resume it
// (SIGCONT) and start it again on the same port. Always call close() in afterAll.

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import Redis from 'ioredis';
import { freePort, pollUntil } from './net';

export interface RedisServer {
  readonly port: number;
  readonly url: string;
  /** Whether a redis-server process is running now (frozen counts as running). */
  readonly running: boolean;
  /** Stops the process and waits for it to exit; SIGTERM shuts it down cleanly, SIGKILL does not. */
  stop(signal?: 'SIGTERM' | 'SIGKILL'): Promise<void>;
  /** SIGSTOP: the port still accepts connections and keeps them, but no command is answered. */
  freeze(): void;
  /** SIGCONT after freeze(). */
  resume(): void;
  /** Starts a new redis-server on the same port (after stop()) and waits until it answers PING. */
  restart(): Promise<void>;
  /** One-off command on a short-lived connection (for assertions such as CLIENT LIST). */
  command(name: string, ...args: string[]): Promise<unknown>;
  /** Kills the process whatever its state and waits for it; safe to call more than once. */
  close(): Promise<void>;
}

/**
 * Fails at once, in one line, when a program a suite needs to start its own Redis is not installed
 * (a Redis in Docker is enough for most suites, not for these: they stop, freeze and cluster their own).
 */
export function requireRedisPrograms(programs: readonly string[] = ['redis-server']): void {
  const missing = programs.filter((program) => spawnSync(program, ['--version']).error !== undefined);
  if (missing.length > 0) {
    throw new Error(
      `This suite starts its own Redis processes and needs ${missing.join(' and ')}, which ${missing.length > 1 ? 'are' : 'is'} not installed: ` +
        'apt-get install redis-server (Debian/Ubuntu; it brings redis-cli too) or brew install redis (macOS).',
    );
  }
}

/** PING over a raw socket: no client library, so nothing of it outlives a refused attempt. */
function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: '127.0.0.1' });
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(300, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export interface RedisServerOptions {
  /** More redis-server arguments, after the defaults (a repeated option takes the last value). */
  args?: string[];
}

/** A throwaway redis-server on `port`: no persistence, warnings only; its output is kept for errors. */
function spawnRedisServer(port: number, extraArgs: string[]): { proc: ChildProcess; output: () => string } {
  let output = '';
  const proc = spawn(
    'redis-server',
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--loglevel',
      'warning',
      ...extraArgs,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  proc.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  proc.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  return { proc, output: () => output };
}

/** One command on a connection of its own that never retries (the server may be frozen or down). */
async function oneCommand(url: string, name: string, args: string[]): Promise<unknown> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await client.connect();
    return await client.call(name, ...args);
  } finally {
    client.disconnect();
  }
}

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  let frozen = false;

  const launch = async () => {
    const started = spawnRedisServer(port, options.args ?? []);
    child = started.proc;
    frozen = false;
    await pollUntil(
      `redis-server on port ${port} to answer PING`,
      async () => {
        if (started.proc.exitCode !== null)
          throw new Error(`redis-server exited: ${started.output().trim()}`);
        return (await answersPing(port)) ? true : undefined;
      },
      { timeoutMs: 5000, intervalMs: 20 },
    );
  };

  const stop = async (signal: 'SIGTERM' | 'SIGKILL' = 'SIGTERM') => {
    const current = child;
    if (!current) return;
    if (frozen && signal === 'SIGTERM') current.kill('SIGCONT');
    current.kill(signal);
    await exited(current);
    child = undefined;
    frozen = false;
  };

  await launch();
  return {
    port,
    url,
    get running() {
      return child !== undefined;
    },
    stop,
    freeze() {
      if (!child) throw new Error('redis-server is not running');
      child.kill('SIGSTOP');
      frozen = true;
    },
    resume() {
      if (!child) throw new Error('redis-server is not running');
      child.kill('SIGCONT');
      frozen = false;
    },
    async restart() {
      if (child) throw new Error('redis-server is still running; stop() it first');
      await launch();
    },
    command: (name: string, ...args: string[]) => oneCommand(url, name, args),
    async close() {
      const current = child;
      if (!current) return;
      // SIGKILL works on a stopped process too; SIGCONT first keeps nothing waiting on it.
      current.kill('SIGCONT');
      current.kill('SIGKILL');
      await exited(current);
      child = undefined;
    },
  };
}
