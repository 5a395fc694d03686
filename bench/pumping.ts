// The pumping simulation (npm run bench:pumping): the real service (compose(): Express, the real
// Vonage SDK over HTTP), a redis-server of its own and the Verify v1 simulator, on one virtual clock
// that the run moves forward event by event, so hours of traffic take about a minute per mode. The same
// seeded traffic is replayed with PUMPING_GUARD=enforce and =shadow (every other setting at its default):
//   legitimate users across several countries and many ranges, ~85% verify (some after a resend),
//   the rest give up;
//   pumping: sequential numbers in 3 ranges of 2 countries, ~1% verified, 5,400 attempts over
//   90 minutes from 2 callers (leaked keys) and a new client address per attempt.
// It prints, per mode: codes sent to attacked ranges (the money lost), legitimate requests refused
// (false positives), and the time from an attack's start on a range to its first block.
// Settings (environment): BENCH_PUMPING_LEGIT (users, 3000), BENCH_PUMPING_ATTACK (attempts, 5400),
// BENCH_PUMPING_SEED (1), BENCH_PUMPING_ENV (extra service settings, e.g.
// "LIMIT_SENDS_PER_PREFIX=20/1h,PUMPING_MIN_SETTLED=10" -- commas inside a value are not supported).

import { type ChildProcess, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import Redis from 'ioredis';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { VirtualClock } from '../src/clock';
import { compose } from '../src/compose';
import { loadConfig } from '../src/config';
import { createLogger } from '../src/logger';
import { VerifySimulator } from '../src/simulator/v1/simulator';
import { freePort } from './procs';

const MIN = 60_000;
const num = (name: string, fallback: number) => Number(process.env[name] ?? fallback);
const LEGIT_USERS = num('BENCH_PUMPING_LEGIT', 3000);
const ATTACK_ATTEMPTS = num('BENCH_PUMPING_ATTACK', 5400);
const SEED = num('BENCH_PUMPING_SEED', 1);
const DURATION_MS = 3 * 60 * MIN;
const ATTACK_START_MS = 45 * MIN;
const ATTACK_LENGTH_MS = 90 * MIN;
const VONAGE = { apiKey: 'pumping-key', apiSecret: 'pumping-secret' };
const KEYS: Record<string, string> = {
  shop: 'shop-key-0123456789abcdef',
  bank: 'bank-key-0123456789abcdef',
  signup: 'signup-key-0123456789abcdef',
  promo: 'promo-key-0123456789abcdef',
};

/** mulberry32: a small seeded PRNG, so both modes replay exactly the same traffic. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Mobile number shapes per country (country code and leading digits, then random digits), with weights. */
const LEGIT_COUNTRIES: Array<{ lead: string; digits: number; weight: number }> = [
  { lead: '+447', digits: 9, weight: 30 },
  { lead: '+1201', digits: 7, weight: 10 },
  { lead: '+1415', digits: 7, weight: 10 },
  { lead: '+336', digits: 8, weight: 12 },
  { lead: '+49151', digits: 8, weight: 12 },
  { lead: '+346', digits: 8, weight: 8 },
  { lead: '+393', digits: 9, weight: 8 },
  { lead: '+316', digits: 8, weight: 6 },
  { lead: '+3712', digits: 7, weight: 4 },
];

/** The attacked ranges: sequential numbers from a start, in two countries (GB and Latvia). */
const ATTACKED_RANGES = ['+447830455000', '+447520612000', '+37128000000'];

function legitNumber(random: () => number): string {
  const total = LEGIT_COUNTRIES.reduce((sum, c) => sum + c.weight, 0);
  for (;;) {
    const pick = random() * total;
    let sum = 0;
    const country = LEGIT_COUNTRIES.find((c) => {
      sum += c.weight;
      return pick < sum;
    });
    if (!country) throw new Error('no countries');
    const digits = Array.from({ length: country.digits }, () => Math.floor(random() * 10)).join('');
    const phone = parsePhoneNumberFromString(`${country.lead}${digits}`);
    if (phone?.isValid() && phone.getType() === 'MOBILE') return phone.number;
  }
}

interface Event {
  at: number;
  seq: number;
  run: () => Promise<void>;
}

interface ModeResult {
  mode: string;
  attackAttempts: number;
  attackCodes: number;
  attackVerified: number;
  attackRefused: Record<string, number>;
  legitRequests: number;
  legitRefused: number;
  legitRefusedBy: Record<string, number>;
  legitVerified: number;
  /** Per attacked range: minutes from its first attempt to its first block (or would-block). */
  timeToBlockMin: Array<number | null>;
  blocksStarted: number;
  wallSeconds: number;
}

async function startRedis(): Promise<{ url: string; child: ChildProcess }> {
  const port = await freePort();
  const child = spawn('redis-server', ['--port', String(port), '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  });
  const url = `redis://127.0.0.1:${port}`;
  const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => 50 });
  probe.on('error', () => {});
  for (let i = 0; i < 100; i++) {
    try {
      await probe.connect();
      await probe.ping();
      break;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  probe.disconnect();
  return { url, child };
}

async function runMode(mode: 'enforce' | 'shadow', redisUrl: string): Promise<ModeResult> {
  const wallStart = performance.now();
  const random = prng(SEED);
  const clock = new VirtualClock(Date.UTC(2026, 0, 5, 8));
  const t0 = clock.now();
  const sim = new VerifySimulator({ ...VONAGE, clock });
  const simUrl = await sim.listen(0, '127.0.0.1');
  const extra = Object.fromEntries(
    (process.env.BENCH_PUMPING_ENV ?? '')
      .split(',')
      .map((pair) => pair.trim())
      .filter((pair) => pair.includes('='))
      .map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]),
  );
  const config = loadConfig({
    API_KEYS: Object.entries(KEYS)
      .map(([caller, key]) => `${caller}:${key}`)
      .join(','),
    VONAGE_API_KEY: VONAGE.apiKey,
    VONAGE_API_SECRET: VONAGE.apiSecret,
    VONAGE_API_HOST: simUrl,
    REDIS_URL: redisUrl,
    REDIS_KEY_PREFIX: `pumping:${mode}:`,
    TRUST_PROXY: '1',
    // The attack comes from a new address per attempt; the per-address limit only counts bad keys.
    PUMPING_GUARD: mode,
    LOG_LEVEL: 'info',
    ...extra,
  });
  const blockStarts: Array<{ at: number; value: string }> = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      const line = String(chunk);
      if (line.includes('abuse guard: block started')) {
        const value = /"value":"([^"]+)"/.exec(line)?.[1] ?? '';
        blockStarts.push({ at: clock.now(), value });
      }
      done();
    },
  });
  const composed = await compose(config, createLogger('info', sink), {
    clock,
    defaultMetrics: false,
    guardSweepMs: 0,
  });
  const server: Server = createServer(composed.app).listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const post = async (caller: string, path: string, body: object) => {
    const address = `10.${Math.floor(random() * 250)}.${Math.floor(random() * 250)}.${Math.floor(random() * 250)}`;
    const res = await fetch(`${base}${path}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${KEYS[caller]}`,
        'content-type': 'application/json',
        'x-forwarded-for': address,
      },
      body: JSON.stringify(body),
    });
    const json = (await res.json()) as Record<string, unknown>;
    return { status: res.status, body: json };
  };

  const events: Event[] = [];
  let seq = 0;
  /** At `time` ms after the run's start. */
  const at = (time: number, run: () => Promise<void>) => {
    events.push({ at: time, seq: seq++, run });
  };
  /** `ms` after now. */
  const later = (ms: number, run: () => Promise<void>) => at(clock.now() - t0 + ms, run);
  const result: ModeResult = {
    mode,
    attackAttempts: 0,
    attackCodes: 0,
    attackVerified: 0,
    attackRefused: {},
    legitRequests: 0,
    legitRefused: 0,
    legitRefusedBy: {},
    legitVerified: 0,
    timeToBlockMin: [],
    blocksStarted: 0,
    wallSeconds: 0,
  };
  const verify = async (caller: string, requestId: string, counted: () => void) => {
    const code = sim.currentCode(requestId);
    if (!code) return;
    const res = await post(caller, '/api/verify-token', { requestId, code });
    if (res.status === 200) counted();
  };

  // Legitimate users: arrive over the whole run; most verify, some resend first, the rest give up.
  for (let i = 0; i < LEGIT_USERS; i++) {
    const start = Math.floor(random() * (DURATION_MS - 20 * MIN));
    const phoneNumber = legitNumber(random);
    const caller = random() < 0.6 ? 'shop' : 'bank';
    const fate = random();
    const verifyAfter = 15_000 + Math.floor(random() * 105_000);
    at(start, async () => {
      result.legitRequests += 1;
      const res = await post(caller, '/api/request-token', { phoneNumber });
      if (res.status !== 201) {
        if (res.status === 403 || res.status === 429) {
          result.legitRefused += 1;
          const why = `${res.status} ${String(res.body.code)}${res.body.scope ? ` (${String(res.body.scope)})` : ''}`;
          result.legitRefusedBy[why] = (result.legitRefusedBy[why] ?? 0) + 1;
        }
        return;
      }
      const requestId = String(res.body.requestId);
      const counted = () => {
        result.legitVerified += 1;
      };
      if (fate < 0.78) later(verifyAfter, () => verify(caller, requestId, counted));
      else if (fate < 0.86) {
        // No code yet: "resend" (next delivery), then verify.
        later(45_000 + verifyAfter / 3, async () => {
          await post(caller, '/api/next-event', { requestId });
          later(30_000, () => verify(caller, requestId, counted));
        });
      }
    });
  }

  // Pumping: round-robin over the ranges, each walked sequentially; two leaked caller keys.
  const firstAttempt: Array<number | undefined> = ATTACKED_RANGES.map(() => undefined);
  const next = ATTACKED_RANGES.map(() => 0);
  for (let i = 0; i < ATTACK_ATTEMPTS; i++) {
    const range = i % ATTACKED_RANGES.length;
    const startOf = ATTACKED_RANGES[range] ?? '';
    const n = next[range] ?? 0;
    next[range] = n + 1;
    const phoneNumber = `${startOf.slice(0, -6)}${String(Number(startOf.slice(-6)) + n).padStart(6, '0')}`;
    const time = ATTACK_START_MS + Math.floor((i / ATTACK_ATTEMPTS) * ATTACK_LENGTH_MS);
    const caller = random() < 0.5 ? 'signup' : 'promo';
    const verifies = random() < 0.01;
    at(time, async () => {
      result.attackAttempts += 1;
      firstAttempt[range] ??= clock.now();
      const res = await post(caller, '/api/request-token', { phoneNumber });
      if (res.status === 201) {
        result.attackCodes += 1;
        if (verifies) {
          const requestId = String(res.body.requestId);
          later(30_000, () =>
            verify(caller, requestId, () => {
              result.attackVerified += 1;
            }),
          );
        }
      } else {
        const why = `${res.status} ${String(res.body.code)}`;
        result.attackRefused[why] = (result.attackRefused[why] ?? 0) + 1;
      }
    });
  }

  // Every instance sweeps every 5 s (compose's interval), here on the virtual clock.
  for (let time = 0; time < DURATION_MS; time += 5_000) {
    at(time, async () => {
      await composed.guard.sweep();
    });
  }

  // Run: always the earliest event next; events may schedule later ones.
  for (;;) {
    events.sort((x, y) => x.at - y.at || x.seq - y.seq);
    const event = events.shift();
    if (!event) break;
    const due = t0 + event.at;
    if (due > clock.now()) sim.advance(due - clock.now());
    await event.run();
  }

  result.blocksStarted = blockStarts.length;
  result.timeToBlockMin = ATTACKED_RANGES.map((startOf, range) => {
    const first = firstAttempt[range];
    const country = parsePhoneNumberFromString(startOf)?.country;
    const block = blockStarts.find(
      (b) =>
        (b.value.startsWith(startOf.slice(0, -6)) || b.value === country) &&
        first !== undefined &&
        b.at >= first,
    );
    return block && first !== undefined ? Math.round(((block.at - first) / MIN) * 10) / 10 : null;
  });
  result.wallSeconds = Math.round((performance.now() - wallStart) / 1000);
  server.close();
  server.closeAllConnections();
  await composed.close();
  await sim.close();
  return result;
}

