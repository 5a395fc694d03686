// The number gate: who may act on a caller's number, and when. One lock per caller's number makes
// racing requests take turns; the rate limits (codes sent per number and per caller, wrong codes per
// number) are reserved before the costly work and given back when it turns out not to count.

import type { LimitRule } from '../config';
import { type ApiError, errors } from '../errors';
import { type LimitSubject, limits, type RateLimiter, type Reservation } from '../store/limiter';
import type { LimitGuard, VerificationStore } from '../store/store';
import type { CallContext, FunnelEvent, SendAttempt, ServiceSettings } from './types';

type LimitKind = 'number' | 'caller' | 'failed';

/** A guard on the number's lock, with what it limits for the error message. */
export type Guard = LimitGuard & { what: LimitKind };

export class NumberGate {
  private readonly lockTtlMs: number;
  private readonly lockWaitMs: number;

  constructor(
    private readonly store: VerificationStore,
    private readonly limiter: RateLimiter,
    private readonly settings: ServiceSettings,
    private readonly onFunnel: (caller: string, event: FunnelEvent) => void,
  ) {
    // A request-token holds the lock for at most three Vonage calls (start, cancel, start again).
    this.lockTtlMs = settings.vonageTimeoutMs * 3 + 5_000;
    this.lockWaitMs = settings.vonageTimeoutMs * 3 + 1_000;
  }

  /** A full per-number send window refuses request-token and next-event before the lock is even taken. */
  sendsGuard(ctx: CallContext, phoneNumber: string): Guard {
    return {
      subject: limits.sendsPerNumber(ctx.caller, phoneNumber),
      rule: this.settings.limits.sendsPerNumber,
      what: 'number',
    };
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
   */
  async withSends<T>(
    ctx: CallContext,
    phoneNumber: string,
    work: (attempt: SendAttempt) => Promise<T>,
  ): Promise<T> {
    const sends = await this.reserveSends(ctx, phoneNumber);
    const attempt: SendAttempt = { maybeSent: false };
    try {
      return await work(attempt);
    } finally {
      if (!attempt.maybeSent) await this.releaseAll(ctx, sends);
    }
  }

  /**
   * Runs `work` holding the lease on this caller's number, so racing requests for one number take turns
   * (and at most one of them starts a verification). `contended` tells work that it had to wait.
   */
  async withLock<T>(
    ctx: CallContext,
    phoneNumber: string,
    guard: Guard | undefined,
    work: (contended: boolean) => Promise<T>,
  ): Promise<T> {
    const deadline = Date.now() + this.lockWaitMs;
    let contended = false;
    let delay = 5;
    for (;;) {
      const lease = await this.store.lock(ctx.caller, phoneNumber, this.lockTtlMs, guard);
      if ('limitedForMs' in lease)
        throw this.limited(ctx, guard?.what ?? 'number', guard?.rule, lease.limitedForMs);
      if ('token' in lease) {
        try {
          return await work(contended);
        } finally {
          await this.store.unlock(ctx.caller, phoneNumber, lease.token).catch((error: unknown) => {
            ctx.log.warn({ err: error }, 'could not release the number lock; it expires by itself');
          });
        }
      }
      contended = true;
      if (Date.now() >= deadline) throw errors.upstreamTimeout();
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 50);
    }
  }

  private async reserveSends(ctx: CallContext, phoneNumber: string): Promise<Reservation[]> {
    const rules = this.settings.limits;
    const perNumber = await this.reserve(
      ctx,
      limits.sendsPerNumber(ctx.caller, phoneNumber),
      'number',
      rules.sendsPerNumber,
    );
    try {
      const perCaller = await this.reserve(
        ctx,
        limits.sendsPerCaller(ctx.caller),
        'caller',
        rules.sendsPerCaller,
      );
      return [perNumber, perCaller];
    } catch (error) {
      await this.releaseAll(ctx, [perNumber]);
      throw error;
    }
  }

  private async reserve(
    ctx: CallContext,
    subject: LimitSubject,
    what: LimitKind,
    rule: LimitRule,
  ): Promise<Reservation> {
    const decision = await this.limiter.reserve(subject, rule);
    if (decision.allowed) return decision.reservation;
    throw this.limited(ctx, what, rule, decision.retryAfterMs);
  }

  private limited(
    ctx: CallContext,
    what: LimitKind,
    rule: LimitRule | undefined,
    retryAfterMs: number,
  ): ApiError {
    this.onFunnel(ctx.caller, 'rate_limited');
    const text = rule ? ` (${rule.text})` : '';
    const description = {
      number: `codes sent to this number${text}`,
      caller: `codes sent by this caller${text}`,
      failed: `wrong codes for this number${text}`,
    }[what];
    return errors.rateLimited(retryAfterMs / 1000, description);
  }

  /** Refunds are best effort: a failure here must not hide the answer the caller is owed. */
  private async releaseAll(ctx: CallContext, reservations: Reservation[]): Promise<void> {
    for (const reservation of reservations) {
      try {
        await this.limiter.release(reservation);
      } catch (error) {
        ctx.log.warn({ err: error }, 'could not give a rate-limit slot back');
      }
    }
  }
}
