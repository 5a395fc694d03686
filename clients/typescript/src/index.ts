// A typed client for the OTP verification service: openapi-fetch over the types that openapi-typescript
// generates from the service's OpenAPI document (src/schema.ts; regenerate with `npm run
// client:generate`). Every path, body, answer and problem is typed from the document:
//
//   const otp = createOtpClient({ baseUrl: 'http://otp-verify', apiKey: process.env.OTP_API_KEY });
//   const { data, error, response } = await otp.POST('/api/request-token', { body: { phoneNumber } });
//   if (error) console.log(response.status, error.code);   // error: Problem (application/problem+json)
//   else console.log(data.requestId);                        // data: Started

import createClient, { type Client, type ClientOptions } from 'openapi-fetch';
import type { components, paths } from './schema';

export type { components, operations, paths } from './schema';

type Schemas = components['schemas'];
/** 201 of POST /api/request-token. */
export type Started = Schemas['Started'];
/** 200 of POST /api/verify-token. */
export type Verified = Schemas['Verified'];
/** 200 of GET /api/verifications/{requestId}. */
export type Verification = Schemas['Verification'];
/** Every error answer (RFC 9457 problem details with a stable `code`). */
export type Problem = Schemas['Problem'];
export type RequestTokenBody = Schemas['RequestTokenBody'];
export type VerifyTokenBody = Schemas['VerifyTokenBody'];

export interface OtpClientOptions {
  /** Where the service is, e.g. http://otp-verify (in-cluster) or http://localhost:3000. */
  baseUrl: string;
  /** This calling service's key from the service's API_KEYS, sent as `Authorization: Bearer <key>`. */
  apiKey: string;
  /** Another fetch (tests, proxies, retries); default the global fetch. */
  fetch?: ClientOptions['fetch'];
  /** Extra headers on every request, e.g. an X-Request-Id to correlate logs. */
  headers?: Record<string, string>;
}

export type OtpClient = Client<paths>;

export function createOtpClient(options: OtpClientOptions): OtpClient {
  return createClient<paths>({
    baseUrl: options.baseUrl.replace(/\/+$/, ''),
    headers: { ...options.headers, Authorization: `Bearer ${options.apiKey}` },
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
}
