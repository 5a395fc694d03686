// The one error type of the API: a stable snake_case code, an HTTP status and a message safe to show
// callers. Everything a caller can see as an error is made by a factory below.

export type ErrorCode =
  | 'validation_failed'
  | 'invalid_phone_number'
  | 'unauthorized'
  | 'country_not_allowed'
  | 'destination_blocked'
  | 'verification_not_found'
  | 'not_found'
  | 'method_not_allowed'
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
  | 'option_not_supported'
  | 'rate_limited'
  | 'internal_error'
  | 'upstream_error'
  | 'upstream_unavailable'
  | 'store_unavailable'
  | 'upstream_timeout'
  | 'idempotency_in_progress'
  | 'idempotency_key_reused';

export interface FieldError {
  path: string;
  message: string;
}

export interface ProblemExtensions {
  requestId?: string;
  retryAfterSeconds?: number;
  errors?: FieldError[];
  /** The request-token option the provider cannot honour (option_not_supported). */
  option?: string;
  /** destination_blocked: why (`low_conversion`) and what is blocked (`prefix` or `country`). */
  reason?: string;
  scope?: string;
}

/** What an ApiError is made of; only the factories below fill it in. */
export interface ApiErrorInit {
  status: number;
  code: ErrorCode;
  title: string;
  detail: string;
  extensions?: ProblemExtensions;
  /** The internal failure behind it (a Redis error, say): logged once, never shown to callers. */
  cause?: unknown;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: ErrorCode;
  readonly title: string;
  readonly detail: string;
  readonly extensions: ProblemExtensions;
  override readonly cause: unknown;

