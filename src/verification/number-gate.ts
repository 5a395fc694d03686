// The number gate: who may act on a caller's number, and when. One lock per caller's number makes
// racing requests take turns; the rate limits (codes sent per number and per caller, wrong codes per
// number) are reserved before the costly work and given back when it turns out not to count.

import type { Clock } from '../clock';
import { type Limit, lockTimings } from '../config';
import { type ApiError, errors, withoutStack } from '../errors';
import { type LimitSubject, limits, type RateLimiter, type Reservation } from '../store/limiter';
import { RefusedUntil } from '../store/over-limit-cache';
import type { HeldLock, LimitGuard, VerificationRecord, VerificationStore } from '../store/store';
import type { AbuseGuard } from './abuse-guard';
import { giveBack } from './give-back';
import type { CallContext, FunnelEvent, SendAttempt, ServiceSettings } from './types';

type LimitKind = 'number' | 'caller' | 'failed';

/** A guard on the number's lock, with what it limits for the error message. */
export type Guard = LimitGuard & { what: LimitKind };

/**
 * What the work holding a number's lock gets: whether it had to wait for it, the guard's slot when
 * one was taken with the lock (the work's to keep or give back), the record asked for, as of the lock,
 * and the lock itself, which the work's last write of the record may let go in the same step (then the
 * gate sends no unlock of its own).
 */
export interface Lease {
  contended: boolean;
  reservation?: Reservation;
  record?: VerificationRecord;
  lock: HeldLock;
}

/**
 * How long this instance believes, without asking Redis, that a number's full window (the lock's guard)
 * still refuses. Its slots can be given back by another instance (a start Vonage refused), so the belief
 * is kept short: at most this long after Redis said so, and forgotten at once when this instance gives a
 * slot of that number back. A flood of requests for a limited number then costs about one Redis call per
 * second instead of one per request; a slot freed elsewhere is seen up to this much later. The last
 * fifth of it is the refresh: the first request after the belief's 800 ms asks Redis, and those arriving
 * before its answer (200 ms at most) are still refused from memory, so a flood does not send every
 * request in flight to Redis at once.
 */
export const NUMBER_REFUSAL_MEMORY_MS = 1_000;
export const NUMBER_REFUSAL_REFRESH_MS = NUMBER_REFUSAL_MEMORY_MS / 5;

export class NumberGate {
  private readonly lockTtlMs: number;
  private readonly lockWaitMs: number;

  /** Locks held by requests of this process, by caller and number: their waiters here are woken at release. */
  private readonly held = new Map<string, Promise<void>>();

  /** Numbers whose guard refused lately (see NUMBER_REFUSAL_MEMORY_MS). */
  private readonly refused: RefusedUntil;

  constructor(
    private readonly store: VerificationStore,
    private readonly limiter: RateLimiter,
    private readonly settings: ServiceSettings,
    private readonly onFunnel: (caller: string, event: FunnelEvent) => void,
    private readonly clock: Clock,
    private readonly guard?: AbuseGuard,
  ) {
    this.refused = new RefusedUntil(clock, 10_000, NUMBER_REFUSAL_REFRESH_MS);
    const timings = lockTimings(settings.vonageTimeoutMs);
    this.lockTtlMs = timings.ttlMs;
    this.lockWaitMs = timings.waitMs;
  }

  /**
   * A full per-number send window refuses request-token and next-event before the lock is even taken.
   * `reserve`: a lock taken at the first try also takes the send slot (request-token), in the same step.
   */
  sendsGuard(ctx: CallContext, phoneNumber: string, reserve = false): Guard {
    const guard: Guard = {
      subject: limits.sendsPerNumber(ctx.caller, phoneNumber),
      rule: this.settings.limits.sendsPerNumber,
      what: 'number',
    };
    if (reserve) guard.reserve = true;
    return guard;
  }

  /**
   * Throws the refusal at once (synchronously, before any promise or Redis call) when this instance
   * remembers that `guard`'s window is full (see NUMBER_REFUSAL_MEMORY_MS); otherwise returns `guard`.
   * Every caller of withLock with a guard asks this first, once: withLock itself goes to the store, so
   * the one request that refreshes an expiring belief reaches it.
   */
  refuseFromMemory(ctx: CallContext, phoneNumber: string, guard: Guard): Guard {
    const remembered = this.refused.refusedForMs(this.refusalKey(ctx, phoneNumber, guard));
    if (remembered !== undefined) throw this.limited(ctx, guard.what, guard.rule, remembered);
    return guard;
  }

