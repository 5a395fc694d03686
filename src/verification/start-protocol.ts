// The start-at-Vonage protocol of request-token: start (or, for a test number, not at all), replace
// this caller's in-flight verification once when Vonage answers status 10, adopt the code of an earlier
// start that timed out, and record the result, cancelling at Vonage what could not be recorded.

import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock';
import { ApiError, errors } from '../errors';
import {
  type HeldLock,
  RECORD_RETENTION_MS,
  type VerificationRecord,
  type VerificationStore,
} from '../store/store';
import type { StartOutcome, StartParams, VerifyGateway } from '../vonage/gateway';
import { isOutcomeUnknown } from '../vonage/thrown';
import { type Channel, resolveChannels, workflowIdFor } from './channels';
import type { Outcomes } from './outcomes';
import { maskPhone } from './phone';
import type { Records } from './records';
import { scheduledEnd } from './schedule';
import type { CallContext, RequestTokenInput, SendAttempt, ServiceSettings } from './types';

type InFlight = Extract<StartOutcome, { kind: 'in_flight' }>;

/** How long a verification lasts: the provider's delivery schedule, or a fixed span for a test number. */
type Lifetime = { deliveryWaitsMs: number[] } | { fixedMs: number };

function lifetimeFields(
  createdAt: number,
  lifetime: Lifetime,
): Pick<VerificationRecord, 'expiresAt'> & {
  deliveryWaitsMs?: number[];
} {
  if ('fixedMs' in lifetime) return { expiresAt: createdAt + lifetime.fixedMs };
  const { deliveryWaitsMs } = lifetime;
  return { expiresAt: scheduledEnd({ createdAt, deliveryWaitsMs }), deliveryWaitsMs };
}

export class StartProtocol {
  constructor(
    private readonly store: VerificationStore,
    /** Vonage as the calling caller sees it (each call takes its budget first). */
    /** `written`: a store write the call must wait for (see VonageBudget.for). */
    private readonly vonage: (ctx: CallContext, written?: Promise<unknown>) => VerifyGateway,
    private readonly clock: Clock,
    private readonly settings: ServiceSettings,
    private readonly records: Records,
    private readonly outcomes: Outcomes,
  ) {}

  /**
   * Starts at Vonage (or not at all, for a test number) and records the verification. `lock`: the
   * number's lock, let go by the record's write (the last step under it).
   */
  async start(
    ctx: CallContext,
    phoneNumber: string,
    input: RequestTokenInput,
    attempt: SendAttempt,
    lock?: HeldLock,
  ): Promise<VerificationRecord> {
    const { settings } = this;
    const asked = input.pinExpiry ?? settings.pinExpirySeconds;
    // Vonage's rule: a pin_expiry that is not a multiple of next_event_wait becomes next_event_wait.
    const pinExpiry = input.nextEventWait && asked % input.nextEventWait !== 0 ? input.nextEventWait : asked;
    const channels = resolveChannels(input, settings.workflowId);
    if (settings.testNumbers.has(phoneNumber)) {
      attempt.maybeSent = true;
      const lifetime = { fixedMs: pinExpiry * 1000 };
      const id = `test-${randomBytes(12).toString('hex')}`;
      return this.record(ctx, id, phoneNumber, lifetime, true, { channels }, lock);
    }
    const params: StartParams = {
      phoneNumber,
      brand: input.brand ?? settings.brand,
      codeLength: input.codeLength ?? settings.codeLength,
      channels,
      // v1: checkOptions refused channels that are no workflow before this is reached.
      workflowId: workflowIdFor(channels) ?? settings.workflowId,
      pinExpiry,
      ...(input.locale ? { locale: input.locale } : {}),
      ...(input.nextEventWait ? { nextEventWait: input.nextEventWait } : {}),
    };
    // Vonage ends the verification when its workflow has run out, not when the first code expires.
    const waits = this.vonage(ctx).deliveryWaitsSeconds(params);
    const lifetime = { deliveryWaitsMs: waits.map((seconds) => seconds * 1000) };
    const details = (started: Extract<StartOutcome, { kind: 'started' }>) => ({
      channels,
      ...(started.checkUrl ? { checkUrl: started.checkUrl } : {}),
    });
    const first = await this.startAtVonage(ctx, params, attempt);
    if (first.kind === 'started') {
      return this.record(ctx, first.requestId, phoneNumber, lifetime, false, details(first), lock);
    }
    // Status 10 (v2: 409 concurrent): one verification per number. If it is this caller's, replace it once.
    const replaced = await this.replaceInFlight(ctx, phoneNumber, first, lifetime);
    const second = await this.startAtVonage(ctx, params, attempt);
    if (second.kind !== 'started') throw await this.inFlightError(ctx, second.requestId);
    const replacing = { ...details(second), replacedRequestId: replaced };
    return this.record(ctx, second.requestId, phoneNumber, lifetime, false, replacing, lock);
  }

