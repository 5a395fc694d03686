// Idempotency-Key on every POST /api/* (IETF draft-ietf-httpapi-idempotency-key-header): a retry with
// the same key, method, path and body gets the first final answer (2xx or 4xx) again, byte for byte,
// with `Idempotent-Replayed: true`, without running again. The same key for a different request: 422
// idempotency_key_reused. A retry while the first still runs: 409 idempotency_in_progress. A 5xx is not
// kept, so the retry runs again. Keys are per caller; this runs after authentication, so a replay needs
// the same caller's valid API key and an unauthenticated request never reaches the store.
//
// The request's fingerprint is its method, its path and the SHA-256 of its raw body bytes (kept by
// express.json's `verify`, see keepRawBody): exact and cheap, no JSON canonicalisation to get subtly
// wrong. A retry must send the same bytes; re-serialising the body (other key order or spacing) is a
// different request. A body that express.json did not read (not JSON) is refused before anything runs,
// so such a request passes through without a key: its retry gets the same refusal.

import { hash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { errors } from '../errors';
import type { IdempotencyBegin, IdempotencyStore, KeptResponse } from '../store/idempotency';
import { callerOf } from './auth';
import { holdKey, type KeyHolder } from './idempotency-hold';
import { LeaseRenewals } from './lease-renewals';

export interface IdempotencySettings {
  store: IdempotencyStore;
  /** How long a final answer is kept (IDEMPOTENCY_TTL). */
  ttlMs: number;
  /**
   * How long a running request holds its key without renewing: longer than the longest request path,
   * and renewed every half lease while the request runs; a crashed request frees its key after it.
   */
  leaseMs: number;
}

export const IDEMPOTENCY_HEADER = 'Idempotency-Key';
export const REPLAYED_HEADER = 'Idempotent-Replayed';
/** 1-255 printable ASCII characters (space included; Node has already trimmed the ends). */
const VALID_KEY = /^[\x20-\x7E]{1,255}$/;
/** Seconds a retry is told to wait while the first request runs: most requests finish well within it. */
const IN_PROGRESS_RETRY_AFTER_S = 1;
const NO_BODY = Buffer.alloc(0);

type WithRawBody = IncomingMessage & { rawBody?: Buffer };

/** express.json's `verify` hook: keeps the raw body bytes for the fingerprint. */
export function keepRawBody(req: IncomingMessage, _res: unknown, body: Buffer): void {
  (req as WithRawBody).rawBody = body;
}

function hasBody(req: Request): boolean {
  return req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0';
}

/** The path the request was sent to, without its query string. */
function pathOf(url: string): string {
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

export function createIdempotency(settings: IdempotencySettings): RequestHandler {
  const { store, leaseMs } = settings;
  const holder: KeyHolder = { store, renewals: new LeaseRenewals(store, leaseMs), ttlMs: settings.ttlMs };
  return (req: Request, res: Response, next: NextFunction) => {
    const key = req.method === 'POST' ? req.headers['idempotency-key'] : undefined;
    if (typeof key !== 'string') return next();
    if (!VALID_KEY.test(key)) {
      return next(
        errors.validationFailed(
          [{ path: IDEMPOTENCY_HEADER, message: 'must be 1-255 printable ASCII characters' }],
          'The Idempotency-Key header must be 1-255 printable ASCII characters.',
        ),
      );
    }
    const raw = (req as WithRawBody).rawBody;
    if (raw === undefined && hasBody(req)) return next();
    const caller = callerOf(res);
    if (caller === undefined) return next(errors.unauthorized());

    const fingerprint = `${req.method} ${pathOf(req.originalUrl)} ${hash('sha256', raw ?? NO_BODY, 'hex')}`;
    store.begin(caller, key, fingerprint, leaseMs).then((found) => {
      try {
        if (found.state !== 'started') {
          answerFound(req, res, next, found, fingerprint);
        } else {
          holdKey(res, holder, caller, key, found.token);
          next();
        }
      } catch (error) {
        next(error);
      }
    }, next);
  };
}

/** The key is taken: by another request (422), by this one still running (409), or answered (replay). */
function answerFound(
  req: Request,
  res: Response,
  next: NextFunction,
  found: Exclude<IdempotencyBegin, { state: 'started' }>,
  fingerprint: string,
): void {
  if (found.fingerprint !== fingerprint) {
    const [firstMethod, firstPath] = found.fingerprint.split(' ');
    const [method, path] = fingerprint.split(' ');
    const differs = firstMethod !== method ? 'method' : firstPath !== path ? 'path' : 'body';
    next(errors.idempotencyKeyReused(differs));
  } else if (found.state === 'running') {
    next(errors.idempotencyInProgress(IN_PROGRESS_RETRY_AFTER_S));
  } else {
    req.log?.debug({ status: found.response.status }, 'idempotent replay');
    replay(res, found.response);
  }
}

function replay(res: Response, kept: KeptResponse): void {
  res.status(kept.status);
  for (const [name, value] of Object.entries(kept.headers)) res.setHeader(name, value);
  res.setHeader(REPLAYED_HEADER, 'true');
  res.end(Buffer.from(kept.body, 'base64'));
}
