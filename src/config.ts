// Configuration: one zod schema over the environment, parsed once at start-up.
// A bad environment fails with every problem listed, not just the first.

import { createPrivateKey } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { type CountryCode, getCountries, parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { z } from 'zod';

const DURATION_UNITS_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

export interface LimitRule {
  /** Allowed events in one window; the next one is refused. */
  count: number;
  windowMs: number;
  /** As written in the environment, for messages and docs. */
  text: string;
}

/** Parses `count/window`, e.g. `5/1h`, `100/1m`, `20/30s`; a bare unit means one of it (`5/h`). */
export function parseLimitRule(text: string): LimitRule | string {
  const match = /^\s*(\d+)\s*\/\s*(\d*)\s*(ms|s|m|h|d)\s*$/.exec(text);
  if (!match) return `must look like 5/1h, 100/1m or 20/30s (count/window), got "${text}"`;
  const count = Number(match[1]);
  const amount = match[2] === '' ? 1 : Number(match[2]);
  const unit = DURATION_UNITS_MS[match[3] ?? ''] ?? 0;
  const windowMs = amount * unit;
  if (count < 1) return 'count must be at least 1';
  if (windowMs < 1000) return 'window must be at least 1s';
  return { count, windowMs, text: text.trim() };
}

/** The value of a LIMIT_* variable: one or more rules, all of which apply (`300/1m,20000/1d`). */
export interface Limit {
  rules: LimitRule[];
  /** As written in the environment, for messages and docs. */
  text: string;
}

/** Parses one or more comma-separated rules; every rule applies. */
export function parseLimit(text: string): Limit | string {
  const parts = text.split(',').map((part) => part.trim());
  const rules: LimitRule[] = [];
  for (const part of parts) {
    const rule = parseLimitRule(part);
    if (typeof rule === 'string') return rule;
    rules.push(rule);
  }
  return { rules, text: rules.map((rule) => rule.text).join(',') };
}

/** The longest window of a limit: how long its counts must be kept. */
export function longestWindowMs(limit: Limit): number {
  return Math.max(...limit.rules.map((rule) => rule.windowMs));
}

const toLimit = (value: string, ctx: z.RefinementCtx): Limit => {
  const limit = parseLimit(value);
  if (typeof limit === 'string') {
    ctx.addIssue({ code: 'custom', message: limit });
    return z.NEVER;
  }
  return limit;
};

const limitRule = (fallback: string) => z.string().default(fallback).transform(toLimit);

/** A limit that is off unless set. */
const optionalLimit = z
  .string()
  .optional()
  .transform((value, ctx) => (value === undefined || value.trim() === '' ? undefined : toLimit(value, ctx)));

/** A duration like `24h`, `30m`, `90s`, `1500ms` or `7d` (a bare number is seconds), in ms, within bounds. */
const duration = (fallback: string, minMs: number, maxMs: number) =>
  z
    .string()
    .default(fallback)
    .transform((value, ctx) => {
      const match = /^\s*(\d+)\s*(ms|s|m|h|d)?\s*$/.exec(value);
      const ms = match ? Number(match[1]) * (DURATION_UNITS_MS[match[2] ?? 's'] ?? 0) : Number.NaN;
      if (!(ms >= minMs && ms <= maxMs)) {
        ctx.addIssue({
          code: 'custom',
          message: `must be a duration like 24h, 30m or 90s, from ${minMs / 1000}s to ${maxMs / 86_400_000}d, got "${value}"`,
        });
        return z.NEVER;
      }
      return ms;
    });

const intInRange = (fallback: number, min: number, max: number) =>
  z.coerce.number().int().min(min).max(max).default(fallback);

const optionalText = z
  .string()
  .optional()
  .transform((value) => (value === undefined || value.trim() === '' ? undefined : value.trim()));

const list = (value: string | undefined): string[] =>
  (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');

/** PUMPING_SAFELIST: E.164 numbers or prefixes of them (`+4474001`). */
const safelist = optionalText.transform((value, ctx) => {
  const entries = list(value);
  for (const entry of entries) {
    if (!/^\+\d{1,15}$/.test(entry))
      ctx.addIssue({ code: 'custom', message: `"${entry}" is not an E.164 number or prefix like +4474001` });
  }
  return entries;
});

const CALLER_NAME = /^[A-Za-z0-9_.-]{1,64}$/;

/** The sandbox's documented key: public, so never a key of a service that sends real codes. */
export const SANDBOX_API_KEY = 'dev-key';
/** Production keys must be at least this long (`openssl rand -hex 32` gives 64). */
export const MIN_PRODUCTION_KEY_LENGTH = 32;

const apiKeys = optionalText.transform((value, ctx) => {
  const callers = new Map<string, string>();
  for (const pair of list(value)) {
    const separator = pair.indexOf(':');
    const caller = separator > 0 ? pair.slice(0, separator) : '';
    const key = separator > 0 ? pair.slice(separator + 1) : '';
    if (/\s/.test(key)) {
      ctx.addIssue({
        code: 'custom',
        message: `caller "${caller}": the key contains whitespace, so no Authorization header could ever carry it`,
      });
      continue;
    }
    if (!CALLER_NAME.test(caller) || key.length === 0) {
      // The pair is not echoed: it would print a secret into the start-up log.
      ctx.addIssue({
        code: 'custom',
        message: 'each entry must be caller:key, caller made of letters, digits, _ . - (entry not shown)',
      });
      continue;
    }
    if (callers.has(caller)) ctx.addIssue({ code: 'custom', message: `caller "${caller}" is listed twice` });
    if ([...callers.values()].includes(key)) {
      ctx.addIssue({ code: 'custom', message: `caller "${caller}" reuses another caller's key` });
    }
    callers.set(caller, key);
  }
  return callers;
});

const allowedCountries = optionalText.transform((value, ctx) => {
  const known = new Set<string>(getCountries());
  const countries = list(value).map((code) => code.toUpperCase());
  for (const code of countries) {
    if (!known.has(code))
      ctx.addIssue({ code: 'custom', message: `"${code}" is not an ISO 3166 alpha-2 code` });
  }
  return countries.length > 0 ? new Set(countries as CountryCode[]) : undefined;
});

const testNumbers = optionalText.transform((value, ctx) => {
  const numbers = new Map<string, string>();
  for (const [position, pair] of list(value).entries()) {
    const separator = pair.lastIndexOf(':');
    const phone = parsePhoneNumberFromString(separator > 0 ? pair.slice(0, separator) : '');
    const code = separator > 0 ? pair.slice(separator + 1) : '';
    if (!phone || !/^\d{4,6}$/.test(code)) {
      ctx.addIssue({
        code: 'custom',
        message: `entry ${position + 1} must be +E164number:code with a 4-6 digit code (not shown)`,
      });
      continue;
    }
    numbers.set(phone.number, code);
  }
  return numbers;
});

/** Express `trust proxy`: hop count or addresses/subnets; `true` would let any client pick its own address. */
const trustProxy = optionalText.transform((value, ctx): number | string[] | false => {
  if (value === undefined || value === 'false' || value === '0') return false;
  if (/^\d+$/.test(value)) return Number(value);
  if (value === 'true' || value === '*') {
    ctx.addIssue({
      code: 'custom',
      message:
        'true would trust any X-Forwarded-For a client sends; give the number of proxy hops (e.g. 1) or their addresses',
    });
    return z.NEVER;
  }
  return list(value);
});

const corsOrigins = optionalText.transform((value, ctx) => {
  const origins = list(value);
  for (const origin of origins) {
    let ok = false;
    try {
      ok = new URL(origin).origin === origin;
    } catch {
      ok = false;
    }
    if (!ok)
      ctx.addIssue({ code: 'custom', message: `"${origin}" is not an origin like https://app.example.com` });
  }
  return origins.length > 0 ? origins : undefined;
});

/** A Redis key prefix: braces would start a hash tag of their own, whitespace breaks redis-cli scans. */
const redisKeyPrefix = z
  .string()
  .max(64)
  .default('otp:')
  .refine((value) => !/[{}\s]/.test(value), 'must not contain {, } or whitespace');

const booleanFlag = z
  .enum(['true', 'false', '1', '0', ''])
  .optional()
  .transform((value) => value === 'true' || value === '1');

const NODE_ENVS = new Set(['development', 'test', 'production']);

/**
 * VONAGE_PRIVATE_KEY: PEM text, or a path to a PEM file; parsed now so a wrong key stops the start instead
 * of failing every call (the SDK would use a missing path as the key text). The key never appears in a
 * message: problems name the variable only.
 */
const privateKey = optionalText.transform((value, ctx): string | undefined => {
  if (value === undefined) return undefined;
  let pem = value.replace(/\\n/g, '\n');
  if (!pem.includes('-----BEGIN')) {
    if (!existsSync(value)) {
      ctx.addIssue({ code: 'custom', message: 'is neither PEM text nor the path of a readable file' });
      return z.NEVER;
    }
    try {
      pem = readFileSync(value, 'utf8');
    } catch {
      ctx.addIssue({ code: 'custom', message: 'names a file that cannot be read' });
      return z.NEVER;
    }
  }
  try {
    const key = createPrivateKey(pem);
    if (key.asymmetricKeyType === 'rsa') return pem;
  } catch {
    // Reported below without the parser's message, which could quote the key.
  }
  ctx.addIssue({ code: 'custom', message: 'must be an RSA private key in PEM form (key not shown)' });
  return z.NEVER;
});

/** The namespaces of `debug` the Vonage SDK writes secrets to (docs/vonage-verify-v2.md, "Secrets"). */
const LEAKY_DEBUG_NAMESPACES = ['vonage:jwt:tokenGenerate', 'vonage:server-client', 'vonage:auth'];

/** Whether a DEBUG value (the `debug` package's syntax: comma/space list, `*` wildcards, `-` to skip) enables a namespace. */
export function debugEnables(debug: string, namespace: string): boolean {
  const patterns = debug.split(/[\s,]+/).filter((p) => p !== '');
  const matches = (pattern: string) =>
    new RegExp(`^${pattern.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*?')}$`).test(namespace);
  if (patterns.some((p) => p.startsWith('-') && matches(p.slice(1)))) return false;
  return patterns.some((p) => !p.startsWith('-') && matches(p));
}

// Cross-field checks run even when single fields failed, so a bad environment lists every problem at once.
const WHEN_ALWAYS = { when: () => true };

/** One field per environment variable; the README and .env.example document exactly these. */
export const configFields = z.object({
  // Exactly these: a look-alike (Production, prod) would otherwise run with none of production's checks.
  NODE_ENV: z
    .string()
    .default('development')
    .refine((value) => NODE_ENVS.has(value), 'must be development, test or production (exactly)'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  API_KEYS: apiKeys,
  VONAGE_API_KEY: optionalText,
  VONAGE_API_SECRET: optionalText,
  VONAGE_VERIFY_API: z.enum(['v1', 'v2']).default('v1'),
  VONAGE_APPLICATION_ID: optionalText,
  VONAGE_PRIVATE_KEY: privateKey,
  VONAGE_SIGNATURE_SECRET: optionalText,
  VONAGE_WHATSAPP_FROM: optionalText.refine(
    (value) => value === undefined || /^\+?[1-9]\d{6,14}$/.test(value),
    'must be the WhatsApp Business number in E.164 (digits, optional leading +)',
  ),
  /** Read only to refuse what would print secrets: the SDK's debug output includes the private key. */
  DEBUG: optionalText,
  VONAGE_API_HOST: z.url({ protocol: /^https?$/ }).default('https://api.nexmo.com'),
  VONAGE_TIMEOUT_MS: intInRange(10_000, 100, 120_000),
  VONAGE_BRAND_NAME: z.string().min(1).max(18).default('MyApp'),
  VERIFY_CODE_LENGTH: z.coerce
    .number()
    .refine((n) => n === 4 || n === 6, 'must be 4 or 6')
    .default(6),
  VERIFY_PIN_EXPIRY: intInRange(300, 60, 3600),
  VERIFY_WORKFLOW_ID: intInRange(1, 1, 7),
  REDIS_URL: optionalText,
  REDIS_CLUSTER: booleanFlag,
  REDIS_KEY_PREFIX: redisKeyPrefix,
  ALLOWED_COUNTRIES: allowedCountries,
  TEST_NUMBERS: testNumbers,
  LIMIT_SENDS_PER_NUMBER: limitRule('5/1h'),
  LIMIT_SENDS_PER_CALLER: limitRule('300/1m'),
  LIMIT_FAILED_CHECKS_PER_NUMBER: limitRule('10/1h'),
  LIMIT_AUTH_FAILURES_PER_IP: limitRule('20/1m'),
  IDEMPOTENCY_TTL: duration('24h', 1000, 30 * 86_400_000),
  LIMIT_SENDS_PER_PREFIX: limitRule('30/1h'),
  LIMIT_SENDS_PER_COUNTRY: optionalLimit,
  LIMIT_VONAGE_CALLS_PER_CALLER: limitRule('600/1m'),
  VONAGE_MAX_REQUESTS_PER_SECOND: intInRange(25, 1, 100_000),
  PUMPING_GUARD: z.enum(['enforce', 'shadow', 'off']).default('enforce'),
  PUMPING_WINDOW: duration('1h', 1000, 30 * 86_400_000),
  PUMPING_MIN_SETTLED: intInRange(20, 1, 1_000_000),
  PUMPING_MIN_CONVERSION: z.coerce.number().min(0).max(1).default(0.2),
  PUMPING_BLOCK: duration('1h', 1000, 30 * 86_400_000),
  PUMPING_SAFELIST: safelist,
  ADMIN_API_KEY: optionalText.refine(
    (value) => value === undefined || /^\S{16,}$/.test(value),
    'must be at least 16 characters without spaces (value not shown)',
  ),
  TRUST_PROXY: trustProxy,
  CORS_ORIGINS: corsOrigins,
  METRICS_TOKEN: optionalText.refine(
    (value) => value === undefined || !/\s/.test(value),
    'must not contain whitespace',
  ),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

type Fields = z.output<typeof configFields>;
type Issues = z.core.$RefinementCtx<Fields>;

const issue = (ctx: Issues, path: string, message: string) =>
  ctx.addIssue({ code: 'custom', path: [path], message });

/** Which Vonage credentials are set: v1's key and secret, v2's application id and private key. */
function credentialsOf(env: Fields): { v1: boolean; v2: boolean } {
  return {
    v1: env.VONAGE_API_KEY !== undefined || env.VONAGE_API_SECRET !== undefined,
    v2: env.VONAGE_APPLICATION_ID !== undefined || env.VONAGE_PRIVATE_KEY !== undefined,
  };
}

/** Credentials come in pairs, and must be those of the API version that VONAGE_VERIFY_API picks. */
function checkCredentials(env: Fields, ctx: Issues): void {
  if ((env.VONAGE_API_KEY === undefined) !== (env.VONAGE_API_SECRET === undefined)) {
    issue(ctx, 'VONAGE_API_SECRET', 'set both VONAGE_API_KEY and VONAGE_API_SECRET, or neither');
  }
  if ((env.VONAGE_APPLICATION_ID === undefined) !== (env.VONAGE_PRIVATE_KEY === undefined)) {
    issue(ctx, 'VONAGE_PRIVATE_KEY', 'set both VONAGE_APPLICATION_ID and VONAGE_PRIVATE_KEY, or neither');
  }
  const has = credentialsOf(env);
  if (env.VONAGE_VERIFY_API === 'v1' && has.v2 && !has.v1) {
    issue(
      ctx,
      'VONAGE_VERIFY_API',
      'is v1 (the default), but only v2 credentials (VONAGE_APPLICATION_ID, VONAGE_PRIVATE_KEY) are set: set VONAGE_VERIFY_API=v2 or the v1 VONAGE_API_KEY and VONAGE_API_SECRET',
    );
  }
  if (env.VONAGE_VERIFY_API === 'v2' && has.v1 && !has.v2) {
    issue(
      ctx,
      'VONAGE_VERIFY_API',
      'is v2, but only v1 credentials (VONAGE_API_KEY, VONAGE_API_SECRET) are set: set VONAGE_APPLICATION_ID and VONAGE_PRIVATE_KEY, or VONAGE_VERIFY_API=v1',
    );
  }
}

/**
 * Keys that would let anyone in where real codes are sent: the sandbox's public key with real
 * credentials, and in production short keys. Callers are named, keys never shown.
 */
function checkApiKeys(env: Fields, ctx: Issues, sandbox: boolean, production: boolean): void {
  const keys = env.API_KEYS instanceof Map ? env.API_KEYS : new Map<string, string>();
  if (!sandbox && keys.size === 0) issue(ctx, 'API_KEYS', 'required when Vonage credentials are set');
  for (const [caller, key] of keys) {
    if (key === SANDBOX_API_KEY && (production || !sandbox)) {
      issue(
        ctx,
        'API_KEYS',
        `caller "${caller}" uses the sandbox key, which is published in the README; give it a long random key (openssl rand -hex 32)`,
      );
    } else if (production && key.length < MIN_PRODUCTION_KEY_LENGTH) {
      issue(
        ctx,
        'API_KEYS',
        `caller "${caller}": keys must be at least ${MIN_PRODUCTION_KEY_LENGTH} characters with NODE_ENV=production (openssl rand -hex 32)`,
      );
    }
  }
}

export const configSchema = configFields
  .superRefine((env, ctx) => {
    const has = credentialsOf(env);
    const sandbox = !has.v1 && !has.v2;
    const production = env.NODE_ENV === 'production';
    checkCredentials(env, ctx);
    const leaky = LEAKY_DEBUG_NAMESPACES.find((ns) => env.DEBUG !== undefined && debugEnables(env.DEBUG, ns));
    if (leaky) {
      issue(
        ctx,
        'DEBUG',
        `enables ${leaky}, where the Vonage SDK prints the private key and tokens; refusing to start (exclude it with -vonage:*)`,
      );
    }
    checkApiKeys(env, ctx, sandbox, production);
    if (sandbox && production) {
      issue(
        ctx,
        'VONAGE_API_KEY',
        'sandbox mode (no Vonage credentials) refuses to start with NODE_ENV=production',
      );
    }
    if (production && env.REDIS_URL === undefined) {
      issue(
        ctx,
        'REDIS_URL',
        'required with NODE_ENV=production: the in-memory store is one process only and forgets every verification on restart',
      );
    }
    if (env.REDIS_CLUSTER && env.REDIS_URL === undefined) {
      issue(ctx, 'REDIS_URL', 'REDIS_CLUSTER=true needs seed nodes in REDIS_URL');
    }
    const schemes = new Set(
      list(env.REDIS_URL).map((seed) => (seed.startsWith('rediss://') ? 'tls' : 'plain')),
    );
    if (schemes.size > 1) {
      issue(ctx, 'REDIS_URL', 'mixes redis:// and rediss:// seeds: use rediss:// for all of a TLS cluster');
    }
  }, WHEN_ALWAYS)
  .transform((env) => {
    const has = credentialsOf(env);
    const sandbox = !has.v1 && !has.v2;
    const apiKeys = env.API_KEYS.size > 0 ? env.API_KEYS : new Map([['local', SANDBOX_API_KEY]]);
    return { ...env, API_KEYS: apiKeys, sandbox };
  });

export type Config = z.output<typeof configSchema>;

/**
 * Vonage calls one request may make in a row, each bounded by VONAGE_TIMEOUT_MS: start, the cancel of
 * the caller's in-flight verification (status 10), start again, and the cancel that abandons a start
 * the store could not record.
 */
export const LONGEST_VONAGE_CALLS = 4;
/** What the store's own round trips may add to one request (each bounded by the 1 s command timeout). */
const STORE_ALLOWANCE_MS = 5_000;

/**
 * The per-number lock: held for at most `ttlMs` (the longest path of one request, so it never expires
 * under a live holder), waited for at most `waitMs` (one Vonage call and a second) before a racing
 * request answers 409 verification_in_progress.
 */
export function lockTimings(vonageTimeoutMs: number): { ttlMs: number; waitMs: number } {
  return {
    ttlMs: vonageTimeoutMs * LONGEST_VONAGE_CALLS + STORE_ALLOWANCE_MS,
    waitMs: vonageTimeoutMs + 1_000,
  };
}

/**
 * How long a stopping instance lets in-flight requests finish before it cuts their connections: long
 * enough for the slowest request (a wait for the number's lock, then the longest path under it) plus
 * 2 s: 58 s with the default VONAGE_TIMEOUT_MS. Orchestrators must wait longer than this (compose
 * stop_grace_period, Kubernetes terminationGracePeriodSeconds); the deployment tests hold them to it.
 */
export function shutdownGraceMs(config: Pick<Config, 'VONAGE_TIMEOUT_MS'>): number {
  const lock = lockTimings(config.VONAGE_TIMEOUT_MS);
  return lock.waitMs + lock.ttlMs + 2_000;
}

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/** Parses the environment (after dotenv), throwing a ConfigError that lists every problem. */
export function loadConfig(env: NodeJS.ProcessEnv): Config {
  const result = configSchema.safeParse(env);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = issue.path.join('.') || 'environment';
    return `${name}: ${issue.message}`;
  });
  throw new ConfigError(problems);
}
