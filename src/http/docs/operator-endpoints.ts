// The OpenAPI data of the routes that are not for callers, keyed by operation id like endpoints.ts: the
// abuse guard's operator routes (ADMIN_ROUTES, behind ADMIN_API_KEY; documented only where mounted) and
// Vonage's Verify v2 callbacks (WEBHOOK_ROUTES, authenticated by their signed JWT).

import { z } from 'zod';
import { errors } from '../../errors';
import type { AdminOperationId, WebhookOperationId } from '../routes';
import { type EndpointDoc, json } from './endpoints';
import { ERROR_CATALOGUE, EXAMPLE_REQUEST_ID } from './error-catalogue';

// Response schemas of the operator routes; documentation only (nothing parses these).
const guardScope = z.enum(['prefix', 'country']).meta({
  description: '`prefix`: numbers sharing all but their last 3 digits (E.164); `country`: ISO 3166 alpha-2.',
});
const scopeConversion = z
  .object({
    value: z.string().meta({ description: 'The prefix or country.', example: '+447700900' }),
    settled: z.int().meta({ description: 'Outcomes known over the window.' }),
    verified: z.int().meta({ description: 'Of those, the codes verified.' }),
    conversion: z.number().meta({ description: '`verified / settled`, to 3 decimals.' }),
  })
  .meta({ id: 'GuardScopeConversion' });
const guardBlock = z
  .object({
    scope: guardScope,
    value: z.string().meta({ example: '+447700900' }),
    until: z.int().meta({ description: 'When the block ends, milliseconds since the epoch.' }),
    settled: z.int().optional().meta({ description: 'The outcomes that decided it, when still known.' }),
    verified: z.int().optional(),
    since: z.int().optional().meta({ description: 'When the block started, milliseconds since the epoch.' }),
    retryAfterSeconds: z.int().min(1).meta({ description: 'Seconds until the block ends.' }),
    conversion: z.number().nullable().meta({ description: '`verified / settled` when known, else null.' }),
  })
  .meta({ id: 'GuardBlock' });
const guardView = z
  .object({
    mode: z.enum(['enforce', 'shadow', 'off']).meta({ description: '`PUMPING_GUARD`.' }),
    settings: z.object({
      window: z.number().meta({ description: '`PUMPING_WINDOW`, seconds.' }),
      minSettled: z.int().meta({ description: '`PUMPING_MIN_SETTLED`.' }),
      minConversion: z.number().meta({ description: '`PUMPING_MIN_CONVERSION`.' }),
      block: z.number().meta({ description: '`PUMPING_BLOCK`, seconds.' }),
      sendsPerPrefix: z.string().meta({ description: '`LIMIT_SENDS_PER_PREFIX`.', example: '30/1h' }),
      sendsPerCountry: z
        .string()
        .nullable()
        .meta({ description: '`LIMIT_SENDS_PER_COUNTRY`; null when off.' }),
      safelist: z.array(z.string()).meta({ description: '`PUMPING_SAFELIST`.' }),
    }),
    blocks: z
      .array(guardBlock)
      .meta({ description: 'The current blocks (in shadow mode, the would-be blocks).' }),
    busiest: z
      .object({ prefix: z.array(scopeConversion), country: z.array(scopeConversion) })
      .meta({ description: 'The 20 prefixes and countries with the most outcomes known over the window.' }),
  })
  .meta({ id: 'GuardView' });
const liftParams = z.object({
  scope: guardScope,
  value: z.string().min(1).meta({
    description: 'The blocked prefix (its `+` written `%2B`) or country, as `GET /admin/guard` lists it.',
    example: '+447700900',
  }),
});
const liftedResponse = z
  .object({ lifted: z.literal(true), scope: guardScope, value: z.string() })
  .meta({ id: 'GuardBlockLifted' });

