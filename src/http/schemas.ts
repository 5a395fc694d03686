// Request and response schemas of the HTTP API. The same zod schemas validate requests and generate the
// OpenAPI document, so the two cannot drift apart.

import { z } from 'zod';
import { errors } from '../errors';
import { CHANNELS } from '../verification/channels';
import { countryCodeProblem } from '../verification/phone';

const phoneNumber = z
  .string()
  .min(3)
  .max(32)
  .meta({ description: 'Any common written form; E.164 preferred.', example: '+447911123456' });
/** Phone numbers in answers: always E.164, whatever form the request used. */
const e164 = z
  .string()
  .regex(/^\+[1-9]\d{6,14}$/)
  .meta({
    description: 'E.164: "+", the country code and the number, digits only.',
    example: '+447911123456',
  });
const COUNTRY_CODE = /^[A-Za-z]{2}$/;
const country = z
  .string()
  .regex(COUNTRY_CODE, 'must be an ISO 3166 alpha-2 code such as GB')
  .transform((value) => value.toUpperCase())
  .superRefine((value, ctx) => {
    const problem = countryCodeProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .meta({ description: 'ISO 3166 alpha-2, for numbers written without their country code.', example: 'GB' });
const REQUEST_ID = /^[A-Za-z0-9_-]+$/;
const requestId = z
  .string()
  .min(1)
  .max(64)
  .regex(REQUEST_ID, 'must be a request id returned by request-token')
  .meta({ example: 'a1b2c3d4e5f60718293a4b5c6d7e8f90' });

const channel = z.enum(CHANNELS);

export const requestTokenBody = z
  .strictObject({
    phoneNumber,
    country: country.optional(),
    brand: z
      .string()
      .min(1)
      .max(18)
      .optional()
      .meta({ description: 'Name shown in the message.', example: 'MyApp' }),
    codeLength: z.union([z.literal(4), z.literal(6)]).optional(),
    locale: z.string().min(2).max(16).optional().meta({
      description:
        'Language of the message: one of the configured Verify API\'s languages (README, "locale"; e.g. en-gb, fil-ph, yue-cn); any other is 400 validation_failed naming `locale`.',
      example: 'en-gb',
    }),
    workflowId: z.number().int().min(1).max(7).optional(),
    channels: z
      .array(channel)
      .min(1)
      .max(3)
      .optional()
      .meta({
        description:
          'Channels tried in order (not with workflowId). Verify v1: one of its seven workflows only. `silent_auth` (v2) only first.',
        example: ['sms', 'voice'],
      }),
    pinExpiry: z
      .number()
      .int()
      .min(60)
      .max(3600)
      .optional()
      .meta({ description: 'Seconds; Verify v1 only.' }),
    nextEventWait: z.number().int().min(15).max(900).optional().meta({
      description: 'Seconds: v1 60-900 between deliveries; v2 15-900 per channel (channel_timeout).',
    }),
  })
  .superRefine((body, ctx) => {
    if (body.channels !== undefined && body.workflowId !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['channels'], message: 'give workflowId or channels, not both' });
    }
    if (body.channels?.slice(1).includes('silent_auth')) {
      ctx.addIssue({
        code: 'custom',
        path: ['channels'],
        message: 'silent_auth can only be the first channel',
      });
    }
  })
  .meta({ id: 'RequestTokenBody', example: { phoneNumber: '+447911123456' } });

export type RequestTokenBody = z.output<typeof requestTokenBody>;

/** `input` as a plain object (what JSON.parse makes) with no key but `a` and `b`; else undefined. */
function plainWithOnly<A extends string, B extends string>(
  input: unknown,
  a: A,
  b: B,
): Partial<Record<A | B, unknown>> | undefined {
  if (typeof input !== 'object' || input === null || Object.getPrototypeOf(input) !== Object.prototype) {
    return undefined;
  }
  for (const key in input) if (key !== a && key !== b) return undefined;
  return input as Partial<Record<A | B, unknown>>;
}

/**
 * The common request-token body, `{ "phoneNumber" }` with an optional `"country"` and nothing else,
 * checked without zod: the same rules as requestTokenBody for those two fields and the same output
 * (country upper-cased). Undefined for any other body, valid or not: zod then parses it, so every error
 * is zod's. Floods of request-token (a number over its limit) take this path.
 */
export function commonRequestTokenBody(input: unknown): RequestTokenBody | undefined {
  const body = plainWithOnly(input, 'phoneNumber', 'country');
  if (body === undefined) return undefined;
  const phone = body.phoneNumber;
  if (typeof phone !== 'string' || phone.length < 3 || phone.length > 32) return undefined;
  if (!Object.hasOwn(body, 'country')) return { phoneNumber: phone };
  const given = body.country;
  if (typeof given !== 'string' || !COUNTRY_CODE.test(given)) return undefined;
  const upper = given.toUpperCase();
  if (countryCodeProblem(upper) !== undefined) return undefined;
  return { phoneNumber: phone, country: upper };
}

/**
 * The same rule as JSON Schema, for the OpenAPI document and the clients generated from it: exactly one
 * of requestId / phoneNumber, and country only with phoneNumber.
 */
const ID_OR_NUMBER_RULE = {
  // Each branch names its field's type too, so generated clients type the body as one or the other.
  oneOf: [
    { required: ['requestId'], properties: { requestId: { type: 'string' } } },
    { required: ['phoneNumber'], properties: { phoneNumber: { type: 'string' } } },
  ],
  dependentRequired: { country: ['phoneNumber'] },
};

