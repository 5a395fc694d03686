// Verify v1 status tables (vonage-verify-notes.md 1.6): a response's `status` becomes an outcome
// or an ApiError. Codes Vonage documents but we never provoke (2, 3 on control, 20) still map to
// upstream_error: they mean our request or account is wrong, not the caller's.

import { type ApiError, errors } from '../../errors';
import type { CheckOutcome, ControlOutcome, StartOutcome } from '../gateway';

export type Mapped<T> = T | ApiError;

export function mapStartStatus(status: string, requestId: string | undefined): Mapped<StartOutcome> {
  switch (status) {
    case '0':
      return requestId ? { kind: 'started', requestId } : errors.upstreamError();
    case '10':
      return requestId ? { kind: 'in_flight', requestId } : errors.concurrentVerification();
    case '3':
      return errors.invalidPhoneNumber('The verification provider rejected this number.');
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
