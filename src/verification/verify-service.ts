// The verification rules: what request, verify, cancel, next-event and status mean for one caller,
// on top of the store, the rate limits and the Vonage gateway. Knows nothing about HTTP.

import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { CountryCode } from 'libphonenumber-js/max';
import type { Clock } from '../clock';
import type { LimitRule } from '../config';
import { ApiError, errors } from '../errors';
import type { Logger } from '../logger';
import {
  type LimitDecision,
  type LimitSubject,
  limits,
  type RateLimiter,
  type Reservation,
} from '../store/limiter';
import {
  type LimitGuard,
  RECORD_RETENTION_MS,
  type VerificationRecord,
  type VerificationStatus,
  type VerificationStore,
} from '../store/store';
import type { StartOutcome, StartParams, VerifyGateway } from '../vonage/gateway';
import { judgePhone, maskPhone, normalisePhone, parseE164Loose, parsePhone } from './phone';

type LimitKind = 'number' | 'caller' | 'failed';

/** Vonage refuses to cancel a verification in its first 30 seconds. */
const CANCEL_WINDOW_MS = 30_000;
/** How long a timed-out start is remembered: longer than any Vonage workflow lasts. */
const UNCERTAIN_START_MEMORY_MS = 60 * 60 * 1000;

export type FunnelEvent =
  | 'started'
  | 'verified'
  | 'wrong_code'
  | 'too_many_attempts'
  | 'expired'
  | 'cancelled'
  | 'rate_limited'
  | 'refused_country'
  | 'refused_number';

export interface ServiceSettings {
  brand: string;
  codeLength: 4 | 6;
  pinExpirySeconds: number;
  workflowId: number;
  vonageTimeoutMs: number;
  testNumbers: Map<string, string>;
  allowedCountries: Set<CountryCode> | undefined;
  limits: {
    sendsPerNumber: LimitRule;
    sendsPerCaller: LimitRule;
    failedChecksPerNumber: LimitRule;
  };
}

export interface ServiceDeps {
  store: VerificationStore;
  limiter: RateLimiter;
  gateway: VerifyGateway;
  clock: Clock;
  settings: ServiceSettings;
  onFunnel?: (caller: string, event: FunnelEvent) => void;
}

export interface CallContext {
  caller: string;
  log: Logger;
}

export interface RequestTokenInput {
  phoneNumber: string;
  country?: string;
  brand?: string;
  codeLength?: 4 | 6;
  locale?: string;
  workflowId?: number;
  pinExpiry?: number;
  nextEventWait?: number;
}

/** Exactly one of the two, as the API requires. */
export type VerificationRef = { requestId: string } | { phoneNumber: string; country?: string };

export interface VerificationView {
  requestId: string;
  phoneNumber: string;
  status: VerificationStatus;
  createdAt: string;
  expiresAt: string;
  finishedAt?: string;
}

export interface StartedView {
  requestId: string;
  phoneNumber: string;
  status: 'pending';
  expiresAt: string;
  replacedRequestId?: string;
}

const iso = (ms: number) => new Date(ms).toISOString();

export class VerifyService {
  private readonly lockTtlMs: number;
  private readonly lockWaitMs: number;

  constructor(private readonly deps: ServiceDeps) {
    // A request-token holds the lock for at most three Vonage calls (start, cancel, start again).
    this.lockTtlMs = deps.settings.vonageTimeoutMs * 3 + 5_000;
    this.lockWaitMs = deps.settings.vonageTimeoutMs * 3 + 1_000;
  }

