// The composition root, the only place that picks implementations: builds every real dependency from
// the parsed config (Redis or memory store, the Vonage SDK, the simulator in sandbox mode), wires the
// verification service and hands everything to createServiceApp (the Express app behind the refusal
// and request-token fast paths). Used by src/server.ts and by tests that need
// the whole service as it runs in production.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import type { RequestListener } from 'node:http';
import { Auth } from '@vonage/auth';
import { Vonage } from '@vonage/server-sdk';
import type { Express } from 'express';
import { type Clock, systemClock } from './clock';
import { type Config, lockTimings } from './config';
import { type AppDeps, createServiceApp } from './http/app';
import { mountDocs } from './http/docs/page';
import type { ExactDispatch } from './http/exact-dispatch';
import type { SandboxFilter, SandboxInbox } from './http/ops-routes';
import type { RefusalFastPath } from './http/refusal-fast-path';
import { RefusalLog } from './http/refusal-log';
import type { StartFastPath } from './http/start-fast-path';
import type { Logger } from './logger';
import { Metrics } from './metrics';
import { type DeliveredMessage, VerifySimulator } from './simulator/v1/simulator';
import { type RunningV2Simulator, startVerifyV2Simulator } from './simulator/v2';
import type { GuardStore } from './store/guard';
import type { IdempotencyStore } from './store/idempotency';
import type { RateLimiter } from './store/limiter';
import { MemoryGuardStore } from './store/memory/guard';
import { MemoryIdempotencyStore } from './store/memory/idempotency';
import { MemoryRateLimiter } from './store/memory/limiter';
import { MemoryVerificationStore } from './store/memory/store';
import { OverLimitCache } from './store/over-limit-cache';
import {
  connectRedis,
  createRedisClient,
  deleteKeysWithPrefix,
  type RedisClient,
} from './store/redis/client';
import { RedisGuardStore } from './store/redis/guard';
import { RedisIdempotencyStore } from './store/redis/idempotency';
import { RedisKeys } from './store/redis/keys';
import { RedisRateLimiter } from './store/redis/limiter';
import { RedisVerificationStore } from './store/redis/store';
import type { VerificationStore } from './store/store';
import { AbuseGuard } from './verification/abuse-guard';
import type { ServiceSettings } from './verification/types';
import { VerifyService } from './verification/verify-service';
import type { CallObserver, VerifyGateway } from './vonage/gateway';
import { type SdkVerifyClient, VonageVerifyGateway } from './vonage/v1/gateway';
import { type SdkVerify2Client, VonageVerifyV2Gateway } from './vonage/v2/gateway';

export interface Composed {
  /** What the server listens with: the fast paths in front of the Express app. */
  app: RequestListener;
  /** The Express app alone (every request through Express; tests compare it with `app`). */
  express: Express;
  /** The fast path in front of it (how many refusals it answered). */
  fastPath: RefusalFastPath;
  /** The request-token fast path behind that (how many request-tokens it refused). */
  startFastPath: StartFastPath;
  /** The exact /api POSTs run without Express's router (how many it ran). */
  exactDispatch: ExactDispatch;
  service: VerifyService;
  /** The abuse guard (tests call sweep() on their virtual clock). */
  guard: AbuseGuard;
  metrics: Metrics;
  limiter: RateLimiter;
  redis?: RedisClient;
  simulator?: VerifySimulator;
  /** The Verify v2 simulator of a v2 sandbox. */
  simulatorV2?: RunningV2Simulator;
  /** Where the SDK sends Verify calls. */
  vonageHost: string;
  /** A v2 sandbox: where its simulator sends callbacks (the service's own webhook, once it listens). */
  setCallbackUrl?(url: string): void;
  /** Closes Redis and the sandbox simulator. */
  close(): Promise<void>;
}

export interface ComposeOptions {
  clock?: Clock;
  /** Reuse a simulator (tests); in sandbox mode one is started otherwise. */
  simulator?: VerifySimulator;
  docs?: AppDeps['docs'];
  defaultMetrics?: boolean;
  /** Replaces the store built from the config (tests that make the store fail at a chosen step). */
  store?: VerificationStore;
  /** How often this instance sweeps the abuse guard's expired codes and ended blocks; 0 = never. */
  guardSweepMs?: number;
}

/** Every instance sweeps this often; the store hands each expiry and block end to one instance. */
const GUARD_SWEEP_MS = 5_000;