/** The failed-key refusals of an operator route: the same per-address limit as the API key's. */
const OPERATOR_AUTH = {
  unauthorized: {
    when: 'Missing or wrong `ADMIN_API_KEY` in `Authorization: Bearer <key>` (the API keys are not accepted here). Counts against the address limit `LIMIT_AUTH_FAILURES_PER_IP`, shared with `/api`.',
    example: errors.unauthorized(),
  },
  rate_limited: {
    when: 'Too many requests with a missing or wrong key (to `/admin` or `/api`) from this address (`LIMIT_AUTH_FAILURES_PER_IP`); wait `Retry-After` seconds.',
    example: errors.rateLimited(42, 'failed authentication attempts from this address (20/1m)'),
  },
} as const;

const OPERATOR_NOTE =
  'Operators only: exists only when the service runs with `ADMIN_API_KEY`, and needs that key as ' +
  '`Authorization: Bearer <ADMIN_API_KEY>` (not an API key). Answers carry `Cache-Control: no-store`.';

/** The abuse guard's operator routes (ADMIN_API_KEY). */
export function adminEndpointDocs(): Record<AdminOperationId, EndpointDoc> {
  return {
    getAbuseGuard: {
      route: {
        tags: ['Operators'],
        summary: "The abuse guard's current blocks and the conversion of the busiest destinations",
        description: `${OPERATOR_NOTE} The guard's mode and settings, every current block (in shadow mode the would-be blocks) with the outcomes that decided it, and the conversion of the busiest prefixes and countries with their sample sizes.`,
      },
      success: {
        '200': {
          description: 'The guard as it stands.',
          content: json(guardView, {
            mode: 'enforce',
            settings: {
              window: 3600,
              minSettled: 20,
              minConversion: 0.2,
              block: 3600,
              sendsPerPrefix: '30/1h',
              sendsPerCountry: null,
              safelist: [],
            },
            blocks: [
              {
                scope: 'prefix',
                value: '+447700900',
                until: 1767272400000,
                settled: 24,
                verified: 0,
                since: 1767268800000,
                retryAfterSeconds: 3412,
                conversion: 0,
              },
            ],
            busiest: {
              prefix: [{ value: '+447700900', settled: 24, verified: 0, conversion: 0 }],
              country: [{ value: 'GB', settled: 31, verified: 7, conversion: 0.226 }],
            },
          }),
        },
      },
      errors: ['unauthorized', 'rate_limited', 'store_unavailable', 'internal_error'],
      overrides: OPERATOR_AUTH,
    },
    liftGuardBlock: {
      route: {
        tags: ['Operators'],
        summary: 'Lift one block early',
        description: `${OPERATOR_NOTE} Ends the block of one prefix or country now; the scope's outcomes so far are forgotten with it, so the same evidence does not block it again at once.`,
        request: { params: liftParams },
      },
      success: {
        '200': {
          description: 'The block is lifted.',
          content: json(liftedResponse, { lifted: true, scope: 'prefix', value: '+447700900' }),
        },
      },
      errors: [
        'validation_failed',
        'unauthorized',
        'not_found',
        'rate_limited',
        'store_unavailable',
        'internal_error',
      ],
      overrides: {
        ...OPERATOR_AUTH,
        validation_failed: {
          when: '`scope` is neither `prefix` nor `country`.',
          example: errors.validationFailed([{ path: 'scope', message: 'must be prefix or country' }]),
        },
        not_found: {
          when: 'No current block for this scope and value.',
          example: errors.routeNotFound('No current block for prefix +447700900.'),
        },
      },
    },
  };
}

// The callback bodies Vonage sends (docs/vonage-verify-v2.md, "Callbacks"); documentation only: the
// route reads them leniently (src/vonage/v2/callbacks.ts), statuses Vonage has not documented included.
const callbackBody = z
  .looseObject({
    request_id: z.string().meta({ description: "Vonage's request id: the verification's `requestId`." }),
    type: z.enum(['summary', 'event']).meta({
      description: '`summary`: the verification ended; `event`: one channel (delivery attempt) ended.',
    }),
    status: z.string().meta({
      description:
        'summary: `completed`, `failed`, `expired` (or `blocked`); event: `completed`, `failed`, `rejected`, `user_rejected`, `action_pending`.',
    }),
    channel: z
      .string()
      .optional()
      .meta({ description: 'event: `sms`, `voice`, `whatsapp` or `silent_auth`.' }),
    submitted_at: z.string().optional(),
    triggered_at: z.string().optional(),
    finalized_at: z.string().optional(),
    channel_timeout: z.int().optional(),
    workflow: z
      .array(z.looseObject({ channel: z.string(), initiated_at: z.string(), status: z.string() }))
      .optional()
      .meta({ description: 'summary: each channel of the workflow and how it ended.' }),
    client_ref: z.string().optional(),
  })
  .meta({ id: 'VonageVerifyCallback' });