  async requestToken(ctx: CallContext, input: RequestTokenInput): Promise<StartedView> {
    const phoneNumber = this.phoneForSending(ctx, input.phoneNumber, input.country);
    const arrivedAt = this.deps.clock.now();
    const record = await this.withLock(
      ctx,
      phoneNumber,
      async (contended) => {
        if (contended) {
          // Someone else started a code for this number while we waited: theirs is the one in flight,
          // and answering with it costs neither a send nor a Vonage call.
          const current = await this.deps.store.findCurrent(ctx.caller, phoneNumber);
          if (current && this.effectiveStatus(current) === 'pending' && current.createdAt >= arrivedAt) {
            throw errors.verificationInProgress(current.requestId, this.retryAfterSeconds(current));
          }
        }
        // Inside the lock, so racing requests for one number cannot all pass the per-number limit.
        const sends = await this.reserveSends(ctx, phoneNumber);
        const attempt = { maybeSent: false };
        try {
          return await this.start(ctx, phoneNumber, input, attempt);
        } finally {
          // Sends count codes actually started (or perhaps started: a timeout, a record that could not
          // be written); anything else gives its slots back.
          if (!attempt.maybeSent) await this.releaseAll(ctx, sends);
        }
      },
      this.sendsGuard(ctx, phoneNumber),
    );
    this.deps.onFunnel?.(ctx.caller, 'started');
    return {
      requestId: record.requestId,
      phoneNumber: record.phoneNumber,
      status: 'pending',
      expiresAt: iso(record.expiresAt),
      ...(record.replacedRequestId ? { replacedRequestId: record.replacedRequestId } : {}),
    };
  }

  /** Starts at Vonage (or not at all, for a test number) and records the verification. */
  private async start(
    ctx: CallContext,
    phoneNumber: string,
    input: RequestTokenInput,
    attempt: { maybeSent: boolean },
  ): Promise<VerificationRecord> {
    const { settings } = this.deps;
    const asked = input.pinExpiry ?? settings.pinExpirySeconds;
    // Vonage's rule: a pin_expiry that is not a multiple of next_event_wait becomes next_event_wait.
    const pinExpiry = input.nextEventWait && asked % input.nextEventWait !== 0 ? input.nextEventWait : asked;
    if (settings.testNumbers.has(phoneNumber)) {
      attempt.maybeSent = true;
      return this.record(ctx, `test-${randomBytes(12).toString('hex')}`, phoneNumber, pinExpiry, true);
    }
    const params = {
      phoneNumber,
      brand: input.brand ?? settings.brand,
      codeLength: input.codeLength ?? settings.codeLength,
      workflowId: input.workflowId ?? settings.workflowId,
      pinExpiry,
      ...(input.locale ? { locale: input.locale } : {}),
      ...(input.nextEventWait ? { nextEventWait: input.nextEventWait } : {}),
    };
    const first = await this.startAtVonage(ctx, params, attempt);
    if (first.kind === 'started') return this.record(ctx, first.requestId, phoneNumber, pinExpiry, false);
    // Status 10: one verification per number at a time. If it is this caller's, replace it once.
    const replaced = await this.replaceInFlight(ctx, phoneNumber, first, pinExpiry);
    const second = await this.startAtVonage(ctx, params, attempt);
    if (second.kind !== 'started') throw await this.inFlightError(ctx, second.requestId);
    return this.record(ctx, second.requestId, phoneNumber, pinExpiry, false, replaced);
  }

  /**
   * One start at Vonage. A timeout leaves the outcome unknown: a code may be on its way under an id we
   * never saw, so the number is marked, and the status 10 that a retry gets is then adopted as ours.
   */
  private async startAtVonage(
    ctx: CallContext,
    params: StartParams,
    attempt: { maybeSent: boolean },
  ): Promise<StartOutcome> {
    try {
      const outcome = await this.deps.gateway.start(params);
      if (outcome.kind === 'started') attempt.maybeSent = true;
      return outcome;
    } catch (error) {
      if (error instanceof ApiError && error.code === 'upstream_timeout') {
        attempt.maybeSent = true;
        const now = this.deps.clock.now();
        await this.deps.store
          .noteUncertainStart(ctx.caller, params.phoneNumber, now, UNCERTAIN_START_MEMORY_MS)
          .catch((noteError: unknown) =>
            ctx.log.warn({ err: noteError }, 'could not note an uncertain start'),
          );
      }
      throw error;
    }
  }

