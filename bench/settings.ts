// Bench settings from BENCH_* environment variables, with a full profile (a few minutes on 2 cores) and
// a BENCH_QUICK=1 smoke profile (about a minute).

import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface BenchSettings {
  quick: boolean;
  /** Concurrent connections of the throughput phases. */
  connections: number;
  /** Length of each duration-based phase (refusals, status reads). */
  phaseSeconds: number;
  /** Verifications made for the request-token / verify-token / reference phases. */
  flows: number;
  /** Complete flows (request-token → code → verify-token) of the service and of the peer, each. */
  completeFlows: number;
  /** Requests of the one-connection latency phase, per server. */
  latencyRequests: number;
  /** Requests of complete flows in the memory run, for the service and for the peer each. */
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
  /** `node`: the output of `npm run build` with the image's NODE_OPTIONS, as deployed; `tsx`: TypeScript
   *  through tsx, as `npm start`. */
  runtime: 'node' | 'tsx';
  /** Node options of the service only: the Dockerfile's NODE_OPTIONS unless BENCH_SERVICE_NODE_ARGS says
   *  otherwise (e.g. "--cpu-prof --max-semi-space-size=8"; "" for none). */
  serviceNodeArgs: string[];
  /** Node options of the peer (BENCH_PEER_NODE_ARGS, e.g. "--cpu-prof"): none by default, as tutorials run it. */
  peerNodeArgs: string[];
  /** Groups to run (BENCH_ONLY=refusals,status,flows,steps,latency,memory); all by default. */
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
    completeFlows: Math.round(number('BENCH_COMPLETE_FLOWS', quick ? 400 : 3000, 10)),
    latencyRequests: Math.round(number('BENCH_LATENCY_REQUESTS', quick ? 200 : 600, 10)),
    rssRequests: Math.round(number('BENCH_RSS_REQUESTS', quick ? 2000 : 20_000, 10)),
    soakSeconds: number('BENCH_SOAK_SECONDS', quick ? 0 : 30, 0),
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
    serviceNodeArgs: (process.env.BENCH_SERVICE_NODE_ARGS ?? imageNodeOptions(repoRoot))
      .split(/\s+/)
      .filter((arg) => arg !== ''),
    peerNodeArgs: (process.env.BENCH_PEER_NODE_ARGS ?? '').split(/\s+/).filter((arg) => arg !== ''),
  };
}

/** NODE_OPTIONS of the runtime image, read from the Dockerfile's ENV (empty when it sets none). */
export function imageNodeOptions(repoRoot: string): string {
  let dockerfile = '';
  try {
    dockerfile = readFileSync(join(repoRoot, 'Dockerfile'), 'utf8');
  } catch {
    return '';
  }
  // ENV lines may continue over several lines with a trailing backslash.
  const text = dockerfile.replace(/\\\r?\n/g, ' ');
  const match = /^ENV\s.*?\bNODE_OPTIONS=("([^"]*)"|(\S*))/m.exec(text);
  return match?.[2] ?? match?.[3] ?? '';
}
