// The OpenAPI 3.1 document of the HTTP API (served at GET /openapi.json), generated from the same zod
// schemas that validate requests. Error responses come from one catalogue built with the factories of
// errors.ts, so every documented problem (status, title, detail, extensions) is exactly what the service
// sends.

import {
  OpenAPIRegistry,
  OpenApiGeneratorV31,
  type ResponseConfig,
  type RouteConfig,
} from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { type ApiError, type ErrorCode, errors, problemBody } from '../../errors';
import {
  cancelBody,
  cancelledResponse,
  nextEventBody,
  nextEventResponse,
  problemResponse,
  requestIdParams,
  requestTokenBody,
  startedResponse,
  verificationResponse,
  verifiedResponse,
  verifyTokenBody,
} from '../schemas';

export interface OpenApiOptions {
  /** Sandbox mode: documents GET /sandbox/messages and how to get a code without a phone. */
  sandbox: boolean;
  /** Base URL of the service; default '/' (the origin the document was fetched from). */
  serverUrl?: string;
}

const PROBLEM_MEDIA_TYPE = 'application/problem+json';
const EXAMPLE_REQUEST_ID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const EXAMPLE_PHONE = '+447400123456';

interface ErrorDoc {
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
    when: 'Not a valid phone number (by libphonenumber, or rejected by Vonage: status 3).',
    example: errors.invalidPhoneNumber(
      'Not a valid phone number; write it with its country code (+44...) or give "country".',
    ),
  },
  unauthorized: {
    when: 'Missing or unknown API key in `Authorization: Bearer <key>`.',
    example: errors.unauthorized(),
  },
  country_not_allowed: {
    when: "The number's country is not in `ALLOWED_COUNTRIES`.",
    example: errors.countryNotAllowed('FR'),
  },
  verification_not_found: {
    when: "No such verification for this caller (other callers' verifications are never visible), or Vonage no longer knows it (status 6).",
    example: errors.verificationNotFound(),
  },
  not_found: {
    when: 'No such endpoint.',
    example: errors.routeNotFound(),
  },
  verification_in_progress: {
    when: 'A code this caller started for the number moments ago is still in flight and Vonage refuses to cancel it (status 19); `requestId` is that verification, whose code is still valid.',
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
    when: 'Vonage throttled us (status 1), the account quota is exhausted (status 9), or Vonage is unreachable.',
    example: errors.upstreamUnavailable(1),
  },
  store_unavailable: {
    when: 'The verification store (Redis) is down or not answering in time.',
    example: errors.storeUnavailable(),
  },
  upstream_timeout: {
    when: 'Vonage did not answer within `VONAGE_TIMEOUT_MS`; the outcome is unknown.',
    example: errors.upstreamTimeout(),
  },
};

// Error sets shared by several endpoints; the per-endpoint lists below are derived from verify-service.ts.
/** Anything behind /api: the key check, its per-address failure limit (kept in the store), a bug. */
const API_BASE: ErrorCode[] = ['unauthorized', 'rate_limited', 'store_unavailable', 'internal_error'];
/** A POST body through express.json and zod. */
const JSON_BODY: ErrorCode[] = ['validation_failed', 'payload_too_large'];
/** Any call to Vonage (mapped in vonage-verify.ts); the per-number lock wait also ends in upstream_timeout. */
const UPSTREAM: ErrorCode[] = ['upstream_error', 'upstream_unavailable', 'upstream_timeout'];
/** Finding one of the caller's verifications by requestId or phoneNumber, and requiring it pending. */
const EXISTING: ErrorCode[] = [
  'invalid_phone_number',
  'verification_not_found',
  'already_verified',
  'verification_expired',
  'too_many_attempts',
];

const RETRY_AFTER = {
  description: 'Seconds to wait before trying again (also in `retryAfterSeconds`).',
  schema: { type: 'integer', minimum: 1 },
} as const;

/**
 * The error responses of one endpoint: one response per status, each listing its codes with a named
 * example of each (Swagger UI and Postman show them as selectable examples).
 */
function errorResponses(
  codes: ErrorCode[],
  overrides: Partial<Record<ErrorCode, ErrorDoc>> = {},
): Record<string, ResponseConfig> {
  const byStatus = new Map<number, ErrorDoc[]>();
  for (const code of new Set(codes)) {
    const doc = overrides[code] ?? ERROR_CATALOGUE[code];
    byStatus.set(doc.example.status, [...(byStatus.get(doc.example.status) ?? []), doc]);
  }
  const responses: Record<string, ResponseConfig> = {};
  for (const [status, docs] of [...byStatus].sort(([a], [b]) => a - b)) {
    const retryAfter = docs.some((doc) => doc.example.extensions.retryAfterSeconds !== undefined);
    responses[String(status)] = {
      description: docs.map((doc) => `\`${doc.example.code}\`: ${doc.when}`).join('\n\n'),
      ...(retryAfter
        ? {
            headers: {
              // Always sent with 429; with the other codes only when the wait is known.
              'Retry-After': status === 429 ? { ...RETRY_AFTER, required: true } : RETRY_AFTER,
            },
          }
        : {}),
      content: {
        [PROBLEM_MEDIA_TYPE]: {
          schema: problemResponse,
          examples: Object.fromEntries(
            docs.map((doc) => [
              doc.example.code,
              { summary: doc.example.title, value: problemBody(doc.example) },
            ]),
          ),
        },
      },
    };
  }
  return responses;
}

