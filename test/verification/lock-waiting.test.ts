// Racing request-tokens for one number while Vonage is slow (issue 11, "Lock waiting"): one starts a
// code, every other one answers 409 verification_in_progress with that code's requestId (never 504), and
// waiting costs little: a waiter is woken when a holder in its own process lets go, and backs off when
// the holder is another instance, instead of running the lock script every few milliseconds. Scripts
// run are counted with INFO commandstats on a redis-server of this test's own; Vonage answers start
// 3 s late through a delay proxy in front of the simulator (the issue saw 1.9 s; longer keeps a loaded
// machine from letting a racer arrive after the winner has finished).

import { VirtualClock } from '../../src/clock';
import { LONGEST_VONAGE_CALLS, loadConfig, lockTimings, shutdownGraceMs } from '../../src/config';
import { VerifySimulator } from '../../src/simulator/v1/simulator';
import { type DelayProxy, startDelayProxy } from '../support/delay-proxy';
import { type Harness, startHarness, ukMobile, VONAGE } from '../support/harness';
import { type RedisServer, startRedisServer } from '../support/redis-server';

const RACERS = 100;
const VONAGE_DELAY_MS = 3_000;

let redis: RedisServer;
let sim: VerifySimulator;
let proxy: DelayProxy;
let a: Harness;
let b: Harness;

beforeAll(async () => {
  redis = await startRedisServer();
  const clock = new VirtualClock(Date.UTC(2026, 0, 1, 12));
  sim = new VerifySimulator({ ...VONAGE, clock });
  const simUrl = await sim.listen(0, '127.0.0.1');
  proxy = await startDelayProxy(simUrl);
  proxy.setDelay({ path: /^\/verify\/json/, ms: VONAGE_DELAY_MS });
  const env = { REDIS_URL: redis.url, VONAGE_TIMEOUT_MS: '8000', LIMIT_SENDS_PER_CALLER: '1000/1m' };
  a = await startHarness({ sim, simUrl: proxy.url, clock, env });
  b = await startHarness({ sim, simUrl: proxy.url, clock, env, prefix: a.prefix });
});

afterAll(async () => {
  await b?.close();
  await a?.close();
  await proxy?.close();
  await sim?.close();
  await redis?.close();
});

/**
 * Lua scripts run since the last reset (EVAL and EVALSHA), from INFO commandstats. Failed calls ran
 * nothing: an EVALSHA answered NOSCRIPT (a script's first use on this fresh server, then sent as EVAL).
 */
async function scriptsRun(): Promise<number> {
  const info = String(await redis.command('INFO', 'commandstats'));
  let calls = 0;
  for (const match of info.matchAll(/^cmdstat_(?:eval|evalsha):calls=(\d+),.*failed_calls=(\d+)/gm)) {
    calls += Number(match[1]) - Number(match[2]);
  }
  return calls;
}

async function race(
  instances: Harness[],
): Promise<{ statuses: string[]; ids: Set<string>; scripts: number }> {
  const phoneNumber = ukMobile();
  const startsBefore = sim.stats.calls.start;
  await redis.command('CONFIG', 'RESETSTAT');
  const answers = await Promise.all(
    Array.from({ length: RACERS }, (_, i) =>
      (instances[i % instances.length] as Harness).as('alpha').post('/api/request-token', { phoneNumber }),
    ),
  );
  const scripts = await scriptsRun();
  expect(sim.stats.calls.start - startsBefore).toBe(1);
  const statuses = answers.map((res) => (res.status === 201 ? '201' : `${res.status} ${res.body.code}`));
  const ids = new Set(answers.map((res) => res.body.requestId as string));
  return { statuses, ids, scripts };
}

test(`${RACERS} racing request-tokens on one instance: one code, 99 x 409 with its id, about one script each`, async () => {
  const { statuses, ids, scripts } = await race([a]);
  expect(statuses.filter((s) => s === '201')).toHaveLength(1);
  expect(statuses.filter((s) => s === '409 verification_in_progress')).toHaveLength(RACERS - 1);
  expect(ids.size).toBe(1);
  // Each request takes the lock (or fails to) once; the holder also reserves two send slots and unlocks.
  expect(scripts).toBeLessThanOrEqual(RACERS + 10);
}, 60_000);

test(`${RACERS} racing request-tokens over two instances: waiters on the other one back off`, async () => {
  const { statuses, ids, scripts } = await race([a, b]);
  expect(statuses.filter((s) => s === '201')).toHaveLength(1);
  expect(statuses.filter((s) => s === '409 verification_in_progress')).toHaveLength(RACERS - 1);
  expect(ids.size).toBe(1);
  // Half the waiters poll across the 3 s start with a backoff growing to 500 ms: about a dozen tries each.
  expect(scripts).toBeLessThanOrEqual(RACERS * 8);
}, 60_000);

test('the lock outlives the longest path of a request, and the shutdown grace covers a wait plus that path', () => {
  for (const timeout of [100, 2_000, 10_000, 120_000]) {
    const lock = lockTimings(timeout);
    expect(LONGEST_VONAGE_CALLS).toBe(4); // start, cancel (status 10), start, cancel of an unrecordable start
    expect(lock.ttlMs).toBeGreaterThanOrEqual(LONGEST_VONAGE_CALLS * timeout + 1_000);
    expect(lock.waitMs).toBeLessThan(lock.ttlMs);
    const config = loadConfig({ VONAGE_TIMEOUT_MS: String(timeout) });
    expect(shutdownGraceMs(config)).toBeGreaterThan(lock.waitMs + lock.ttlMs);
  }
});
