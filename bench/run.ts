// `npm run bench` (issues #6, #17): builds the service with `npm run build` and starts it as the image runs
// it (compiled JavaScript, the Dockerfile's NODE_OPTIONS), beside the Verify simulator, the SEED-STYLE PEER
// (Express + express.json() + the Vonage SDK, the design the tutorials teach), a REFERENCE server doing the
// bare minimum of verify-token's work and BARE Express, as separate processes pinned to one core; drives
// them from this process pinned to the other, and prints flows/s, server CPU per flow (/proc), p50/p99,
// errors, TCP connections to "Vonage", RSS and the targets; raw results go to bench/results/<timestamp>.json.
// The phases are in workload.ts; settings in settings.ts (BENCH_QUICK=1 for a one-minute smoke run, ...).

import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { cpus, release } from 'node:os';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import Redis from 'ioredis';
import { buildWithNpm, removeBuild, transpileDir } from './build';
import { log, redisInfoField, type Servers } from './meter';
import { freePort, hasTaskset, killAllNow, pinSelf, rssMb, start, stopAll, waitReady } from './procs';
import { flowsTable, judgeTargets, linkBaselines, markdownTable, targetsTable } from './report';
import { VONAGE_KEY, VONAGE_SECRET } from './requests';
import { type BenchSettings, loadSettings } from './settings';
import { AUTH_FAILURES_PER_ADDRESS, Bench, SENDS_PER_NUMBER } from './workload';

const REPO = resolve(__dirname, '..');
const RESULTS = join(REPO, 'bench', 'results');

/** Display order of the rows, and what each is compared with. */
const ROW_ORDER = [
  'flow-peer',
  'flow-service',
  'mem-peer',
  'mem-service',
  'bare-401',
  'refused-401',
  'refused-401-over',
  'peer-401',
  'bare-429',
  'refused-429',
  'refused-429-spread',
  'peer-429',
  'reference',
  'verify-token',
  'request-token',
  'status',
  'latency-reference',
  'latency-service',
  'soak',
];
const BASELINES: Record<string, string> = {
  'flow-service': 'flow-peer',
  'mem-service': 'mem-peer',
  'refused-401': 'bare-401',
  'refused-401-over': 'bare-401',
  'peer-401': 'bare-401',
  'refused-429': 'bare-429',
  'refused-429-spread': 'bare-429',
  'peer-429': 'bare-429',
  'verify-token': 'reference',
  'request-token': 'reference',
  status: 'reference',
  'latency-service': 'latency-reference',
  soak: 'reference',
};