export async function compose(
  config: Config,
  logger: Logger,
  options: ComposeOptions = {},
): Promise<Composed> {
  const clock = options.clock ?? systemClock;
  const metrics = new Metrics({ defaultMetrics: options.defaultMetrics ?? true });
  const storage = await buildStorage(config, logger, clock);
  const store = options.store ?? storage.store;
  const observe: CallObserver = (op, outcome, seconds) => metrics.observeVonage(op, outcome, seconds);
  const vonage =
    config.VONAGE_VERIFY_API === 'v2'
      ? await connectVonageV2(config, clock, observe)
      : await connectVonage(config, clock, observe, options.simulator);
  const guard = buildGuard(config, storage, clock, metrics, logger);
  const sweepMs = options.guardSweepMs ?? GUARD_SWEEP_MS;
  const sweeper =
    sweepMs > 0
      ? setInterval(() => {
          guard.sweep().catch((error: unknown) => logger.warn({ err: error }, 'abuse guard: sweep failed'));
        }, sweepMs)
      : undefined;
  sweeper?.unref();
  const service = new VerifyService({
    store,
    limiter: storage.limiter,
    gateway: vonage.gateway,
    clock,
    guard,
    settings: serviceSettings(config),
    onFunnel: (caller, event) => metrics.observeFunnel(caller, event),
  });
  // The app's limiter counts failed authentications only: slots never given back, so an address over
  // its limit is refused from memory until its window has room (no Redis call per refused request).
  const authLimiter = new OverLimitCache(storage.limiter, clock, new Set(['authFailuresPerIp']));
  const clearAll = async () => {
    authLimiter.clear();
    service.forgetRefusals();
    await storage.clear();
  };
  const sandbox = !config.sandbox
    ? undefined
    : vonage.simulator
      ? sandboxInbox(vonage.simulator, clearAll)
      : vonage.simulatorV2
        ? sandboxInboxV2(vonage.simulatorV2, clearAll)
        : undefined;
  // Folds refusals' completion lines in floods; its last count is written when the service closes.
  const refusalLog = new RefusalLog(logger);
  const served = createServiceApp({
    config,
    refusalLog,
    service,
    store,
    limiter: authLimiter,
    guard,
    logger,
    metrics,
    idempotency: {
      store: storage.idempotency,
      ttlMs: config.IDEMPOTENCY_TTL,
      leaseMs: idempotencyLeaseMs(config.VONAGE_TIMEOUT_MS),
    },
    ...(sandbox ? { sandbox } : {}),
    webhook: { signatureSecret: vonage.signatureSecret },
    docs: options.docs ?? mountDocs({ sandbox: config.sandbox }),
  });
  const { redis } = storage;
  return {
    app: served.listener,
    express: served.express,
    fastPath: served.fastPath,
    startFastPath: served.startFastPath,
    exactDispatch: served.exactDispatch,
    service,
    guard,
    metrics,
    limiter: storage.limiter,
    ...(redis ? { redis } : {}),
    ...(vonage.simulator ? { simulator: vonage.simulator } : {}),
    ...(vonage.simulatorV2
      ? {
          simulatorV2: vonage.simulatorV2,
          setCallbackUrl: (url: string) => vonage.simulatorV2?.setCallbackUrl(url),
        }
      : {}),
    vonageHost: vonage.host,
    close: async () => {
      if (sweeper) clearInterval(sweeper);
      refusalLog.close();
      if (redis) {
        // QUIT lets queued replies drain; when Redis is away it fails at once, and disconnect() also
        // stops the reconnect timer, which would otherwise keep the process alive.
        await redis.quit().catch(() => undefined);
        redis.disconnect(false);
      }
      if (vonage.ownSimulator) await (vonage.simulator ?? vonage.simulatorV2)?.close();
    },
  };
}

/**
 * How long a running request holds its Idempotency-Key before it must renew: longer than the slowest
 * request (a wait for the number's lock, then the longest path under it; see lockTimings) by 2 s, the
 * bound the shutdown grace uses too: 58 s with the default VONAGE_TIMEOUT_MS.
 */
export function idempotencyLeaseMs(vonageTimeoutMs: number): number {
  const lock = lockTimings(vonageTimeoutMs);
  return lock.waitMs + lock.ttlMs + 2_000;
}

