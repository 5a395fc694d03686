// Bench settings from BENCH_* environment variables, with a full profile (a few minutes on 2 cores) and
// a BENCH_QUICK=1 smoke profile (about a minute).

import { resolve } from 'node:path';

export interface BenchSettings {
  quick: boolean;
  /** Concurrent connections of the throughput phases. */
  connections: number;
  /** Length of each duration-based phase (refusals, status reads). */
  phaseSeconds: number;
  /** Verifications made for the request-token / verify-token / reference phases. */
  flows: number;
  /** Requests of the one-connection latency phase, per server. */
  latencyRequests: number;
  /** Service requests of the memory run. */
  rssRequests: number;
  soakSeconds: number;
  /** Requests (or flows) of the untimed warm-up per path. */
  warmup: number;
  /** LOG_LEVEL of the service; `info` is its production default. */
  logLevel: string;
  /** The checkout whose src/server.ts is benched (another working tree, to compare a change). */
  serviceDir: string;
  redisUrl: string;
  /** Core for the servers and the simulator; the load generator gets `loadCpu`. */
  serverCpu: number;
  loadCpu: number;
  pin: boolean;
  /** `node`: compiled JavaScript, as `npm run start:prod`; `tsx`: TypeScript through tsx, as `npm start`. */
  runtime: 'node' | 'tsx';
  /** Extra node options for the service only (BENCH_SERVICE_NODE_ARGS, e.g. "--cpu-prof --max-semi-space-size=8"). */
  serviceNodeArgs: string[];
  /** Groups to run (BENCH_ONLY=refusals,status,flows,latency,memory); all by default. */
  only: Set<string> | undefined;
  /** Keep the service's log lines in bench/results/<run>.service.log instead of dropping them. */
  keepLogs: boolean;
}

function number(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min)
    throw new Error(`${name} must be a number >= ${min}, got "${raw}"`);
  return value;
}

export function loadSettings(repoRoot: string): BenchSettings {
  const quick = process.env.BENCH_QUICK === '1' || process.env.BENCH_QUICK === 'true';
  return {
    quick,
    connections: Math.round(number('BENCH_CONNECTIONS', 32, 1)),
    phaseSeconds: number('BENCH_PHASE_SECONDS', quick ? 2 : 6, 0.5),
    flows: Math.round(number('BENCH_FLOWS', quick ? 600 : 2000, 10)),
    latencyRequests: Math.round(number('BENCH_LATENCY_REQUESTS', quick ? 200 : 600, 10)),
    rssRequests: Math.round(number('BENCH_RSS_REQUESTS', quick ? 6000 : 100_000, 10)),
    soakSeconds: number('BENCH_SOAK_SECONDS', quick ? 10 : 120, 1),
    warmup: Math.round(number('BENCH_WARMUP', quick ? 200 : 600, 0)),
    logLevel: process.env.BENCH_LOG_LEVEL || 'info',
    serviceDir: resolve(process.env.BENCH_SERVICE_DIR || repoRoot),
    redisUrl: process.env.BENCH_REDIS_URL || 'redis://127.0.0.1:6379',
    serverCpu: Math.round(number('BENCH_SERVER_CPU', 0, 0)),
    loadCpu: Math.round(number('BENCH_LOAD_CPU', 1, 0)),
    pin: process.env.BENCH_NO_PIN !== '1',
    keepLogs: process.env.BENCH_KEEP_LOGS === '1',
    only: process.env.BENCH_ONLY
      ? new Set(process.env.BENCH_ONLY.split(',').map((g) => g.trim()))
      : undefined,
    runtime: process.env.BENCH_RUNTIME === 'tsx' ? 'tsx' : 'node',
    // The Dockerfile's NODE_OPTIONS, so the bench measures the service as it is deployed.
    serviceNodeArgs: (process.env.BENCH_SERVICE_NODE_ARGS ?? '--max-old-space-size=128')
      .split(/\s+/)
      .filter((arg) => arg !== ''),
  };
}