  async verifyToken(ctx: CallContext, ref: VerificationRef, code: string): Promise<VerificationView> {
    // Once the wrong-code window is full, every check is refused before anything else, the right code
    // included. Checks of one number take turns on its lock, so counting after the answer stays exact.
    const failedGuard = (phoneNumber: string) => ({
      subject: limits.failedChecksPerNumber(ctx.caller, phoneNumber),
      rule: this.deps.settings.limits.failedChecksPerNumber,
      what: 'failed' as const,
    });
    return this.withPending(ctx, ref, failedGuard, async (record) => {
      const outcome = record.test
        ? this.checkTestCode(record.phoneNumber, code)
        : await this.deps.gateway.check(record.requestId, code);
      switch (outcome.kind) {
        case 'verified': {
          const done = await this.finish(record, 'verified');
          this.deps.onFunnel?.(ctx.caller, 'verified');
          return this.view(done);
        }
        case 'mismatch':
          await this.countWrongCode(ctx, failedGuard(record.phoneNumber));
          this.deps.onFunnel?.(ctx.caller, 'wrong_code');
          throw errors.codeMismatch(record.requestId);
        case 'too_many_attempts':
          await this.countWrongCode(ctx, failedGuard(record.phoneNumber));
          await this.finish(record, 'failed');
          this.deps.onFunnel?.(ctx.caller, 'too_many_attempts');
          throw errors.tooManyAttempts(record.requestId);
        case 'not_found':
          throw await this.endedAtVonage(record);
      }
    });
  }

  /** Adds a wrong code to the number's window; the answer the caller is owed does not wait on a full one. */
  private async countWrongCode(ctx: CallContext, window: LimitGuard): Promise<void> {
    await this.deps.limiter.reserve(window.subject, window.rule).catch((error: unknown) => {
      ctx.log.warn({ err: error }, 'could not count a wrong code');
    });
  }

  async cancel(ctx: CallContext, ref: VerificationRef): Promise<{ cancelled: true; requestId: string }> {
    return this.withPending(ctx, ref, undefined, async (record) => {
      const outcome = record.test
        ? { kind: 'done' as const }
        : await this.deps.gateway.cancel(record.requestId);
      if (outcome.kind === 'refused') {
        throw errors.cancelNotAllowed(record.requestId, this.cancelWindowLeftSeconds(record));
      }
      if (outcome.kind === 'not_found') throw await this.endedAtVonage(record);
      await this.finish(record, 'cancelled');
      this.deps.onFunnel?.(ctx.caller, 'cancelled');
      return { cancelled: true, requestId: record.requestId };
    });
  }

  async nextEvent(ctx: CallContext, ref: VerificationRef): Promise<{ requestId: string }> {
    const sendsGuard = (phoneNumber: string) => this.sendsGuard(ctx, phoneNumber);
    return this.withPending(ctx, ref, sendsGuard, async (record) => {
      if (record.test) throw errors.noMoreEvents(record.requestId);
      // A resend costs like a send, so it counts against the same limits.
      const sends = await this.reserveSends(ctx, record.phoneNumber);
      let sent = false;
      try {
        const outcome = await this.deps.gateway.triggerNextEvent(record.requestId);
        if (outcome.kind === 'refused') throw errors.noMoreEvents(record.requestId);
        if (outcome.kind === 'not_found') throw await this.endedAtVonage(record);
        sent = true;
        return { requestId: record.requestId };
      } finally {
        if (!sent) await this.releaseAll(ctx, sends);
      }
    });
  }

  async status(ctx: CallContext, requestId: string): Promise<VerificationView> {
    const record = await this.deps.store.findById(ctx.caller, requestId);
    if (!record) throw errors.verificationNotFound();
    return this.view(record);
  }

  // --- the steps -----------------------------------------------------------------------------------

