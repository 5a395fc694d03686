// Sliding-window rate limits with reservations: a slot is taken before the costly work and given back
// when the work turns out not to count (a send that Vonage refused, a code that was right). Taking the
// slot first is what keeps the count exact when requests race, across instances too.
//
// The domain says *what* is limited (`limits.sendsPerNumber(caller, phone)`); each limiter decides
// where that count lives (the Redis key layout is in redis/keys.ts).

import { randomUUID } from 'node:crypto';
import type { Limit } from '../config';

/** What one rate limit counts. */
export type LimitSubject =
  | { limit: 'sendsPerNumber'; caller: string; phoneNumber: string }
  | { limit: 'failedChecksPerNumber'; caller: string; phoneNumber: string }
  | { limit: 'sendsPerCaller'; caller: string }
  | { limit: 'authFailuresPerIp'; ip: string }
  | { limit: 'sendsPerPrefix'; prefix: string }
  | { limit: 'sendsPerCountry'; country: string }
  | { limit: 'vonageCallsPerCaller'; caller: string }
  | { limit: 'vonageCallsOfAccount' };

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
  /** Codes started to numbers sharing all but their last 3 digits, all callers together. */
  sendsPerPrefix: (prefix: string): LimitSubject => ({ limit: 'sendsPerPrefix', prefix }),
  /** Codes started to one country, all callers together. */
  sendsPerCountry: (country: string): LimitSubject => ({ limit: 'sendsPerCountry', country }),
  /** Calls to Vonage made for one caller, whatever their outcome. */
  vonageCallsPerCaller: (caller: string): LimitSubject => ({ limit: 'vonageCallsPerCaller', caller }),
  /** Every call to Vonage, all callers and instances together (Vonage throttles the whole account). */
  vonageCallsOfAccount: (): LimitSubject => ({ limit: 'vonageCallsOfAccount' }),
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
  /** Takes one slot in the limit's windows (every rule must have room), or says how long until one frees up. */
  reserve(subject: LimitSubject, limit: Limit): Promise<LimitDecision>;
  /** Gives a slot back. */
  release(reservation: Reservation): Promise<void>;
}

/** The rules of a limit as a flat list (count, window ms, ...), the form the Lua scripts read. */
export function flatRules(limit: Limit): number[] {
  return limit.rules.flatMap((rule) => [rule.count, rule.windowMs]);
}

/** A window member: unique, and ordered by when it was taken. */
export function newMember(now: number): string {
  return `${now}:${randomUUID()}`;
}
