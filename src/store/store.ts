// What the service keeps, and its rate limits. This file is the verification store's interface and
// record type; limiter.ts is the rate limiter's, idempotency.ts the Idempotency-Key store's. Two
// implementations of each:
//   redis/   production, shared by every instance: keys.ts is the whole key layout, scripts.ts every
//            Lua script, store.ts, limiter.ts and idempotency.ts the implementations, client.ts the
//            connection
//   memory/  the sandbox default without REDIS_URL: one process, lost on restart
// The service says what is limited (`limits.sendsPerNumber(caller, phone)`); only the store knows keys.

import type { Limit } from '../config';
import type { Channel } from '../verification/channels';
import type { LimitSubject, Reservation } from './limiter';

export type VerificationStatus = 'pending' | 'verified' | 'cancelled' | 'expired' | 'failed';

/** One entry of a verification's timeline (no code, no number). */
export interface TimelineEvent {
  /** Epoch milliseconds. */
  at: number;
  type:
    | 'started'
    | 'delivery'
    | 'next_event'
    | 'check_failed'
    | 'verified'
    | 'cancelled'
    | 'expired'
    | 'failed';
  channel?: Channel;
  /** delivery: what Vonage's callbacks said (delivered, completed, failed, expired, rejected, user_rejected). */
  status?: string;
}

export interface VerificationRecord {
  requestId: string;
  caller: string;
  /** E.164. */
  phoneNumber: string;
  status: VerificationStatus;
  /** Epoch milliseconds. */
  createdAt: number;
  expiresAt: number;
  finishedAt?: number;
  /** A TEST_NUMBERS verification: never sent to Vonage. */
  test?: boolean;
  replacedRequestId?: string;
  /**
   * The provider's delivery schedule: ms from each delivery to the next, the last entry to when the
   * provider ends the verification. `expiresAt` is derived from it (see verification/schedule.ts).
   */
  deliveryWaitsMs?: number[];
  /** The latest delivery known to have moved the schedule (a next-event), zero-based; else the start. */
  lastDelivery?: { index: number; at: number };
  /**
   * Written before each provider call on this verification and cleared by the write that records its
   * answer: still here on the next request means that call's outcome was lost (a timeout, a reset, or
   * the store failed after the provider answered), and it is resolved with the provider first.
   */
  unknownOutcome?: { operation: 'check' | 'cancel' | 'trigger'; at: number };
  /** The channels Vonage tries, in order (absent on records written before channels existed). */
  channels?: Channel[];
  /** silent_auth first: the check URL Vonage returned. */
  checkUrl?: string;
  /** The timeline, oldest first. */
  events?: TimelineEvent[];
}

/** A verification as a caller names it: by its request id, or as its number's current one (E.164). */
export type StoreRef = { requestId: string } | { phoneNumber: string };

/** A rate-limit window (kept by the RateLimiter) that must not be full for the lock to be taken. */
export interface LimitGuard {
  subject: LimitSubject;
  rule: Limit;
  /** Also take a slot in the window once the lock is taken, in the same step. */
  reserve?: boolean;
}

export interface LockOptions {
  guard?: LimitGuard;
  /** Also read the caller's verification with this request id (of this number) once the lock is taken. */
  read?: string;
}

/**
 * A number's lock as its holder has it: the holder may let it go in the same step as its last write of
 * the number's record (create, update: one script instead of that write and an unlock), which then
 * marks it released, so the holder does not send its own unlock after.
 */
export interface HeldLock {
  readonly token: string;
  released: boolean;
}

/**
 * The lock was taken (with the guard's slot if one was asked for, and the record asked for, undefined
 * when there is none), is held by another request, or its guard's window is full (for how long).
 */
export type LockResult =
  | { token: string; reservation?: Reservation; record?: VerificationRecord }
  | { held: true }
  | { limitedForMs: number };

/** How long finished and expired records stay, so late calls get already_verified / verification_expired. */
export const RECORD_RETENTION_MS = 60 * 60 * 1000;

