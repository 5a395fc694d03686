// A local memory of "refused until T" in front of a shared limiter, for limits whose slots are never
// given back (Envoy's rate-limit service keeps such a local cache of over-limit keys): once a subject is
// over its limit, a flood of further attempts costs no round trip to Redis until its oldest slot leaves
// the window. Exact for those limits: a refusal adds nothing to the window, no slot is ever released, and
// other instances can only fill the window further, so the shared limiter would refuse until T as well.
// Limits whose slots can be given back (a send Vonage refused) are never cached: another instance could
// free a slot before T. Bounded: at most `maxEntries` subjects are remembered.
//
// RefusedUntil is the memory itself, also used (with a short bound on how long a refusal is believed) for
// limits whose slots can be given back: see NumberGate.

import type { Clock } from '../clock';
import type { Limit } from '../config';
import type { LimitDecision, LimitSubject, RateLimiter, Reservation } from './limiter';

/** Subjects refused until a moment on the clock, at most `maxEntries` of them. */
export class RefusedUntil {
  /**
   * Key → when the subject's window has room again, until when that is believed (clock ms), and
   * whether one request is asking the shared limiter again now (the others keep the belief meanwhile).
   */
  private readonly until = new Map<string, { at: number; believedUntil: number; refreshing: boolean }>();

  constructor(
    private readonly clock: Clock,
    private readonly maxEntries = 10_000,
    /** When a belief runs out, one request asks again and the others are refused for this long meanwhile. */
    private readonly refreshMs = 0,
  ) {}

  /** How long `key` is still refused (ms), or undefined when it is not known to be. */
  refusedForMs(key: string): number | undefined {
    const until = this.until.get(key);
    if (until === undefined) return undefined;
    const now = this.clock.now();
    if (now < until.at && now < until.believedUntil) return until.at - now;
    if (now < until.at && !until.refreshing && this.refreshMs > 0) {
      // This request asks the shared limiter; the requests that arrive before its answer keep the
      // belief (a flood would otherwise send every request in flight to Redis at once).
      until.refreshing = true;
      until.believedUntil = now + this.refreshMs;
      return undefined;
    }
    this.until.delete(key);
    return undefined;
  }

  /**
   * Remembers that `key` is refused for `ms` from `from` (clock ms), believed for `believeMs` at most
   * (for limits whose slots can be given back elsewhere meanwhile).
   */
  remember(key: string, ms: number, from: number, believeMs = ms): void {
    const now = this.clock.now();
    if (this.until.size >= this.maxEntries) {
      for (const [old, until] of this.until) {
        if (until.at <= now || until.believedUntil <= now) this.until.delete(old);
      }
    }
    // Still full of live refusals: forget the oldest (it is only asked of Redis again).
    while (this.until.size >= this.maxEntries) {
      const oldest = this.until.keys().next().value;
      if (oldest === undefined) break;
      this.until.delete(oldest);
    }
    this.until.delete(key);
    this.until.set(key, { at: from + ms, believedUntil: from + Math.min(ms, believeMs), refreshing: false });
  }

  forget(key: string): void {
    this.until.delete(key);
  }

  clear(): void {
    this.until.clear();
  }

  get size(): number {
    return this.until.size;
  }
}

export class OverLimitCache implements RateLimiter {
  private readonly refused: RefusedUntil;

  constructor(
    private readonly inner: RateLimiter,
    private readonly clock: Clock,
    /** The limits whose slots are never released: only these are remembered. */
    private readonly neverReleased: ReadonlySet<LimitSubject['limit']>,
    maxEntries = 10_000,
  ) {
    this.refused = new RefusedUntil(clock, maxEntries);
  }

  /** Forgets every cached refusal (the sandbox's reset, which also empties the windows behind them). */
  clear(): void {
    this.refused.clear();
  }

  async reserve(subject: LimitSubject, limit: Limit): Promise<LimitDecision> {
    if (!this.neverReleased.has(subject.limit)) return this.inner.reserve(subject, limit);
    const key = `${limit.text}:${JSON.stringify(subject)}`;
    const left = this.refused.refusedForMs(key);
    if (left !== undefined) return { allowed: false, retryAfterMs: left };
    const now = this.clock.now();
    const decision = await this.inner.reserve(subject, limit);
    // Counted from before the call, the memory ends no later than the shared limiter's refusal does
    // (with several rules, each full window stays full at least until its own wait is over).
    if (!decision.allowed) this.refused.remember(key, decision.retryAfterMs, now);
    return decision;
  }

  release(reservation: Reservation): Promise<void> {
    return this.inner.release(reservation);
  }

  /** How many subjects are remembered now (for tests and metrics). */
  get size(): number {
    return this.refused.size;
  }
}