// Response schemas of the operational endpoints; documentation only (nothing parses these).
const healthResponse = z.object({ status: z.literal('ok') }).meta({ id: 'Health' });
const readyResponse = z
  .object({ status: z.literal('ready'), store: z.literal('ok'), vonage: z.enum(['sandbox', 'configured']) })
  .meta({ id: 'Ready' });
const sandboxMessage = z
  .object({
    requestId: z.string(),
    number: z.string().meta({ description: 'E.164.', example: EXAMPLE_PHONE }),
    channel: z.enum(['sms', 'tts']),
    code: z.string().meta({ example: '123456' }),
    brand: z.string(),
    text: z.string(),
    at: z.iso.datetime().meta({ description: "On the simulator's clock." }),
  })
  .meta({ id: 'SandboxMessage' });
const sandboxMessagesResponse = z
  .object({ messages: z.array(sandboxMessage) })
  .meta({ id: 'SandboxMessages' });
const sandboxMessagesQuery = z.object({
  phoneNumber: z.string().optional().meta({
    description: 'Only messages to this number (digits are compared; any written form).',
    example: EXAMPLE_PHONE,
  }),
});

const json = (schema: z.ZodType, example?: unknown) => ({
  'application/json': { schema, ...(example === undefined ? {} : { example }) },
});

/** Named request examples; the first is what "Try it out" starts with. */
const byIdOrNumberExamples = (extra: Record<string, unknown>) => ({
  byRequestId: { summary: 'By requestId', value: { requestId: EXAMPLE_REQUEST_ID, ...extra } },
  byPhoneNumber: {
    summary: "By phone number (the caller's current verification)",
    value: { phoneNumber: EXAMPLE_PHONE, ...extra },
  },
});

const ONE_OF_NOTE = 'Give exactly one of `requestId` or `phoneNumber` (`country` only with `phoneNumber`).';

interface Endpoint {
  route: Omit<RouteConfig, 'responses' | 'security'>;
  /** Behind the bearer key (everything under /api). */
  auth: boolean;
  success: Record<string, ResponseConfig>;
  errors: ErrorCode[];
  overrides?: Partial<Record<ErrorCode, ErrorDoc>>;
}