interface Storage {
  redis?: RedisClient;
  store: VerificationStore;
  limiter: RateLimiter;
  idempotency: IdempotencyStore;
  guardStore: GuardStore;
  /** Forgets every verification and limit window (the sandbox's reset); with Redis, its prefix's keys. */
  clear(): Promise<void>;
}

/** Redis when REDIS_URL is set (connected before the service starts), else the in-memory store. */
async function buildStorage(config: Config, logger: Logger, clock: Clock): Promise<Storage> {
  if (config.REDIS_URL) {
    const redis = createRedisClient({ url: config.REDIS_URL, cluster: config.REDIS_CLUSTER });
    redis.on('error', (error: Error) => logger.warn({ err: error }, 'redis connection problem'));
    await connectRedis(redis);
    const keys = new RedisKeys(config.REDIS_KEY_PREFIX);
    return {
      redis,
      store: new RedisVerificationStore(redis, keys, clock),
      limiter: new RedisRateLimiter(redis, keys, clock),
      idempotency: new RedisIdempotencyStore(redis, keys),
      guardStore: new RedisGuardStore(redis, keys),
      clear: async () => {
        await deleteKeysWithPrefix(redis, config.REDIS_KEY_PREFIX);
      },
    };
  }
  logger.warn('REDIS_URL is not set: using the in-memory store (one instance only, lost on restart)');
  const limiter = new MemoryRateLimiter(clock);
  const store = new MemoryVerificationStore(clock, limiter);
  const idempotency = new MemoryIdempotencyStore(clock);
  const guardStore = new MemoryGuardStore(limiter, clock);
  const clear = async () => {
    store.clear();
    limiter.clear();
    idempotency.clear();
    guardStore.clear();
  };
  return { store, limiter, idempotency, guardStore, clear };
}

interface VonageConnection {
  gateway: VerifyGateway;
  /** Where the SDK sends Verify calls. */
  host: string;
  simulator?: VerifySimulator;
  simulatorV2?: RunningV2Simulator;
  /** The simulator was started here, so close() stops it. */
  ownSimulator: boolean;
  /** Verifies Vonage's callbacks (v2); generated in a v2 sandbox. */
  signatureSecret: string | undefined;
}

/** Verify v1 through the SDK against Vonage, or in sandbox mode against the simulator on a loopback port. */
async function connectVonage(
  config: Config,
  clock: Clock,
  observe: CallObserver,
  given: VerifySimulator | undefined,
): Promise<VonageConnection> {
  let simulator = given;
  let ownSimulator = false;
  let host = config.VONAGE_API_HOST;
  let credentials = { apiKey: config.VONAGE_API_KEY ?? '', apiSecret: config.VONAGE_API_SECRET ?? '' };
  if (config.sandbox) {
    credentials = { apiKey: 'sandbox', apiSecret: 'sandbox-secret' };
    if (!simulator) {
      simulator = new VerifySimulator({ ...credentials, clock });
      ownSimulator = true;
    }
    host = await simulator.listen(0, '127.0.0.1');
  }
  const vonage = new Vonage(credentials, { apiHost: host, timeout: config.VONAGE_TIMEOUT_MS });
  const gateway = new VonageVerifyGateway(vonage.verify as unknown as SdkVerifyClient, observe);
  return {
    gateway,
    host,
    ownSimulator,
    signatureSecret: config.VONAGE_SIGNATURE_SECRET,
    ...(simulator ? { simulator } : {}),
  };
}

/** The application a v2 sandbox signs as; its key pair is made at start-up and never leaves the process. */
export const SANDBOX_V2_APPLICATION_ID = 'sandbox-application';

/**
 * Verify v2 through the SDK's verify2 client (JWTs signed with the application's private key), or in
 * sandbox mode against the v2 simulator with a key pair and a callback signature secret made now.
 */