function pct(part: number, whole: number): string {
  return whole === 0 ? '-' : `${((part / whole) * 100).toFixed(2)}%`;
}

function table(results: ModeResult[]): string {
  const rows = [
    '| mode | attack attempts | codes sent to attacked ranges | legitimate requests | legitimate refused | legit verified | time to first block per range (min) |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...results.map(
      (r) =>
        `| ${r.mode} | ${r.attackAttempts} | ${r.attackCodes} (${pct(r.attackCodes, r.attackAttempts)}) | ${r.legitRequests} | ${r.legitRefused} (${pct(r.legitRefused, r.legitRequests)}) | ${pct(r.legitVerified, r.legitRequests)} | ${r.timeToBlockMin.map((m) => (m === null ? 'none' : String(m))).join(' / ')} |`,
    ),
  ];
  return rows.join('\n');
}

async function main(): Promise<void> {
  const redis = process.env.BENCH_REDIS_URL ? undefined : await startRedis();
  const url = process.env.BENCH_REDIS_URL ?? redis?.url ?? '';
  try {
    const results: ModeResult[] = [];
    for (const mode of ['enforce', 'shadow'] as const) {
      const result = await runMode(mode, url);
      results.push(result);
      console.log(
        `${mode}: ${result.wallSeconds}s wall; attack refused: ${JSON.stringify(result.attackRefused)}; legit refused: ${JSON.stringify(result.legitRefusedBy)}; attack verified ${result.attackVerified}; blocks started ${result.blocksStarted}`,
      );
    }
    console.log(
      `\nPumping simulation: ${LEGIT_USERS} legitimate users over 3 h; ${ATTACK_ATTEMPTS} pumping attempts over 90 min on ${ATTACKED_RANGES.join(', ')} (sequential); seed ${SEED}${process.env.BENCH_PUMPING_ENV ? `; ${process.env.BENCH_PUMPING_ENV}` : ''}\n`,
    );
    console.log(table(results));
    const enforce = results[0];
    if (enforce) {
      const lost = enforce.attackCodes / Math.max(1, enforce.attackAttempts);
      const refused = enforce.legitRefused / Math.max(1, enforce.legitRequests);
      console.log(
        `\nTargets (enforce): codes to attacked ranges <= 5% of attempts: ${lost <= 0.05 ? 'met' : 'MISSED'} (${pct(enforce.attackCodes, enforce.attackAttempts)}); legitimate refused <= 0.5%: ${refused <= 0.005 ? 'met' : 'MISSED'} (${pct(enforce.legitRefused, enforce.legitRequests)})`,
      );
    }
  } finally {
    redis?.child.kill('SIGKILL');
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
