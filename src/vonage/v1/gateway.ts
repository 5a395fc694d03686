// The Verify v1 gateway: VerifyGateway over the SDK's `vonage.verify` client. Statuses are mapped in
// status-map.ts, thrown errors in ../thrown.ts; nothing from the SDK leaves this file unmapped.

import { errors } from '../../errors';
import { workflowIdFor } from '../../verification/channels';
import { observedCall } from '../call';
import type {
  CallObserver,
  CheckOutcome,
  ControlOutcome,
  Resolution,
  StartOptions,
  StartOutcome,
  StartParams,
  VerifyGateway,
  VonageOperation,
} from '../gateway';
import { OutcomeUnknown } from '../thrown';
import { V1_LANGUAGES } from './languages';
import { type Mapped, mapCheckStatus, mapControlStatus, mapSearch, mapStartStatus } from './status-map';
import { v1DeliveryWaitsSeconds } from './timing';

/** The part of the SDK's `vonage.verify` we use (method syntax keeps the SDK's own types assignable). */
export interface SdkVerifyClient {
  start(params: SdkStartParams): Promise<unknown>;
  check(requestId: string, code: string): Promise<unknown>;
  cancel(requestId: string): Promise<unknown>;
  trigger(requestId: string): Promise<unknown>;
  search(requestId: string): Promise<unknown>;
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

function field(body: unknown, name: string): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const value = (body as Record<string, unknown>)[name];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** A v1 code is 4 or 6 digits: anything else (a v2 silent-auth code) cannot be right, and is not sent. */
const V1_CODE = /^\d{4,6}$/;

export class VonageVerifyGateway implements VerifyGateway {
  readonly languages = V1_LANGUAGES;
  readonly api = 'v1' as const;

  constructor(
    private readonly sdk: SdkVerifyClient,
    private readonly observe: CallObserver = () => {},
  ) {}

  checkOptions(options: StartOptions): void {
    if (workflowIdFor(options.channels) === undefined) {
      throw errors.optionNotSupported(
        'channels',
        'Verify v1 sends only its seven workflows: [sms, voice, voice], [sms, sms, voice], [voice, voice], [sms, sms], [sms, voice], [sms] or [voice].',
      );
    }
    if (options.nextEventWait !== undefined && options.nextEventWait < 60) {
      throw errors.optionNotSupported(
        'nextEventWait',
        'Verify v1 waits 60 to 900 seconds between deliveries.',
      );
    }
  }

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
      (body) =>
        mapStartStatus(field(body, 'status') ?? '', field(body, 'request_id'), field(body, 'error_text')),
    );
  }

  async check(requestId: string, code: string): Promise<CheckOutcome> {
    if (!V1_CODE.test(code)) return { kind: 'mismatch' };
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

  /** Verify v1 search: what Vonage knows about the request now (see mapSearch for status 101). */
  async resolve(requestId: string): Promise<Resolution> {
    return this.call('resolve', true, () => this.sdk.search(requestId), mapSearch);
  }

  deliveryWaitsSeconds(params: Pick<StartParams, 'workflowId' | 'nextEventWait'>): number[] {
    return v1DeliveryWaitsSeconds(params.workflowId, params.nextEventWait);
  }

  /**
   * Runs one SDK call through the shared observed call (../call.ts). `retryRefused`: a refused connection
   * never reached Vonage, so one more try is safe for calls that send nothing to a phone.
   */
  private call<T extends { kind: string }>(
    operation: VonageOperation,
    retryRefused: boolean,
    send: () => Promise<unknown>,
    map: (body: unknown) => Mapped<T>,
  ): Promise<T> {
    return observedCall(this.observe, operation, retryRefused, send, (body) => {
      // An answer without a status (a proxy mangled it, say) says nothing about what Vonage did.
      if (field(body, 'status') === undefined) {
        throw errors.upstreamError(new OutcomeUnknown('an answer without a status'));
      }
      return map(body);
    });
  }
}