  /**
   * Once the wrong-code window is full, every check is refused before anything else, the right code
   * included. Checks of one number take turns on its lock, so counting after the answer stays exact.
   */
  failedChecksGuard(ctx: CallContext, phoneNumber: string): Guard {
    return {
      subject: limits.failedChecksPerNumber(ctx.caller, phoneNumber),
      rule: this.settings.limits.failedChecksPerNumber,
      what: 'failed',
    };
  }

  /** Adds a wrong code to the number's window; the answer the caller is owed does not wait on a full one. */
  async countWrongCode(ctx: CallContext, phoneNumber: string): Promise<void> {
    const window = this.failedChecksGuard(ctx, phoneNumber);
    await this.limiter.reserve(window.subject, window.rule).catch((error: unknown) => {
      ctx.log.warn({ err: error }, 'could not count a wrong code');
    });
  }

  /**
   * Runs `work` holding a send slot per number and per caller. The slots count codes actually sent (or
   * perhaps sent: a timeout, a record that could not be written); anything else gives them back.
   * `numberSlot`: the per-number slot, already taken with the lock.
   */
  async withSends<T>(
    ctx: CallContext,
    phoneNumber: string,
    work: (attempt: SendAttempt) => Promise<T>,
    numberSlot?: Reservation,
  ): Promise<T> {
    const sends = await this.reserveSends(ctx, phoneNumber, numberSlot);
    const attempt: SendAttempt = { maybeSent: false };
    try {
      return await work(attempt);
    } finally {
      if (!attempt.maybeSent) {
        await giveBack(this.limiter, ctx, sends);
        this.forgetRefusal(ctx, phoneNumber);
      }
    }
  }

  /** Forgets every remembered refusal (the sandbox's reset empties the windows behind them). */
  forgetRefusals(): void {
    this.refused.clear();
  }

  private refusalKey(ctx: CallContext, phoneNumber: string, guard: Guard): string {
    return `${guard.what}:${guard.rule.text}:${ctx.caller}\u0000${phoneNumber}`;
  }

  /** This instance gave a send slot of the number back: a refusal it remembers for it may be wrong now. */
  private forgetRefusal(ctx: CallContext, phoneNumber: string): void {
    this.refused.forget(this.refusalKey(ctx, phoneNumber, this.sendsGuard(ctx, phoneNumber)));
  }

  /**
   * Runs `work` holding the lease on this caller's number, so racing requests for one number take turns
   * (and at most one of them starts a verification). `contended` tells work that it had to wait.
   *
   * A request that finds the lease taken waits cheaply: for a holder in this process it is woken when
   * that holder lets go (no Redis call meanwhile); for one elsewhere it looks again after a backoff
   * (25 ms doubling to 500 ms). Before each new try `waiting.check` may answer for it (request-token
   * answers 409 with the code the holder started), so most waiters never take the lease at all. One
   * still waiting after lockWaitMs answers 409 verification_in_progress (`waiting.requestId`, if known).
   * A guard that reserves does so only at the first try: a waiter's work first looks at what the holder
   * did. `read`: the request id whose record the lock returns (`lease.record`). A guard is asked of this
   * instance's memory of refusals by the caller first (refuseFromMemory); here the store decides.
   */
  async withLock<T>(
    ctx: CallContext,
    phoneNumber: string,
    guard: Guard | undefined,
    work: (lease: Lease) => Promise<T>,
    waiting: { requestId?: string; check?: () => Promise<void>; read?: string } = {},
  ): Promise<T> {
    const refusal = guard ? this.refusalKey(ctx, phoneNumber, guard) : undefined;
    const deadline = Date.now() + this.lockWaitMs;
    const local = `${ctx.caller}\u0000${phoneNumber}`;
    let contended = false;
    let backoff = 25;
    for (;;) {
      const asked = contended && guard?.reserve ? { ...guard, reserve: false } : guard;
      const options = { ...(asked ? { guard: asked } : {}), ...(waiting.read ? { read: waiting.read } : {}) };
      const at = this.clock.now();
      const lease = await this.store.lock(ctx.caller, phoneNumber, this.lockTtlMs, options);
      if ('limitedForMs' in lease) {
        if (refusal !== undefined)
          this.refused.remember(
            refusal,
            lease.limitedForMs,
            at,
            NUMBER_REFUSAL_MEMORY_MS - NUMBER_REFUSAL_REFRESH_MS,
          );
        throw this.limited(ctx, guard?.what ?? 'number', guard?.rule, lease.limitedForMs);
      }
      if ('token' in lease) {
        // Let in: the window has room (again); requests that were still refused from memory ask too.
        if (refusal !== undefined) this.refused.forget(refusal);
        const { reservation, record } = lease;
        const lock: HeldLock = { token: lease.token, released: false };
        const held: Lease = {
          contended,
          ...(reservation ? { reservation } : {}),
          ...(record ? { record } : {}),
          lock,
        };
        return this.holding(ctx, phoneNumber, local, lock, () => work(held));
      }
      contended = true;
      const left = deadline - Date.now();
      if (left <= 0) throw errors.verificationInProgress(waiting.requestId, 1);
      const holder = this.held.get(local);
      await (holder ? withTimeout(holder, left) : sleep(Math.min(backoff, left)));
      if (!holder) backoff = Math.min(backoff * 2, 500);
      await waiting.check?.();
    }
  }