async function connectVonageV2(
  config: Config,
  clock: Clock,
  observe: CallObserver,
): Promise<VonageConnection> {
  let applicationId = config.VONAGE_APPLICATION_ID ?? '';
  let privateKey = config.VONAGE_PRIVATE_KEY ?? '';
  let signatureSecret = config.VONAGE_SIGNATURE_SECRET;
  let host = config.VONAGE_API_HOST;
  let simulatorV2: RunningV2Simulator | undefined;
  if (config.sandbox) {
    const pair = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    applicationId = SANDBOX_V2_APPLICATION_ID;
    privateKey = pair.privateKey;
    signatureSecret = signatureSecret ?? randomBytes(32).toString('hex');
    simulatorV2 = await startVerifyV2Simulator({
      applicationId,
      publicKey: pair.publicKey,
      signatureSecret,
      clock,
    });
    host = simulatorV2.url;
  }
  const vonage = new Vonage(new Auth({ applicationId, privateKey }), {
    apiHost: host,
    timeout: config.VONAGE_TIMEOUT_MS,
  });
  const gateway = new VonageVerifyV2Gateway(
    vonage.verify2 as unknown as SdkVerify2Client,
    { apiHost: host, whatsappFrom: config.VONAGE_WHATSAPP_FROM },
    observe,
  );
  return {
    gateway,
    host,
    signatureSecret,
    ownSimulator: simulatorV2 !== undefined,
    ...(simulatorV2 ? { simulatorV2 } : {}),
  };
}

function serviceSettings(config: Config): ServiceSettings {
  return {
    brand: config.VONAGE_BRAND_NAME,
    codeLength: config.VERIFY_CODE_LENGTH === 4 ? 4 : 6,
    pinExpirySeconds: config.VERIFY_PIN_EXPIRY,
    workflowId: config.VERIFY_WORKFLOW_ID,
    vonageTimeoutMs: config.VONAGE_TIMEOUT_MS,
    testNumbers: config.TEST_NUMBERS,
    allowedCountries: config.ALLOWED_COUNTRIES,
    limits: {
      sendsPerNumber: config.LIMIT_SENDS_PER_NUMBER,
      sendsPerCaller: config.LIMIT_SENDS_PER_CALLER,
      failedChecksPerNumber: config.LIMIT_FAILED_CHECKS_PER_NUMBER,
      vonageCallsPerCaller: config.LIMIT_VONAGE_CALLS_PER_CALLER,
    },
    vonageMaxRequestsPerSecond: config.VONAGE_MAX_REQUESTS_PER_SECOND,
  };
}

/** The abuse guard over the storage's guard store, reporting to the metrics. */
function buildGuard(
  config: Config,
  storage: Storage,
  clock: Clock,
  metrics: Metrics,
  logger: Logger,
): AbuseGuard {
  return new AbuseGuard(
    storage.guardStore,
    storage.limiter,
    clock,
    {
      mode: config.PUMPING_GUARD,
      sendsPerPrefix: config.LIMIT_SENDS_PER_PREFIX,
      sendsPerCountry: config.LIMIT_SENDS_PER_COUNTRY,
      windowMs: config.PUMPING_WINDOW,
      minSettled: config.PUMPING_MIN_SETTLED,
      minConversion: config.PUMPING_MIN_CONVERSION,
      blockMs: config.PUMPING_BLOCK,
      safelist: config.PUMPING_SAFELIST,
    },
    {
      decision: (scope, decision, reason) => metrics.observeGuardDecision(scope, decision, reason),
      activeBlocks: (count) => metrics.setGuardActiveBlocks(count),
    },
    logger,
  );
}

/** The simulator's "delivered" messages, with numbers in E.164 as the API answers them, and the reset. */
function sandboxInbox(simulator: VerifySimulator, clearStorage: () => Promise<void>): SandboxInbox {
  return {
    messages: (filter?: SandboxFilter) =>
      simulator
        .messages(filter)
        .map((message: DeliveredMessage) => ({ ...message, number: `+${message.number}` })),
    reset: async () => {
      simulator.reset();
      await clearStorage();
    },
  };
}

/** The v2 simulator's "delivered" messages in the same shape as v1's (`to` becomes `number`, in E.164). */
function sandboxInboxV2(simulator: RunningV2Simulator, clearStorage: () => Promise<void>): SandboxInbox {
  return {
    messages: (filter?: SandboxFilter) =>
      simulator
        .messages({
          ...(filter?.number ? { to: filter.number } : {}),
          ...(filter?.requestId ? { requestId: filter.requestId } : {}),
        })
        .map((message) => ({
          requestId: message.requestId,
          number: `+${message.to}`,
          channel: message.channel,
          code: message.code,
          brand: message.brand,
          text: message.text,
          at: message.at,
        })),
    reset: async () => {
      simulator.reset();
      await clearStorage();
    },
  };
}
