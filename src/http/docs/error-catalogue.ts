// The error catalogue: every error code the service can answer with, when, and a real instance made by
// the factories of errors.ts (so the documented status, title, detail and extensions are exactly what
// callers receive). Also the error sets several endpoints share.

import { type ApiError, type ErrorCode, errors } from '../../errors';

export const EXAMPLE_REQUEST_ID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
/** Not the README walk-through's number (+447400123456) nor the demo's: trying the docs page must not
 * run into a verification or a send limit left by either. */
export const EXAMPLE_PHONE = '+447911123456';

export interface ErrorDoc {
  /** When the service answers with this code (design.md's error table). */
  when: string;
  /** A real instance from errors.ts: its status, title and detail are what callers receive. */
  example: ApiError;
}

/**
 * Every error code the service can answer with. Typed as Record<ErrorCode, ...> so that a code added to
 * errors.ts fails to compile until it is documented here.
 */
export const ERROR_CATALOGUE: Record<ErrorCode, ErrorDoc> = {
  validation_failed: {
    when: 'The body is not JSON, has wrong types or unknown fields; `errors` lists each problem with its path.',
    example: errors.validationFailed([
      { path: 'phoneNumber', message: 'Invalid input: expected string, received undefined' },
    ]),
  },
  invalid_phone_number: {
    when: 'Not a valid phone number (by libphonenumber, or Vonage status 3 naming the number).',
    example: errors.invalidPhoneNumber(
      'Not a valid phone number; write it with its country code (+44...) or give "country".',
    ),
  },
  unauthorized: {
    when: 'Missing or unknown API key in `Authorization: Bearer <key>`.',
    example: errors.unauthorized(),
  },
  destination_blocked: {
    when: "The abuse guard blocks codes to this number's prefix (all but its last 3 digits) or country for now: with at least `PUMPING_MIN_SETTLED` outcomes known over `PUMPING_WINDOW`, fewer than `PUMPING_MIN_CONVERSION` of its codes were verified. `reason` (`low_conversion`), `scope` (`prefix` or `country`) and `retryAfterSeconds` say why, what and for how long. Nothing is sent.",
    example: errors.destinationBlocked('prefix', 3600),
  },
  country_not_allowed: {
    when: "The number's country is not in `ALLOWED_COUNTRIES`.",
    example: errors.countryNotAllowed('FR'),
  },
  verification_not_found: {
    when: "No such verification for this caller (other callers' verifications are never visible), or Vonage no longer knows it at all (status 6, and its search has not found it for three minutes).",
    example: errors.verificationNotFound(),
  },
  not_found: {
    when: 'No such endpoint.',
    example: errors.routeNotFound(),
  },
  method_not_allowed: {
    when: 'A known path asked with a method it does not answer (GET on a POST endpoint, say); the `Allow` header lists the methods it answers.',
    example: errors.methodNotAllowed('GET', ['POST']),
  },
  verification_in_progress: {
    when: 'A verification this caller started for the number is still running at Vonage and Vonage refuses to cancel it (status 19: within 30 s of its start, or after its second delivery); `requestId` is that verification (its latest code can be checked) and `retryAfterSeconds` the real wait: the end of the 30-second window, or `expiresAt`.',
    example: errors.verificationInProgress(EXAMPLE_REQUEST_ID, 25),
  },
  concurrent_verification: {
    when: "Another verification to this number, not this caller's, is in flight at Vonage (status 10).",
    example: errors.concurrentVerification(),
  },
  already_verified: {
    when: 'The verification was already completed.',
    example: errors.alreadyVerified(EXAMPLE_REQUEST_ID),
  },
  cancel_not_allowed: {
    when: 'Vonage refuses the cancel (status 19): within 30 s of the start (then with `retryAfterSeconds`), or after the second delivery.',
    example: errors.cancelNotAllowed(EXAMPLE_REQUEST_ID, 20),
  },
  no_more_events: {
    when: 'Nothing is left to deliver in the workflow (Vonage status 19 on trigger_next_event).',
    example: errors.noMoreEvents(EXAMPLE_REQUEST_ID),
  },
  verification_expired: {
    when: 'The verification expired or was cancelled.',
    example: errors.verificationExpired(EXAMPLE_REQUEST_ID),
  },
  too_many_attempts: {
    when: 'A wrong code was given too many times (Vonage status 17); the verification is dead.',
    example: errors.tooManyAttempts(EXAMPLE_REQUEST_ID),
  },
  payload_too_large: {
    when: 'The body is over the size limit.',
    example: errors.payloadTooLarge(),
  },
  code_mismatch: {
    when: 'Wrong code (Vonage status 16); the verification is still open.',
    example: errors.codeMismatch(EXAMPLE_REQUEST_ID),
  },
  number_not_supported: {
    when: 'The number cannot receive a code: a refused type (premium rate, toll free, ...) or Vonage status 7, 15 or 29.',
    example: errors.numberNotSupported(),
  },
  option_not_supported: {
    when: 'An option or channel the configured Verify API cannot honour, or that Vonage refused; `option` names the request-token field. v1: `channels` that are not one of its seven workflows, `nextEventWait` under 60, or status 3 naming `lg`, `brand`, `code_length`, `workflow_id`, `pin_expiry` or `next_event_wait`. v2: `pinExpiry`, `whatsapp` without `VONAGE_WHATSAPP_FROM`, or a 422 naming `brand`, `locale`, `code_length`, `channel_timeout` or `workflow`. Nothing was sent.',
    example: errors.optionNotSupported('locale'),
  },
  rate_limited: {
    when: 'A rate limit of this service; wait `Retry-After` seconds.',
    example: errors.rateLimited(1800, 'codes sent to this number (5/1h)'),
  },
  internal_error: {
    when: 'An unexpected failure; no internals are shown.',
    example: errors.internal(),
  },
  upstream_error: {
    when: 'Vonage answered 5xx, something unreadable, or rejected our credentials.',
    example: errors.upstreamError(),
  },
  upstream_unavailable: {
    when: 'Vonage throttled us (status 1), the account quota is exhausted (status 9), or Vonage is unreachable; or the outcome of an earlier call on this verification was lost and Vonage cannot tell it yet (its search lags up to a minute): retry after `Retry-After`.',
    example: errors.upstreamUnavailable(1),
  },
  store_unavailable: {
    when: 'The verification store (Redis) is down, not answering in time, full, or a read-only replica; nothing was sent to Vonage that the store could not record.',
    example: errors.storeUnavailable(),
  },
  upstream_timeout: {
    when: 'Vonage did not answer within `VONAGE_TIMEOUT_MS`; the outcome is unknown.',
    example: errors.upstreamTimeout(),
  },
  idempotency_in_progress: {
    when: 'A request with this `Idempotency-Key` is still running; retry after `Retry-After` seconds.',
    example: errors.idempotencyInProgress(1),
  },
  idempotency_key_reused: {
    when: 'This `Idempotency-Key` was already used for a request with a different method, path or body.',
    example: errors.idempotencyKeyReused('body'),
  },
};

// Error sets shared by several endpoints; the per-endpoint lists in endpoints.ts follow src/verification/.
/** Anything behind /api: the key check, its per-address failure limit (kept in the store), a bug. */
export const API_BASE: ErrorCode[] = ['unauthorized', 'rate_limited', 'store_unavailable', 'internal_error'];
/** A POST body through express.json and zod. */
export const JSON_BODY: ErrorCode[] = ['validation_failed', 'payload_too_large'];
/** Any call to Vonage (mapped in src/vonage/); the per-number lock wait also ends in upstream_timeout. */
export const UPSTREAM: ErrorCode[] = ['upstream_error', 'upstream_unavailable', 'upstream_timeout'];
/** Finding one of the caller's verifications by requestId or phoneNumber, and requiring it pending. */
export const EXISTING: ErrorCode[] = [
  'invalid_phone_number',
  'verification_not_found',
  'already_verified',
  'verification_expired',
  'too_many_attempts',
];
