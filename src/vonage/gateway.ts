// The Vonage boundary, in our own words: what the service asks of a Verify API and the outcomes it gets
// back. Each Verify API version (v1 in ./v1/) implements VerifyGateway over the Vonage SDK; every Vonage
// status, HTTP error, timeout and network failure becomes an outcome or an ApiError inside that
// implementation and nowhere else. Raw SDK errors never leave it: they carry the Authorization header.

export interface StartParams {
  /** E.164 with the leading "+". */
  phoneNumber: string;
  brand: string;
  codeLength: 4 | 6;
  locale?: string;
  workflowId: number;
  pinExpiry: number;
  nextEventWait?: number;
}

export type StartOutcome = { kind: 'started'; requestId: string } | { kind: 'in_flight'; requestId: string };
export type CheckOutcome =
  | { kind: 'verified' }
  | { kind: 'mismatch' }
  | { kind: 'too_many_attempts' }
  | { kind: 'not_found' };
export type ControlOutcome = { kind: 'done' } | { kind: 'refused' } | { kind: 'not_found' };
export type VonageOperation = 'start' | 'check' | 'cancel' | 'trigger';

/** What the service needs from Vonage Verify. */
export interface VerifyGateway {
  /** The languages this API takes (`locale`); the service refuses any other before calling. */
  readonly languages: ReadonlySet<string>;
  start(params: StartParams): Promise<StartOutcome>;
  check(requestId: string, code: string): Promise<CheckOutcome>;
  cancel(requestId: string): Promise<ControlOutcome>;
  triggerNextEvent(requestId: string): Promise<ControlOutcome>;
}

/** Reports each call's outcome and duration (metrics); the gateway does not know about Prometheus. */
export type CallObserver = (operation: VonageOperation, outcome: string, seconds: number) => void;
