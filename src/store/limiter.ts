// Sliding-window rate limits with reservations: a slot is taken before the costly work and given back
// when the work turns out not to count (a send that Vonage refused, a code that was right). Taking the
// slot first is what keeps the count exact when requests race, across instances too.

import { randomUUID } from 'node:crypto';
import type { Clock } from '../clock';
import type { LimitRule } from '../config';

export interface Reservation {
  key: string;
  member: string;
}

export type LimitDecision =
  | { allowed: true; reservation: Reservation }
  | { allowed: false; retryAfterMs: number };

export interface RateLimiter {
  /** Takes one slot in the window, or says how long until one frees up. */
  reserve(key: string, rule: LimitRule): Promise<LimitDecision>;
  /** Gives a slot back. */
  release(reservation: Reservation): Promise<void>;
}

/** Limit keys share the hash tag of what they count, so they sit in the same Cluster slot. */
export function limitKeys(prefix: string) {
  return {
    sendsPerNumber: (caller: string, phone: string) => `${prefix}{${caller}:${phone}}:limit:sends`,
    failedChecksPerNumber: (caller: string, phone: string) => `${prefix}{${caller}:${phone}}:limit:failed`,
    sendsPerCaller: (caller: string) => `${prefix}{${caller}}:limit:sends`,
    authFailuresPerIp: (ip: string) => `${prefix}{ip:${ip}}:limit:auth`,
  };
}

export function newMember(now: number): string {
  return `${now}:${randomUUID()}`;
}

/** One process only: for the in-memory sandbox. */
export class MemoryRateLimiter implements RateLimiter {
  private readonly windows = new Map<string, { at: number; member: string }[]>();

  constructor(private readonly clock: Clock) {}

  /** How long until the window has room (0: it has room now). */
  waitMs(key: string, rule: LimitRule): number {
    const now = this.clock.now();
    const hits = (this.windows.get(key) ?? []).filter((hit) => hit.at > now - rule.windowMs);
    const oldest = hits[0]?.at ?? now;
    return hits.length >= rule.count ? Math.max(1, oldest + rule.windowMs - now) : 0;
  }

  async reserve(key: string, rule: LimitRule): Promise<LimitDecision> {
    const now = this.clock.now();
    const hits = (this.windows.get(key) ?? []).filter((hit) => hit.at > now - rule.windowMs);
    if (hits.length >= rule.count) {
      this.windows.set(key, hits);
      const oldest = hits[0]?.at ?? now;
      return { allowed: false, retryAfterMs: Math.max(1, oldest + rule.windowMs - now) };
    }
    const member = newMember(now);
    hits.push({ at: now, member });
    this.windows.set(key, hits);
    return { allowed: true, reservation: { key, member } };
  }

  async release(reservation: Reservation): Promise<void> {
    const hits = this.windows.get(reservation.key);
    if (!hits) return;
    const remaining = hits.filter((hit) => hit.member !== reservation.member);
    if (remaining.length === 0) this.windows.delete(reservation.key);
    else this.windows.set(reservation.key, remaining);
  }
}
