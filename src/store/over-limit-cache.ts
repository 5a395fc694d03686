// A local memory of "refused until T" in front of a shared limiter, for limits whose slots are never
// given back (Envoy's rate-limit service keeps such a local cache of over-limit keys): once a subject is
// over its limit, a flood of further attempts costs no round trip to Redis until its oldest slot leaves
// the window. Exact for those limits: a refusal adds nothing to the window, no slot is ever released, and
// other instances can only fill the window further, so the shared limiter would refuse until T as well.
// Limits whose slots can be given back (a send Vonage refused) are never cached: another instance could
// free a slot before T. Bounded: at most `maxEntries` subjects are remembered.

import type { Clock } from '../clock';
import type { Limit } from '../config';
import type { LimitDecision, LimitSubject, RateLimiter, Reservation } from './limiter';

export class OverLimitCache implements RateLimiter {
  /** Cache key → when the subject's window has room again (clock ms). Oldest entries first. */
  private readonly refusedUntil = new Map<string, number>();

  constructor(
    private readonly inner: RateLimiter,
    private readonly clock: Clock,
    /** The limits whose slots are never released: only these are remembered. */
    private readonly neverReleased: ReadonlySet<LimitSubject['limit']>,
    private readonly maxEntries = 10_000,
  ) {}
  /** Forgets every cached refusal (the sandbox's reset, which also empties the windows behind them). */
  clear(): void {
    this.refusedUntil.clear();
  }

  async reserve(subject: LimitSubject, limit: Limit): Promise<LimitDecision> {
    if (!this.neverReleased.has(subject.limit)) return this.inner.reserve(subject, limit);
    const key = `${limit.text}:${JSON.stringify(subject)}`;
    const now = this.clock.now();
    const until = this.refusedUntil.get(key);
    if (until !== undefined) {
      if (now < until) return { allowed: false, retryAfterMs: until - now };
      this.refusedUntil.delete(key);
    }
    const decision = await this.inner.reserve(subject, limit);
    // Counted from before the call, the memory ends no later than the shared limiter's refusal does
    // (with several rules, each full window stays full at least until its own wait is over).
    if (!decision.allowed) this.remember(key, now + decision.retryAfterMs, now);
    return decision;
  }

  release(reservation: Reservation): Promise<void> {
    return this.inner.release(reservation);
  }

  /** How many subjects are remembered now (for tests and metrics). */
  get size(): number {
    return this.refusedUntil.size;
  }

  private remember(key: string, until: number, now: number): void {
    if (this.refusedUntil.size >= this.maxEntries) {
      for (const [old, at] of this.refusedUntil) if (at <= now) this.refusedUntil.delete(old);
    }
    // Still full of live refusals: forget the oldest (it is only asked of Redis again).
    while (this.refusedUntil.size >= this.maxEntries) {
      const oldest = this.refusedUntil.keys().next().value;
      if (oldest === undefined) break;
      this.refusedUntil.delete(oldest);
    }
    this.refusedUntil.set(key, until);
  }
}
