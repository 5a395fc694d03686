// The lease renewals of the Idempotency-Keys that running requests hold: one unref'd interval ticking
// every half lease renews every held key, instead of a timer and a close listener per request. The
// interval starts with the first key held and stops at the first tick that finds none. A key is renewed
// at least every half lease while its request runs, so its lease (a whole one ahead) never runs out
// under it; a request whose connection has closed is no longer renewed (its lease then ends by itself,
// outlasting the longest request path), nor one whose key the store says it no longer holds.

import type { ServerResponse } from 'node:http';
import type { IdempotencyStore } from '../store/idempotency';

/** A key held by a running request. */
export interface HeldLease {
  readonly caller: string;
  readonly key: string;
  readonly token: string;
  /** The request's answer: once its connection is closed, the key is no longer renewed. */
  readonly res: ServerResponse;
}

export class LeaseRenewals {
  private readonly held = new Set<HeldLease>();
  private ticker: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: IdempotencyStore,
    private readonly leaseMs: number,
  ) {}

  /** Renews this key every half lease from now on, until `release`. */
  hold(lease: HeldLease): void {
    this.held.add(lease);
    if (this.ticker !== undefined) return;
    this.ticker = setInterval(() => this.tick(), this.leaseMs / 2);
    this.ticker.unref();
  }

  /** No more renewals for this key (its request is answering). */
  release(lease: HeldLease): void {
    this.held.delete(lease);
  }

  private tick(): void {
    if (this.held.size === 0) {
      clearInterval(this.ticker);
      this.ticker = undefined;
      return;
    }
    for (const lease of this.held) {
      if (lease.res.destroyed) {
        this.held.delete(lease);
        continue;
      }
      this.store.renew(lease.caller, lease.key, lease.token, this.leaseMs).then(
        (holding) => {
          if (!holding) this.held.delete(lease);
        },
        // The request's logger is read only here: reading it makes it.
        (error: unknown) => lease.res.req.log?.warn({ err: error }, 'idempotency lease not renewed'),
      );
    }
  }
}
