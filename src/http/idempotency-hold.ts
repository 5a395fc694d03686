// What a request that holds an Idempotency-Key does with its answer: records what the handler writes,
// and before the answer goes out keeps it (2xx, 4xx) or frees the key (anything else), so a caller who
// has the answer finds it kept; until then the key's lease is renewed (lease-renewals.ts). The
// response's write and end are replaced by two functions shared by every request, which find the
// request's state under a symbol: no bound copies or closures per request. An answer written in one
// end (Express's res.json and res.send) is encoded from that chunk as it is, without copying it first.

import type { Response } from 'express';
import type { IdempotencyStore, KeptResponse } from '../store/idempotency';
import type { HeldLease, LeaseRenewals } from './lease-renewals';

/** The headers that belong to an answer and are replayed with it. */
const KEPT_HEADERS = ['content-type', 'retry-after', 'location'] as const;

const HELD = Symbol('idempotency.held');

type Writer = (this: Response, ...args: unknown[]) => unknown;

/** One request's hold on its key: the lease, the store, the response's own write and end. */
interface Held extends HeldLease {
  readonly store: IdempotencyStore;
  readonly renewals: LeaseRenewals;
  readonly ttlMs: number;
  readonly write: Writer;
  readonly end: Writer;
  /** What was written before end, copied; none in the common case (one end with the whole body). */
  chunks: Buffer[] | undefined;
  ending: boolean;
}

type HeldResponse = Response & { [HELD]: Held };

export interface KeyHolder {
  store: IdempotencyStore;
  renewals: LeaseRenewals;
  ttlMs: number;
}

/** From now until it answers, this request holds the key `token` took: renewed, then kept or freed. */
export function holdKey(res: Response, holder: KeyHolder, caller: string, key: string, token: string): void {
  const held: Held = {
    caller,
    key,
    token,
    res,
    store: holder.store,
    renewals: holder.renewals,
    ttlMs: holder.ttlMs,
    write: res.write as Writer,
    end: res.end as Writer,
    chunks: undefined,
    ending: false,
  };
  (res as HeldResponse)[HELD] = held;
  holder.renewals.hold(held);
  res.write = keptWrite as Response['write'];
  res.end = keptEnd as Response['end'];
}

function encodingOf(encoding: unknown): BufferEncoding {
  return typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8';
}

/** A written chunk's bytes, copied (the writer may reuse its buffer once write returns). */
function chunkBytes(chunk: unknown, encoding: unknown): Buffer | undefined {
  if (typeof chunk === 'string') return Buffer.from(chunk, encodingOf(encoding));
  if (chunk instanceof Uint8Array) return Buffer.from(chunk);
  return undefined;
}

function keptWrite(this: HeldResponse, ...args: unknown[]): unknown {
  const held = this[HELD];
  const bytes = chunkBytes(args[0], args[1]);
  if (bytes) {
    if (held.chunks === undefined) held.chunks = [];
    held.chunks.push(bytes);
  }
  return held.write.apply(this, args);
}

function keptEnd(this: HeldResponse, chunk?: unknown, encoding?: unknown, callback?: unknown): HeldResponse {
  const held = this[HELD];
  // One answer per request: a second end while the first is being kept would answer something else.
  if (held.ending) return this;
  held.ending = true;
  held.renewals.release(held);
  const status = this.statusCode;
  const keep = (status >= 200 && status < 300) || (status >= 400 && status < 500);
  const { store, caller, key, token } = held;
  const settled = keep
    ? store.complete(caller, key, token, answerOf(this, bodyOf(held.chunks, chunk, encoding)), held.ttlMs)
    : store.release(caller, key, token);
  settled.then(
    () => answer(this, held, status, chunk, encoding, callback),
    (error: unknown) => {
      // The answer still goes out; the key stays held until its lease ends, then a retry runs again.
      this.req.log?.warn({ err: error, status }, 'idempotency answer not kept');
      answer(this, held, status, chunk, encoding, callback);
    },
  );
  return this;
}

function answer(
  res: Response,
  held: Held,
  status: number,
  chunk: unknown,
  encoding: unknown,
  callback: unknown,
): void {
  // The status this answer was kept with, whatever was set while it was being kept.
  res.statusCode = status;
  held.end.call(res, chunk, encoding, callback);
}

/** The whole body, base64: from the last chunk alone when nothing was written before it. */
function bodyOf(chunks: Buffer[] | undefined, last: unknown, encoding: unknown): string {
  if (chunks === undefined) {
    if (typeof last === 'string') return Buffer.from(last, encodingOf(encoding)).toString('base64');
    if (last instanceof Uint8Array) {
      return Buffer.from(last.buffer, last.byteOffset, last.byteLength).toString('base64');
    }
    return '';
  }
  const bytes = chunkBytes(last, encoding);
  if (bytes) chunks.push(bytes);
  return Buffer.concat(chunks).toString('base64');
}

function answerOf(res: Response, body: string): KeptResponse {
  const headers: Record<string, string> = {};
  for (const name of KEPT_HEADERS) {
    const value = res.getHeader(name);
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : String(value);
  }
  return { status: res.statusCode, headers, body };
}
