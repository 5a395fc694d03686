// Micro-benchmark of the Redis side of the hot path (`npx tsx bench/micro-redis.ts`, best pinned with
// `taskset -c 1`): the limiter's script sent as EVAL (body every call) and as EVALSHA, with Redis's CPU per
// call; and verify-token's nine sequential round trips at 32 concurrent requests with ioredis
// auto-pipelining off and on, with this process's CPU per request. Keys use a unique prefix, deleted at the end.

import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import Redis from 'ioredis';
import { RESERVE } from '../src/store/redis/scripts';

const URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
const CALLS = Number(process.env.MICRO_CALLS ?? 20_000);
const CONCURRENCY = 32;

async function redisCpu(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:(\\S+)`, 'm').exec(info)?.[1] ?? Number.NaN);
  return field('used_cpu_sys') + field('used_cpu_user');
}

/** Runs `call` CALLS times from CONCURRENCY loops; per call: wall rate, this process's CPU, Redis's CPU. */
async function measure(name: string, redis: Redis, call: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  const redis0 = await redisCpu(redis);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: CONCURRENCY }, async () => {
      while (next < CALLS) await call(next++);
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const redisSeconds = (await redisCpu(redis)) - redis0;
  console.log(
    `${name.padEnd(26)} ${(CALLS / seconds).toFixed(0).padStart(6)}/s  client ${((cpu.user + cpu.system) / CALLS).toFixed(1).padStart(6)} µs  Redis ${((redisSeconds / CALLS) * 1e6).toFixed(1).padStart(6)} µs`,
  );
}

async function main(): Promise<void> {
  const redis = new Redis(URL);
  const pipelined = new Redis(URL, { enableAutoPipelining: true });
  const prefix = `bench-micro:${randomBytes(4).toString('hex')}:`;
  const { sha } = RESERVE;
  await redis.script('LOAD', RESERVE.source);
  // ARGV of RESERVE: now, member, then the rules (count, window ms).
  const args = (i: number) => [Date.now(), `m${i}`, 1_000_000, 60_000] as const;
  // Same shape as verify-token: GET, GET, SET NX, GET, GET, EVALSHA, SET, ZREM, DEL, one after the other.
  const verifyShape = (client: Redis) => async (i: number) => {
    const k = `${prefix}{v${i % 2000}}`;
    await client.get(`${k}:idx`);
    await client.get(`${k}:rec`);
    await client.set(`${k}:lock`, 't', 'PX', 5000, 'NX');
    await client.get(`${k}:idx`);
    await client.get(`${k}:rec`);
    await client.evalsha(sha, 1, `${k}:limit`, ...args(i));
    await client.set(`${k}:rec`, 'x', 'PX', 60_000);
    await client.zrem(`${k}:limit`, `m${i}`);
    await client.del(`${k}:lock`);
  };
  try {
    // Twice each, alternating, so a change of the machine's load shows as a spread rather than a verdict.
    for (let round = 0; round < 2; round++) {
      await measure('EVAL reserve (per call)', redis, (i) =>
        redis.eval(RESERVE.source, 1, `${prefix}{n${i % 1000}}`, ...args(i)),
      );
      await measure('EVALSHA reserve (per call)', redis, (i) =>
        redis.evalsha(sha, 1, `${prefix}{n${i % 1000}}`, ...args(i)),
      );
    }
    for (let round = 0; round < 2; round++) {
      await measure('9 round trips (per req)', redis, verifyShape(redis));
      await measure('same, auto-pipelined', redis, verifyShape(pipelined));
    }
  } finally {
    let cursor = '0';
    do {
      const [nextCursor, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = nextCursor;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
    redis.disconnect();
    pipelined.disconnect();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
