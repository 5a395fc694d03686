// A verification's delivery schedule as the provider runs it (docs/vonage-verify-v1-timing.md): when
// each delivery happens, when the provider ends the verification (`expiresAt`), and how long until a new
// code can be started for the number (the 409's `retryAfterSeconds`). Pure functions of the record.

import type { VerificationRecord } from '../store/store';

/** Vonage refuses to cancel a verification in its first 30 seconds (and after its second delivery). */
export const CANCEL_WINDOW_MS = 30_000;

type Scheduled = Pick<VerificationRecord, 'createdAt' | 'deliveryWaitsMs' | 'lastDelivery'>;

/** The latest delivery the schedule runs from: the start, or a next-event that moved it. */
function anchor(record: Scheduled): { index: number; at: number } {
  return record.lastDelivery ?? { index: 0, at: record.createdAt };
}

/** When the provider ends the verification: its last delivery plus that delivery's wait. */
export function scheduledEnd(record: Scheduled & { deliveryWaitsMs: number[] }): number {
  const from = anchor(record);
  return record.deliveryWaitsMs.slice(from.index).reduce((end, wait) => end + wait, from.at);
}

/** How many deliveries have happened by `at` (undefined: the record carries no schedule). */
export function deliveriesBy(record: Scheduled, at: number): number | undefined {
  const waits = record.deliveryWaitsMs;
  if (!waits) return undefined;
  const from = anchor(record);
  let count = from.index + 1;
  let next = from.at;
  for (let index = from.index; index + 1 < waits.length; index += 1) {
    next += waits[index] ?? 0;
    if (next > at) break;
    count += 1;
  }
  return count;
}

/**
 * Milliseconds until a new code can be started for this verification's number: Vonage cancels it (so
 * a new one can start) only from 30 s after its start until its second delivery; after that, only its
 * end frees the number.
 */
export function waitForNewCodeMs(record: VerificationRecord, now: number): number {
  const windowLeft = record.createdAt + CANCEL_WINDOW_MS - now;
  const deliveries = deliveriesBy(record, now);
  if (deliveries === undefined) return windowLeft > 0 ? windowLeft : record.expiresAt - now;
  if (deliveries >= 2) return record.expiresAt - now;
  return Math.max(0, windowLeft);
}

/** The record after a next-event delivered at `now`: the schedule runs on from that delivery. */
export function afterNextEvent(record: VerificationRecord, now: number): VerificationRecord {
  const { deliveryWaitsMs } = record;
  const before = deliveriesBy(record, now);
  if (!deliveryWaitsMs || before === undefined) return record;
  const lastDelivery = { index: Math.min(before, deliveryWaitsMs.length - 1), at: now };
  return { ...record, lastDelivery, expiresAt: scheduledEnd({ ...record, lastDelivery, deliveryWaitsMs }) };
}
