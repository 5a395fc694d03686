// In-memory RateLimiter for the sandbox (one process). Each window is a list of reservation times; the
// sliding-window arithmetic lives in `wait`, used both to reserve and to guard the memory store's lock.

import type { Clock } from '../../clock';
import { type Limit, longestWindowMs } from '../../config';
import {
  type LimitDecision,
  type LimitSubject,
  newMember,
  type RateLimiter,
  type Reservation,
} from '../limiter';

interface Hit {
  at: number;
  member: string;
}

/** A window's hits, oldest first, and how long each counts. */
interface Window {
  windowMs: number;
  hits: Hit[];
}

/** How often (clock time) windows nobody touched since they passed are dropped. */
const SWEEP_EVERY_MS = 1_000;

/** One process only: for the in-memory sandbox. */
export class MemoryRateLimiter implements RateLimiter {
  private readonly windows = new Map<string, Window>();
  private nextSweepAt = 0;

  constructor(private readonly clock: Clock) {}

  /** How many windows are held: one per subject with a hit still inside its window (after a sweep). */
  get size(): number {
    return this.windows.size;
  }

  /** How long until the subject's window has room (0: it has room now). */
  waitMs(subject: LimitSubject, limit: Limit): number {
    return this.wait(keyOf(subject), limit, this.clock.now());
  }

  async reserve(subject: LimitSubject, limit: Limit): Promise<LimitDecision> {
    const key = keyOf(subject);
    const now = this.clock.now();
    const retryAfterMs = this.wait(key, limit, now);
    if (retryAfterMs > 0) return { allowed: false, retryAfterMs };
    const member = newMember(now);
    const hits = [...(this.windows.get(key)?.hits ?? []), { at: now, member }];
    this.windows.set(key, { windowMs: longestWindowMs(limit), hits });
    return { allowed: true, reservation: { key, member } };
  }

  async release(reservation: Reservation): Promise<void> {
    const window = this.windows.get(reservation.key);
    if (!window) return;
    const remaining = window.hits.filter((hit) => hit.member !== reservation.member);
    if (remaining.length === 0) this.windows.delete(reservation.key);
    else this.windows.set(reservation.key, { ...window, hits: remaining });
  }

  /** Forgets every window (the sandbox's reset). */
  clear(): void {
    this.windows.clear();
  }

  /**
   * The sliding windows: drops hits older than the longest, then, for each rule that is full, how long
   * until enough hits leave its window; the longest of those waits (0: every rule has room).
   */
  private wait(key: string, limit: Limit, now: number): number {
    this.sweep(now);
    const longest = longestWindowMs(limit);
    const hits = (this.windows.get(key)?.hits ?? []).filter((hit) => hit.at > now - longest);
    if (hits.length === 0) this.windows.delete(key);
    else this.windows.set(key, { windowMs: longest, hits });
    let wait = 0;
    for (const rule of limit.rules) {
      const inWindow = hits.filter((hit) => hit.at > now - rule.windowMs);
      const leaving = inWindow[inWindow.length - rule.count];
      if (leaving) wait = Math.max(wait, Math.max(1, leaving.at + rule.windowMs - now));
    }
    return wait;
  }

  /**
   * Drops the windows whose newest hit has left them. A subject seen once (an address that failed to
   * authenticate, say) is never looked up again, so without this each would be held forever.
   */
  private sweep(now: number): void {
    if (now < this.nextSweepAt) return;
    this.nextSweepAt = now + SWEEP_EVERY_MS;
    for (const [key, window] of this.windows) {
      const newest = window.hits[window.hits.length - 1]?.at ?? 0;
      if (newest <= now - window.windowMs) this.windows.delete(key);
    }
  }
}

/** A map key per subject (the memory limiter needs no hash tags). */
function keyOf(subject: LimitSubject): string {
  return Object.values(subject).join('\u0000');
}
