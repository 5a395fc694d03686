// A throwaway Redis Cluster for tests: N masters (no replicas) on free loopback ports, config and logs in
// a temp dir of its own. startRedisCluster() either returns a cluster whose every node says
// cluster_state:ok, or stops what it started and throws saying what went wrong.

import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { requireRedisPrograms } from './redis-server';

const run = promisify(execFile);

export interface RedisClusterHandle {
  ports: number[];
  dir: string;
  /** REDIS_URL for the service: the first two nodes as seeds, comma-separated. */
  seedUrl: string;
  /** Runs redis-cli against one node and returns its output. */
  cli(port: number, ...args: string[]): Promise<string>;
  /** Kills every node and removes the temp dir; safe to call twice. */
  stop(): Promise<void>;
}

export interface RedisClusterOptions {
  masters?: number;
  /** Bound on forming the cluster, after which start fails. */
  timeoutMs?: number;
}

const REDIS_SERVER = process.env.REDIS_SERVER_BIN ?? 'redis-server';
const REDIS_CLI = process.env.REDIS_CLI_BIN ?? 'redis-cli';
/** A cluster node also listens on port + 10000 (the cluster bus), so ports stay at or below 55535. */
const BUS_OFFSET = 10_000;

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Ports whose bus port is free too; random in 20000-45000, so parallel runs rarely collide. */
async function freeClusterPorts(count: number, taken: Set<number>): Promise<number[]> {
  const ports: number[] = [];
  for (let attempt = 0; ports.length < count && attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 25_000);
    if (taken.has(port) || ports.includes(port) || ports.includes(port + BUS_OFFSET)) continue;
    if ((await portIsFree(port)) && (await portIsFree(port + BUS_OFFSET))) ports.push(port);
  }
  if (ports.length < count) throw new Error('could not find free loopback ports for a Redis Cluster');
  return ports;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (exited(child)) return;
  const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => {
    if (!exited(child)) child.kill('SIGKILL');
  }, 3000);
  await gone;
  clearTimeout(timer);
}

/** One cluster-enabled redis-server on `port`, its config, data and log in `dir`. */
function spawnClusterNode(port: number, dir: string): ChildProcess {
  const log = openSync(join(dir, `redis-${port}.log`), 'a');
  return spawn(
    REDIS_SERVER,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--cluster-enabled',
      'yes',
      '--cluster-config-file',
      join(dir, `nodes-${port}.conf`),
      '--cluster-node-timeout',
      '5000',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
    ],
    { stdio: ['ignore', log, log] },
  );
}

/** Joins the nodes into a cluster of masters only (redis-cli --cluster create). */
async function createCluster(ports: number[], deadline: number): Promise<void> {
  const addresses = ports.map((port) => `127.0.0.1:${port}`);
  try {
    await run(REDIS_CLI, ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'], {
      timeout: Math.max(1000, deadline - Date.now()),
    });
  } catch (error) {
    const detail = error as { stdout?: string; stderr?: string; message: string };
    throw new Error(
      `redis-cli --cluster create failed: ${detail.message}\n${detail.stdout ?? ''}${detail.stderr ?? ''}`,
    );
  }
}

/** Waits until every node says cluster_state:ok. */
async function waitForClusterOk(
  ports: number[],
  cli: (port: number, ...args: string[]) => Promise<string>,
  deadline: number,
): Promise<void> {
  for (;;) {
    const states = await Promise.all(
      ports.map((port) =>
        cli(port, 'cluster', 'info').then(
          (info) => /cluster_state:(\w+)/.exec(info)?.[1] ?? 'unknown',
          (error: Error) => `error (${error.message})`,
        ),
      ),
    );
    if (states.every((state) => state === 'ok')) return;
    if (Date.now() > deadline)
      throw new Error(`cluster never reached cluster_state:ok: ${states.join(', ')}`);
    await sleep(100);
  }
}

/** The last lines of each node's log, for the error when the cluster does not come up. */
async function lastLogLines(dir: string, ports: number[]): Promise<string> {
  const parts = await Promise.all(
    ports.map(async (port) => {
      const text = await readFile(join(dir, `redis-${port}.log`), 'utf8').catch(() => '');
      return `--- redis-server :${port} (last lines)\n${text.split('\n').slice(-8).join('\n')}`;
    }),
  );
  return parts.join('\n');
}

export async function startRedisCluster(options: RedisClusterOptions = {}): Promise<RedisClusterHandle> {
  requireRedisPrograms([REDIS_SERVER, REDIS_CLI]);
  const masters = options.masters ?? 3;
  const deadline = Date.now() + (options.timeoutMs ?? 30_000);
  const dir = await mkdtemp(join(tmpdir(), 'otp-redis-cluster-'));
  const children: ChildProcess[] = [];
  let ports: number[] = [];

  const cli = async (port: number, ...args: string[]): Promise<string> => {
    const { stdout } = await run(REDIS_CLI, ['-h', '127.0.0.1', '-p', String(port), ...args], {
      timeout: 10_000,
    });
    return stdout;
  };

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    process.removeListener('exit', killOnExit);
    await Promise.all(children.map(stopChild));
    await rm(dir, { recursive: true, force: true });
  };
  // Last resort if the test process dies without afterAll: never leave redis-server processes behind.
  const killOnExit = () => {
    for (const child of children) if (!exited(child)) child.kill('SIGKILL');
  };
  process.on('exit', killOnExit);

  try {
    const taken = new Set<number>();
    // Ports can be grabbed by someone else between the check and redis-server's bind: retry a node.
    for (let slot = 0; slot < masters; slot++) {
      let started = false;
      for (let attempt = 0; attempt < 5 && !started; attempt++) {
        const [port] = await freeClusterPorts(1, taken);
        if (port === undefined) break;
        const child = spawnClusterNode(port, dir);
        const spawnError = new Promise<Error>((resolve) => child.once('error', resolve));
        children.push(child);
        ports.push(port);
        taken.add(port);
        started = await waitForPing(port, cli, child, spawnError, deadline);
        if (!started) {
          await stopChild(child);
          children.pop();
          ports = ports.filter((p) => p !== port);
        }
      }
      if (!started) throw new Error(`redis-server for cluster node ${slot + 1} did not start`);
    }

    await createCluster(ports, deadline);
    await waitForClusterOk(ports, cli, deadline);
  } catch (error) {
    const logs = await lastLogLines(dir, ports);
    await stop();
    throw new Error(
      `Could not start a ${masters}-master Redis Cluster on this machine (${REDIS_SERVER}, ${REDIS_CLI}): ` +
        `${error instanceof Error ? error.message : String(error)}\n${logs}`,
    );
  }

  const [first, second] = ports;
  return {
    ports,
    dir,
    seedUrl: [first, second].map((port) => `redis://127.0.0.1:${port}`).join(','),
    cli,
    stop,
  };
}

async function waitForPing(
  port: number,
  cli: (port: number, ...args: string[]) => Promise<string>,
  child: ChildProcess,
  spawnError: Promise<Error>,
  deadline: number,
): Promise<boolean> {
  let failure: Error | undefined;
  void spawnError.then((error) => {
    failure = error;
  });
  while (Date.now() < deadline) {
    if (failure) throw new Error(`cannot run ${REDIS_SERVER}: ${failure.message}`);
    if (exited(child)) return false;
    const pong = await cli(port, 'ping').catch(() => '');
    if (pong.trim() === 'PONG') return true;
    await sleep(50);
  }
  return false;
}
