// The Vonage boundary, in our own words: what the service asks of a Verify API and the outcomes it gets
// back. Each Verify API version (v1 in ./v1/, v2 in ./v2/) implements VerifyGateway over the Vonage SDK; every Vonage
// status, HTTP error, timeout and network failure becomes an outcome or an ApiError inside that
// implementation and nowhere else. Raw SDK errors never leave it: they carry the Authorization header.

import type { Channel } from '../verification/channels';

export interface StartParams {
  /** E.164 with the leading "+". */
  phoneNumber: string;
  brand: string;
  codeLength: 4 | 6;
  locale?: string;
  /** The resolved channels, tried in order (what a v2 gateway sends). */
  channels: Channel[];
  /** v1: the workflow of those channels (checkOptions refused channels that are none). */
  workflowId: number;
  /** v1 only: how long a code stays valid. */
  pinExpiry: number;
  nextEventWait?: number;
}

/** What a request asked for, before anything is sent: what the API cannot honour is refused here. */
export interface StartOptions {
  channels: Channel[];
  /** Whether the caller set pinExpiry itself (v2 has no such option). */
  pinExpiryGiven: boolean;
  nextEventWait?: number | undefined;
}

export type StartOutcome =
  | {
      kind: 'started';
      requestId: string;
      /** Silent authentication first: where the handset goes to get its code. */
      checkUrl?: string;
      /** When the provider ends the verification on its own, if the gateway knows (v2). */
      endsInSeconds?: number;
    }
  /** One verification per number: the one in flight (its id when the provider says it). */
  | { kind: 'in_flight'; requestId?: string };
export type CheckOutcome =
  | { kind: 'verified' }
  | { kind: 'mismatch' }
  | { kind: 'too_many_attempts' }
  | { kind: 'not_found' };
export type ControlOutcome = { kind: 'done' } | { kind: 'refused' } | { kind: 'not_found' };
export type VonageOperation = 'start' | 'check' | 'cancel' | 'trigger' | 'resolve';

/**
 * What became of a verification after a call whose outcome was lost (a timeout, a reset, a record the
 * store could not take). `unknown`: the provider cannot tell yet (v1 search lags up to about a minute
 * after a request ends; v2 waits for its callback), ask again later.
 */
export type Resolution =
  /** Still running; `deliveries` made so far and when the last one was, where the provider says. */
  | { kind: 'in_progress'; deliveries?: number; lastDeliveryAt?: number }
  /** `validCodes`: the codes that verified it, where the provider reports them (v1 search does). */
  | { kind: 'verified'; validCodes?: string[] }
  | { kind: 'cancelled' }
  | { kind: 'failed' }
  | { kind: 'expired' }
  | { kind: 'unknown' };

/** What the service needs from Vonage Verify. */
export interface VerifyGateway {
  /** The languages this API takes (`locale`); the service refuses any other before calling. */
  readonly languages: ReadonlySet<string>;
  readonly api: 'v1' | 'v2';
  /** Throws option_not_supported for an option this API cannot honour; calls nothing. */
  checkOptions(options: StartOptions): void;
  start(params: StartParams): Promise<StartOutcome>;
  check(requestId: string, code: string): Promise<CheckOutcome>;
  cancel(requestId: string): Promise<ControlOutcome>;
  triggerNextEvent(requestId: string): Promise<ControlOutcome>;
  /** Asks the provider what became of a verification (v1: search; v2: the callbacks' record, or unknown). */
  resolve(requestId: string): Promise<Resolution>;
  /**
   * Seconds from each delivery of a verification started with these parameters to the next, the last
   * entry to when the provider ends it: the schedule behind `expiresAt` and `retryAfterSeconds`.
   */
  deliveryWaitsSeconds(params: Pick<StartParams, 'workflowId' | 'channels' | 'nextEventWait'>): number[];
}

/** Reports each call's outcome and duration (metrics); the gateway does not know about Prometheus. */
export type CallObserver = (operation: VonageOperation, outcome: string, seconds: number) => void;
