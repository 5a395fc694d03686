// The idempotency store: what an `Idempotency-Key` has seen, per caller. A key is first held by the
// request that runs (a lease, renewed while it runs, so a crashed request frees it by itself), then
// keeps that request's final answer for IDEMPOTENCY_TTL. Redis (shared, survives restarts) and memory
// (sandbox) implement it; the HTTP middleware decides what to do with what it finds.

/** A final answer as it went out: replayed byte for byte. */
export interface KeptResponse {
  status: number;
  /** Only the headers that are part of the answer (lower-case names): content-type, retry-after, location. */
  headers: Record<string, string>;
  /** The body bytes, base64. */
  body: string;
}

/**
 * What `begin` found: the key was free and is now held by this request (`token`), another request
 * holds it (`running`, for at most `leaseLeftMs` more unless it renews), or an answer is kept (`done`).
 * `fingerprint` says which request the key was first used for.
 */
export type IdempotencyBegin =
  | { state: 'started'; token: string }
  | { state: 'running'; fingerprint: string; leaseLeftMs: number }
  | { state: 'done'; fingerprint: string; response: KeptResponse };

export interface IdempotencyStore {
  /** Holds a free key for this request for `leaseMs`, in one step; otherwise says what holds it. */
  begin(caller: string, key: string, fingerprint: string, leaseMs: number): Promise<IdempotencyBegin>;
  /** Extends the lease if `token` still holds the key; false when it no longer does. */
  renew(caller: string, key: string, token: string, leaseMs: number): Promise<boolean>;
  /** Keeps the answer for `ttlMs` if `token` still holds the key; false when it no longer does. */
  complete(
    caller: string,
    key: string,
    token: string,
    response: KeptResponse,
    ttlMs: number,
  ): Promise<boolean>;
  /** Frees the key if `token` still holds it (a 5xx: the retry runs again). */
  release(caller: string, key: string, token: string): Promise<void>;
}
