// Caller authentication: `Authorization: Bearer <key>` against API_KEYS in constant time, and the
// per-address limit on failed attempts (over our shared limiter). The key check and the failure count
// are shared with the refusal fast path (refusal-fast-path.ts), which answers refusals before Express.

import { hash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { ipKeyGenerator } from 'express-rate-limit';
import type { Limit } from '../config';
import { type ApiError, errors, withoutStack } from '../errors';
import { limits, type RateLimiter } from '../store/limiter';

/** SHA-256 of a key, in one call (crypto.hash: no Hash object per request). */
const digest = (value: string) => hash('sha256', value, 'buffer');

/** The token of `Authorization: Bearer <token>`, if the header has that form. */
function bearerToken(header: string | undefined): string | undefined {
  const match = typeof header === 'string' ? /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header) : null;
  return match?.[1];
}

/** The caller name of an authenticated request, set by `authenticate`. */
export function callerOf(res: Response): string | undefined {
  return typeof res.locals.caller === 'string' ? res.locals.caller : undefined;
}

/** The caller whose key an Authorization header carries, or undefined (no header, wrong form, unknown key). */
export type KeyCheck = (authorization: string | undefined) => string | undefined;

/**
 * The check of an Authorization header against the API keys. Every key is compared, over fixed-length
 * digests, so the time taken says nothing about which key or how much of it matched.
 */
export function createKeyCheck(apiKeys: Map<string, string>): KeyCheck {
  const known = [...apiKeys].map(([caller, key]) => ({ caller, digest: digest(key) }));
  return (authorization) => {
    const token = bearerToken(authorization);
    if (token === undefined) return undefined;
    const given = digest(token);
    let caller: string | undefined;
    for (const entry of known) {
      if (timingSafeEqual(entry.digest, given)) caller = entry.caller;
    }
    return caller;
  };
}

const CALLER = Symbol('the caller its key names');
type CheckedRequest = IncomingMessage & { [CALLER]?: string | null };

/**
 * The caller whose key the request carries (`check`), decided once per request: the refusal fast path,
 * the request-token fast path and the app's caller check each ask in turn, and the answer (a SHA-256 and
 * a compare per key) cannot change between them. Every `check` of one service holds the same API_KEYS.
 */
export function callerOfRequest(req: IncomingMessage, check: KeyCheck): string | undefined {
  const known = (req as CheckedRequest)[CALLER];
  if (known !== undefined) return known ?? undefined;
  const caller = check(req.headers.authorization);
  (req as CheckedRequest)[CALLER] = caller ?? null;
  return caller;
}

/**
 * A route only for the holder of `token` (Authorization: Bearer), compared in constant time over
 * fixed-length digests; unset: open. With `countFailure`, a missing or wrong token counts against the
 * address's failed-authentication limit (createAuthFailureCount): 401, or 429 once it is over.
 */
export function requireBearer(token: string | undefined, countFailure?: AuthFailureCount): RequestHandler {
  const expected = token === undefined ? undefined : digest(token);
  return (req, _res, next) => {
    if (expected === undefined) return next();
    const token = bearerToken(req.headers.authorization);
    const given = digest(token ?? '');
    if (token !== undefined && timingSafeEqual(expected, given)) return next();
    if (countFailure === undefined) return next(errors.unauthorized());
    countFailure(req.ip).then(next, next);
  };
}

/** One instance for every refusal: it is never changed, and a stack trace per refusal is wasted work. */
export const UNAUTHORIZED = errors.unauthorized();

/**
 * Counts one failed attempt from `ip` (req.ip) and says what refuses it: a 429 when the address is over
 * its limit, else the 401 of a missing or wrong key. Rejects as the limiter does (store_unavailable).
 */
export type AuthFailureCount = (ip: string | undefined) => Promise<ApiError>;

/**
 * The limit on failed attempts per address, counted in the shared limiter so the count is exact across
 * instances. IPv6 addresses count by their /56 (express-rate-limit's ipKeyGenerator), as one host often
 * holds a whole block; IPv4 addresses by themselves.
 */
export function createAuthFailureCount(limiter: RateLimiter, rule: Limit): AuthFailureCount {
  const what = `failed authentication attempts from this address (${rule.text})`;
  const refusal = (seconds: number) => withoutStack(() => errors.rateLimited(seconds, what));
  return async (ip = 'unknown') => {
    // ipKeyGenerator returns anything that is not IPv6 as given: the test spares IPv4 its IPv6 parsing.
    const key = ip.includes(':') ? ipKeyGenerator(ip) : ip;
    const decision = await limiter.reserve(limits.authFailuresPerIp(key), rule);
    return decision.allowed ? UNAUTHORIZED : refusal(decision.retryAfterMs / 1000);
  };
}

/**
 * Who is calling, as one middleware: the caller whose bearer key the request carries goes on with it in
 * res.locals.caller (no store call); any other request counts one failed attempt from its address and is
 * refused, 401 under the address's limit, 429 over it (createAuthFailureCount). One Express layer instead
 * of three (find the caller, count the failure, refuse): each layer is a turn of the Router's matching on
 * every authenticated request.
 */
export function createCallerCheck(
  apiKeys: Map<string, string>,
  limiter: RateLimiter,
  rule: Limit,
): RequestHandler {
  const check = createKeyCheck(apiKeys);
  const count = createAuthFailureCount(limiter, rule);
  return (req: Request, res: Response, next: NextFunction) => {
    const caller = callerOfRequest(req, check);
    if (caller !== undefined) {
      res.locals.caller = caller;
      next();
      return;
    }
    count(req.ip).then(next, next);
  };
}
