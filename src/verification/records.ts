// Verification records as the use cases see them: finding the caller's verification, its status as
// of now (a pending one past its expiry is expired), finishing it, and the views callers get back.

import { timingSafeEqual } from 'node:crypto';
import type { Clock } from '../clock';
import { type ApiError, errors } from '../errors';
import type {
  HeldLock,
  TimelineEvent,
  VerificationRecord,
  VerificationStatus,
  VerificationStore,
} from '../store/store';
import { normalisePhone, parsePhone } from './phone';
import { CANCEL_WINDOW_MS, waitForNewCodeMs } from './schedule';
import type { CallContext, FunnelEvent, StartedView, VerificationRef, VerificationView } from './types';

const iso = (ms: number) => new Date(ms).toISOString();

const eventKey = (e: TimelineEvent) => `${e.at}|${e.type}|${e.channel ?? ''}|${e.status ?? ''}`;

/**
 * The timeline with new entries merged in, oldest first. Deliveries come from callbacks, which Vonage
 * repeats, so each is kept once; the service's own entries each happened (three wrong codes in one instant
 * are three entries).
 */
export function withEvents(existing: TimelineEvent[] | undefined, added: TimelineEvent[]): TimelineEvent[] {
  const seen = new Set<string>();
  const merged: TimelineEvent[] = [];
  for (const event of [...(existing ?? []), ...added]) {
    const key = eventKey(event);
    if (event.type === 'delivery' && seen.has(key)) continue;
    seen.add(key);
    merged.push(event);
  }
  // A stable sort: entries of one instant keep the order they happened in.
  return merged.sort((a, b) => a.at - b.at);
}

export class Records {
  constructor(
    private readonly store: VerificationStore,
    private readonly clock: Clock,
    private readonly onFunnel: (caller: string, event: FunnelEvent) => void,
    /** Hears every verification that finishes, with how (the abuse guard counts outcomes). Never throws. */
    private readonly onFinished: (
      record: VerificationRecord,
      status: VerificationStatus,
    ) => Promise<void> = async () => {},
  ) {}

  /**
   * Where the caller's verification is (by request id, or as the number's current one), not yet read:
   * the lock reads it (see NumberGate.withLock's `read`).
   */
  async locate(ctx: CallContext, ref: VerificationRef): Promise<{ requestId: string; phoneNumber: string }> {
    let found: { requestId: string; phoneNumber: string } | undefined;
    if ('requestId' in ref) {
      found = await this.store.locate(ctx.caller, { requestId: ref.requestId });
    } else {
      const phone =
        parsePhone(ref.phoneNumber, ref.country)?.e164 ?? normalisePhone(ref.phoneNumber, ref.country);
      if (phone === undefined) throw errors.invalidPhoneNumber();
      found = await this.store.locate(ctx.caller, { phoneNumber: phone });
    }
    if (!found) throw errors.verificationNotFound();
    return found;
  }

  async findById(ctx: CallContext, requestId: string): Promise<VerificationRecord> {
    const record = await this.store.findById(ctx.caller, requestId);
    if (!record) throw errors.verificationNotFound();
    return record;
  }

  /** The record as it is now that we hold the lock: another request may have changed it meanwhile. */
  async reload(ctx: CallContext, found: VerificationRecord): Promise<VerificationRecord> {
    return this.asOfLock(await this.store.get(ctx.caller, found.phoneNumber, found.requestId));
  }

  /** The record the lock read (see NumberGate.withLock's `read`): gone meanwhile is not found. */
  asOfLock(record: VerificationRecord | undefined): VerificationRecord {
    if (!record) throw errors.verificationNotFound();
    return record;
  }

