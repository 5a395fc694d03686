// Test harness: the whole service in-process (real Redis under a key prefix of its own, the real SDK
// over HTTP to the simulator), sharing one virtual clock with the simulator, with every log line kept.

import { generateKeyPairSync } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import supertest from 'supertest';
import { getGlobalDispatcher } from 'undici';
import { VirtualClock } from '../../src/clock';
import { type Composed, type ComposeOptions, compose } from '../../src/compose';
import { type Config, loadConfig } from '../../src/config';
import { createLogger, type Logger } from '../../src/logger';
import { VerifySimulator } from '../../src/simulator/v1/simulator';
import { type RunningV2Simulator, startVerifyV2Simulator } from '../../src/simulator/v2';
import type { StartV2SimulatorOptions } from '../../src/simulator/v2/simulator';
import { installSdkFetch } from '../../src/vonage/sdk-fetch';
import { removeTestKeys, testPrefix, testRedisUrl } from './test-redis';

export const KEYS = { alpha: 'key-alpha-0123456789', beta: 'key-beta-0123456789' } as const;
export const VONAGE = { apiKey: 'test-api-key', apiSecret: 'test-api-secret-9f8e7d' } as const;

export interface Harness {
  http: ReturnType<typeof supertest>;
  sim: VerifySimulator;
  clock: VirtualClock;
  config: Config;
  composed: Composed;
  prefix: string;
  logs: string[];
  /** supertest with the caller's bearer key. */
  as(caller: keyof typeof KEYS): {
    post(path: string, body?: unknown): supertest.Test;
    get(path: string): supertest.Test;
  };
  close(): Promise<void>;
}

export { testRedisUrl };

export interface HarnessOptions {
  env?: Record<string, string>;
  /** false: the in-memory store. */
  redis?: boolean;
  /** Share a simulator / clock / prefix with another harness (several instances over one Redis). */
  sim?: VerifySimulator;
  simUrl?: string;
  clock?: VirtualClock;
  prefix?: string;
  /** How often the abuse guard sweeps (compose's default otherwise; 0 = never). */
  guardSweepMs?: number;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const clock = options.clock ?? new VirtualClock(Date.UTC(2026, 0, 1, 12));
  const ownSim = !options.sim;
  const sim = options.sim ?? new VerifySimulator({ ...VONAGE, clock });
  const simUrl = ownSim ? await sim.listen(0, '127.0.0.1') : options.simUrl;
  const prefix = options.prefix ?? testPrefix();
  // The harness that chose the prefix removes its keys; one given a shared prefix leaves that to its owner.
  // A Redis of the test's own (options.env.REDIS_URL) is thrown away with its keys.
  const ownsKeys =
    options.prefix === undefined && options.redis !== false && options.env?.REDIS_URL === undefined;
  const config = loadConfig({
    API_KEYS: `alpha:${KEYS.alpha},beta:${KEYS.beta}`,
    VONAGE_API_KEY: VONAGE.apiKey,
    VONAGE_API_SECRET: VONAGE.apiSecret,
    VONAGE_API_HOST: simUrl ?? options.env?.VONAGE_API_HOST ?? '',
    VONAGE_TIMEOUT_MS: '2000',
    REDIS_KEY_PREFIX: prefix,
    LOG_LEVEL: 'debug',
    // On the virtual clock time stands still unless a test moves it, so the account-wide Vonage rate,
    // the per-caller call budget, the prefix velocity and the conversion guard would refuse ordinary
    // test traffic; their own suites (test/verification/guard*.test.ts, vonage-budget.test.ts) set them.
    VONAGE_MAX_REQUESTS_PER_SECOND: '100000',
    LIMIT_VONAGE_CALLS_PER_CALLER: '1000000/1m',
    LIMIT_SENDS_PER_PREFIX: '1000000/1h',
    PUMPING_GUARD: 'off',
    ...(options.redis === false ? {} : { REDIS_URL: testRedisUrl() }),
    ...options.env,
  });
  const built = await build(config, clock, options);
  return {
    ...built,
    sim,
    clock,
    prefix,
    close: async () => {
      await built.composed.close();
      if (ownSim) await sim.close();
      if (ownsKeys) await removeTestKeys(prefix);
    },
  };
}

/**
 * compose() as src/server.ts uses it: the SDK's calls to the composed Vonage host (or sandbox simulator)
 * go through the same fetch as in production (src/vonage/sdk-fetch.ts), over the global dispatcher.
 */
export async function composeAsServer(
  config: Config,
  logger: Logger,
  options: ComposeOptions = {},
): Promise<Composed> {
  const composed = await compose(config, logger, options);
  installSdkFetch(getGlobalDispatcher(), composed.vonageHost);
  return composed;
}

type Built = Pick<Harness, 'http' | 'config' | 'composed' | 'logs' | 'as'>;