export interface VerificationStore {
  /**
   * Writes a new verification and makes it the number's current one; its expiry is set in the same step,
   * and the number's uncertain-start note is cleared, whoever's it was (a start went through). False, writing nothing,
   * when the request id is already recorded, for any caller. `unlock`: the number's lock, let go in the
   * same step as the record (see HeldLock).
   */
  create(record: VerificationRecord, retainUntil: number, unlock?: HeldLock): Promise<boolean>;
  /**
   * Rewrites an existing record (status changes), keeping its expiry. `unlock`: the number's lock,
   * let go in the same step (see HeldLock).
   */
  update(record: VerificationRecord, unlock?: HeldLock): Promise<void>;
  /** The caller's own record with this id; another caller's id is simply not found. */
  findById(caller: string, requestId: string): Promise<VerificationRecord | undefined>;
  /**
   * A record by its request id alone, whoever recorded it: for Vonage's callbacks, which name no caller.
   * Never for caller-facing lookups (those go through findById, which keeps callers apart).
   */
  findByRequestId(requestId: string): Promise<VerificationRecord | undefined>;
  /**
   * Where the caller's verification is, without reading it: by request id (the index), or the number's
   * current one. Undefined when the caller has none. For requests that read it under the number's lock.
   */
  locate(caller: string, ref: StoreRef): Promise<{ requestId: string; phoneNumber: string } | undefined>;
  /** The caller's latest verification for this number. */
  findCurrent(caller: string, phoneNumber: string): Promise<VerificationRecord | undefined>;
  /** A record whose caller and number are known: one read, no index. */
  get(caller: string, phoneNumber: string, requestId: string): Promise<VerificationRecord | undefined>;
  /**
   * A short lease that serialises work on one caller's number across instances. With a guard, a full
   * rate-limit window refuses in the same step, so a flood of refused requests neither waits nor locks;
   * with `guard.reserve` the lock also takes a slot in that window, and with `read` it returns that
   * record as of the lock: one step instead of two or three.
   */
  lock(caller: string, phoneNumber: string, ttlMs: number, options?: LockOptions): Promise<LockResult>;
  unlock(caller: string, phoneNumber: string, token: string): Promise<void>;
  /**
   * Remembers that a start for this number timed out: Vonage may have sent a code we have no id for.
   * One note per number, whatever the caller: the first timed-out start claims it, and a later status
   * 10 for the number may then be recognised as that caller's only (see StartProtocol). Another
   * caller's timed-out start while the note lives leaves it as it is: that start got status 10 at best.
   */
  noteUncertainStart(caller: string, phoneNumber: string, at: number, ttlMs: number): Promise<void>;
  /** When this caller's timed-out start for the number happened, if the number's note is this caller's. */
  uncertainStartAt(caller: string, phoneNumber: string): Promise<number | undefined>;
  /**
   * When the service first saw Vonage name `requestId` as the number's in-flight verification without
   * a record of it for the caller (another caller's, or one whose record was lost): remembered for
   * `ttlMs`, so the wait it answers counts down instead of starting over on every retry.
   */
  firstSeenInFlight(requestId: string, now: number, ttlMs: number): Promise<number>;
  /**
   * Written before every start at the provider (and refused, so nothing is started, when the store cannot
   * take writes). create() clears it; a definite answer without a new verification clears it through
   * clearStartIntent. One still there when the next start begins belongs to a start whose outcome was
   * lost, so it becomes the number's uncertain-start note (if no caller holds it) first.
   */
  noteStartIntent(caller: string, phoneNumber: string, at: number, ttlMs: number): Promise<void>;
  clearStartIntent(caller: string, phoneNumber: string): Promise<void>;
  /** Throws store_unavailable when the store cannot answer or cannot take writes (full, read-only). */
  ping(): Promise<void>;
}

/** What /readyz says is wrong with a store that failed its write probe, from the store's error reply. */
export function storeProblem(error: unknown): string {
  let cause: unknown = error;
  for (let depth = 0; depth < 3 && cause instanceof Error; depth += 1) {
    if (cause.message.startsWith('OOM')) return 'The verification store is full and refuses writes.';
    if (cause.message.startsWith('READONLY')) {
      return 'The verification store is a read-only replica and refuses writes.';
    }
    cause = cause.cause;
  }
  return 'The verification store is not answering.';
}
