// What the Vonage SDK throws, in our words: timeouts, HTTP errors and network failures become ApiErrors.
// Shared by every gateway version (the SDK's HTTP layer is the same for v1 and v2).

import { ApiError, errors } from '../errors';

/**
 * The cause of an ApiError for a call that may have reached Vonage and been carried out there although no
 * usable answer came back: a timeout, a connection lost after it was sent, a body that cannot be read.
 * Safe to log.
 */
export class OutcomeUnknown extends Error {
  constructor(readonly reason: string) {
    super(`Vonage may have carried out the call: ${reason}`);
    this.name = 'OutcomeUnknown';
  }
}

/** Whether a failed Vonage call may still have happened at Vonage (its outcome is unknown). */
export function isOutcomeUnknown(error: unknown): boolean {
  return error instanceof ApiError && error.cause instanceof OutcomeUnknown;
}

/**
 * What the SDK threw, in our words (docs/vonage-verify-v1.md 3.3). Judged by `name` and shape, not
 * `instanceof`: fetch's errors can come from another realm (undici inside Node, a test sandbox). A
 * refused connection and an HTTP error status mean the call was not carried out; a timeout, a lost
 * connection or an unreadable answer leave its outcome unknown (OutcomeUnknown).
 */
export function mapThrown(error: unknown): ApiError {
  const name = nameOf(error);
  if (name === 'AbortError' || name === 'TimeoutError') {
    return errors.upstreamTimeout(new OutcomeUnknown('no answer in time'));
  }
  const httpStatus = (error as { response?: { status?: unknown } } | undefined)?.response?.status;
  if (typeof httpStatus === 'number' && (httpStatus < 200 || httpStatus > 299)) {
    // An HTTP error status is Vonage's gateway refusing the call, not an answer that went missing.
    return httpStatus === 429 ? errors.upstreamUnavailable(1) : errors.upstreamError();
  }
  // A 2xx the SDK could not decode (its VetchError "Failed to decode response body" carries the 200) is
  // Vonage's answer, unreadable: the call may well have been carried out, so it falls to the end.
  // fetch reports refused, reset and unresolvable connections as TypeError('fetch failed').
  if (name === 'TypeError') {
    return isConnectionRefused(error)
      ? errors.upstreamUnavailable()
      : errors.upstreamUnavailable(undefined, new OutcomeUnknown('connection lost'));
  }
  return errors.upstreamError(new OutcomeUnknown('unreadable answer'));
}

function nameOf(error: unknown): string | undefined {
  const name = (error as { name?: unknown } | null | undefined)?.name;
  return typeof name === 'string' ? name : undefined;
}

export function isConnectionRefused(error: unknown): boolean {
  const cause = (error as { cause?: { code?: unknown } } | undefined)?.cause;
  return nameOf(error) === 'TypeError' && cause?.code === 'ECONNREFUSED';
}