  /**
   * One start at Vonage, its intent written first (its budget asked for meanwhile): a store that cannot
   * take that write refuses here, before any code is sent. A lost answer (timeout, reset) leaves the outcome unknown: a code may be on
   * its way under an id we never saw, so the intent stays (and the number is marked), and the status 10
   * that a retry gets is then adopted as ours. A definite answer without a new verification clears it.
   */
  private async startAtVonage(
    ctx: CallContext,
    params: StartParams,
    attempt: SendAttempt,
  ): Promise<StartOutcome> {
    const intentAt = this.clock.now();
    const memoryMs = this.uncertainStartMemoryMs(ctx, params);
    const intent = this.store.noteStartIntent(ctx.caller, params.phoneNumber, intentAt, memoryMs);
    // The call's budget is asked for while the intent is written; the call waits for both.
    const started = this.vonage(ctx, intent).start(params);
    started.catch(() => {});
    // An intent that could not be written: nothing was started (the call waited for it), nothing to clear.
    await intent;
    try {
      const outcome = await started;
      if (outcome.kind === 'started') attempt.maybeSent = true;
      else await this.clearIntent(ctx, params.phoneNumber);
      return outcome;
    } catch (error) {
      if (!isOutcomeUnknown(error)) {
        await this.clearIntent(ctx, params.phoneNumber);
      } else {
        attempt.maybeSent = true;
        const now = this.clock.now();
        await this.store
          .noteUncertainStart(ctx.caller, params.phoneNumber, now, memoryMs)
          .catch((noteError: unknown) =>
            ctx.log.warn({ err: noteError }, 'could not note an uncertain start'),
          );
      }
      throw error;
    }
  }

  private async clearIntent(ctx: CallContext, phoneNumber: string): Promise<void> {
    await this.store.clearStartIntent(ctx.caller, phoneNumber).catch((error: unknown) => {
      ctx.log.warn({ err: error }, 'could not clear a start intent');
    });
  }

  /** Vonage said status 10 for one of this caller's requests: cancel it so a new one can start. */
  private async replaceInFlight(
    ctx: CallContext,
    phoneNumber: string,
    inFlight: InFlight,
    lifetime: Lifetime,
  ): Promise<string> {
    const own = inFlight.requestId
      ? ((await this.store.findById(ctx.caller, inFlight.requestId)) ??
        (await this.adoptUncertain(ctx, phoneNumber, inFlight.requestId, lifetime)))
      : await this.pendingOwn(ctx, phoneNumber);
    if (!own || own.phoneNumber !== phoneNumber) {
      throw inFlight.requestId
        ? await this.notOurs(ctx, inFlight.requestId)
        : errors.concurrentVerification();
    }
    const cancel = (marked?: Promise<unknown>) => this.vonage(ctx, marked).cancel(own.requestId);
    // A pending record is marked first, so a cancel whose answer is lost is resolved later (outcomes.ts).
    const cancelled =
      own.status === 'pending' ? await this.outcomes.call(ctx, own, 'cancel', cancel) : await cancel();
    if (cancelled.kind === 'refused') {
      if (own.status === 'pending') await this.outcomes.clear(ctx, own);
      // Still running at Vonage: its latest code can be checked; a new one only after the wait.
      throw errors.verificationInProgress(own.requestId, this.records.retryAfterSeconds(own));
    }
    if (own.status === 'pending') {
      await this.records.finish(own, cancelled.kind === 'done' ? 'cancelled' : 'expired');
    }
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
    lifetime: Lifetime,
  ): Promise<VerificationRecord | undefined> {
    const at = await this.store.uncertainStartAt(ctx.caller, phoneNumber);
    if (at === undefined) return undefined;
    // Assumes it started with this request's workflow: the earlier start's parameters are not kept.
    const record: VerificationRecord = {
      requestId,
      caller: ctx.caller,
      phoneNumber,
      status: 'pending',
      createdAt: at,
      ...lifetimeFields(at, lifetime),
    };
    // An id some caller already recorded is not an orphan: then it is someone else's verification.
    if (!(await this.store.create(record, record.expiresAt + RECORD_RETENTION_MS))) return undefined;
    ctx.log.warn({ requestId }, 'adopted the verification of an earlier start that timed out');
    return record;
  }

