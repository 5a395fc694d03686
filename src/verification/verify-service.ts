// The verification rules: what request, verify, cancel, next-event and status mean for one caller.
// Each use case below reads as a table of contents; the steps live beside it:
//   number-gate.ts     the per-number lock and the rate limits (what is limited, reserved and refunded)
//   start-protocol.ts  starting at Vonage: status 10, replacing, adopting a timed-out start, recording
//   outcomes.ts        calls whose answer was lost (timeout, reset, store failure): marked, then resolved
//   records.ts         finding a verification, its status as of now, finishing it, the views returned
//   schedule.ts        when Vonage delivers and ends a verification (expiresAt, retryAfterSeconds)
//   phone.ts           parsing, judging and masking phone numbers
//   types.ts           the inputs, views, settings and funnel events
// Knows nothing about HTTP, Redis keys or Vonage status codes.

import { errors } from '../errors';
import type { Logger } from '../logger';
import type { HeldLock, VerificationRecord } from '../store/store';
import { isOutcomeUnknown } from '../vonage/thrown';
import { resolveChannels } from './channels';
import { type Guard, NumberGate } from './number-gate';
import { Outcomes, type Settled } from './outcomes';
import { phoneForSending, WrittenPhones } from './phone';
import { Records } from './records';
import { afterNextEvent } from './schedule';
import { StartProtocol } from './start-protocol';
import type {
  CallbackUpdate,
  CallContext,
  FunnelEvent,
  RequestTokenInput,
  ServiceDeps,
  StartedView,
  VerificationRef,
  VerificationView,
} from './types';
import { VonageBudget } from './vonage-budget';

/** A request-token past the checks made before the number's lock (admitStart). */
export interface AdmittedStart {
  /** E.164. */
  phoneNumber: string;
  arrivedAt: number;
  guard: Guard;
}

export class VerifyService {
  private readonly gate: NumberGate;
  private readonly records: Records;
  private readonly starts: StartProtocol;
  private readonly budget: VonageBudget;
  private readonly outcomes: Outcomes;
  /** The numbers request-token was given lately, parsed (a flood for one number parses it once). */
  private readonly written = new WrittenPhones();

  constructor(private readonly deps: ServiceDeps) {
    const funnel = (caller: string, event: FunnelEvent) => deps.onFunnel?.(caller, event);
    const guard = deps.guard;
    this.records = new Records(deps.store, deps.clock, funnel, async (record, status) => {
      await guard?.finished(record, status);
    });
    this.gate = new NumberGate(deps.store, deps.limiter, deps.settings, funnel, deps.clock, guard);
    this.budget = new VonageBudget(
      deps.gateway,
      deps.limiter,
      {
        callsPerCaller: deps.settings.limits.vonageCallsPerCaller,
        maxRequestsPerSecond: deps.settings.vonageMaxRequestsPerSecond,
      },
      (caller) => deps.onFunnel?.(caller, 'rate_limited'),
    );
    const vonage = (ctx: CallContext, written?: Promise<unknown>) => this.budget.for(ctx, written);
    this.outcomes = new Outcomes(deps.store, vonage, deps.clock, this.records);
    const { store, clock, settings } = deps;
    this.starts = new StartProtocol(store, vonage, clock, settings, this.records, this.outcomes);
  }

  /**
   * What request-token checks before it takes the number's lock, in this order: the language, the
   * number, the options, then this instance's memory of the number's full send window (429). It throws
   * synchronously, so the HTTP handler answers a flood of refusals without a promise; requestToken
   * goes on from what it returns.
   */
  admitStart(ctx: CallContext, input: RequestTokenInput): AdmittedStart {
    this.requireLanguage(input.locale);
    const phoneNumber = phoneForSending(
      input.phoneNumber,
      input.country,
      this.deps.settings,
      (why) => this.funnel(ctx, why),
      this.written,
    );
    // What the configured Verify API cannot honour is refused before anything is counted or sent.
    this.deps.gateway.checkOptions({
      channels: resolveChannels(input, this.deps.settings.workflowId),
      pinExpiryGiven: input.pinExpiry !== undefined,
      nextEventWait: input.nextEventWait,
    });
    const arrivedAt = this.deps.clock.now();
    // The lock taken at the first try takes the per-number send slot with it (one step).
    const guard = this.gate.refuseFromMemory(ctx, phoneNumber, this.gate.sendsGuard(ctx, phoneNumber, true));
    return { phoneNumber, arrivedAt, guard };
  }

