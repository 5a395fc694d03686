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

import { createHash } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { errors } from '../errors';
import type { IdempotencyStore, KeptResponse } from '../store/idempotency';
import { callerOf } from './auth';

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
/** The headers that belong to an answer and are replayed with it. */
const KEPT_HEADERS = ['content-type', 'retry-after', 'location'] as const;
/** Seconds a retry is told to wait while the first request runs: most requests finish well within it. */
const IN_PROGRESS_RETRY_AFTER_S = 1;

type WithRawBody = IncomingMessage & { rawBody?: Buffer };

/** express.json's `verify` hook: keeps the raw body bytes for the fingerprint. */
export function keepRawBody(req: IncomingMessage, _res: unknown, body: Buffer): void {
  (req as WithRawBody).rawBody = body;
}

function hasBody(req: Request): boolean {
  return req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0';
}

interface Held {
  store: IdempotencyStore;
  settings: IdempotencySettings;
  caller: string;
  key: string;
  token: string;
}

export function createIdempotency(settings: IdempotencySettings): RequestHandler {
  const { store } = settings;
  return async (req: Request, res: Response, next: NextFunction) => {
    const key = req.method === 'POST' ? req.get(IDEMPOTENCY_HEADER) : undefined;
    if (key === undefined) return next();
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

    const method = req.method;
    const path = req.originalUrl.split('?')[0] ?? '';
    const bodyHash = createHash('sha256')
      .update(raw ?? Buffer.alloc(0))
      .digest('hex');
    const fingerprint = `${method} ${path} ${bodyHash}`;
    try {
      const found = await store.begin(caller, key, fingerprint, settings.leaseMs);
      if (found.state === 'started') {
        hold(res, { store, settings, caller, key, token: found.token });
        return next();
      }
      if (found.fingerprint !== fingerprint) {
        const [firstMethod, firstPath] = found.fingerprint.split(' ');
        const differs = firstMethod !== method ? 'method' : firstPath !== path ? 'path' : 'body';
        return next(errors.idempotencyKeyReused(differs));
      }
      if (found.state === 'running') return next(errors.idempotencyInProgress(IN_PROGRESS_RETRY_AFTER_S));
      req.log?.debug({ status: found.response.status }, 'idempotent replay');
      replay(res, found.response);
    } catch (error) {
      next(error);
    }
  };
}

function replay(res: Response, kept: KeptResponse): void {
  res.status(kept.status);
  for (const [name, value] of Object.entries(kept.headers)) res.setHeader(name, value);
  res.setHeader(REPLAYED_HEADER, 'true');
  res.end(Buffer.from(kept.body, 'base64'));
}

function chunkBytes(chunk: unknown, encoding: unknown): Buffer | undefined {
  if (typeof chunk === 'string') {
    return Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
  }
  if (chunk instanceof Uint8Array) return Buffer.from(chunk);
  return undefined;
}

/**
 * While the request runs: renews the lease, records what is written, and before the answer goes out
 * keeps it (2xx, 4xx) or frees the key (anything else), so a caller who has the answer finds it kept.
 */
function hold(res: Response, held: Held): void {
  const { store, settings, caller, key, token } = held;
  const log = res.req.log;
  const renewal = setInterval(() => {
    store.renew(caller, key, token, settings.leaseMs).then(
      (holding) => {
        if (!holding) clearInterval(renewal);
      },
      (error: unknown) => log?.warn({ err: error }, 'idempotency lease not renewed'),
    );
  }, settings.leaseMs / 2);
  renewal.unref();
  // A closed connection stops the renewals; the lease still outlasts the longest request path.
  res.once('close', () => clearInterval(renewal));

  const chunks: Buffer[] = [];
  const write = res.write.bind(res) as (...args: unknown[]) => boolean;
  const end = res.end.bind(res) as (...args: unknown[]) => Response;
  res.write = ((...args: unknown[]) => {
    const bytes = chunkBytes(args[0], args[1]);
    if (bytes) chunks.push(bytes);
    return write(...args);
  }) as Response['write'];
  let ending = false;
  res.end = ((...args: unknown[]) => {
    // One answer per request: a second end while the first is being kept would answer something else.
    if (ending) return res;
    ending = true;
    clearInterval(renewal);
    const bytes = typeof args[0] === 'function' ? undefined : chunkBytes(args[0], args[1]);
    if (bytes) chunks.push(bytes);
    const status = res.statusCode;
    const keep = (status >= 200 && status < 300) || (status >= 400 && status < 500);
    const settled = keep
      ? store.complete(caller, key, token, answerOf(res, Buffer.concat(chunks)), settings.ttlMs)
      : store.release(caller, key, token);
    settled
      .catch((error: unknown) => {
        // The answer still goes out; the key stays held until its lease ends, then a retry runs again.
        log?.warn({ err: error, status }, 'idempotency answer not kept');
      })
      .finally(() => {
        // The status this answer was kept with, whatever was set while it was being kept.
        res.statusCode = status;
        end(...args);
      });
    return res;
  }) as Response['end'];
}

function answerOf(res: Response, body: Buffer): KeptResponse {
  const headers: Record<string, string> = {};
  for (const name of KEPT_HEADERS) {
    const value = res.getHeader(name);
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return { status: res.statusCode, headers, body: body.toString('base64') };
}
