// In-memory RateLimiter for the sandbox (one process). Each window is a list of reservation times; the
// sliding-window arithmetic lives in `wait`, used both to reserve and to guard the memory store's lock.

import type { Clock } from '../../clock';
import type { LimitRule } from '../../config';
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

/** One process only: for the in-memory sandbox. */
export class MemoryRateLimiter implements RateLimiter {
  private readonly windows = new Map<string, Hit[]>();

  constructor(private readonly clock: Clock) {}

  /** How long until the subject's window has room (0: it has room now). */
  waitMs(subject: LimitSubject, rule: LimitRule): number {
    return this.wait(keyOf(subject), rule, this.clock.now());
  }

  async reserve(subject: LimitSubject, rule: LimitRule): Promise<LimitDecision> {
    const key = keyOf(subject);
    const now = this.clock.now();
    const retryAfterMs = this.wait(key, rule, now);
    if (retryAfterMs > 0) return { allowed: false, retryAfterMs };
    const member = newMember(now);
    this.windows.set(key, [...(this.windows.get(key) ?? []), { at: now, member }]);
    return { allowed: true, reservation: { key, member } };
  }

  async release(reservation: Reservation): Promise<void> {
    const hits = this.windows.get(reservation.key);
    if (!hits) return;
    const remaining = hits.filter((hit) => hit.member !== reservation.member);
    if (remaining.length === 0) this.windows.delete(reservation.key);
    else this.windows.set(reservation.key, remaining);
  }

  /** The sliding window: drops hits older than the window, then how long until the oldest leaves it. */
  private wait(key: string, rule: LimitRule, now: number): number {
    const hits = (this.windows.get(key) ?? []).filter((hit) => hit.at > now - rule.windowMs);
    if (hits.length === 0) this.windows.delete(key);
    else this.windows.set(key, hits);
    const oldest = hits[0]?.at ?? now;
    return hits.length >= rule.count ? Math.max(1, oldest + rule.windowMs - now) : 0;
  }
}

/** A map key per subject (the memory limiter needs no hash tags). */
function keyOf(subject: LimitSubject): string {
  return Object.values(subject).join('\u0000');
}
