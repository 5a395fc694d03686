// The Vonage boundary: a narrow interface in our own words over the SDK's Verify v1 client. Every Vonage
// status, HTTP error, timeout and network failure is turned into an outcome or an ApiError here, and
// nowhere else. Raw SDK errors never leave this file: they carry the Authorization header.

import { ApiError, errors } from '../../errors';

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
  start(params: StartParams): Promise<StartOutcome>;
  check(requestId: string, code: string): Promise<CheckOutcome>;
  cancel(requestId: string): Promise<ControlOutcome>;
  triggerNextEvent(requestId: string): Promise<ControlOutcome>;
}

/** The part of the SDK's `vonage.verify` we use (method syntax keeps the SDK's own types assignable). */
export interface SdkVerifyClient {
  start(params: SdkStartParams): Promise<unknown>;
  check(requestId: string, code: string): Promise<unknown>;
  cancel(requestId: string): Promise<unknown>;
  trigger(requestId: string): Promise<unknown>;
}

export interface SdkStartParams {
  number: string;
  brand: string;
  codeLength?: number;
  lg?: string;
  workflowId?: string | number;
  pinExpiry?: number;
  nextEventWait?: number;
}

/** Reports each call's outcome and duration (metrics); the gateway does not know about Prometheus. */
export type CallObserver = (operation: VonageOperation, outcome: string, seconds: number) => void;

type Mapped<T> = T | ApiError;

// Status tables (vonage-verify-notes.md 1.6). Codes Vonage documents but we never provoke (2, 3 on
// control, 20) still map to upstream_error: they mean our request or account is wrong, not the caller's.
export function mapStartStatus(status: string, requestId: string | undefined): Mapped<StartOutcome> {
  switch (status) {
    case '0':
      return requestId ? { kind: 'started', requestId } : errors.upstreamError();
    case '10':
      return requestId ? { kind: 'in_flight', requestId } : errors.concurrentVerification();
    case '3':
      return errors.invalidPhoneNumber('The verification provider rejected this number.');
    case '6':
    case '7':
    case '15':
    case '29':
      return errors.numberNotSupported();
    case '1':
    case '9':
      return errors.upstreamUnavailable(status === '1' ? 1 : undefined);
    default:
      return errors.upstreamError();
  }
}

export function mapCheckStatus(status: string): Mapped<CheckOutcome> {
  switch (status) {
    case '0':
      return { kind: 'verified' };
    case '16':
      return { kind: 'mismatch' };
    case '17':
      return { kind: 'too_many_attempts' };
    case '6':
      return { kind: 'not_found' };
    case '1':
    case '9':
      return errors.upstreamUnavailable(status === '1' ? 1 : undefined);
    default:
      return errors.upstreamError();
  }
}

export function mapControlStatus(status: string): Mapped<ControlOutcome> {
  switch (status) {
    case '0':
      return { kind: 'done' };
    case '19':
      return { kind: 'refused' };
    case '6':
      return { kind: 'not_found' };
    case '1':
    case '9':
      return errors.upstreamUnavailable(status === '1' ? 1 : undefined);
    default:
      return errors.upstreamError();
  }
}

/**
 * What the SDK threw, in our words (vonage-verify-notes.md 3.3). Judged by `name` and shape, not
 * `instanceof`: fetch's errors can come from another realm (undici inside Node, a test sandbox).
 */
export function mapThrown(error: unknown): ApiError {
  const name = nameOf(error);
  if (name === 'AbortError' || name === 'TimeoutError') return errors.upstreamTimeout();
  const httpStatus = (error as { response?: { status?: unknown } } | undefined)?.response?.status;
  if (typeof httpStatus === 'number') {
    return httpStatus === 429 ? errors.upstreamUnavailable(1) : errors.upstreamError();
  }
  // fetch reports refused, reset and unresolvable connections as TypeError('fetch failed').
  if (name === 'TypeError') return errors.upstreamUnavailable();
  return errors.upstreamError();
}

function nameOf(error: unknown): string | undefined {
  const name = (error as { name?: unknown } | null | undefined)?.name;
  return typeof name === 'string' ? name : undefined;
}

function isConnectionRefused(error: unknown): boolean {
  const cause = (error as { cause?: { code?: unknown } } | undefined)?.cause;
  return nameOf(error) === 'TypeError' && cause?.code === 'ECONNREFUSED';
}

function field(body: unknown, name: string): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const value = (body as Record<string, unknown>)[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

export class VonageVerifyGateway implements VerifyGateway {
  constructor(
    private readonly sdk: SdkVerifyClient,
    private readonly observe: CallObserver = () => {},
  ) {}

  async start(params: StartParams): Promise<StartOutcome> {
    const request: SdkStartParams = {
      // Vonage takes the international form without "+".
      number: params.phoneNumber.replace(/^\+/, ''),
      brand: params.brand,
      codeLength: params.codeLength,
      workflowId: params.workflowId,
      pinExpiry: params.pinExpiry,
      ...(params.locale ? { lg: params.locale } : {}),
      ...(params.nextEventWait ? { nextEventWait: params.nextEventWait } : {}),
    };
    // Never retried: a second start after an unclear failure could send a second SMS.
    return this.call(
      'start',
      false,
      () => this.sdk.start(request),
      (body) => mapStartStatus(field(body, 'status') ?? '', field(body, 'request_id')),
    );
  }

  async check(requestId: string, code: string): Promise<CheckOutcome> {
    return this.call(
      'check',
      true,
      () => this.sdk.check(requestId, code),
      (body) => mapCheckStatus(field(body, 'status') ?? ''),
    );
  }

  async cancel(requestId: string): Promise<ControlOutcome> {
    return this.call(
      'cancel',
      true,
      () => this.sdk.cancel(requestId),
      (body) => mapControlStatus(field(body, 'status') ?? ''),
    );
  }

  async triggerNextEvent(requestId: string): Promise<ControlOutcome> {
    return this.call(
      'trigger',
      false,
      () => this.sdk.trigger(requestId),
      (body) => mapControlStatus(field(body, 'status') ?? ''),
    );
  }

  /**
   * Runs one SDK call and maps its result. `retryRefused`: a refused connection never reached Vonage, so
   * one more try is safe for calls that send nothing to a phone.
   */
  private async call<T extends { kind: string }>(
    operation: VonageOperation,
    retryRefused: boolean,
    send: () => Promise<unknown>,
    map: (body: unknown) => Mapped<T>,
  ): Promise<T> {
    const started = performance.now();
    let outcome = 'error';
    try {
      let body: unknown;
      try {
        body = await send();
      } catch (error) {
        if (!(retryRefused && isConnectionRefused(error))) throw error;
        body = await send();
      }
      const mapped = map(body);
      if (mapped instanceof Error) {
        outcome = mapped.code;
        throw mapped;
      }
      outcome = mapped.kind;
      return mapped;
    } catch (error) {
      if (error instanceof ApiError) throw error;
      const apiError = mapThrown(error);
      outcome = apiError.code;
      throw apiError;
    } finally {
      this.observe(operation, outcome, (performance.now() - started) / 1000);
    }
  }
}