  constructor(init: ApiErrorInit) {
    super(init.detail);
    this.name = 'ApiError';
    this.status = init.status;
    this.code = init.code;
    this.title = init.title;
    this.detail = init.detail;
    this.extensions = init.extensions ?? {};
    this.cause = init.cause;
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

/**
 * Makes an error without capturing a stack trace: for refusals (4xx) that come in floods and are
 * answered, never logged with a stack.
 */
export function withoutStack<T>(make: () => T): T {
  const depth = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return make();
  } finally {
    Error.stackTraceLimit = depth;
  }
}

const seconds = (value: number | undefined) =>
  value === undefined ? {} : { retryAfterSeconds: Math.max(1, Math.ceil(value)) };

export const errors = {
  validationFailed: (fieldErrors: FieldError[], detail = 'The request is not valid.') =>
    new ApiError({
      status: 400,
      code: 'validation_failed',
      title: 'Validation failed',
      detail: detail,
      extensions: { errors: fieldErrors },
    }),
  invalidPhoneNumber: (detail = 'The phone number is not a valid number.') =>
    new ApiError({
      status: 400,
      code: 'invalid_phone_number',
      title: 'Invalid phone number',
      detail: detail,
    }),
  unauthorized: () =>
    new ApiError({
      status: 401,
      code: 'unauthorized',
      title: 'Unauthorized',
      detail: 'Send a valid API key as Authorization: Bearer <key>.',
    }),
  countryNotAllowed: (country: string | undefined) =>
    new ApiError({
      status: 403,
      code: 'country_not_allowed',
      title: 'Country not allowed',
      detail: `Numbers from ${country ?? 'this country'} are not allowed by this service.`,
    }),
  destinationBlocked: (scope: 'prefix' | 'country', retryAfterSeconds: number) =>
    new ApiError({
      status: 403,
      code: 'destination_blocked',
      title: 'Destination blocked',
      detail: `Codes to this number's ${scope === 'prefix' ? 'range' : 'country'} are paused: too few of the codes sent there lately were verified.`,
      extensions: { reason: 'low_conversion', scope, ...seconds(retryAfterSeconds) },
    }),
  verificationNotFound: () =>
    new ApiError({
      status: 404,
      code: 'verification_not_found',
      title: 'Verification not found',
      detail: 'No such verification.',
    }),
  routeNotFound: (detail = 'No such endpoint.') =>
    new ApiError({ status: 404, code: 'not_found', title: 'Not found', detail }),
  /** A known path asked with a method it does not answer; the Allow header lists those it does. */
  methodNotAllowed: (method = 'this method', allowed: readonly string[] = []) =>
    new ApiError({
      status: 405,
      code: 'method_not_allowed',
      title: 'Method not allowed',
      detail: `This endpoint does not answer ${method}${allowed.length > 0 ? `; it answers ${allowed.join(', ')}` : ''}.`,
    }),
  verificationInProgress: (requestId?: string, retryAfterSeconds?: number) =>
    new ApiError({
      status: 409,
      code: 'verification_in_progress',
      title: 'Verification in progress',
      detail: requestId
        ? 'A verification for this number is still running at the provider, so no new code can be started yet. Its latest code can still be checked with this requestId; a new one can be requested after retryAfterSeconds.'
        : 'Another request for this number is being handled right now; retry in a moment.',
      extensions: { ...(requestId ? { requestId } : {}), ...seconds(retryAfterSeconds) },
    }),
  concurrentVerification: (retryAfterSeconds?: number) =>
    new ApiError({
      status: 409,
      code: 'concurrent_verification',
      title: 'Concurrent verification',
      detail: 'Another verification to this number is in progress; try again later.',
      extensions: { ...seconds(retryAfterSeconds) },
    }),
  alreadyVerified: (requestId: string) =>
    new ApiError({
      status: 409,
      code: 'already_verified',
      title: 'Already verified',
      detail: 'This verification was already completed.',
      extensions: {
        requestId,
      },
    }),
  cancelNotAllowed: (requestId: string, retryAfterSeconds?: number) =>
    new ApiError({
      status: 409,
      code: 'cancel_not_allowed',
      title: 'Cancel not allowed',
      detail:
        retryAfterSeconds === undefined
          ? 'Vonage no longer allows cancelling this verification.'
          : 'Vonage does not allow cancelling a verification in its first 30 seconds.',
      extensions: { requestId, ...seconds(retryAfterSeconds) },
    }),
  noMoreEvents: (requestId: string) =>
    new ApiError({
      status: 409,
      code: 'no_more_events',
      title: 'No more events',
      detail: 'Nothing is left to deliver for this verification.',
      extensions: {
        requestId,
      },
    }),
  verificationExpired: (requestId: string) =>
    new ApiError({
      status: 410,
      code: 'verification_expired',
      title: 'Verification expired',
      detail: 'This verification expired or was cancelled; request a new code.',
      extensions: { requestId },
    }),
  tooManyAttempts: (requestId: string) =>
    new ApiError({
      status: 410,
      code: 'too_many_attempts',
      title: 'Too many attempts',
      detail: 'A wrong code was entered too many times; request a new code.',
      extensions: { requestId },
    }),
  payloadTooLarge: () =>
    new ApiError({
      status: 413,
      code: 'payload_too_large',
      title: 'Payload too large',
      detail: 'The request body is too large.',
    }),
  codeMismatch: (requestId: string) =>
    new ApiError({
      status: 422,
      code: 'code_mismatch',
      title: 'Code mismatch',
      detail: 'The code is wrong; the verification is still open.',
      extensions: {
        requestId,
      },
    }),
  numberNotSupported: (detail = 'This number cannot receive a verification code.') =>
    new ApiError({
      status: 422,
      code: 'number_not_supported',
      title: 'Number not supported',
      detail: detail,
    }),
  optionNotSupported: (
    option = 'locale',
    detail = `The verification provider does not accept this ${option}; nothing was sent.`,
  ) =>
    new ApiError({
      status: 422,
      code: 'option_not_supported',
      title: 'Option not supported',
      detail,
      extensions: { option },
    }),
  /** The Vonage webhook refuses a callback it cannot trust (bad or missing signature, no secret set). */
  webhookUnauthorized: () =>
    new ApiError({
      status: 401,
      code: 'unauthorized',
      title: 'Unauthorized',
      detail: 'The callback is not signed with the configured signature secret.',
    }),
  rateLimited: (retryAfterSeconds: number, what: string) =>
    new ApiError({
      status: 429,
      code: 'rate_limited',
      title: 'Too many requests',
      detail: `Rate limit reached: ${what}.`,
      extensions: seconds(retryAfterSeconds),
    }),
  internal: () =>
    new ApiError({
      status: 500,
      code: 'internal_error',
      title: 'Internal error',
      detail: 'Something went wrong on our side.',
    }),
  upstreamError: (cause?: unknown) =>
    new ApiError({
      status: 502,
      code: 'upstream_error',
      title: 'Upstream error',
      detail: 'The verification provider answered with an error.',
      cause,
    }),
  upstreamUnavailable: (retryAfterSeconds?: number, cause?: unknown) =>
    new ApiError({
      status: 503,
      code: 'upstream_unavailable',
      title: 'Upstream unavailable',
      detail: 'The verification provider cannot be reached right now; try again shortly.',
      extensions: seconds(retryAfterSeconds),
      cause,
    }),
  /** An earlier call's outcome is unknown and the provider cannot tell it yet (v1 search lags). */
  outcomeNotYetKnown: (retryAfterSeconds: number) =>
    new ApiError({
      status: 503,
      code: 'upstream_unavailable',
      title: 'Upstream unavailable',
      detail:
        'The outcome of an earlier request for this verification is not known yet; the provider reports it shortly. Retry after retryAfterSeconds.',
      extensions: seconds(retryAfterSeconds),
    }),
  storeUnavailable: (cause?: unknown) =>
    new ApiError({
      status: 503,
      code: 'store_unavailable',
      title: 'Store unavailable',
      detail: 'The verification store is not answering; try again shortly.',
      extensions: { retryAfterSeconds: 1 },
      cause,
    }),
  /** /readyz's answer when the store does not answer (same code, its own title). */
  notReady: (cause?: unknown, detail = 'The verification store is not answering.') =>
    new ApiError({
      status: 503,
      code: 'store_unavailable',
      title: 'Not ready',
      detail,
      cause,
    }),
  idempotencyInProgress: (retryAfterSeconds = 1) =>
    new ApiError({
      status: 409,
      code: 'idempotency_in_progress',
      title: 'Idempotent request in progress',
      detail: 'A request with this Idempotency-Key is still running; retry after it has finished.',
      extensions: seconds(retryAfterSeconds),
    }),
  idempotencyKeyReused: (differs = 'body') =>
    new ApiError({
      status: 422,
      code: 'idempotency_key_reused',
      title: 'Idempotency-Key reused',
      detail: `This Idempotency-Key was already used for a request with a different ${differs}; use a new key for a new request.`,
    }),
  upstreamTimeout: (cause?: unknown) =>
    new ApiError({
      cause,
      status: 504,
      code: 'upstream_timeout',
      title: 'Upstream timeout',
      detail: 'The verification provider did not answer in time; the outcome is unknown.',
    }),
};
