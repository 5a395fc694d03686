// Lost answers: every provider call on a verification (check, cancel, next-event) is marked on its record
// first and the mark is cleared by the write that records the answer. A mark still there on the next
// request means that call's outcome was lost (the provider did not answer in time, the connection
// reset, or the store failed after the provider answered); it is resolved with the provider before
// anything else (v1: search), so a code that worked is never answered with 404. Starts have their own
// intent note (start-protocol.ts).

import type { Clock } from '../clock';
import { errors } from '../errors';
import type { VerificationRecord, VerificationStore } from '../store/store';
import type { Resolution, VerifyGateway } from '../vonage/gateway';
import { isOutcomeUnknown } from '../vonage/thrown';
import type { Records } from './records';
import { deliveriesBy, scheduledEnd } from './schedule';
import type { CallContext } from './types';

type Operation = NonNullable<VerificationRecord['unknownOutcome']>['operation'];

/**
 * Vonage's search can answer "No response found" for up to about a minute after a request ends; past
 * this, a verification it still cannot find is taken as gone.
 */
const SEARCH_LAG_LIMIT_MS = 3 * 60 * 1000;
/** Retry-After while waiting for search to catch up: about a minute from the lost call, in steps. */
const SEARCH_LAG_MS = 60 * 1000;

/** A verification after its lost outcome was resolved (or as it was, when nothing was lost). */
export type Settled =
  /** Still running. `triggered`: a lost next-event did happen at the provider. */
  | { kind: 'pending'; record: VerificationRecord; triggered?: boolean }
  /** Ended at the provider. `validCodes`: the codes that verified it, where the provider reports them. */
  | { kind: 'ended'; record: VerificationRecord; validCodes?: string[] };

export class Outcomes {
  constructor(
    private readonly store: VerificationStore,
    /** The Vonage gateway a caller's calls go through (each counted against its budget). */
    private readonly vonage: (ctx: CallContext, written?: Promise<unknown>) => VerifyGateway,
    private readonly clock: Clock,
    private readonly records: Records,
  ) {}

  /**
   * Runs one provider call on a verification with its mark written first (nothing is called when the
   * store cannot take it). A definite failure clears the mark; a lost answer leaves it for the next
   * request. The caller clears it on success by writing the record (finish, or `clear`). `send` gets the
   * mark's write and must make the call wait for it (`VonageBudget.for(ctx, written)`: the call's
   * budget is asked for meanwhile).
   */
  async call<T>(
    ctx: CallContext,
    record: VerificationRecord,
    operation: Operation,
    send: (written: Promise<unknown>) => Promise<T>,
  ): Promise<T> {
    if (record.test) return send(Promise.resolve());
    const marked = this.store.update({ ...record, unknownOutcome: { operation, at: this.clock.now() } });
    const sent = send(marked);
    sent.catch(() => {});
    // A mark that could not be written: nothing was called (the call waited for it), nothing to clear.
    await marked;
    try {
      return await sent;
    } catch (error) {
      if (!isOutcomeUnknown(error)) await this.clear(ctx, record);
      else
        ctx.log.warn(
          { requestId: record.requestId, operation },
          'outcome unknown; resolved on the next request',
        );
      throw error;
    }
  }

  /** Writes the record back without the mark after an answer that changed nothing else (best effort). */
  async clear(ctx: CallContext, record: VerificationRecord): Promise<void> {
    if (record.test) return;
    await this.store.update(record).catch((error: unknown) => {
      ctx.log.warn({ err: error, requestId: record.requestId }, 'could not clear an outcome mark');
    });
  }

  /** The provider said it no longer knows the request as active (v1 status 6): find out how it ended. */
  async afterNotFound(ctx: CallContext, record: VerificationRecord, operation: Operation): Promise<Settled> {
    const marked = { ...record, unknownOutcome: { operation, at: this.clock.now() } };
    const settled = await this.settle(ctx, marked);
    // Search still shows it running although the call said it ended: it has not caught up yet.
    if (settled.kind === 'pending') throw errors.outcomeNotYetKnown(SEARCH_LAG_MS / 1000);
    return settled;
  }

  /** Resolves a lost outcome with the provider; a record without a mark is returned as it is. */
  async settle(ctx: CallContext, record: VerificationRecord): Promise<Settled> {
    const mark = record.unknownOutcome;
    if (!mark || record.test) return { kind: 'pending', record };
    const { unknownOutcome: _lost, ...plain } = record;
    const found = await this.vonage(ctx).resolve(record.requestId);
    ctx.log.info(
      { requestId: record.requestId, lost: mark.operation, found: found.kind },
      'resolving a lost outcome',
    );
    switch (found.kind) {
      case 'in_progress':
        return this.stillRunning(plain, mark, found);
      case 'verified': {
        const done = await this.records.finish(plain, 'verified');
        return { kind: 'ended', record: done, ...(found.validCodes ? { validCodes: found.validCodes } : {}) };
      }
      case 'cancelled':
      case 'failed':
      case 'expired': {
        const status = found.kind;
        return { kind: 'ended', record: await this.records.finish(plain, status) };
      }
      case 'unknown': {
        const waited = this.clock.now() - mark.at;
        if (waited < SEARCH_LAG_LIMIT_MS) {
          throw errors.outcomeNotYetKnown(Math.max(5, (SEARCH_LAG_MS - waited) / 1000));
        }
        ctx.log.warn({ requestId: record.requestId }, 'the provider cannot find a verification it ended');
        throw await this.records.endedAtVonage(plain);
      }
    }
  }

  /** Running at the provider: its deliveries so far re-anchor the schedule (a lost next-event moves it). */
  private async stillRunning(
    plain: VerificationRecord,
    mark: NonNullable<VerificationRecord['unknownOutcome']>,
    found: Extract<Resolution, { kind: 'in_progress' }>,
  ): Promise<Settled> {
    let record = plain;
    const expected = deliveriesBy(plain, mark.at);
    const { deliveries, lastDeliveryAt } = found;
    const triggered =
      mark.operation === 'trigger' &&
      deliveries !== undefined &&
      expected !== undefined &&
      deliveries > expected;
    if (triggered && plain.deliveryWaitsMs && lastDeliveryAt !== undefined) {
      // Search dates are whole seconds; the lost call is the better clock when it is later.
      const lastDelivery = { index: deliveries - 1, at: Math.max(lastDeliveryAt, mark.at) };
      record = { ...plain, lastDelivery };
      record.expiresAt = scheduledEnd({ ...record, deliveryWaitsMs: plain.deliveryWaitsMs });
    }
    await this.store.update(record);
    return { kind: 'pending', record, triggered };
  }
}