  /** Answers for a verification that is over; one found past its expiry is recorded as expired first. */
  async requirePending(record: VerificationRecord): Promise<void> {
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

  /**
   * A request-token that waited for the number's lock: if someone else started a code for it meanwhile,
   * theirs is the one in flight, and answering with it costs neither a send nor a Vonage call.
   */
  async refuseIfStartedSince(ctx: CallContext, phoneNumber: string, since: number): Promise<void> {
    const current = await this.store.findCurrent(ctx.caller, phoneNumber);
    if (current && this.effectiveStatus(current) === 'pending' && current.createdAt >= since) {
      throw errors.verificationInProgress(current.requestId, this.retryAfterSeconds(current));
    }
  }

  /**
   * Vonage no longer knows the request at all (status 6, and its search never found it either): it is
   * over for us too (404).
   */
  async endedAtVonage(record: VerificationRecord): Promise<ApiError> {
    await this.finish(record, 'expired');
    return errors.verificationNotFound();
  }

  /**
   * Records how a verification ended; the write also clears any unknown-outcome mark. `unlock`: the
   * number's lock, let go by the same write (the caller's last under it).
   */
  async finish(
    record: VerificationRecord,
    status: VerificationStatus,
    finishedAt = this.clock.now(),
    unlock?: HeldLock,
  ): Promise<VerificationRecord> {
    const { unknownOutcome: _settled, ...rest } = record;
    const type = status === 'pending' ? undefined : status;
    const done: VerificationRecord = {
      ...rest,
      status,
      finishedAt,
      ...(type ? { events: withEvents(record.events, [{ at: finishedAt, type }]) } : {}),
    };
    // The outcome is a fact (the provider or the clock said so) whether or not this write goes through,
    // and the listener (the abuse guard, best effort, counting each code once) has keys of its own: both
    // at once.
    await Promise.all([this.store.update(done, unlock), this.onFinished(record, status)]);
    if (status === 'expired') this.onFunnel(record.caller, 'expired');
    return done;
  }

  /**
   * Adds entries to the timeline (a wrong code, a resend). Best effort: the answer the caller is owed
   * does not depend on the history being written.
   */
  async note(
    ctx: CallContext,
    record: VerificationRecord,
    events: TimelineEvent[],
  ): Promise<VerificationRecord> {
    const noted = { ...record, events: withEvents(record.events, events) };
    try {
      await this.store.update(noted);
    } catch (error) {
      ctx.log.warn({ err: error }, 'could not add to the verification timeline');
    }
    return noted;
  }

  /** A test number's code, compared in constant time. */
  checkTestCode(expectedCode: string, code: string): { kind: 'verified' | 'mismatch' } {
    const expected = Buffer.from(expectedCode);
    const given = Buffer.from(code);
    const same = expected.length === given.length && timingSafeEqual(expected, given);
    return { kind: same ? 'verified' : 'mismatch' };
  }

  /**
   * Seconds until a new code can be requested for this one's number: the end of the 30-second cancel
   * window, or, once its second delivery is out, when Vonage ends it (see schedule.ts).
   */
  retryAfterSeconds(record: VerificationRecord): number {
    return Math.max(1, Math.ceil(waitForNewCodeMs(record, this.clock.now()) / 1000));
  }

  /** A refused cancel: the seconds left of the 30-second window, or undefined when it is past it. */
  cancelWindowLeftSeconds(record: VerificationRecord): number | undefined {
    const left = record.createdAt + CANCEL_WINDOW_MS - this.clock.now();
    return left > 0 ? Math.ceil(left / 1000) : undefined;
  }

  view(record: VerificationRecord): VerificationView {
    const status = this.effectiveStatus(record);
    const finishedAt = record.finishedAt ?? (status === 'expired' ? record.expiresAt : undefined);
    // A verification that ran out without anyone noticing has no stored "expired" entry yet.
    const lapsed: TimelineEvent[] =
      status === 'expired' && record.status === 'pending' ? [{ at: record.expiresAt, type: 'expired' }] : [];
    return {
      requestId: record.requestId,
      phoneNumber: record.phoneNumber,
      status,
      createdAt: iso(record.createdAt),
      expiresAt: iso(record.expiresAt),
      ...(finishedAt !== undefined ? { finishedAt: iso(finishedAt) } : {}),
      channels: record.channels ?? [],
      events: withEvents(record.events, lapsed).map((event) => ({ ...event, at: iso(event.at) })),
    };
  }

  startedView(record: VerificationRecord): StartedView {
    return {
      requestId: record.requestId,
      phoneNumber: record.phoneNumber,
      status: 'pending',
      expiresAt: iso(record.expiresAt),
      channels: record.channels ?? [],
      ...(record.replacedRequestId ? { replacedRequestId: record.replacedRequestId } : {}),
      ...(record.checkUrl ? { checkUrl: record.checkUrl } : {}),
    };
  }

  private effectiveStatus(record: VerificationRecord): VerificationStatus {
    return record.status === 'pending' && this.clock.now() >= record.expiresAt ? 'expired' : record.status;
  }
}