  /**
   * The longest Vonage keeps a verification started with these parameters: its deliveries' waits, as the
   * gateway's schedule gives them, or its PIN's expiry if that is longer.
   */
  private vonageLifetimeMs(
    ctx: CallContext,
    params: Pick<StartParams, 'workflowId' | 'channels' | 'pinExpiry' | 'nextEventWait'>,
  ): number {
    const waits = this.vonage(ctx)
      .deliveryWaitsSeconds(params)
      .reduce((sum, wait) => sum + wait, 0);
    return Math.max(waits, params.pinExpiry) * 1000;
  }

  /**
   * How long a timed-out start is remembered: as long as the code it may have sent can live at Vonage
   * (plus a few seconds of clock skew). Not longer: a note that outlived its code could claim another
   * caller's later start as this caller's.
   */
  private uncertainStartMemoryMs(ctx: CallContext, params: StartParams): number {
    return this.vonageLifetimeMs(ctx, params) + 5_000;
  }

  /**
   * Status 10 with an id this caller has no record of: another caller's verification, or this caller's
   * own whose record Redis lost. Either way it ends when Vonage ends it, and the wait is counted from
   * when the service first saw the id, up to how long a verification with this service's defaults lives.
   */
  private async notOurs(ctx: CallContext, requestId: string): Promise<ApiError> {
    // Its parameters are unknown: this service's defaults are the best guess.
    const { settings } = this;
    const lifetimeMs = this.vonageLifetimeMs(ctx, {
      workflowId: settings.workflowId,
      channels: resolveChannels({}, settings.workflowId),
      pinExpiry: settings.pinExpirySeconds,
    });
    const now = this.clock.now();
    // The wait is a courtesy: a store that cannot note the id (full, say) still gets the caller its 409.
    const firstSeen = await this.store.firstSeenInFlight(requestId, now, lifetimeMs).catch(() => undefined);
    if (firstSeen === undefined) return errors.concurrentVerification();
    return errors.concurrentVerification(Math.max(1, (firstSeen + lifetimeMs - now) / 1000));
  }

  /**
   * Verify v2's 409 names no request: the one in flight is this caller's when its own latest verification
   * for the number is still pending (only one can be in flight per number).
   */
  private async pendingOwn(ctx: CallContext, phoneNumber: string): Promise<VerificationRecord | undefined> {
    const current = await this.store.findCurrent(ctx.caller, phoneNumber);
    return current?.status === 'pending' && !current.test ? current : undefined;
  }

  private async inFlightError(ctx: CallContext, requestId: string | undefined): Promise<ApiError> {
    const own = requestId ? await this.store.findById(ctx.caller, requestId) : undefined;
    return own
      ? errors.verificationInProgress(own.requestId, this.records.retryAfterSeconds(own))
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
    lifetime: Lifetime,
    test: boolean,
    details: { channels: Channel[]; checkUrl?: string; replacedRequestId?: string },
    lock?: HeldLock,
  ): Promise<VerificationRecord> {
    const { channels, checkUrl, replacedRequestId } = details;
    const now = this.clock.now();
    const record: VerificationRecord = {
      requestId,
      caller: ctx.caller,
      phoneNumber,
      status: 'pending',
      createdAt: now,
      ...lifetimeFields(now, lifetime),
      channels,
      events: [{ at: now, type: 'started', ...(channels[0] ? { channel: channels[0] } : {}) }],
      ...(test ? { test: true } : {}),
      ...(replacedRequestId ? { replacedRequestId } : {}),
      ...(checkUrl ? { checkUrl } : {}),
    };
    try {
      if (!(await this.store.create(record, record.expiresAt + RECORD_RETENTION_MS, lock))) {
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
      outcome = (await this.vonage(ctx).cancel(requestId)).kind;
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
}