  async requestToken(
    ctx: CallContext,
    input: RequestTokenInput,
    admitted: AdmittedStart = this.admitStart(ctx, input),
  ): Promise<StartedView> {
    const { phoneNumber, arrivedAt, guard } = admitted;
    // A request that waits for the number's lock answers with the code its holder started, if any.
    const startedMeanwhile = () => this.records.refuseIfStartedSince(ctx, phoneNumber, arrivedAt);
    let noted: Promise<void> | undefined;
    const record = await this.gate.withLock(
      ctx,
      phoneNumber,
      guard,
      async ({ contended, reservation, lock }) => {
        if (contended) await startedMeanwhile();
        // Inside the lock, so racing requests for one number cannot all pass the per-number limit. The
        // record's write lets the lock go (one step).
        const started = await this.gate.withSends(
          ctx,
          phoneNumber,
          (attempt) => this.starts.start(ctx, phoneNumber, input, attempt, lock),
          reservation,
        );
        // The guard notes the code (its own keys, best effort) while the lock is let go: in parallel.
        noted = this.deps.guard?.started(ctx, started);
        return started;
      },
      { check: startedMeanwhile },
    );
    this.funnel(ctx, 'started');
    await noted;
    return this.records.startedView(record);
  }

  async verifyToken(ctx: CallContext, ref: VerificationRef, code: string): Promise<VerificationView> {
    const guard = (phoneNumber: string) => this.gate.failedChecksGuard(ctx, phoneNumber);
    // A verification that turns out to have been verified by a lost answer: 200 for the code that did it.
    const ended = (settled: Settled) =>
      settled.record.status === 'verified' && settled.kind === 'ended' && settled.validCodes?.includes(code)
        ? this.records.view(settled.record)
        : undefined;
    return this.withPending(ctx, ref, guard, ended, async (record, _settled, lock) => {
      const outcome = record.test
        ? this.records.checkTestCode(this.deps.settings.testNumbers.get(record.phoneNumber) ?? '', code)
        : await this.outcomes.call(ctx, record, 'check', (marked) =>
            this.budget.for(ctx, marked).check(record.requestId, code),
          );
      switch (outcome.kind) {
        case 'verified': {
          // The finished record's write lets the lock go (one step).
          const done = await this.records.finish(record, 'verified', undefined, lock);
          this.funnel(ctx, 'verified');
          return this.records.view(done);
        }
        case 'mismatch':
          await this.outcomes.clear(ctx, record);
          await this.gate.countWrongCode(ctx, record.phoneNumber);
          await this.records.note(ctx, record, [{ at: this.deps.clock.now(), type: 'check_failed' }]);
          this.funnel(ctx, 'wrong_code');
          throw errors.codeMismatch(record.requestId);
        case 'too_many_attempts': {
          await this.gate.countWrongCode(ctx, record.phoneNumber);
          const failed = { at: this.deps.clock.now(), type: 'check_failed' as const };
          await this.records.finish(await this.records.note(ctx, record, [failed]), 'failed');
          this.funnel(ctx, 'too_many_attempts');
          throw errors.tooManyAttempts(record.requestId);
        }
        case 'not_found':
          return this.answerEnded(await this.outcomes.afterNotFound(ctx, record, 'check'), ended);
      }
    });
  }

  async cancel(ctx: CallContext, ref: VerificationRef): Promise<{ cancelled: true; requestId: string }> {
    // A lost cancel that went through: the retry is answered as the first would have been.
    const ended = (settled: Settled) =>
      settled.record.status === 'cancelled'
        ? { cancelled: true as const, requestId: settled.record.requestId }
        : undefined;
    return this.withPending(ctx, ref, undefined, ended, async (record, _settled, lock) => {
      const outcome = record.test
        ? { kind: 'done' as const }
        : await this.outcomes.call(ctx, record, 'cancel', (marked) =>
            this.budget.for(ctx, marked).cancel(record.requestId),
          );
      if (outcome.kind === 'refused') {
        await this.outcomes.clear(ctx, record);
        throw errors.cancelNotAllowed(record.requestId, this.records.cancelWindowLeftSeconds(record));
      }
      if (outcome.kind === 'not_found') {
        return this.answerEnded(await this.outcomes.afterNotFound(ctx, record, 'cancel'), ended);
      }
      await this.records.finish(record, 'cancelled', undefined, lock);
      this.funnel(ctx, 'cancelled');
      return { cancelled: true, requestId: record.requestId };
    });
  }

