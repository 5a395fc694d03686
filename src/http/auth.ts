// Caller authentication: `Authorization: Bearer <key>` against API_KEYS in constant time, and the
// per-address limit on failed attempts (express-rate-limit over our shared limiter).

import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ipKeyGenerator, rateLimit, type Store } from 'express-rate-limit';
import { type Limit, longestWindowMs } from '../config';
import { errors } from '../errors';
import { limits, type RateLimiter } from '../store/limiter';

const digest = (value: string) => createHash('sha256').update(value).digest();

/** The token of `Authorization: Bearer <token>`, if the header has that form. */
function bearerToken(req: Request): string | undefined {
  const header = req.headers.authorization;
  const match = typeof header === 'string' ? /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header) : null;
  return match?.[1];
}

/** The caller name of an authenticated request, set by `authenticate`. */
export function callerOf(res: Response): string | undefined {
  return typeof res.locals.caller === 'string' ? res.locals.caller : undefined;
}

/**
 * Finds the caller for the bearer key. Every key is compared, over fixed-length digests, so the time
 * taken says nothing about which key or how much of it matched.
 */
export function createAuthenticator(apiKeys: Map<string, string>): RequestHandler {
  const known = [...apiKeys].map(([caller, key]) => ({ caller, digest: digest(key) }));
  return (req: Request, res: Response, next: NextFunction) => {
    const token = bearerToken(req);
    if (token !== undefined) {
      const given = digest(token);
      let caller: string | undefined;
      for (const entry of known) {
        if (timingSafeEqual(entry.digest, given)) caller = entry.caller;
      }
      if (caller !== undefined) res.locals.caller = caller;
    }
    next();
  };
}

/** A route only for the holder of `token` (Authorization: Bearer), compared in constant time; unset: open. */
export function requireBearer(token: string | undefined): RequestHandler {
  const expected = token === undefined ? undefined : digest(token);
  return (req, _res, next) => {
    if (expected === undefined) return next();
    const token = bearerToken(req);
    const given = digest(token ?? '');
    next(token !== undefined && timingSafeEqual(expected, given) ? undefined : errors.unauthorized());
  };
}

export const requireCaller: RequestHandler = (_req, res, next) => {
  next(callerOf(res) === undefined ? errors.unauthorized() : undefined);
};

/** express-rate-limit Store over our RateLimiter, so the count is shared and exact across instances. */
class SharedLimiterStore implements Store {
  readonly localKeys = false;
  readonly prefix = 'authFailuresPerIp:';

  constructor(
    private readonly limiter: RateLimiter,
    private readonly rule: Limit,
  ) {}

  async increment(ip: string) {
    const decision = await this.limiter.reserve(limits.authFailuresPerIp(ip), this.rule);
    return decision.allowed
      ? { totalHits: 1, resetTime: new Date(Date.now() + longestWindowMs(this.rule)) }
      : { totalHits: ceiling(this.rule) + 1, resetTime: new Date(Date.now() + decision.retryAfterMs) };
  }

  async decrement(): Promise<void> {}

  async resetKey(): Promise<void> {}
}

/** The hit count express-rate-limit compares with: our limiter decides, this only has to agree with it. */
const ceiling = (limit: Limit) => Math.min(...limit.rules.map((rule) => rule.count));

/** Counts only requests whose key is missing or wrong; authenticated requests cost no store call. */
export function createAuthFailureLimiter(limiter: RateLimiter, rule: Limit): RequestHandler {
  return rateLimit({
    windowMs: longestWindowMs(rule),
    limit: ceiling(rule),
    store: new SharedLimiterStore(limiter, rule),
    skip: (_req, res) => callerOf(res) !== undefined,
    keyGenerator: (req) => ipKeyGenerator(req.ip ?? 'unknown'),
    standardHeaders: false,
    legacyHeaders: false,
    passOnStoreError: false,
    // Our own validation of TRUST_PROXY replaces the library's start-up warnings.
    validate: false,
    handler: (req, _res, next) => {
      const reset = (req as Request & { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
      const seconds = reset ? (reset.getTime() - Date.now()) / 1000 : longestWindowMs(rule) / 1000;
      next(errors.rateLimited(seconds, `failed authentication attempts from this address (${rule.text})`));
    },
  });
}