const receivedResponse = z.object({ received: z.literal(true) }).meta({ id: 'CallbackReceived' });

/** Vonage's Verify v2 callbacks (not for callers). */
export function webhookEndpointDocs(): Record<WebhookOperationId, EndpointDoc> {
  return {
    vonageVerifyCallback: {
      route: {
        tags: ['Vonage callbacks'],
        summary: "Vonage's Verify v2 callbacks (called by Vonage, not by callers)",
        description:
          "The status webhook URL of the Vonage application (Verify v2): Vonage posts each channel's outcome " +
          '(`event`) and the final summary (`summary`) here. No API key: each callback must carry ' +
          '`Authorization: Bearer <JWT>` signed HS256 with `VONAGE_SIGNATURE_SECRET`, issued within the last day ' +
          '(`iat`), whose `payload_hash` claim is the SHA-256 (hex) of the exact body bytes; anything else is 401 ' +
          'and changes nothing, and without `VONAGE_SIGNATURE_SECRET` every callback is 401. A valid callback ' +
          "updates the verification it names (its `events`, and a pending one's `status`) and answers 200; a " +
          'repeat changes nothing twice, an unknown `request_id` answers 200 and is ignored (Vonage retries any ' +
          'other answer), and a callback never moves a verification backwards.',
        request: {
          body: {
            required: true,
            content: {
              'application/json': {
                schema: callbackBody,
                examples: {
                  summary: {
                    summary: 'Summary: the verification completed',
                    value: {
                      request_id: EXAMPLE_REQUEST_ID,
                      submitted_at: '2026-01-01T12:00:00.000Z',
                      status: 'completed',
                      type: 'summary',
                      channel_timeout: 180,
                      workflow: [
                        { channel: 'sms', initiated_at: '2026-01-01T12:00:00.000Z', status: 'completed' },
                      ],
                    },
                  },
                  event: {
                    summary: 'Event: one channel ended',
                    value: {
                      request_id: EXAMPLE_REQUEST_ID,
                      triggered_at: '2026-01-01T12:00:00.000Z',
                      type: 'event',
                      channel: 'sms',
                      status: 'completed',
                      finalized_at: '2026-01-01T12:00:20.000Z',
                      channel_timeout: 180,
                    },
                  },
                },
              },
            },
          },
        },
      },
      success: {
        '200': {
          description: 'Applied, a repeat, or for a verification this service does not know (ignored).',
          content: json(receivedResponse, { received: true }),
        },
      },
      errors: [
        'unauthorized',
        'validation_failed',
        'payload_too_large',
        'verification_in_progress',
        'store_unavailable',
        'internal_error',
      ],
      overrides: {
        unauthorized: {
          when: 'Not signed as above: no or malformed token, another secret or algorithm, stale `iat`, a `payload_hash` that does not match the body; or no `VONAGE_SIGNATURE_SECRET` configured.',
          example: errors.webhookUnauthorized(),
        },
        validation_failed: {
          when: 'A correctly signed body that is not JSON.',
          example: errors.validationFailed([{ path: '', message: 'body is not valid JSON' }]),
        },
        payload_too_large: {
          when: 'The body is over 64 kB.',
          example: ERROR_CATALOGUE.payload_too_large.example,
        },
        verification_in_progress: {
          when: "The verification's number stayed busy with another request for too long; Vonage retries the callback.",
          example: errors.verificationInProgress(EXAMPLE_REQUEST_ID, 1),
        },
      },
    },
  };
}
