// Jest global setup: find a Redis for the tests. Uses TEST_REDIS_URL, else REDIS_URL, else 127.0.0.1:6379;
// when none answers, starts a throwaway redis-server on a free port, or fails saying how to get one. Picks
// the key root of this run (test:<run id>:), under which every harness writes and which the global
// teardown checks and cleans.

import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import Redis from 'ioredis';

declare global {
  var __TEST_REDIS__: ChildProcess | undefined;
}

async function answers(url: string): Promise<boolean> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: 500,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  try {
    await client.connect();
    return (await client.ping()) === 'PONG';
  } catch {
    return false;
  } finally {
    client.disconnect();
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port')),
      );
    });
  });
}

export default async function globalSetup(): Promise<void> {
  process.env.TEST_KEY_ROOT = `test:${new Date().toISOString().slice(0, 10)}-${randomBytes(4).toString('hex')}:`;
  const wanted = process.env.TEST_REDIS_URL ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  if (await answers(wanted)) {
    process.env.TEST_REDIS_URL = wanted;
    return;
  }
  if (spawnSync('redis-server', ['--version']).status !== 0) {
    throw new Error(
      `No Redis answers at ${wanted} and redis-server is not installed: point TEST_REDIS_URL (or REDIS_URL) at a Redis, ` +
        'or install redis-server (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis).',
    );
  }
  const port = await freePort();
  const child = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'],
    {
      stdio: 'ignore',
    },
  );
  globalThis.__TEST_REDIS__ = child;
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 50 && !(await answers(url)); i++) await new Promise((r) => setTimeout(r, 100));
  if (!(await answers(url))) throw new Error(`started redis-server on port ${port} but it does not answer`);
  process.env.TEST_REDIS_URL = url;
}
