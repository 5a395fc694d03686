// What the abuse guard keeps: per scope (a number prefix, or a country) a velocity window of codes
// started, the outcomes known over the conversion window, and the scope's block; across scopes the
// codes still pending (to notice expiries nobody asks about), the current blocks, and which scopes had
// outcomes lately (the operator view). The Redis and in-memory stores implement it; the domain
// (verification/abuse-guard.ts) says what is limited and when a scope is blocked.

import type { Limit } from '../config';
import type { LimitDecision } from './limiter';

export type GuardScope = 'prefix' | 'country';
export const GUARD_SCOPES: readonly GuardScope[] = ['prefix', 'country'];

/** The conversion rule, checked when the scope is neither safelisted nor the guard off. */
export interface ConversionRule {
  windowMs: number;
  minSettled: number;
  /** A share, 0-1: below it (with enough outcomes known) the scope is blocked. */
  minConversion: number;
  blockMs: number;
  /** false (shadow mode): a block is decided, kept and reported, but refuses nothing. */
  enforce: boolean;
}

export interface AdmitRequest {
  scope: GuardScope;
  value: string;
  /** The scope's velocity limit; none = not limited. */
  velocity?: Limit;
  conversion?: ConversionRule;
}

export interface ScopeBlock {
  retryAfterMs: number;
  /** This admission decided the block (true exactly once per block, across instances). */
  started: boolean;
  settled: number;
  verified: number;
}

/**
 * One scope's answer: `block` when the scope is blocked (with enforce, nothing else was done for it),
 * `velocity` the velocity window's decision (undefined: not limited, or refused first).
 */
export interface Admission {
  block?: ScopeBlock;
  velocity?: LimitDecision;
}

/** A code started and not yet known to be verified or not; no full number, only its scopes. */
export interface PendingCode {
  requestId: string;
  prefix: string;
  country?: string;
  /** When the verification ends if nobody verifies it (epoch ms). */
  expiresAt: number;
}

export interface BlockEntry {
  scope: GuardScope;
  value: string;
  until: number;
  /** The outcomes that decided it, when still known. */
  settled?: number;
  verified?: number;
  since?: number;
}

export interface ScopeConversion {
  value: string;
  settled: number;
  verified: number;
}

export interface GuardStore {
  /**
   * A code's scopes admitted in one atomic step, each judged as if alone (one scope's refusal does not
   * keep another's velocity slot from being taken: the domain gives taken slots back); one answer per
   * request, in order.
   */
  admit(requests: readonly AdmitRequest[], now: number): Promise<Admission[]>;
  /** Remembers a started code until it is settled or its expiry is swept. */
  notePending(code: PendingCode): Promise<void>;
  /**
   * Records a code's outcome in its scopes, once: false (and nothing recorded) when it was already
   * settled or was never pending. `taken`: the code came from takeExpired and is no longer pending.
   */
  settle(
    code: PendingCode,
    verified: boolean,
    now: number,
    windowMs: number,
    taken?: boolean,
  ): Promise<boolean>;
  /** Takes (removes and returns) pending codes whose expiry has passed; each is handed to one taker. */
  takeExpired(now: number, max: number): Promise<PendingCode[]>;
  /** Lists a block that just started, for the operator view and its end. */
  noteBlock(block: BlockEntry): Promise<void>;
  /** Takes the blocks that have ended by now; each is handed to one taker. */
  takeEnded(now: number): Promise<BlockEntry[]>;
  /** Lifts a block early and forgets the scope's outcomes so far; false when there was none. */
  lift(scope: GuardScope, value: string): Promise<boolean>;
  blocks(now: number): Promise<BlockEntry[]>;
  /** The scopes with the most outcomes known over the window, busiest first. */
  busiest(scope: GuardScope, now: number, windowMs: number, top: number): Promise<ScopeConversion[]>;
}

/** The scopes a code counts in: its prefix, and its country when known. */
export function scopesOf(code: PendingCode): [GuardScope, string][] {
  return code.country
    ? [
        ['prefix', code.prefix],
        ['country', code.country],
      ]
    : [['prefix', code.prefix]];
}

/** A pending code as one member: request id, prefix and country (never a full number). */
export function memberOf(code: PendingCode): string {
  return `${code.requestId}|${code.prefix}|${code.country ?? ''}`;
}

export function pendingOf(member: string, expiresAt = 0): PendingCode | undefined {
  const [requestId, prefix, country] = member.split('|');
  if (!requestId || !prefix) return undefined;
  return { requestId, prefix, ...(country ? { country } : {}), expiresAt };
}
