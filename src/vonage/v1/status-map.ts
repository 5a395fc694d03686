// Verify v1 status tables (docs/vonage-verify-v1.md 1.6): a response's `status` becomes an outcome
// or an ApiError. Codes Vonage documents but we never provoke (2, 3 on control, 20) still map to
// upstream_error: they mean our request or account is wrong, not the caller's.

import { type ApiError, errors } from '../../errors';
import type { CheckOutcome, ControlOutcome, Resolution, StartOutcome } from '../gateway';

export type Mapped<T> = T | ApiError;

/** Vonage's start parameters as the request-token fields a caller sets. */
const OPTION_OF_PARAMETER: Record<string, string> = {
  lg: 'locale',
  brand: 'brand',
  code_length: 'codeLength',
  workflow_id: 'workflowId',
  pin_expiry: 'pinExpiry',
  next_event_wait: 'nextEventWait',
};

/**
 * The parameter a status 3 names: "Invalid value for parameter `lg`" (Vonage's template), or the spec
 * example's "Invalid value for param: number" / "Invalid value for number".
 */
export function invalidParameterOf(errorText: string | undefined): string | undefined {
  const match = /invalid value for (?:parameter|param:?)?\s*`?([a-z_]+)`?/i.exec(errorText ?? '');
  return match?.[1]?.toLowerCase();
}

/** Status 3 at start: a number problem only when the number is the parameter named. */
function invalidStartValue(errorText: string | undefined): ApiError {
  const parameter = invalidParameterOf(errorText);
  if (parameter === 'number' || parameter === 'country') {
    return errors.invalidPhoneNumber('The verification provider rejected this number.');
  }
  const option = parameter === undefined ? undefined : OPTION_OF_PARAMETER[parameter];
  // Anything else is a request of ours that Vonage refuses, not the caller's.
  return option ? errors.optionNotSupported(option) : errors.upstreamError();
}

export function mapStartStatus(
  status: string,
  requestId: string | undefined,
  errorText?: string,
): Mapped<StartOutcome> {
  switch (status) {
    case '0':
      return requestId ? { kind: 'started', requestId } : errors.upstreamError();
    case '10':
      return requestId ? { kind: 'in_flight', requestId } : errors.concurrentVerification();
    case '3':
      return invalidStartValue(errorText);
    case '6':
    case '7':
    case '15':
    case '29':
      return errors.numberNotSupported();
    case '1':
    case '9':
      return errors.upstreamUnavailable(status === '1' ? 1 : undefined);
    default:
      return errors.upstreamError();
  }
}

export function mapCheckStatus(status: string): Mapped<CheckOutcome> {
  switch (status) {
    case '0':
      return { kind: 'verified' };
    case '16':
      return { kind: 'mismatch' };
    case '17':
      return { kind: 'too_many_attempts' };
    case '6':
      return { kind: 'not_found' };
    case '1':
    case '9':
      return errors.upstreamUnavailable(status === '1' ? 1 : undefined);
    default:
      return errors.upstreamError();
  }
}

export function mapControlStatus(status: string): Mapped<ControlOutcome> {
  switch (status) {
    case '0':
      return { kind: 'done' };
    case '19':
      return { kind: 'refused' };
    case '6':
      return { kind: 'not_found' };
    case '1':
    case '9':
      return errors.upstreamUnavailable(status === '1' ? 1 : undefined);
    default:
      return errors.upstreamError();
  }
}

/**
 * A search answer (notes 1.5): the request's state, or status 101 "No response found", which Vonage also
 * answers for up to about a minute after a request ends, so it means "not known yet", not "never existed".
 */
export function mapSearch(body: unknown): Mapped<Resolution> {
  const record = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
  switch (record.status) {
    case 'IN PROGRESS': {
      const events = Array.isArray(record.events) ? record.events.length : undefined;
      const last = searchDate(record.last_event_date);
      return {
        kind: 'in_progress',
        ...(events !== undefined ? { deliveries: events } : {}),
        ...(last !== undefined ? { lastDeliveryAt: last } : {}),
      };
    }
    case 'SUCCESS':
      return { kind: 'verified', validCodes: validCodes(record.checks) };
    case 'CANCELLED':
      return { kind: 'cancelled' };
    case 'FAILED':
      return { kind: 'failed' };
    case 'EXPIRED':
      return { kind: 'expired' };
    case '101':
      return { kind: 'unknown' };
    case '1':
      return errors.upstreamUnavailable(1);
    default:
      return errors.upstreamError();
  }
}

function validCodes(checks: unknown): string[] {
  if (!Array.isArray(checks)) return [];
  return checks.flatMap((check: unknown) => {
    const { code, status } = (check ?? {}) as { code?: unknown; status?: unknown };
    return status === 'VALID' && typeof code === 'string' ? [code] : [];
  });
}

/** Search dates are `YYYY-MM-DD HH:MM:SS`, UTC. */
function searchDate(value: unknown): number | undefined {
  if (typeof value !== 'string' || !/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(value)) return undefined;
  return Date.parse(`${value.replace(' ', 'T')}Z`);
}
