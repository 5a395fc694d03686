// Sliding-window rate limits with reservations: a slot is taken before the costly work and given back
// when the work turns out not to count (a send that Vonage refused, a code that was right). Taking the
// slot first is what keeps the count exact when requests race, across instances too.
//
// The domain says *what* is limited (`limits.sendsPerNumber(caller, phone)`); each limiter decides
// where that count lives (the Redis key layout is in redis/keys.ts).

import { randomUUID } from 'node:crypto';
import type { LimitRule } from '../config';

/** What one rate limit counts. */
export type LimitSubject =
  | { limit: 'sendsPerNumber'; caller: string; phoneNumber: string }
  | { limit: 'failedChecksPerNumber'; caller: string; phoneNumber: string }
  | { limit: 'sendsPerCaller'; caller: string }
  | { limit: 'authFailuresPerIp'; ip: string };

/** The limits the service keeps, by name. */
export const limits = {
  sendsPerNumber: (caller: string, phoneNumber: string): LimitSubject => ({
    limit: 'sendsPerNumber',
    caller,
    phoneNumber,
  }),
  failedChecksPerNumber: (caller: string, phoneNumber: string): LimitSubject => ({
    limit: 'failedChecksPerNumber',
    caller,
    phoneNumber,
  }),
  sendsPerCaller: (caller: string): LimitSubject => ({ limit: 'sendsPerCaller', caller }),
  authFailuresPerIp: (ip: string): LimitSubject => ({ limit: 'authFailuresPerIp', ip }),
};

/** A slot taken in one window; opaque to the domain, handed back to release it. */
export interface Reservation {
  key: string;
  member: string;
}

export type LimitDecision =
  | { allowed: true; reservation: Reservation }
  | { allowed: false; retryAfterMs: number };

export interface RateLimiter {
  /** Takes one slot in the window, or says how long until one frees up. */
  reserve(subject: LimitSubject, rule: LimitRule): Promise<LimitDecision>;
  /** Gives a slot back. */
  release(reservation: Reservation): Promise<void>;
}

/** A window member: unique, and ordered by when it was taken. */
export function newMember(now: number): string {
  return `${now}:${randomUUID()}`;
}