  /** Parses the number a code is to be sent to; test numbers skip validity, not limits. */
  private phoneForSending(ctx: CallContext, input: string, country: string | undefined): string {
    const { testNumbers, allowedCountries } = this.deps.settings;
    // Parsed once: this runs on every request-token, refused ones included.
    const parsed = parsePhone(input, country);
    const e164 = parsed?.e164 ?? (testNumbers.size > 0 ? parseE164Loose(input) : undefined);
    if (e164 !== undefined && testNumbers.has(e164)) return e164;
    try {
      return judgePhone(parsed, country, allowedCountries).e164;
    } catch (error) {
      if (error instanceof ApiError && error.code === 'country_not_allowed') {
        this.deps.onFunnel?.(ctx.caller, 'refused_country');
      }
      if (error instanceof ApiError && error.code === 'number_not_supported') {
        this.deps.onFunnel?.(ctx.caller, 'refused_number');
      }
      throw error;
    }
  }

  /** Vonage said status 10 for one of this caller's requests: cancel it so a new one can start. */
  private async replaceInFlight(
    ctx: CallContext,
    phoneNumber: string,
    inFlight: Extract<StartOutcome, { kind: 'in_flight' }>,
    pinExpirySeconds: number,
  ): Promise<string> {
    const own =
      (await this.deps.store.findById(ctx.caller, inFlight.requestId)) ??
      (await this.adoptUncertain(ctx, phoneNumber, inFlight.requestId, pinExpirySeconds));
    if (!own || own.phoneNumber !== phoneNumber) throw errors.concurrentVerification();
    const cancelled = await this.deps.gateway.cancel(own.requestId);
    if (cancelled.kind === 'refused') {
      // The code already sent is still valid: the caller should use it.
      throw errors.verificationInProgress(own.requestId, this.retryAfterSeconds(own));
    }
    if (own.status === 'pending') await this.finish(own, cancelled.kind === 'done' ? 'cancelled' : 'expired');
    ctx.log.info({ requestId: own.requestId }, 'replaced in-flight verification');
    return own.requestId;
  }

  /**
   * Status 10 with an id we do not know: if this caller's last start for the number timed out, this is
   * almost surely the code it sent. Recording it makes that code verifiable and lets it be replaced.
   */
  private async adoptUncertain(
    ctx: CallContext,
    phoneNumber: string,
    requestId: string,
    pinExpirySeconds: number,
  ): Promise<VerificationRecord | undefined> {
    const at = await this.deps.store.uncertainStartAt(ctx.caller, phoneNumber);
    if (at === undefined) return undefined;
    const record: VerificationRecord = {
      requestId,
      caller: ctx.caller,
      phoneNumber,
      status: 'pending',
      createdAt: at,
      expiresAt: at + pinExpirySeconds * 1000,
    };
    // An id some caller already recorded is not an orphan: then it is someone else's verification.
    if (!(await this.deps.store.create(record, record.expiresAt + RECORD_RETENTION_MS))) return undefined;
    ctx.log.warn({ requestId }, 'adopted the verification of an earlier start that timed out');
    return record;
  }

  private async inFlightError(ctx: CallContext, requestId: string): Promise<ApiError> {
    const own = await this.deps.store.findById(ctx.caller, requestId);
    return own
      ? errors.verificationInProgress(own.requestId, this.retryAfterSeconds(own))
      : errors.concurrentVerification();
  }

  /**
   * Stores a verification Vonage has started. If the store cannot take it, the code is out there without
   * a record: cancel it at Vonage, or, where Vonage refuses (always in the first 30 s), log its id so
   * an operator can account for it, and answer 503.
   */
  private async record(
    ctx: CallContext,
    requestId: string,
    phoneNumber: string,
    pinExpirySeconds: number,
    test: boolean,
    replacedRequestId?: string,
  ): Promise<VerificationRecord> {
    const now = this.deps.clock.now();
    const record: VerificationRecord = {
      requestId,
      caller: ctx.caller,
      phoneNumber,
      status: 'pending',
      createdAt: now,
      expiresAt: now + pinExpirySeconds * 1000,
      ...(test ? { test: true } : {}),
      ...(replacedRequestId ? { replacedRequestId } : {}),
    };
    try {
      if (!(await this.deps.store.create(record, record.expiresAt + RECORD_RETENTION_MS))) {
        throw new Error('Vonage returned a request id that is already recorded');
      }
      return record;
    } catch (error) {
      if (!test) await this.abandon(ctx, requestId, phoneNumber);
      throw error;
    }
  }

