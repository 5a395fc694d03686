// The verification rules: what request, verify, cancel, next-event and status mean for one caller.
// Each use case below reads as a table of contents; the steps live beside it:
//   number-gate.ts     the per-number lock and the rate limits (what is limited, reserved and refunded)
//   start-protocol.ts  starting at Vonage: status 10, replacing, adopting a timed-out start, recording
//   records.ts         finding a verification, its status as of now, finishing it, the views returned
//   phone.ts           parsing, judging and masking phone numbers
//   types.ts           the inputs, views, settings and funnel events
// Knows nothing about HTTP, Redis keys or Vonage status codes.

import { errors } from '../errors';
import type { VerificationRecord } from '../store/store';
import { type Guard, NumberGate } from './number-gate';
import { phoneForSending } from './phone';
import { Records } from './records';
import { StartProtocol } from './start-protocol';
import type {
  CallContext,
  FunnelEvent,
  RequestTokenInput,
  ServiceDeps,
  StartedView,
  VerificationRef,
  VerificationView,
} from './types';
import { VonageBudget } from './vonage-budget';

export class VerifyService {
  private readonly gate: NumberGate;
  private readonly records: Records;
  private readonly starts: StartProtocol;
  private readonly budget: VonageBudget;

  constructor(private readonly deps: ServiceDeps) {
    const funnel = (caller: string, event: FunnelEvent) => deps.onFunnel?.(caller, event);
    const guard = deps.guard;
    this.records = new Records(deps.store, deps.clock, funnel, async (record, status) => {
      await guard?.finished(record, status);
    });
    this.gate = new NumberGate(deps.store, deps.limiter, deps.settings, funnel, guard);
    this.budget = new VonageBudget(
      deps.gateway,
      deps.limiter,
      {
        callsPerCaller: deps.settings.limits.vonageCallsPerCaller,
        maxRequestsPerSecond: deps.settings.vonageMaxRequestsPerSecond,
      },
      (caller) => deps.onFunnel?.(caller, 'rate_limited'),
    );
    const vonage = (ctx: CallContext) => this.budget.for(ctx);
    this.starts = new StartProtocol(deps.store, vonage, deps.clock, deps.settings, this.records);
  }

  async requestToken(ctx: CallContext, input: RequestTokenInput): Promise<StartedView> {
    this.requireLanguage(input.locale);
    const phoneNumber = phoneForSending(input.phoneNumber, input.country, this.deps.settings, (why) =>
      this.funnel(ctx, why),
    );
    const arrivedAt = this.deps.clock.now();
    const guard = this.gate.sendsGuard(ctx, phoneNumber);
    // A request that waits for the number's lock answers with the code its holder started, if any.
    const startedMeanwhile = () => this.records.refuseIfStartedSince(ctx, phoneNumber, arrivedAt);
    const record = await this.gate.withLock(
      ctx,
      phoneNumber,
      guard,
      async (contended) => {
        if (contended) await startedMeanwhile();
        // Inside the lock, so racing requests for one number cannot all pass the per-number limit.
        return this.gate.withSends(ctx, phoneNumber, (attempt) =>
          this.starts.start(ctx, phoneNumber, input, attempt),
        );
      },
      { check: startedMeanwhile },
    );
    this.funnel(ctx, 'started');
    await this.deps.guard?.started(ctx, record);
    return this.records.startedView(record);
  }

  async verifyToken(ctx: CallContext, ref: VerificationRef, code: string): Promise<VerificationView> {
    const guard = (phoneNumber: string) => this.gate.failedChecksGuard(ctx, phoneNumber);
    return this.withPending(ctx, ref, guard, async (record) => {
      const outcome = record.test
        ? this.records.checkTestCode(this.deps.settings.testNumbers.get(record.phoneNumber) ?? '', code)
        : await this.budget.for(ctx).check(record.requestId, code);
      switch (outcome.kind) {
        case 'verified': {
          const done = await this.records.finish(record, 'verified');
          this.funnel(ctx, 'verified');
          return this.records.view(done);
        }
        case 'mismatch':
          await this.gate.countWrongCode(ctx, record.phoneNumber);
          this.funnel(ctx, 'wrong_code');
          throw errors.codeMismatch(record.requestId);
        case 'too_many_attempts':
          await this.gate.countWrongCode(ctx, record.phoneNumber);
          await this.records.finish(record, 'failed');
          this.funnel(ctx, 'too_many_attempts');
          throw errors.tooManyAttempts(record.requestId);
        case 'not_found':
          throw await this.records.endedAtVonage(record);
      }
    });
  }

  async cancel(ctx: CallContext, ref: VerificationRef): Promise<{ cancelled: true; requestId: string }> {
    return this.withPending(ctx, ref, undefined, async (record) => {
      const outcome = record.test
        ? { kind: 'done' as const }
        : await this.budget.for(ctx).cancel(record.requestId);
      if (outcome.kind === 'refused') {
        throw errors.cancelNotAllowed(record.requestId, this.records.cancelWindowLeftSeconds(record));
      }
      if (outcome.kind === 'not_found') throw await this.records.endedAtVonage(record);
      await this.records.finish(record, 'cancelled');
      this.funnel(ctx, 'cancelled');
      return { cancelled: true, requestId: record.requestId };
    });
  }

  async nextEvent(ctx: CallContext, ref: VerificationRef): Promise<{ requestId: string }> {
    const guard = (phoneNumber: string) => this.gate.sendsGuard(ctx, phoneNumber);
    return this.withPending(ctx, ref, guard, async (record) => {
      if (record.test) throw errors.noMoreEvents(record.requestId);
      // A resend costs like a send, so it counts against the same limits.
      return this.gate.withSends(ctx, record.phoneNumber, async (attempt) => {
        const outcome = await this.budget.for(ctx).triggerNextEvent(record.requestId);
        if (outcome.kind === 'refused') throw errors.noMoreEvents(record.requestId);
        if (outcome.kind === 'not_found') throw await this.records.endedAtVonage(record);
        attempt.maybeSent = true;
        return { requestId: record.requestId };
      });
    });
  }

  async status(ctx: CallContext, requestId: string): Promise<VerificationView> {
    return this.records.view(await this.records.findById(ctx, requestId));
  }

  /**
   * The common path of verify, cancel and next-event: find the caller's verification, take its
   * number's lock (refused at once when the guard's window is full), re-read it, require it pending.
   */
  private async withPending<T>(
    ctx: CallContext,
    ref: VerificationRef,
    guardFor: ((phoneNumber: string) => Guard) | undefined,
    work: (record: VerificationRecord) => Promise<T>,
  ): Promise<T> {
    const found = await this.records.find(ctx, ref);
    return this.gate.withLock(
      ctx,
      found.phoneNumber,
      guardFor?.(found.phoneNumber),
      async () => {
        const record = await this.records.reload(ctx, found);
        await this.records.requirePending(record);
        return work(record);
      },
      { requestId: found.requestId },
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

  private funnel(ctx: CallContext, event: FunnelEvent): void {
    this.deps.onFunnel?.(ctx.caller, event);
  }
}