  private async holding<T>(
    ctx: CallContext,
    phoneNumber: string,
    local: string,
    lock: HeldLock,
    work: () => Promise<T>,
  ): Promise<T> {
    let release = () => {};
    this.held.set(local, new Promise<void>((resolve) => (release = resolve)));
    try {
      return await work();
    } finally {
      // Not when the work's last write let the lock go with it (one step instead of two).
      if (!lock.released) {
        await this.store.unlock(ctx.caller, phoneNumber, lock.token).catch((error: unknown) => {
          ctx.log.warn({ err: error }, 'could not release the number lock; it expires by itself');
        });
      }
      this.held.delete(local);
      release();
    }
  }

  /** Runs `work` holding the number's lock if it is free right now; undefined (work not run) if held. */
  async ifFree<T>(ctx: CallContext, phoneNumber: string, work: () => Promise<T>): Promise<T | undefined> {
    const lease = await this.store.lock(ctx.caller, phoneNumber, this.lockTtlMs);
    if (!('token' in lease)) return undefined;
    try {
      return await work();
    } finally {
      await this.store.unlock(ctx.caller, phoneNumber, lease.token).catch((error: unknown) => {
        ctx.log.warn({ err: error }, 'could not release the number lock; it expires by itself');
      });
    }
  }

  /** Per number, per caller, then the abuse guard (the number's prefix and country); all or nothing. */
  private async reserveSends(
    ctx: CallContext,
    phoneNumber: string,
    numberSlot: Reservation | undefined,
  ): Promise<Reservation[]> {
    const rules = this.settings.limits;
    const taken: Reservation[] = [];
    try {
      taken.push(
        numberSlot ??
          (await this.reserve(
            ctx,
            limits.sendsPerNumber(ctx.caller, phoneNumber),
            'number',
            rules.sendsPerNumber,
          )),
      );
      taken.push(await this.reserve(ctx, limits.sendsPerCaller(ctx.caller), 'caller', rules.sendsPerCaller));
      if (this.guard) taken.push(...(await this.guard.admit(ctx, phoneNumber)));
      return taken;
    } catch (error) {
      await giveBack(this.limiter, ctx, taken);
      if (taken.length > 0) this.forgetRefusal(ctx, phoneNumber);
      throw error;
    }
  }

  private async reserve(
    ctx: CallContext,
    subject: LimitSubject,
    what: LimitKind,
    rule: Limit,
  ): Promise<Reservation> {
    const decision = await this.limiter.reserve(subject, rule);
    if (decision.allowed) return decision.reservation;
    throw this.limited(ctx, what, rule, decision.retryAfterMs);
  }

  private limited(
    ctx: CallContext,
    what: LimitKind,
    rule: Limit | undefined,
    retryAfterMs: number,
  ): ApiError {
    this.onFunnel(ctx.caller, 'rate_limited');
    const description = limitDescription(what, rule);
    return withoutStack(() => errors.rateLimited(retryAfterMs / 1000, description));
  }

  /** Refunds are best effort: a failure here must not hide the answer the caller is owed. */
}

/** What a refusal says was reached: "codes sent to this number (5/1h)". */
function limitDescription(what: LimitKind, rule: Limit | undefined): string {
  const text = rule ? ` (${rule.text})` : '';
  switch (what) {
    case 'number':
      return `codes sent to this number${text}`;
    case 'caller':
      return `codes sent by this caller${text}`;
    case 'failed':
      return `wrong codes for this number${text}`;
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Waits for `promise`, or `ms` at most. */
async function withTimeout(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