/** The service from a config: composed with the shared clock, every log line kept, supertest over it. */
async function build(
  config: Config,
  clock: VirtualClock,
  options: { guardSweepMs?: number } = {},
): Promise<Built> {
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk, _encoding, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const composed = await composeAsServer(config, createLogger(config.LOG_LEVEL, sink), {
    clock,
    defaultMetrics: false,
    ...(options.guardSweepMs !== undefined ? { guardSweepMs: options.guardSweepMs } : {}),
  });
  const http = supertest(composed.app);
  const as = (caller: keyof typeof KEYS) => ({
    post: (path: string, body?: unknown) =>
      http
        .post(path)
        .set('Authorization', `Bearer ${KEYS[caller]}`)
        .send(body as object),
    get: (path: string) => http.get(path).set('Authorization', `Bearer ${KEYS[caller]}`),
  });
  return { http, config, composed, logs, as };
}

/** The Vonage application of the v2 tests: a throwaway key pair, made once per test file. */
let v2Keys: { publicKey: string; privateKey: string } | undefined;
export function v2Application(): { applicationId: string; publicKey: string; privateKey: string } {
  v2Keys ??= generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { applicationId: 'c0ffee00-0000-4000-8000-00000000a002', ...v2Keys };
}
export const V2_SIGNATURE_SECRET = 'test-signature-secret-0123456789';

export interface V2Harness extends Built {
  sim: RunningV2Simulator;
  clock: VirtualClock;
  prefix: string;
  /** Where the service listens for Vonage's callbacks (the simulator sends them there). */
  webhookUrl: string;
  close(): Promise<void>;
}

/**
 * The whole service on Verify v2 (VONAGE_VERIFY_API=v2 with application credentials), the real SDK over
 * HTTP to the v2 simulator on the shared virtual clock, listening on a loopback port so the simulator's
 * signed callbacks reach its webhook.
 */
export async function startV2Harness(
  options: { env?: Record<string, string>; redis?: boolean; sim?: Partial<StartV2SimulatorOptions> } = {},
): Promise<V2Harness> {
  const clock = new VirtualClock(Date.UTC(2026, 0, 1, 12));
  const app = v2Application();
  const sim = await startVerifyV2Simulator({
    applicationId: app.applicationId,
    publicKey: app.publicKey,
    signatureSecret: V2_SIGNATURE_SECRET,
    clock,
    callbackRetryDelayMs: 20,
    ...options.sim,
  });
  const prefix = testPrefix();
  const config = loadConfig({
    API_KEYS: `alpha:${KEYS.alpha},beta:${KEYS.beta}`,
    VONAGE_VERIFY_API: 'v2',
    // As startHarness: the account rate, call budget, prefix velocity and guard stay out of the way.
    VONAGE_MAX_REQUESTS_PER_SECOND: '100000',
    LIMIT_VONAGE_CALLS_PER_CALLER: '1000000/1m',
    LIMIT_SENDS_PER_PREFIX: '1000000/1h',
    PUMPING_GUARD: 'off',
    VONAGE_APPLICATION_ID: app.applicationId,
    VONAGE_PRIVATE_KEY: app.privateKey,
    VONAGE_SIGNATURE_SECRET: V2_SIGNATURE_SECRET,
    VONAGE_API_HOST: sim.url,
    VONAGE_TIMEOUT_MS: '2000',
    REDIS_KEY_PREFIX: prefix,
    LOG_LEVEL: 'debug',
    ...(options.redis === false ? {} : { REDIS_URL: testRedisUrl() }),
    ...options.env,
  });
  const built = await build(config, clock);
  const server: Server = createServer(built.composed.app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const webhookUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks/vonage/verify`;
  sim.setCallbackUrl(webhookUrl);
  return {
    ...built,
    sim,
    clock,
    prefix,
    webhookUrl,
    close: async () => {
      await sim.close();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
      await built.composed.close();
      if (options.redis !== false) await removeTestKeys(prefix);
    },
  };
}

/** The code the v2 simulator's current step accepts. */
export function codeForV2(sim: RunningV2Simulator, requestId: string): string {
  const code = sim.simulator.currentCode(requestId);
  if (!code) throw new Error(`simulator has no code for ${requestId}`);
  return code;
}

/** Two app instances over one Redis prefix, one simulator and one virtual clock: two replicas. */
export interface Pair {
  a: Harness;
  b: Harness;
  /** Instance i % 2: alternate requests between the two. */
  at(i: number): Harness;
  close(): Promise<void>;
}

export async function startPair(env: Record<string, string> = {}): Promise<Pair> {
  const a = await startHarness({ env });
  const b = await startHarness({
    env,
    sim: a.sim,
    simUrl: a.config.VONAGE_API_HOST,
    clock: a.clock,
    prefix: a.prefix,
  });
  return {
    a,
    b,
    at: (i) => (i % 2 === 0 ? a : b),
    close: async () => {
      // b first: a owns the simulator.
      await b.close();
      await a.close();
    },
  };
}

/** A fresh valid UK mobile number for each test, so tests never share data. */
export function ukMobile(): string {
  return `+447400${String(Math.floor(Math.random() * 1_000_000)).padStart(6, '0')}`;
}

/** The code the simulator delivered for a verification. */
export function codeFor(sim: VerifySimulator, requestId: string): string {
  const code = sim.currentCode(requestId);
  if (!code) throw new Error(`simulator has no code for ${requestId}`);
  return code;
}
