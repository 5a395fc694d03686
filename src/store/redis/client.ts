// Builds the Redis client (single node or Cluster) with fail-fast settings: no offline queue and a short
// command timeout, so an outage becomes a quick 503 instead of requests piling up, and reconnects
// forever in the background so the service heals by itself when Redis returns.

import Redis, { Cluster, type RedisOptions } from 'ioredis';
import { coalesceWrites } from './write-coalescing';

export type RedisClient = Redis | Cluster;

export interface RedisSettings {
  url: string;
  cluster: boolean;
  /** Bound on one command; a frozen Redis answers store_unavailable after this. */
  commandTimeoutMs?: number;
}

const retryStrategy = (attempt: number) => Math.min(50 * 2 ** attempt, 500);

export function createRedisClient(settings: RedisSettings): RedisClient {
  const common: RedisOptions = {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: settings.commandTimeoutMs ?? 1000,
    connectTimeout: 1000,
    retryStrategy,
    lazyConnect: true,
  };
  if (!settings.cluster) {
    const client = new Redis(settings.url, common);
    coalesceWrites(client);
    return client;
  }
  const urls = settings.url.split(',').map((seed) => {
    const text = seed.trim();
    return new URL(text.includes('://') ? text : `redis://${text}`);
  });
  const seeds = urls.map((url) => ({ host: url.hostname, port: Number(url.port || 6379) }));
  // Credentials, if any, come with the first seed and apply to every node. ioredis reads rediss:// only
  // from a single-node URL: for a cluster, TLS must be asked for in the options every node connection
  // uses, or the client would speak plain text to a TLS port (and leak the password on another).
  const first = urls[0];
  const tls = urls.some((url) => url.protocol === 'rediss:');
  const cluster = new Cluster(seeds, {
    enableOfflineQueue: false,
    lazyConnect: true,
    clusterRetryStrategy: retryStrategy,
    redisOptions: {
      ...common,
      username: first?.username || undefined,
      password: first?.password ? decodeURIComponent(first.password) : undefined,
      ...(tls ? { tls: {} } : {}),
    },
  });
  cluster.on('+node', (node: Redis) => coalesceWrites(node));
  return cluster;
}

/** Connects once at start-up; a Redis that is down now still lets the process start (readyz says 503). */
export async function connectRedis(client: RedisClient): Promise<void> {
  try {
    await client.connect();
  } catch {
    // ioredis keeps retrying in the background per retryStrategy.
  }
}

/**
 * Deletes every key under the prefix, on every master of a Cluster, a batch at a time (SCAN, never KEYS),
 * and says how many went. For the sandbox's reset and the tests' cleanup, never for production data.
 */
export async function deleteKeysWithPrefix(client: RedisClient, prefix: string): Promise<number> {
  if (!prefix) throw new Error('refusing to delete keys without a prefix');
  const pattern = `${prefix.replace(/[*?[\]\\]/g, '\\$&')}*`;
  const nodes: Redis[] = client instanceof Cluster ? client.nodes('master') : [client];
  let deleted = 0;
  for (const node of nodes) {
    let cursor = '0';
    do {
      const [next, keys] = await node.scan(cursor, 'MATCH', pattern, 'COUNT', 500);
      cursor = next;
      if (keys.length === 0) continue;
      // In a Cluster the keys of one batch live in different slots: one UNLINK each there.
      if (client instanceof Cluster) for (const key of keys) deleted += await node.unlink(key);
      else deleted += await node.unlink(...keys);
    } while (cursor !== '0');
  }
  return deleted;
}
