// The tests' Redis and their key prefixes. One run of jest writes under one root (test:<run id>:, chosen
// by global-setup), each harness under a prefix of its own below it that names its test file, so the
// global teardown can say which file left keys behind, and remove them.

import { randomBytes } from 'node:crypto';
import { basename } from 'node:path';
import Redis from 'ioredis';
import { deleteKeysWithPrefix } from '../../src/store/redis/client';

/** TEST_REDIS_URL, else REDIS_URL, else a local Redis (global-setup may start one and set TEST_REDIS_URL). */
export function testRedisUrl(): string {
  return process.env.TEST_REDIS_URL ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
}

/** The root every key of this run lives under (set by global-setup; a lone run outside jest gets test:). */
export function testKeyRoot(): string {
  return process.env.TEST_KEY_ROOT ?? 'test:';
}

/** A fresh prefix under the run's root, naming the test file that asked for it. */
export function testPrefix(): string {
  const file = currentTestFile();
  return `${testKeyRoot()}${file ? `${file}:` : ''}${randomBytes(6).toString('hex')}:`;
}

function currentTestFile(): string | undefined {
  const state = (globalThis as { expect?: { getState?: () => { testPath?: string } } }).expect?.getState?.();
  return state?.testPath ? basename(state.testPath).replace(/\.test\.ts$/, '') : undefined;
}

/** Deletes every key under the prefix in the tests' Redis; how many there were. */
export async function removeTestKeys(prefix: string, url = testRedisUrl()): Promise<number> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await client.connect();
    return await deleteKeysWithPrefix(client, prefix);
  } finally {
    client.disconnect();
  }
}
