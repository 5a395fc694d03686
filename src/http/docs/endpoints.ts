// The OpenAPI data of every route in the route table (routes.ts), keyed by operation id: summary,
// description, request examples, success responses and the error codes each can answer with. Method,
// path and whether a key is needed come from the table. A declarative data table: the builder in
// openapi.ts turns it into the document.

import type { ResponseConfig, RouteConfig } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { type ErrorCode, errors } from '../../errors';
import type { ApiOperationId, DocsOperationId, OpsOperationId } from '../routes';
import {
  cancelBody,
  cancelledResponse,
  nextEventBody,
  nextEventResponse,
  requestIdParams,
  requestTokenBody,
  startedResponse,
  verificationResponse,
  verifiedResponse,
  verifyTokenBody,
} from '../schemas';
import {
  API_BASE,
  ERROR_CATALOGUE,
  type ErrorDoc,
  EXAMPLE_PHONE,
  EXAMPLE_REQUEST_ID,
  EXISTING,
  JSON_BODY,
  UPSTREAM,
} from './error-catalogue';

export interface EndpointDoc {
  route: Omit<RouteConfig, 'method' | 'path' | 'operationId' | 'responses' | 'security'>;
  success: Record<string, ResponseConfig>;
  errors: ErrorCode[];
  overrides?: Partial<Record<ErrorCode, ErrorDoc>>;
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
const serviceIndexResponse = z
  .object({
    service: z.literal('otp-verify'),
    sandbox: z.boolean(),
    docs: z.literal('/docs'),
    openapi: z.literal('/openapi.json'),
    sandboxMessages: z.literal('/sandbox/messages').optional().meta({ description: 'Sandbox mode only.' }),
    sandboxReset: z.literal('POST /sandbox/reset').optional().meta({ description: 'Sandbox mode only.' }),
  })
  .meta({ id: 'ServiceIndex' });
const sandboxMessagesQuery = z.object({
  phoneNumber: z.string().optional().meta({
    description: 'Only messages to this number (digits are compared; any written form).',
    example: EXAMPLE_PHONE,
  }),
  requestId: z.string().optional().meta({
    description: 'Only messages of this verification.',
    example: EXAMPLE_REQUEST_ID,
  }),
});
const sandboxResetResponse = z.object({ reset: z.literal(true) }).meta({ id: 'SandboxReset' });

/** A JSON response's content: its schema and one example. */
export const json = (schema: z.ZodType, example?: unknown) => ({
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

/** The /api routes (behind the bearer key). */
export function apiEndpointDocs(sandbox: boolean): Record<ApiOperationId, EndpointDoc> {
  return {
    requestToken: {
      route: {
        tags: ['Verification'],
        summary: 'Send a code to a phone number',
        description:
          'Starts a Vonage verification. Unset options come from the configuration. If this caller already has a ' +
          'verification in flight for the number, it is cancelled and replaced (`replacedRequestId`) when Vonage ' +
          'allows it, else the answer is 409 `verification_in_progress` with the id of the verification still ' +
          'running at Vonage and `retryAfterSeconds`, the real wait until a new code can be started. ' +
          "`expiresAt` is when Vonage ends the verification (its last delivery plus that delivery's wait), " +
          'not when the first code expires.' +
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
                    value: { phoneNumber: '07911 123456', country: 'GB' },
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
      success: {
        '201': {
          description: 'The code is on its way.',
          content: json(startedResponse, {
            requestId: EXAMPLE_REQUEST_ID,
            phoneNumber: EXAMPLE_PHONE,
            status: 'pending',
            expiresAt: '2026-01-01T12:10:05.000Z',
            channels: ['sms', 'voice', 'voice'],
          }),
        },
      },
      errors: [
        ...API_BASE,
        ...JSON_BODY,
        ...UPSTREAM,
        'invalid_phone_number',
        'country_not_allowed',
        'destination_blocked',
        'verification_in_progress',
        'concurrent_verification',
        'number_not_supported',
        'option_not_supported',
      ],
      overrides: {
        rate_limited: {
          when: 'Too many codes for this number, by this caller, to this prefix or to this country (`LIMIT_SENDS_PER_NUMBER`, `LIMIT_SENDS_PER_CALLER`, `LIMIT_SENDS_PER_PREFIX`, `LIMIT_SENDS_PER_COUNTRY`), too many Vonage calls for this caller (`LIMIT_VONAGE_CALLS_PER_CALLER`), or too many failed authentications from this address.',
          example: ERROR_CATALOGUE.rate_limited.example,
        },
      },
    },
    verifyToken: {
      route: {
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
    cancelVerification: {
      route: {
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
      success: {
        '200': {
          description: 'Cancelled.',
          content: json(cancelledResponse, { cancelled: true, requestId: EXAMPLE_REQUEST_ID }),
        },
      },
      errors: [...API_BASE, ...JSON_BODY, ...UPSTREAM, ...EXISTING, 'cancel_not_allowed'],
    },
    triggerNextEvent: {
      route: {
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
      success: {
        '200': {
          description: 'The next delivery is under way.',
          content: json(nextEventResponse, { requestId: EXAMPLE_REQUEST_ID }),
        },
      },
      errors: [...API_BASE, ...JSON_BODY, ...UPSTREAM, ...EXISTING, 'no_more_events', 'destination_blocked'],
    },
    getVerification: {
      route: {
        tags: ['Verification'],
        summary: "One of the caller's verifications",
        description: 'Also after it ended, until its record expires. Does not call Vonage.',
        request: { params: requestIdParams },
      },
      success: {
        '200': {
          description: 'The verification.',
          content: json(verificationResponse, {
            requestId: EXAMPLE_REQUEST_ID,
            phoneNumber: EXAMPLE_PHONE,
            status: 'verified',
            createdAt: '2026-01-01T12:00:00.000Z',
            expiresAt: '2026-01-01T12:10:05.000Z',
            finishedAt: '2026-01-01T12:01:10.000Z',
            channels: ['sms', 'voice', 'voice'],
            events: [
              { at: '2026-01-01T12:00:00.000Z', type: 'started', channel: 'sms' },
              { at: '2026-01-01T12:00:40.000Z', type: 'check_failed' },
              { at: '2026-01-01T12:01:10.000Z', type: 'verified' },
            ],
          }),
        },
      },
      // A verification whose last call's answer was lost is resolved with Vonage first (its search).
      errors: [...API_BASE, ...UPSTREAM, 'validation_failed', 'verification_not_found'],
    },
  };
}

/** The operational routes (no key). */
export function opsEndpointDocs(sandbox: boolean): Record<OpsOperationId, EndpointDoc> {
  return {
    serviceIndex: {
      route: {
        tags: ['Operations'],
        summary: 'What this service is and where its documentation is',
        description: 'Links to the interactive docs and this document; says whether sandbox mode is on.',
      },
      success: {
        '200': {
          description: 'The service and its links.',
          content: json(serviceIndexResponse, {
            service: 'otp-verify',
            sandbox,
            docs: '/docs',
            openapi: '/openapi.json',
            ...(sandbox ? { sandboxMessages: '/sandbox/messages', sandboxReset: 'POST /sandbox/reset' } : {}),
          }),
        },
      },
      errors: [],
    },
    healthz: {
      route: {
        tags: ['Operations'],
        summary: 'Liveness',
        description: '200 while the process runs.',
      },
      success: { '200': { description: 'Alive.', content: json(healthResponse, { status: 'ok' }) } },
      errors: [],
    },
    readyz: {
      route: {
        tags: ['Operations'],
        summary: 'Readiness',
        description: '200 when the store and configuration are usable.',
      },
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
        // ops-routes.ts answers readiness with its own title and detail, so its example is that answer.
        store_unavailable: {
          when: 'The verification store is not answering, or refuses writes (full, or a read-only replica).',
          example: errors.notReady(),
        },
      },
    },
    metrics: {
      route: {
        tags: ['Operations'],
        summary: 'Prometheus metrics',
        description:
          'Prometheus text exposition format. When the service runs with `METRICS_TOKEN` set, only with `Authorization: Bearer <METRICS_TOKEN>` (caller names and volumes are on it); otherwise 401 `unauthorized`.',
      },
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
      errors: ['unauthorized', 'internal_error'],
    },
    listSandboxMessages: {
      route: {
        tags: ['Sandbox'],
        summary: 'Codes "delivered" by the local Verify simulator',
        description:
          'Sandbox mode only: the messages the simulator would have sent, with their codes, newest first. ' +
          'No API key needed.',
        request: { query: sandboxMessagesQuery },
      },
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
    resetSandbox: {
      route: {
        tags: ['Sandbox'],
        summary: 'Forget every sandbox message, verification and rate-limit window',
        description:
          'Sandbox mode only: a clean slate without a restart. Clears the simulator (messages, verifications), ' +
          "the service's verifications and every rate-limit window, so a number refused with 429 after some " +
          'exploring can be used again. No API key and no body needed.',
      },
      success: {
        '200': {
          description: 'Everything was cleared.',
          content: json(sandboxResetResponse, { reset: true }),
        },
      },
      errors: ['store_unavailable', 'internal_error'],
    },
  };
}

/** The API's own description (no key). */
export function docsEndpointDocs(): Record<DocsOperationId, EndpointDoc> {
  return {
    openApiDocument: {
      route: {
        tags: ['Operations'],
        summary: 'This OpenAPI 3.1 document',
        description:
          'The document the typed client and the Postman collection are generated from. Imports into Postman, ' +
          'Insomnia and code generators.',
      },
      success: {
        '200': {
          description: 'The OpenAPI document.',
          content: {
            'application/json': {
              schema: { type: 'object', additionalProperties: true, description: 'An OpenAPI 3.1 document.' },
              example: { openapi: '3.1.0', info: { title: 'OTP verification service', version: '1.0.0' } },
            },
          },
        },
      },
      errors: [],
    },
    docsPage: {
      route: {
        tags: ['Operations'],
        summary: 'Interactive API documentation (Swagger UI)',
        description: 'An HTML page over this document, with "Try it out".',
      },
      success: {
        '200': {
          description: 'The HTML page.',
          content: {
            'text/html': {
              schema: { type: 'string' },
              example: '<!doctype html><html>...Swagger UI...</html>',
            },
          },
        },
      },
      errors: [],
    },
  };
}