function endpoints(sandbox: boolean): Endpoint[] {
  const api: Endpoint[] = [
    {
      route: {
        method: 'post',
        path: '/api/request-token',
        operationId: 'requestToken',
        tags: ['Verification'],
        summary: 'Send a code to a phone number',
        description:
          'Starts a Vonage verification. Unset options come from the configuration. If this caller already has a ' +
          'verification in flight for the number, it is cancelled and replaced (`replacedRequestId`) when Vonage ' +
          'allows it, else the answer is 409 `verification_in_progress` with the id whose code is still valid.' +
          (sandbox
            ? ' In sandbox mode the code is not sent to a phone: read it at GET /sandbox/messages.'
            : ''),
        request: {
          body: {
            required: true,
            content: {
              'application/json': {
                schema: requestTokenBody,
                examples: {
                  e164: { summary: 'E.164 number', value: { phoneNumber: EXAMPLE_PHONE } },
                  national: {
                    summary: 'National form with country',
                    value: { phoneNumber: '07400 123456', country: 'GB' },
                  },
                  options: {
                    summary: 'With every option',
                    value: {
                      phoneNumber: EXAMPLE_PHONE,
                      brand: 'MyApp',
                      codeLength: 6,
                      locale: 'en-gb',
                      workflowId: 6,
                      pinExpiry: 300,
                      nextEventWait: 120,
                    },
                  },
                },
              },
            },
          },
        },
      },
      auth: true,
      success: {
        '201': {
          description: 'The code is on its way.',
          content: json(startedResponse, {
            requestId: EXAMPLE_REQUEST_ID,
            phoneNumber: EXAMPLE_PHONE,
            status: 'pending',
            expiresAt: '2026-01-01T12:05:00.000Z',
          }),
        },
      },
      errors: [
        ...API_BASE,
        ...JSON_BODY,
        ...UPSTREAM,
        'invalid_phone_number',
        'country_not_allowed',
        'verification_in_progress',
        'concurrent_verification',
        'number_not_supported',
      ],
      overrides: {
        rate_limited: {
          when: 'Too many codes for this number or by this caller (`LIMIT_SENDS_PER_NUMBER`, `LIMIT_SENDS_PER_CALLER`), or too many failed authentications from this address.',
          example: ERROR_CATALOGUE.rate_limited.example,
        },
      },
    },
    {
      route: {
        method: 'post',
        path: '/api/verify-token',
        operationId: 'verifyToken',
        tags: ['Verification'],
        summary: 'Check a code',
        description: `${ONE_OF_NOTE} A verified request is spent. Only the caller's own verifications are found; anything else is 404 without calling Vonage.`,
        request: {
          body: {
            required: true,
            content: {
              'application/json': {
                schema: verifyTokenBody,
                examples: byIdOrNumberExamples({ code: '123456' }),
              },
            },
          },
        },
      },
      auth: true,
      success: {
        '200': {
          description: 'The code is right.',
          content: json(verifiedResponse, {
            verified: true,
            requestId: EXAMPLE_REQUEST_ID,
            phoneNumber: EXAMPLE_PHONE,
          }),
        },
      },
      errors: [...API_BASE, ...JSON_BODY, ...UPSTREAM, ...EXISTING, 'code_mismatch'],
      overrides: {
        rate_limited: {
          when: 'Too many wrong codes for this number (`LIMIT_FAILED_CHECKS_PER_NUMBER`): every check is refused until the window passes, the right code included; or too many failed authentications from this address.',
          example: errors.rateLimited(3600, 'wrong codes for this number (10/1h)'),
        },
      },
    },
    {
      route: {
        method: 'post',
        path: '/api/cancel',
        operationId: 'cancelVerification',
        tags: ['Verification'],
        summary: 'Cancel a verification',
        description: `${ONE_OF_NOTE} Vonage refuses cancels in the first 30 seconds and after the second delivery.`,
        request: {
          body: {
            required: true,
            content: { 'application/json': { schema: cancelBody, examples: byIdOrNumberExamples({}) } },
          },
        },
      },
      auth: true,
      success: {
        '200': {
          description: 'Cancelled.',
          content: json(cancelledResponse, { cancelled: true, requestId: EXAMPLE_REQUEST_ID }),
        },
      },
      errors: [...API_BASE, ...JSON_BODY, ...UPSTREAM, ...EXISTING, 'cancel_not_allowed'],
    },
    {
      route: {
        method: 'post',
        path: '/api/next-event',
        operationId: 'triggerNextEvent',
        tags: ['Verification'],
        summary: 'Deliver the code by the next channel now ("call me instead")',
        description: `${ONE_OF_NOTE} Moves a pending verification to the next delivery of its workflow at once (Vonage \`trigger_next_event\`). Counts as a send for the rate limits.`,
        request: {
          body: {
            required: true,
            content: { 'application/json': { schema: nextEventBody, examples: byIdOrNumberExamples({}) } },
          },
        },
      },
      auth: true,
      success: {
        '200': {
          description: 'The next delivery is under way.',
          content: json(nextEventResponse, { requestId: EXAMPLE_REQUEST_ID }),
        },
      },
      errors: [...API_BASE, ...JSON_BODY, ...UPSTREAM, ...EXISTING, 'no_more_events'],
    },
    {
      route: {
        method: 'get',
        path: '/api/verifications/{requestId}',
        operationId: 'getVerification',
        tags: ['Verification'],
        summary: "One of the caller's verifications",
        description: 'Also after it ended, until its record expires. Does not call Vonage.',
        request: { params: requestIdParams },
      },
      auth: true,
      success: {
        '200': {
          description: 'The verification.',
          content: json(verificationResponse, {
            requestId: EXAMPLE_REQUEST_ID,
            phoneNumber: EXAMPLE_PHONE,
            status: 'verified',
            createdAt: '2026-01-01T12:00:00.000Z',
            expiresAt: '2026-01-01T12:05:00.000Z',
            finishedAt: '2026-01-01T12:01:10.000Z',
          }),
        },
      },
      errors: [...API_BASE, 'validation_failed', 'verification_not_found'],
    },
  ];

  const operations: Endpoint[] = [
    {
      route: {
        method: 'get',
        path: '/healthz',
        operationId: 'healthz',
        tags: ['Operations'],
        summary: 'Liveness',
        description: '200 while the process runs.',
      },
      auth: false,
      success: { '200': { description: 'Alive.', content: json(healthResponse, { status: 'ok' }) } },
      errors: [],
    },
    {
      route: {
        method: 'get',
        path: '/readyz',
        operationId: 'readyz',
        tags: ['Operations'],
        summary: 'Readiness',
        description: '200 when the store and configuration are usable.',
      },
      auth: false,
      success: {
        '200': {
          description: 'Ready.',
          content: json(readyResponse, {
            status: 'ready',
            store: 'ok',
            vonage: sandbox ? 'sandbox' : 'configured',
          }),
        },
      },
      errors: ['store_unavailable'],
      overrides: {
        // app.ts answers readiness with its own title and detail, so its example is that answer.
        store_unavailable: {
          when: 'The verification store is not answering.',
          example: errors.notReady(),
        },
      },
    },
    {
      route: {
        method: 'get',
        path: '/metrics',
        operationId: 'metrics',
        tags: ['Operations'],
        summary: 'Prometheus metrics',
        description: 'Prometheus text exposition format.',
      },
      auth: false,
      success: {
        '200': {
          description: 'The metrics.',
          content: {
            'text/plain': {
              schema: { type: 'string' },
              example:
                '# HELP otp_http_requests_total HTTP requests by route, method and status.\n' +
                '# TYPE otp_http_requests_total counter\n' +
                'otp_http_requests_total{route="/api/request-token",method="POST",status="201"} 42\n',
            },
          },
        },
      },
      errors: ['internal_error'],
    },
  ];

  const sandboxOnly: Endpoint[] = sandbox
    ? [
        {
          route: {
            method: 'get',
            path: '/sandbox/messages',
            operationId: 'listSandboxMessages',
            tags: ['Sandbox'],
            summary: 'Codes "delivered" by the local Verify simulator',
            description:
              'Sandbox mode only: the messages the simulator would have sent, with their codes, oldest first. ' +
              'No API key needed.',
            request: { query: sandboxMessagesQuery },
          },
          auth: false,
          success: {
            '200': {
              description: 'The delivered messages.',
              content: json(sandboxMessagesResponse, {
                messages: [
                  {
                    requestId: EXAMPLE_REQUEST_ID,
                    number: EXAMPLE_PHONE,
                    channel: 'sms',
                    code: '123456',
                    brand: 'MyApp',
                    text: 'MyApp code: 123456. Valid for 5 minutes.',
                    at: '2026-01-01T12:00:00.000Z',
                  },
                ],
              }),
            },
          },
          errors: [],
        },
      ]
    : [];

  return [...api, ...operations, ...sandboxOnly];
}