  private async abandon(ctx: CallContext, requestId: string, phoneNumber: string): Promise<void> {
    let outcome = 'error';
    try {
      outcome = (await this.deps.gateway.cancel(requestId)).kind;
    } catch (error) {
      outcome = error instanceof ApiError ? error.code : 'error';
    }
    if (outcome === 'done') {
      ctx.log.warn({ requestId }, 'store failed after start; verification cancelled at Vonage');
    } else {
      ctx.log.error(
        { requestId, phone: maskPhone(phoneNumber), cancel: outcome, untracked: true },
        'store failed after start and Vonage refused the cancel: untracked verification',
      );
    }
  }

  private async find(ctx: CallContext, ref: VerificationRef): Promise<VerificationRecord> {
    let record: VerificationRecord | undefined;
    if ('requestId' in ref) {
      record = await this.deps.store.findById(ctx.caller, ref.requestId);
    } else {
      const phone =
        parsePhone(ref.phoneNumber, ref.country)?.e164 ?? normalisePhone(ref.phoneNumber, ref.country);
      if (phone === undefined) throw errors.invalidPhoneNumber();
      record = await this.deps.store.findCurrent(ctx.caller, phone);
    }
    if (!record) throw errors.verificationNotFound();
    return record;
  }

  /**
   * The common path of verify, cancel and next-event: find the caller's verification, take its
   * number's lock (refused at once when the guard's window is full), re-read it, require it pending.
   */
  private async withPending<T>(
    ctx: CallContext,
    ref: VerificationRef,
    guardFor: ((phoneNumber: string) => LimitGuard & { what: LimitKind }) | undefined,
    work: (record: VerificationRecord) => Promise<T>,
  ): Promise<T> {
    const found = await this.find(ctx, ref);
    const guard = guardFor?.(found.phoneNumber);
    return this.withLock(
      ctx,
      found.phoneNumber,
      async () => {
        const record = await this.reload(ctx, found);
        await this.requirePending(record);
        return work(record);
      },
      guard,
    );
  }

  /** Vonage status 6: it no longer knows the request as active, so it is over for us too (404). */
  private async endedAtVonage(record: VerificationRecord): Promise<ApiError> {
    await this.finish(record, 'expired');
    return errors.verificationNotFound();
  }

  /** The record as it is now that we hold the lock: another request may have changed it meanwhile. */
  private async reload(ctx: CallContext, found: VerificationRecord): Promise<VerificationRecord> {
    const record = await this.deps.store.get(ctx.caller, found.phoneNumber, found.requestId);
    if (!record) throw errors.verificationNotFound();
    return record;
  }

  /** Answers for a verification that is over; one found past its expiry is recorded as expired first. */
  private async requirePending(record: VerificationRecord): Promise<void> {
    const status = this.effectiveStatus(record);
    if (status === 'expired' && record.status === 'pending')
      await this.finish(record, 'expired', record.expiresAt);
    switch (status) {
      case 'pending':
        return;
      case 'verified':
        throw errors.alreadyVerified(record.requestId);
      case 'failed':
        throw errors.tooManyAttempts(record.requestId);
      default:
        throw errors.verificationExpired(record.requestId);
    }
  }

  private effectiveStatus(record: VerificationRecord): VerificationStatus {
    return record.status === 'pending' && this.deps.clock.now() >= record.expiresAt
      ? 'expired'
      : record.status;
  }

