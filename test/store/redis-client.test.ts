// How the Redis client is built from REDIS_URL: rediss:// means TLS in cluster mode too (ioredis only
// reads the scheme of a single-node URL), credentials go to every node, and seeds may not mix schemes.

import { Cluster } from 'ioredis';
import { loadConfig } from '../../src/config';
import { createRedisClient } from '../../src/store/redis/client';

function clusterOptions(url: string) {
  const config = loadConfig({ REDIS_URL: url, REDIS_CLUSTER: 'true' });
  const client = createRedisClient({ url: config.REDIS_URL ?? '', cluster: config.REDIS_CLUSTER });
  expect(client).toBeInstanceOf(Cluster);
  const cluster = client as Cluster;
  const options = { ...cluster.options };
  cluster.disconnect();
  return options;
}

test('rediss:// seeds: every node connection of the cluster client uses TLS, with the credentials', () => {
  const options = clusterOptions('rediss://app:s%3Acret@10.0.0.1:6380,rediss://10.0.0.2:6380');
  expect(options.redisOptions?.tls).toEqual({});
  expect(options.redisOptions?.username).toBe('app');
  expect(options.redisOptions?.password).toBe('s:cret');
});

test('redis:// seeds (and bare host:port): no TLS', () => {
  expect(clusterOptions('redis://10.0.0.1:6379,10.0.0.2:6379').redisOptions?.tls).toBeUndefined();
});

test('a single-node rediss:// URL is TLS too (ioredis reads the scheme itself)', () => {
  const client = createRedisClient({ url: 'rediss://10.0.0.1:6380', cluster: false });
  expect((client.options as { tls?: unknown }).tls).toBeDefined();
  client.disconnect();
});

test('seeds that mix redis:// and rediss:// are refused', () => {
  expect(() => loadConfig({ REDIS_URL: 'rediss://a:6380,redis://b:6379', REDIS_CLUSTER: 'true' })).toThrow(
    /REDIS_URL: mixes redis:\/\/ and rediss:\/\//,
  );
});