  async nextEvent(ctx: CallContext, ref: VerificationRef): Promise<{ requestId: string }> {
    const guard = (phoneNumber: string) => this.gate.sendsGuard(ctx, phoneNumber);
    return this.withPending(ctx, ref, guard, undefined, async (record, settled) => {
      if (record.test) throw errors.noMoreEvents(record.requestId);
      // A lost next-event that did happen: the retry does not send another one.
      if (settled.kind === 'pending' && settled.triggered) return { requestId: record.requestId };
      // A resend costs like a send, so it counts against the same limits.
      return this.gate.withSends(ctx, record.phoneNumber, async (attempt) => {
        const trigger = (marked: Promise<unknown>) =>
          this.budget.for(ctx, marked).triggerNextEvent(record.requestId);
        const outcome = await this.outcomes.call(ctx, record, 'trigger', trigger).catch((error: unknown) => {
          // A lost answer may have sent a code: it keeps its send slot.
          attempt.maybeSent = isOutcomeUnknown(error);
          throw error;
        });
        if (outcome.kind === 'refused') {
          await this.outcomes.clear(ctx, record);
          throw errors.noMoreEvents(record.requestId);
        }
        if (outcome.kind === 'not_found') {
          return this.answerEnded<{ requestId: string }>(
            await this.outcomes.afterNotFound(ctx, record, 'trigger'),
            () => undefined,
          );
        }
        attempt.maybeSent = true;
        const moved = afterNextEvent(record, this.deps.clock.now());
        await this.deps.store.update(moved);
        await this.records.note(ctx, moved, [{ at: this.deps.clock.now(), type: 'next_event' }]);
        return { requestId: record.requestId };
      });
    });
  }

  /** Forgets the refusals remembered for limited numbers (the sandbox's reset empties their windows). */
  forgetRefusals(): void {
    this.gate.forgetRefusals();
  }

  /**
   * The caller's verification. One whose last call's outcome was lost is resolved first, unless a
   * request holding its number's lock is working on it right now (then it is shown as it is).
   */
  async status(ctx: CallContext, requestId: string): Promise<VerificationView> {
    const found = await this.records.findById(ctx, requestId);
    if (!found.unknownOutcome) return this.records.view(found);
    const settled = await this.gate.ifFree(ctx, found.phoneNumber, async () =>
      this.outcomes.settle(ctx, await this.records.reload(ctx, found)),
    );
    return this.records.view(settled?.record ?? found);
  }

  /**
   * A provider callback (already authenticated): adds its deliveries to the timeline and ends a pending
   * verification it says has ended. Idempotent; never moves a verification backwards; an id nobody
   * recorded is ignored (Vonage retries anything but a 2xx).
   */
  async applyCallback(update: CallbackUpdate, log: Logger): Promise<void> {
    const found = await this.deps.store.findByRequestId(update.requestId);
    if (!found) return;
    const ctx: CallContext = { caller: found.caller, log };
    const read = { read: found.requestId };
    await this.gate.withLock(
      ctx,
      found.phoneNumber,
      undefined,
      async (lease) => {
        const record = this.records.asOfLock(lease.record);
        const noted = update.events.length > 0 ? await this.records.note(ctx, record, update.events) : record;
        if (update.outcome && noted.status === 'pending') await this.records.finish(noted, update.outcome);
      },
      read,
    );
  }

  /**
   * The common path of verify, cancel and next-event: find where the caller's verification is, take its
   * number's lock (refused at once when the guard's window is full) and read it in the same step, resolve a lost outcome
   * of its last call, and require it pending; `ended` may answer for one that turned out to have ended.
   */
  private async withPending<T>(
    ctx: CallContext,
    ref: VerificationRef,
    guardFor: ((phoneNumber: string) => Guard) | undefined,
    ended: ((settled: Settled) => T | undefined) | undefined,
    work: (record: VerificationRecord, settled: Settled, lock: HeldLock) => Promise<T>,
  ): Promise<T> {
    const found = await this.records.locate(ctx, ref);
    const guard = guardFor?.(found.phoneNumber);
    return this.gate.withLock(
      ctx,
      found.phoneNumber,
      guard && this.gate.refuseFromMemory(ctx, found.phoneNumber, guard),
      async (lease) => {
        // Read with the lock (in the same step), so no other request changes it meanwhile.
        const settled = await this.outcomes.settle(ctx, this.records.asOfLock(lease.record));
        if (settled.kind === 'ended') return this.answerEnded(settled, ended ?? (() => undefined));
        await this.records.requirePending(settled.record);
        return work(settled.record, settled, lease.lock);
      },
      { requestId: found.requestId, read: found.requestId },
    );
  }

  /** `locale` must be one of the configured Verify API's languages: Vonage would refuse any other. */
  private requireLanguage(locale: string | undefined): void {
    if (locale === undefined || this.deps.gateway.languages.has(locale)) return;
    throw errors.validationFailed([
      {
        path: 'locale',
        message: `must be one of the Verify API's languages: ${[...this.deps.gateway.languages].sort().join(', ')}`,
      },
    ]);
  }

  /** A verification found to have ended: the use case's own answer for it, or the error for its status. */
  private async answerEnded<T>(settled: Settled, ended: (settled: Settled) => T | undefined): Promise<T> {
    const answer = ended(settled);
    if (answer !== undefined) return answer;
    await this.records.requirePending(settled.record);
    throw errors.verificationExpired(settled.record.requestId);
  }

  private funnel(ctx: CallContext, event: FunnelEvent): void {
    this.deps.onFunnel?.(ctx.caller, event);
  }
}
