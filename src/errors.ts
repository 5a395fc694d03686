// The one error type of the API: a stable snake_case code, an HTTP status and a message safe to show
// callers. Everything a caller can see as an error is made by a factory below.

export type ErrorCode =
  | 'validation_failed'
  | 'invalid_phone_number'
  | 'unauthorized'
  | 'country_not_allowed'
  | 'verification_not_found'
  | 'not_found'
  | 'verification_in_progress'
  | 'concurrent_verification'
  | 'already_verified'
  | 'cancel_not_allowed'
  | 'no_more_events'
  | 'verification_expired'
  | 'too_many_attempts'
  | 'payload_too_large'
  | 'code_mismatch'
  | 'number_not_supported'
  | 'rate_limited'
  | 'internal_error'
  | 'upstream_error'
  | 'upstream_unavailable'
  | 'store_unavailable'
  | 'upstream_timeout';

export interface FieldError {
  path: string;
  message: string;
}

export interface ProblemExtensions {
  requestId?: string;
  retryAfterSeconds?: number;
  errors?: FieldError[];
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    readonly title: string,
    readonly detail: string,
    readonly extensions: ProblemExtensions = {},
  ) {
    super(detail);
    this.name = 'ApiError';
  }
}

/** The application/problem+json body (RFC 9457) of an ApiError: what callers and the OpenAPI examples see. */
export function problemBody(error: ApiError): Record<string, unknown> {
  return {
    type: `urn:otp-verify:problem:${error.code}`,
    title: error.title,
    status: error.status,
    detail: error.detail,
    code: error.code,
    ...error.extensions,
  };
}

const seconds = (value: number | undefined) =>
  value === undefined ? {} : { retryAfterSeconds: Math.max(1, Math.ceil(value)) };

export const errors = {
  validationFailed: (fieldErrors: FieldError[], detail = 'The request is not valid.') =>
    new ApiError(400, 'validation_failed', 'Validation failed', detail, { errors: fieldErrors }),
  invalidPhoneNumber: (detail = 'The phone number is not a valid number.') =>
    new ApiError(400, 'invalid_phone_number', 'Invalid phone number', detail),
  unauthorized: () =>
    new ApiError(401, 'unauthorized', 'Unauthorized', 'Send a valid API key as Authorization: Bearer <key>.'),
  countryNotAllowed: (country: string | undefined) =>
    new ApiError(
      403,
      'country_not_allowed',
      'Country not allowed',
      `Numbers from ${country ?? 'this country'} are not allowed by this service.`,
    ),
  verificationNotFound: () =>
    new ApiError(404, 'verification_not_found', 'Verification not found', 'No such verification.'),
  routeNotFound: () => new ApiError(404, 'not_found', 'Not found', 'No such endpoint.'),
  verificationInProgress: (requestId: string, retryAfterSeconds?: number) =>
    new ApiError(
      409,
      'verification_in_progress',
      'Verification in progress',
      'A code was sent to this number moments ago and is still valid; use it, or retry later for a new one.',
      { requestId, ...seconds(retryAfterSeconds) },
    ),
  concurrentVerification: () =>
    new ApiError(
      409,
      'concurrent_verification',
      'Concurrent verification',
      'Another verification to this number is in progress; try again later.',
    ),
  alreadyVerified: (requestId: string) =>
    new ApiError(409, 'already_verified', 'Already verified', 'This verification was already completed.', {
      requestId,
    }),
  cancelNotAllowed: (requestId: string, retryAfterSeconds?: number) =>
    new ApiError(
      409,
      'cancel_not_allowed',
      'Cancel not allowed',
      retryAfterSeconds === undefined
        ? 'Vonage no longer allows cancelling this verification.'
        : 'Vonage does not allow cancelling a verification in its first 30 seconds.',
      { requestId, ...seconds(retryAfterSeconds) },
    ),
  noMoreEvents: (requestId: string) =>
    new ApiError(
      409,
      'no_more_events',
      'No more events',
      'Nothing is left to deliver for this verification.',
      {
        requestId,
      },
    ),
  verificationExpired: (requestId: string) =>
    new ApiError(
      410,
      'verification_expired',
      'Verification expired',
      'This verification expired or was cancelled; request a new code.',
      { requestId },
    ),
  tooManyAttempts: (requestId: string) =>
    new ApiError(
      410,
      'too_many_attempts',
      'Too many attempts',
      'A wrong code was entered too many times; request a new code.',
      { requestId },
    ),
  payloadTooLarge: () =>
    new ApiError(413, 'payload_too_large', 'Payload too large', 'The request body is too large.'),
  codeMismatch: (requestId: string) =>
    new ApiError(
      422,
      'code_mismatch',
      'Code mismatch',
      'The code is wrong; the verification is still open.',
      {
        requestId,
      },
    ),
  numberNotSupported: (detail = 'This number cannot receive a verification code.') =>
    new ApiError(422, 'number_not_supported', 'Number not supported', detail),
  rateLimited: (retryAfterSeconds: number, what: string) =>
    new ApiError(
      429,
      'rate_limited',
      'Too many requests',
      `Rate limit reached: ${what}.`,
      seconds(retryAfterSeconds),
    ),
  internal: () => new ApiError(500, 'internal_error', 'Internal error', 'Something went wrong on our side.'),
  upstreamError: () =>
    new ApiError(
      502,
      'upstream_error',
      'Upstream error',
      'The verification provider answered with an error.',
    ),
  upstreamUnavailable: (retryAfterSeconds?: number) =>
    new ApiError(
      503,
      'upstream_unavailable',
      'Upstream unavailable',
      'The verification provider cannot be reached right now; try again shortly.',
      seconds(retryAfterSeconds),
    ),
  storeUnavailable: () =>
    new ApiError(
      503,
      'store_unavailable',
      'Store unavailable',
      'The verification store is not answering; try again shortly.',
      { retryAfterSeconds: 1 },
    ),
  upstreamTimeout: () =>
    new ApiError(
      504,
      'upstream_timeout',
      'Upstream timeout',
      'The verification provider did not answer in time; the outcome is unknown.',
    ),
};
