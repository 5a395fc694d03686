// Caller authentication: `Authorization: Bearer <key>` against API_KEYS in constant time, and the
// per-address limit on failed attempts (over our shared limiter).

import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ipKeyGenerator } from 'express-rate-limit';
import type { Limit } from '../config';
import { errors, withoutStack } from '../errors';
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

/** One instance for every refusal: it is never changed, and a stack trace per refusal is wasted work. */
const UNAUTHORIZED = errors.unauthorized();

export const requireCaller: RequestHandler = (_req, res, next) => {
  next(callerOf(res) === undefined ? UNAUTHORIZED : undefined);
};

/**
 * The limit on failed attempts per address, counted only for requests whose key is missing or wrong
 * (authenticated requests cost no store call), in the shared limiter so the count is exact across
 * instances. IPv6 addresses count by their /56 (express-rate-limit's ipKeyGenerator), as one host often
 * holds a whole block; IPv4 addresses by themselves.
 */
export function createAuthFailureLimiter(limiter: RateLimiter, rule: Limit): RequestHandler {
  const what = `failed authentication attempts from this address (${rule.text})`;
  const refusal = (seconds: number) => withoutStack(() => errors.rateLimited(seconds, what));
  return (req: Request, res: Response, next: NextFunction) => {
    if (callerOf(res) !== undefined) {
      next();
      return;
    }
    const ip = req.ip ?? 'unknown';
    // ipKeyGenerator returns anything that is not IPv6 as given: the test spares IPv4 its IPv6 parsing.
    const key = ip.includes(':') ? ipKeyGenerator(ip) : ip;
    limiter
      .reserve(limits.authFailuresPerIp(key), rule)
      .then((decision) => next(decision.allowed ? undefined : refusal(decision.retryAfterMs / 1000)), next);
  };
}