/** Exactly one of requestId / phoneNumber identifies a verification. */
const byIdOrNumber = <T extends z.ZodRawShape>(extra: T) =>
  z
    .strictObject({
      requestId: requestId.optional(),
      phoneNumber: phoneNumber.optional(),
      country: country.optional(),
      ...extra,
    })
    .superRefine((parsed, ctx) => {
      const body = parsed as { requestId?: string; phoneNumber?: string; country?: string };
      const given = Number(body.requestId !== undefined) + Number(body.phoneNumber !== undefined);
      if (given !== 1) {
        ctx.addIssue({
          code: 'custom',
          path: ['requestId'],
          message: 'give exactly one of requestId or phoneNumber',
        });
      }
      if (body.country !== undefined && body.phoneNumber === undefined) {
        ctx.addIssue({ code: 'custom', path: ['country'], message: 'country only goes with phoneNumber' });
      }
    });

const CODE = /^[A-Za-z0-9]{4,10}$/;

export const verifyTokenBody = byIdOrNumber({
  code: z
    .string()
    .regex(CODE, 'must be 4 to 6 digits, or the 4-10 letters and digits of a silent authentication')
    .meta({ example: '123456' }),
}).meta({
  id: 'VerifyTokenBody',
  ...ID_OR_NUMBER_RULE,
  example: { requestId: 'a1b2c3d4e5f60718293a4b5c6d7e8f90', code: '123456' },
});

export type VerifyTokenBody = z.output<typeof verifyTokenBody>;

/**
 * The common verify-token body, `{ "requestId", "code" }` and nothing else, checked without zod: the same
 * rules as verifyTokenBody for those two fields and the same output. Undefined for any other body, valid
 * or not (a phone number, a field more, a value zod refuses): zod then parses it, so every error is zod's.
 */
export function commonVerifyTokenBody(input: unknown): VerifyTokenBody | undefined {
  const body = plainWithOnly(input, 'requestId', 'code');
  if (body === undefined) return undefined;
  const id = body.requestId;
  const code = body.code;
  if (typeof id !== 'string' || id.length > 64 || !REQUEST_ID.test(id)) return undefined;
  if (typeof code !== 'string' || !CODE.test(code)) return undefined;
  return { requestId: id, code };
}

export const cancelBody = byIdOrNumber({}).meta({
  id: 'CancelBody',
  ...ID_OR_NUMBER_RULE,
  example: { requestId: 'a1b2c3d4e5f60718293a4b5c6d7e8f90' },
});

export const nextEventBody = byIdOrNumber({}).meta({
  id: 'NextEventBody',
  ...ID_OR_NUMBER_RULE,
  example: { requestId: 'a1b2c3d4e5f60718293a4b5c6d7e8f90' },
});

export const requestIdParams = z.strictObject({ requestId });

export const verificationStatus = z.enum(['pending', 'verified', 'cancelled', 'expired', 'failed']);

export const startedResponse = z
  .object({
    requestId,
    phoneNumber: e164,
    status: z.literal('pending'),
    expiresAt: z.iso.datetime(),
    channels: z.array(channel).meta({ description: 'The channels Vonage tries, in order.' }),
    replacedRequestId: requestId.optional(),
    checkUrl: z
      .url()
      .optional()
      .meta({ description: 'silent_auth first: the handset opens it over mobile data to get its code.' }),
  })
  .meta({ id: 'Started' });

export const verifiedResponse = z
  .object({ verified: z.literal(true), requestId, phoneNumber: e164 })
  .meta({ id: 'Verified' });

export const cancelledResponse = z
  .object({ cancelled: z.literal(true), requestId })
  .meta({ id: 'Cancelled' });

export const nextEventResponse = z.object({ requestId }).meta({ id: 'NextEventTriggered' });

export const verificationResponse = z
  .object({
    requestId,
    phoneNumber: e164,
    status: verificationStatus,
    createdAt: z.iso.datetime(),
    expiresAt: z.iso.datetime(),
    finishedAt: z.iso.datetime().optional(),
    channels: z.array(channel),
    events: z
      .array(
        z.object({
          at: z.iso.datetime(),
          type: z.enum([
            'started',
            'delivery',
            'next_event',
            'check_failed',
            'verified',
            'cancelled',
            'expired',
            'failed',
          ]),
          channel: channel.optional(),
          status: z.string().optional(),
        }),
      )
      .meta({ description: 'The timeline, oldest first; no code or full number.' }),
  })
  .meta({ id: 'Verification' });

export const problemResponse = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string(),
    code: z.string().meta({ description: 'Stable snake_case error code; see the README error table.' }),
    instance: z.string().optional(),
    requestId: z.string().optional(),
    retryAfterSeconds: z.number().int().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
    option: z
      .string()
      .optional()
      .meta({ description: 'option_not_supported: the request-token option the Verify API cannot honour.' }),
    reason: z
      .enum(['low_conversion'])
      .optional()
      .meta({ description: 'destination_blocked: why codes to the destination are paused.' }),
    scope: z.enum(['prefix', 'country']).optional().meta({
      description: "destination_blocked: what is paused, the number's range (prefix) or its country.",
    }),
  })
  .meta({ id: 'Problem' });

/** Validates input against a schema, listing every problem with its path. */
export function parseInput<S extends z.ZodType>(schema: S, input: unknown): z.output<S> {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  throw errors.validationFailed(
    result.error.issues.flatMap((issue) => {
      const path = issue.path.map(String);
      // An unknown field is reported at its own path, not at the object that holds it.
      if (issue.code === 'unrecognized_keys') {
        return issue.keys.map((key) => ({ path: [...path, key].join('.'), message: 'unknown field' }));
      }
      return [{ path: path.join('.'), message: issue.message }];
    }),
  );
}

/** request-token's body: the common shape checked in plain code (commonRequestTokenBody), any other by zod. */
export function requestTokenInput(input: unknown): RequestTokenBody {
  return commonRequestTokenBody(input) ?? parseInput(requestTokenBody, input);
}
