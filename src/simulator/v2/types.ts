// Public types of the Verify v2 simulator, kept apart so the engine, the callback sender and the HTTP layer
// share them without importing the simulator class.

import type { Clock } from '../../clock';

/** The Verify v2 operations the simulator serves (templates are not simulated). */
export type V2Operation = 'start' | 'check' | 'cancel' | 'next' | 'silentAuth';

export const V2_OPERATIONS = [
  'start',
  'check',
  'cancel',
  'next',
  'silentAuth',
] as const satisfies readonly V2Operation[];

/**
 * Infrastructure and account failures, answered before any Verify logic:
 * http500/http401/http402/http429 answer that status with Vonage's problem body (http429 with `Retry-After: 1`,
 * http429NoRetryAfter without it); hang never answers; badJson answers 200 with a truncated JSON body;
 * notJson answers 200 with a text/plain body; reset destroys the TCP connection;
 * replicationDelay answers next_workflow with the retryable 409 (other operations ignore it).
 */
export type V2FaultMode =
  | 'http500'
  | 'http401'
  | 'http402'
  | 'http429'
  | 'http429NoRetryAfter'
  | 'hang'
  | 'badJson'
  | 'notJson'
  | 'reset'
  | 'replicationDelay';

export const V2_FAULT_MODES = [
  'http500',
  'http401',
  'http402',
  'http429',
  'http429NoRetryAfter',
  'hang',
  'badJson',
  'notJson',
  'reset',
  'replicationDelay',
] as const satisfies readonly V2FaultMode[];

export interface V2Fault {
  mode: V2FaultMode;
  /** Default: every operation. */
  operations?: V2Operation[];
  /** Default: until cleared with faults.clear(). */
  times?: number;
}

/** How outgoing callbacks are spoiled, for testing the receiving webhook. */
export type CallbackFaultMode = 'duplicate' | 'unsigned' | 'badSignature' | 'badPayloadHash';

export const CALLBACK_FAULT_MODES = [
  'duplicate',
  'unsigned',
  'badSignature',
  'badPayloadHash',
] as const satisfies readonly CallbackFaultMode[];

export interface CallbackFault {
  mode: CallbackFaultMode;
  /** Default: until cleared. */
  times?: number;
}

export type V2Channel = 'sms' | 'voice' | 'whatsapp' | 'email' | 'rcs' | 'silent_auth';

export const V2_CHANNELS = [
  'sms',
  'voice',
  'whatsapp',
  'email',
  'rcs',
  'silent_auth',
] as const satisfies readonly V2Channel[];

/** One code the simulator "delivered" (or, for silent_auth, handed out at the end of the check_url chain). */
export interface V2DeliveredMessage {
  requestId: string;
  /** The step's `to` exactly as sent: digits without '+' for phones, an address for email. */
  to: string;
  channel: V2Channel;
  code: string;
  brand: string;
  locale: string;
  /** 0-based index of the workflow step. */
  step: number;
  text: string;
  /** ISO time on the simulator's clock. */
  at: string;
}

/** One callback POSTed (or attempted) to the callback URL. */
export interface V2CallbackRecord {
  kind: 'event' | 'summary' | 'silent_auth';
  requestId: string;
  /** The exact JSON text sent. */
  body: string;
  /** HTTP status of the last attempt, or undefined when it never got an answer. */
  responseStatus?: number;
  attempts: number;
  delivered: boolean;
}

export type V2RequestStatus = 'in_progress' | 'completed' | 'expired' | 'failed' | 'cancelled';

export type V2StepStatus = 'unused' | 'in_progress' | 'completed' | 'failed' | 'expired';

export interface V2RequestState {
  requestId: string;
  status: V2RequestStatus;
  /** 0-based index of the current (or last) step. */
  currentStep: number;
  steps: { channel: V2Channel; to: string; status: V2StepStatus; initiatedAt?: string }[];
  wrongCodes: number;
  submittedAt: string;
  /** When the current step times out (ISO), while in progress. */
  stepDeadline?: string;
}

/** What happens on the third wrong code: 'third' answers 410 at once; 'fourth' answers 400 and then 410. */
export type WrongCodeMode = 'third' | 'fourth';

export interface V2SimulatorOptions {
  /** The Vonage application id every JWT must carry in `application_id`. */
  applicationId: string;
  /** The application's public key (PEM): JWTs must be RS256-signed by its private key. */
  publicKey: string;
  /** Where signed callbacks are POSTed; none are sent without it. Read on each send, see setCallbackUrl(). */
  callbackUrl?: string;
  /** HS256 secret for callback JWTs. Default 'sandbox-signature-secret'. */
  signatureSecret?: string;
  /** The account api key, put in callbacks' `api_key` claim and accepted with apiSecret as Basic auth. */
  apiKey?: string;
  /** With apiKey: Basic auth is accepted for calls, and requests it starts get no callbacks (as on Vonage). */
  apiSecret?: string;
  /** Time for workflows; a VirtualClock lets tests move it. Default: the system clock. */
  clock?: Clock;
  /** Time for JWT `exp` checks (the SDK signs with the real time). Default: the system clock. */
  jwtClock?: Clock;
  /** Default 'third'. */
  wrongCodeMode?: WrongCodeMode;
  /** Whether the start 409 "concurrent" body carries the in-flight `request_id`. Default false (SPEC). */
  concurrentIncludesRequestId?: boolean;
  /** Keep answering 409 concurrent this many ms after a successful cancel (Vonage issue 1036). Default 0. */
  concurrentAfterCancelMs?: number;
  /** Status of a refused cancel (inside 30 s, or after the second step started). Default 409. */
  cancelRefusalStatus?: number;
  /** Numbers whose network does not support silent authentication. Default: those starting with '999'. */
  silentAuthUnsupported?: (to: string) => boolean;
  /** Numbers whose requests are blocked by the fraud check. Default: those starting with '998'. */
  blocked?: (to: string) => boolean;
  /** Retries of a callback answered non-2xx or unreachable. Default 3. */
  callbackRetries?: number;
  /** Real-time back-off before retry n: n × this. Default 200 ms. */
  callbackRetryDelayMs?: number;
  /** Base URL used in `check_url`; default: the listening URL. */
  publicUrl?: string;
}
