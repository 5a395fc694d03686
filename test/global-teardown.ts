// Jest global teardown: checks that the run left no keys in the tests' Redis (every harness removes its
// own prefix when it closes), removes any that are left, and fails naming the test files that left them;
// then stops the redis-server that global-setup started, if it started one.

import Redis from 'ioredis';
import { deleteKeysWithPrefix } from '../src/store/redis/client';

async function leftBehind(url: string, root: string): Promise<Map<string, number>> {
  const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1 });
  const byFile = new Map<string, number>();
  try {
    await client.connect();
    for await (const batch of client.scanStream({ match: `${root}*`, count: 1000 })) {
      for (const key of batch as string[]) {
        const file = key.slice(root.length).split(':')[0] ?? '?';
        byFile.set(file, (byFile.get(file) ?? 0) + 1);
      }
    }
    if (byFile.size > 0) await deleteKeysWithPrefix(client, root);
  } finally {
    client.disconnect();
  }
  return byFile;
}

export default async function globalTeardown(): Promise<void> {
  const url = process.env.TEST_REDIS_URL;
  const root = process.env.TEST_KEY_ROOT;
  try {
    if (url && root) {
      const left = await leftBehind(url, root);
      if (left.size > 0) {
        const list = [...left].map(([file, count]) => `${file}: ${count}`).join(', ');
        throw new Error(
          `Tests left keys in Redis under ${root} (now removed) - ${list}. Close every harness.`,
        );
      }
    }
  } finally {
    globalThis.__TEST_REDIS__?.kill('SIGTERM');
  }
}
