// The words of the verification part: what callers give and get back, what the service is built from,
// and the funnel events it reports.

import type { CountryCode } from 'libphonenumber-js/max';
import type { Clock } from '../clock';
import type { Limit } from '../config';
import type { Logger } from '../logger';
import type { RateLimiter } from '../store/limiter';
import type { TimelineEvent, VerificationStatus, VerificationStore } from '../store/store';
import type { VerifyGateway } from '../vonage/gateway';
import type { AbuseGuard } from './abuse-guard';
import type { Channel } from './channels';

export type FunnelEvent =
  | 'started'
  | 'verified'
  | 'wrong_code'
  | 'too_many_attempts'
  | 'expired'
  | 'cancelled'
  | 'rate_limited'
  | 'refused_country'
  | 'refused_number';

export interface ServiceSettings {
  brand: string;
  codeLength: 4 | 6;
  pinExpirySeconds: number;
  workflowId: number;
  vonageTimeoutMs: number;
  testNumbers: Map<string, string>;
  allowedCountries: Set<CountryCode> | undefined;
  limits: {
    sendsPerNumber: Limit;
    sendsPerCaller: Limit;
    failedChecksPerNumber: Limit;
    vonageCallsPerCaller: Limit;
  };
  /** Every call to Vonage, all instances together, per second. */
  vonageMaxRequestsPerSecond: number;
}

export interface ServiceDeps {
  store: VerificationStore;
  limiter: RateLimiter;
  gateway: VerifyGateway;
  clock: Clock;
  settings: ServiceSettings;
  /** The abuse guard (prefix and country velocity, conversion blocks); none = no such checks. */
  guard?: AbuseGuard;
  onFunnel?: (caller: string, event: FunnelEvent) => void;
}

/** Who is calling, and the request's logger. */
export interface CallContext {
  caller: string;
  log: Logger;
}

export interface RequestTokenInput {
  phoneNumber: string;
  country?: string;
  brand?: string;
  codeLength?: 4 | 6;
  locale?: string;
  workflowId?: number;
  channels?: Channel[];
  pinExpiry?: number;
  nextEventWait?: number;
}

/** Exactly one of the two, as the API requires. */
export type VerificationRef = { requestId: string } | { phoneNumber: string; country?: string };

export interface VerificationView {
  requestId: string;
  phoneNumber: string;
  status: VerificationStatus;
  createdAt: string;
  expiresAt: string;
  finishedAt?: string;
  channels: Channel[];
  events: TimelineEventView[];
}

export type TimelineEventView = Omit<TimelineEvent, 'at'> & { at: string };

export interface StartedView {
  requestId: string;
  phoneNumber: string;
  status: 'pending';
  expiresAt: string;
  channels: Channel[];
  replacedRequestId?: string;
  checkUrl?: string;
}

/** What a provider callback says about one verification, in our words (see src/vonage/v2/callbacks.ts). */
export interface CallbackUpdate {
  requestId: string;
  /** Timeline entries it reports (deliveries). */
  events: TimelineEvent[];
  /** How the verification ended, when the callback says so. */
  outcome?: 'verified' | 'failed' | 'expired';
}

/** Set once a code may have gone out: then the send slots it reserved are kept, not given back. */
export interface SendAttempt {
  maybeSent: boolean;
}
