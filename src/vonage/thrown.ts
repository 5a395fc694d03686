// What the Vonage SDK throws, in our words: timeouts, HTTP errors and network failures become ApiErrors.
// Shared by every gateway version (the SDK's HTTP layer is the same for v1 and v2).

import { type ApiError, errors } from '../errors';

/**
 * What the SDK threw, in our words (vonage-verify-notes.md 3.3). Judged by `name` and shape, not
 * `instanceof`: fetch's errors can come from another realm (undici inside Node, a test sandbox).
 */
export function mapThrown(error: unknown): ApiError {
  const name = nameOf(error);
  if (name === 'AbortError' || name === 'TimeoutError') return errors.upstreamTimeout();
  const httpStatus = (error as { response?: { status?: unknown } } | undefined)?.response?.status;
  if (typeof httpStatus === 'number') {
    return httpStatus === 429 ? errors.upstreamUnavailable(1) : errors.upstreamError();
  }
  // fetch reports refused, reset and unresolvable connections as TypeError('fetch failed').
  if (name === 'TypeError') return errors.upstreamUnavailable();
  return errors.upstreamError();
}

function nameOf(error: unknown): string | undefined {
  const name = (error as { name?: unknown } | null | undefined)?.name;
  return typeof name === 'string' ? name : undefined;
}

export function isConnectionRefused(error: unknown): boolean {
  const cause = (error as { cause?: { code?: unknown } } | undefined)?.cause;
  return nameOf(error) === 'TypeError' && cause?.code === 'ECONNREFUSED';
}