/** The whole error catalogue as a Markdown table, for the top of the interactive page. */
function errorTable(): string {
  const rows = Object.values(ERROR_CATALOGUE)
    .sort((a, b) => a.example.status - b.example.status)
    .map((doc) => `| ${doc.example.status} | \`${doc.example.code}\` | ${doc.when} |`);
  return ['| HTTP | code | when |', '| --- | --- | --- |', ...rows].join('\n');
}

function description(sandbox: boolean): string {
  return [
    'Sends one-time codes to phones and checks them, through Vonage Verify. Pending verifications are kept ' +
      "server-side per calling service: callers never handle Vonage ids and never see each other's verifications.",
    'Every `/api/*` request needs `Authorization: Bearer <API key>` (**Authorize** above). Phone numbers are ' +
      'accepted in any common written form and answered in E.164.',
    ...(sandbox
      ? [
          '**Sandbox mode**: no Vonage credentials are configured, so codes go to a local Verify simulator instead ' +
            'of phones. Read them at `GET /sandbox/messages`. Unless `API_KEYS` is set, the API key is `dev-key`.',
        ]
      : []),
    'Every error is `application/problem+json` (RFC 9457) with a stable `code`:',
    errorTable(),
  ].join('\n\n');
}

/** Builds the document; callers cache it (it does not change while the process runs). */
export function buildOpenApiDocument(options: OpenApiOptions): object {
  const registry = new OpenAPIRegistry();
  const bearer = registry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    description: "The calling service's API key from `API_KEYS` (`caller:key` pairs).",
  });
  for (const endpoint of endpoints(options.sandbox)) {
    registry.registerPath({
      ...endpoint.route,
      ...(endpoint.auth ? { security: [{ [bearer.name]: [] }] } : {}),
      responses: { ...endpoint.success, ...errorResponses(endpoint.errors, endpoint.overrides) },
    });
  }
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'OTP verification service',
      version: '1.0.0',
      description: description(options.sandbox),
      license: { name: 'MIT', identifier: 'MIT' },
    },
    servers: [
      {
        url: options.serverUrl ?? '/',
        description: options.sandbox ? 'This service (sandbox mode)' : 'This service',
      },
    ],
    tags: [
      { name: 'Verification', description: 'Send and check codes. Needs the bearer API key.' },
      { name: 'Operations', description: 'Health, readiness and metrics for the platform. No key needed.' },
      ...(options.sandbox ? [{ name: 'Sandbox', description: 'Only in sandbox mode.' }] : []),
    ],
  });
}