function readText(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

function machine(redisVersion: string) {
  const model = /^model name\s*:\s*(.+)$/m.exec(readText('/proc/cpuinfo'))?.[1]?.trim() ?? 'unknown';
  return { nproc: cpus().length, cpu: model, node: process.version, kernel: release(), redis: redisVersion };
}

/** SCAN + DEL of this run's keys only. */
async function deleteKeys(redis: Redis, prefix: string): Promise<number> {
  let cursor = '0';
  let deleted = 0;
  do {
    const [nextCursor, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = nextCursor;
    if (keys.length > 0) deleted += await redis.del(...keys);
  } while (cursor !== '0');
  return deleted;
}

type Scripts = Record<'simulator' | 'service' | 'reference' | 'bare' | 'peer', string[]>;

/** Node arguments for each server: `npm run build`'s JavaScript (default), or TypeScript through tsx. */
function prepareScripts(settings: BenchSettings, buildDir: string): Scripts {
  const serviceSrc = join(settings.serviceDir, 'src');
  if (!existsSync(join(serviceSrc, 'server.ts')))
    throw new Error(`no src/server.ts in ${settings.serviceDir}`);
  if (settings.runtime === 'tsx') {
    const loader = pathToFileURL(join(REPO, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
    const tsx = (file: string) => ['--import', loader, file];
    return {
      simulator: tsx(join(REPO, 'src', 'simulator', 'v1', 'main.ts')),
      service: [...settings.serviceNodeArgs, ...tsx(join(serviceSrc, 'server.ts'))],
      reference: tsx(join(REPO, 'bench', 'reference-server.ts')),
      bare: tsx(join(REPO, 'bench', 'bare-server.ts')),
      peer: [...settings.peerNodeArgs, ...tsx(join(REPO, 'bench', 'peer-server.ts'))],
    };
  }
  // The deployed form: the image runs `npm run build`'s output (here into the run's own folder, so a
  // developer's dist/ is left alone; node_modules still resolves from the repository).
  const repoOut = join(buildDir, 'repo', 'dist');
  buildWithNpm(REPO, repoOut);
  const serviceOut = settings.serviceDir === REPO ? repoOut : join(buildDir, 'service', 'dist');
  if (settings.serviceDir !== REPO) {
    buildWithNpm(settings.serviceDir, serviceOut);
    // The other checkout's code resolves its own dependencies (they may differ from this one's).
    symlinkSync(join(settings.serviceDir, 'node_modules'), join(buildDir, 'service', 'node_modules'), 'dir');
  }
  transpileDir(join(REPO, 'bench'), join(buildDir, 'repo', 'bench'), (name) => name.endsWith('-server.ts'));
  return {
    simulator: [join(repoOut, 'simulator', 'v1', 'main.js')],
    service: [...settings.serviceNodeArgs, join(serviceOut, 'server.js')],
    reference: [join(buildDir, 'repo', 'bench', 'reference-server.js')],
    bare: [join(buildDir, 'repo', 'bench', 'bare-server.js')],
    peer: [...settings.peerNodeArgs, join(buildDir, 'repo', 'bench', 'peer-server.js')],
  };
}

/** Writes the run's JSON to bench/results/ and prints the tables. */
function writeReport(run: {
  runId: string;
  info: ReturnType<typeof machine>;
  pinned: boolean;
  settings: BenchSettings;
  redisVersion: string;
  startedAt: number;
  outcome: Awaited<ReturnType<Bench['runAll']>>;
  finalRss: number;
  peerRss: number;
}): void {
  const { runId, info, pinned, settings, redisVersion, startedAt, outcome, finalRss, peerRss } = run;
  linkBaselines(outcome.rows, BASELINES);
  const rows = ROW_ORDER.flatMap((id) => outcome.rows.filter((row) => row.id === id));
  const targets = judgeTargets(rows, outcome.trend);
  const table = markdownTable(rows);
  const flows = flowsTable(rows);
  const targetText = targetsTable(targets);
  const file = join(RESULTS, `${runId}.json`);
  writeFileSync(
    file,
    `${JSON.stringify(
      {
        runId,
        machine: info,
        pinned,
        settings: { ...settings, only: settings.only ? [...settings.only] : undefined },
        serviceRssMb: { idle: outcome.idleRssMb, final: finalRss },
        peerRssMb: { final: peerRss },
        rows,
        targets,
        soak: outcome.soak,
        extra: outcome.extra,
      },
      null,
      2,
    )}\n`,
  );
  process.stdout.write(
    `\n${flows ? `${flows}\n\n` : ''}${table}\n\n${targetText}\n\n` +
      `Machine: ${info.nproc} cores, ${info.cpu}, node ${info.node}, Redis ${redisVersion}, ` +
      `${pinned ? `servers+simulator pinned to core ${settings.serverCpu}, load generator to core ${settings.loadCpu}` : 'no CPU pinning'}; ` +
      `service LOG_LEVEL=${settings.logLevel}, ${settings.runtime === 'tsx' ? 'run through tsx' : '`npm run build` output'}, ` +
      `node flags: ${settings.serviceNodeArgs.join(' ') || 'none'}.\n` +
      `Service RSS: ${Math.round(outcome.idleRssMb)} MB idle before any load, ${Math.round(finalRss)} MB at the end ` +
      `(peer: ${Math.round(peerRss)} MB at the end). ` +
      `Took ${Math.round((performance.now() - startedAt) / 1000)} s.\nRaw results: ${file}\n`,
  );
}

async function main(): Promise<void> {
  const startedAt = performance.now();
  const settings = loadSettings(REPO);
  const pinned = settings.pin && hasTaskset && pinSelf(settings.loadCpu);
  const serverCpu = pinned ? settings.serverCpu : undefined;
  const runId = new Date().toISOString().replace(/[:.]/g, '-');
  const prefix = `bench:${runId}:${randomBytes(3).toString('hex')}:`;
  const apiKey = `bench-${randomBytes(16).toString('hex')}`;
  const buildDir = join(RESULTS, `build-${runId}`);
  mkdirSync(RESULTS, { recursive: true });

  const redis = new Redis(settings.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  // One cleanup, however many signals arrive (a terminal's Ctrl-C reaches npm, tsx and this process).
  let cleaning: Promise<void> | undefined;
  const cleanup = (): Promise<void> => {
    cleaning ??= (async () => {
      await stopAll();
      removeBuild(buildDir);
      try {
        const deleted = await deleteKeys(redis, prefix);
        log(`deleted ${deleted} Redis keys under ${prefix}`);
      } catch (error) {
        log(`could not delete Redis keys under ${prefix}: ${String(error)}`);
      }
      redis.disconnect();
    })();
    return cleaning;
  };
  const onSignal = (signal: NodeJS.Signals) => {
    if (cleaning) return;
    log(`${signal}: stopping the servers and deleting this run's Redis keys`);
    cleanup().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  process.once('exit', killAllNow);

  try {
    const redisVersion = await redisInfoField(redis, 'server', 'redis_version');
    const info = machine(redisVersion);
    log(
      `${settings.quick ? 'QUICK' : 'full'} run ${runId}: ${info.nproc} cores (${info.cpu}), node ${info.node}, ` +
        `redis ${redisVersion}; ${pinned ? `servers on core ${settings.serverCpu}, load on core ${settings.loadCpu}` : 'not pinned'}`,
    );
    const scripts = prepareScripts(settings, buildDir);
    const servers = await startServers(settings, scripts, { prefix, apiKey, serverCpu, runId });
    const bench = new Bench(settings, servers, redis, apiKey);
    const redisPid = Number(await redisInfoField(redis, 'server', 'process_id'));
    if (Number.isInteger(redisPid) && readText(`/proc/${redisPid}/comm`).startsWith('redis'))
      bench.redisPid = redisPid;
    const outcome = await bench.runAll();
    const finalRss = rssMb(servers.service.pid);
    const peerRss = rssMb(servers.peer.pid);

    writeReport({ runId, info, pinned, settings, redisVersion, startedAt, outcome, finalRss, peerRss });
  } finally {
    await cleanup();
  }
}

/** The service's environment: real Vonage credentials against the simulator, limits raised for load. */
function serviceEnv(
  settings: BenchSettings,
  run: { prefix: string; apiKey: string },
  port: number,
  simulatorOrigin: string,
): Record<string, string> {
  return {
    PORT: String(port),
    API_KEYS: `bench:${run.apiKey}`,
    VONAGE_API_KEY: VONAGE_KEY,
    VONAGE_API_SECRET: VONAGE_SECRET,
    VONAGE_API_HOST: simulatorOrigin,
    REDIS_URL: settings.redisUrl,
    REDIS_KEY_PREFIX: `${run.prefix}svc:`,
    // Per-number sends keep the production default (every flow has its own number); the caller-wide
    // and per-address limits are raised so the bench measures work, not refusals.
    LIMIT_SENDS_PER_NUMBER: `${SENDS_PER_NUMBER}/1h`,
    LIMIT_SENDS_PER_CALLER: '100000000/1m',
    LIMIT_FAILED_CHECKS_PER_NUMBER: '10/1h',
    // The production default; wrong keys come from many addresses (X-Forwarded-For through one trusted
    // proxy), each under its limit, and from one address over it.
    LIMIT_AUTH_FAILURES_PER_IP: `${AUTH_FAILURES_PER_ADDRESS}/1m`,
    TRUST_PROXY: '1',
    // The simulator does not throttle, and the bench's numbers share prefixes: the account-wide cap
    // and the velocity limits are raised too (the guard's checks still run on every request-token).
    VONAGE_MAX_REQUESTS_PER_SECOND: '100000',
    LIMIT_VONAGE_CALLS_PER_CALLER: '100000000/1m',
    LIMIT_SENDS_PER_PREFIX: '100000000/1h',
    LOG_LEVEL: settings.logLevel,
  };
}

async function startServers(
  settings: BenchSettings,
  scripts: Scripts,
  run: { prefix: string; apiKey: string; serverCpu: number | undefined; runId: string },
): Promise<Servers> {
  const [simPort, servicePort, referencePort, barePort, peerPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const origins = {
    simulator: `http://127.0.0.1:${simPort}`,
    service: `http://127.0.0.1:${servicePort}`,
    reference: `http://127.0.0.1:${referencePort}`,
    bare: `http://127.0.0.1:${barePort}`,
    peer: `http://127.0.0.1:${peerPort}`,
  };
  const common = { NODE_ENV: 'production', DOTENV_CONFIG_PATH: '/dev/null' };
  const simulator = start({
    name: 'simulator',
    args: scripts.simulator,
    cwd: REPO,
    cpu: run.serverCpu,
    env: {
      ...common,
      SIMULATOR_PORT: String(simPort),
      SIMULATOR_API_KEY: VONAGE_KEY,
      SIMULATOR_API_SECRET: VONAGE_SECRET,
    },
  });
  const service = start({
    name: 'service',
    args: scripts.service,
    cwd: settings.serviceDir,
    cpu: run.serverCpu,
    ...(settings.keepLogs ? { stdoutFile: join(RESULTS, `${run.runId}.service.log`) } : {}),
    env: { ...common, ...serviceEnv(settings, run, servicePort, origins.simulator) },
  });
  const reference = start({
    name: 'reference',
    args: scripts.reference,
    cwd: REPO,
    cpu: run.serverCpu,
    env: {
      ...common,
      PORT: String(referencePort),
      REDIS_URL: settings.redisUrl,
      REDIS_KEY_PREFIX: `${run.prefix}ref:`,
      VONAGE_API_HOST: origins.simulator,
      VONAGE_API_KEY: VONAGE_KEY,
      VONAGE_API_SECRET: VONAGE_SECRET,
    },
  });
  const bare = start({
    name: 'bare',
    args: scripts.bare,
    cwd: REPO,
    cpu: run.serverCpu,
    env: { ...common, PORT: String(barePort) },
  });
  const peer = start({
    name: 'peer',
    args: scripts.peer,
    cwd: REPO,
    cpu: run.serverCpu,
    env: {
      ...common,
      PORT: String(peerPort),
      VONAGE_API_HOST: origins.simulator,
      VONAGE_API_KEY: VONAGE_KEY,
      VONAGE_API_SECRET: VONAGE_SECRET,
    },
  });
  await Promise.all([
    waitReady(simulator, `${origins.simulator}/_simulator/stats`),
    waitReady(service, `${origins.service}/readyz`),
    waitReady(reference, `${origins.reference}/healthz`),
    waitReady(bare, `${origins.bare}/healthz`),
    waitReady(peer, `${origins.peer}/healthz`),
  ]);
  return { simulator, service, reference, bare, peer, origins };
}

main().catch((error: unknown) => {
  process.stderr.write(
    `bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exitCode = 1;
});