  private async finish(
    record: VerificationRecord,
    status: VerificationStatus,
    finishedAt = this.deps.clock.now(),
  ): Promise<VerificationRecord> {
    const done: VerificationRecord = { ...record, status, finishedAt };
    await this.deps.store.update(done);
    if (status === 'expired') this.deps.onFunnel?.(record.caller, 'expired');
    return done;
  }

  private view(record: VerificationRecord): VerificationView {
    const status = this.effectiveStatus(record);
    const finishedAt = record.finishedAt ?? (status === 'expired' ? record.expiresAt : undefined);
    return {
      requestId: record.requestId,
      phoneNumber: record.phoneNumber,
      status,
      createdAt: iso(record.createdAt),
      expiresAt: iso(record.expiresAt),
      ...(finishedAt !== undefined ? { finishedAt: iso(finishedAt) } : {}),
    };
  }

  private checkTestCode(phoneNumber: string, code: string): { kind: 'verified' | 'mismatch' } {
    const expected = Buffer.from(this.deps.settings.testNumbers.get(phoneNumber) ?? '');
    const given = Buffer.from(code);
    const same = expected.length === given.length && timingSafeEqual(expected, given);
    return { kind: same ? 'verified' : 'mismatch' };
  }

  /** Seconds until a new code can be requested for this one's number: the cancel window, or its expiry. */
  private retryAfterSeconds(record: VerificationRecord): number {
    const now = this.deps.clock.now();
    const windowLeft = record.createdAt + CANCEL_WINDOW_MS - now;
    return Math.max(1, Math.ceil((windowLeft > 0 ? windowLeft : record.expiresAt - now) / 1000));
  }

  private cancelWindowLeftSeconds(record: VerificationRecord): number | undefined {
    const left = record.createdAt + CANCEL_WINDOW_MS - this.deps.clock.now();
    return left > 0 ? Math.ceil(left / 1000) : undefined;
  }

  // --- limits and locks ----------------------------------------------------------------------------

  /** A full per-number send window refuses request-token and next-event before the lock is even taken. */
  private sendsGuard(ctx: CallContext, phoneNumber: string): LimitGuard & { what: LimitKind } {
    return {
      subject: limits.sendsPerNumber(ctx.caller, phoneNumber),
      rule: this.deps.settings.limits.sendsPerNumber,
      what: 'number',
    };
  }

  private async reserveSends(ctx: CallContext, phoneNumber: string): Promise<Reservation[]> {
    const rules = this.deps.settings.limits;
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
    const decision: LimitDecision = await this.deps.limiter.reserve(subject, rule);
    if (decision.allowed) return decision.reservation;
    throw this.limited(ctx, what, rule, decision.retryAfterMs);
  }

  private limited(
    ctx: CallContext,
    what: LimitKind,
    rule: LimitRule | undefined,
    retryAfterMs: number,
  ): ApiError {
    this.deps.onFunnel?.(ctx.caller, 'rate_limited');
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
        await this.deps.limiter.release(reservation);
      } catch (error) {
        ctx.log.warn({ err: error }, 'could not give a rate-limit slot back');
      }
    }
  }

  /**
   * Runs `work` holding the lease on this caller's number, so racing requests for one number take turns
   * (and at most one of them starts a verification). `contended` tells work that it had to wait.
   */
  private async withLock<T>(
    ctx: CallContext,
    phoneNumber: string,
    work: (contended: boolean) => Promise<T>,
    guard?: LimitGuard & { what: LimitKind },
  ): Promise<T> {
    const deadline = Date.now() + this.lockWaitMs;
    let contended = false;
    let delay = 5;
    for (;;) {
      const lease = await this.deps.store.lock(ctx.caller, phoneNumber, this.lockTtlMs, guard);
      if ('limitedForMs' in lease)
        throw this.limited(ctx, guard?.what ?? 'number', guard?.rule, lease.limitedForMs);
      if ('token' in lease) {
        try {
          return await work(contended);
        } finally {
          await this.deps.store.unlock(ctx.caller, phoneNumber, lease.token).catch((error: unknown) => {
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
}
