// The Verify v2 gateway: VerifyGateway over the SDK's `vonage.verify2` client (JWT-signed with the
// application's private key). Start and check go through verify2's methods; cancel and next_workflow go
// through the same client's own authenticated sendDeleteRequest/sendPostRequest, because verify2's
// cancel() and nextWorkflow() resolve `false` on every failure and would lose the reason. Every answer is
// mapped in problem-map.ts, thrown errors in ../thrown.ts; nothing from the SDK leaves this file unmapped.

import { errors } from '../../errors';
import type { Channel } from '../../verification/channels';
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
} from '../gateway';
import { V2_LANGUAGES } from './languages';
import {
  mapCancelProblem,
  mapCheckProblem,
  mapNextProblem,
  mapStartProblem,
  type V2Problem,
} from './problem-map';

/** The part of the SDK's `vonage.verify2` we use (method syntax keeps the SDK's own types assignable). */
export interface SdkVerify2Client {
  newRequest(params: V2StartRequest): Promise<{ requestId?: unknown; checkUrl?: unknown }>;
  checkCode(requestId: string, code: string): Promise<unknown>;
  sendDeleteRequest(url: string): Promise<unknown>;
  sendPostRequest(url: string): Promise<unknown>;
}

/** The start body in the SDK's camelCase (it snake-cases the keys). */
export interface V2StartRequest {
  brand: string;
  workflow: { channel: Channel; to: string; from?: string }[];
  codeLength: number;
  locale?: string;
  channelTimeout?: number;
}

export interface V2GatewayOptions {
  /** The SDK's apiHost: cancel and next_workflow URLs are built on it, as verify2 builds its own. */
  apiHost: string;
  /** VONAGE_WHATSAPP_FROM, digits only. */
  whatsappFrom?: string | undefined;
}

/** Vonage's default wait per channel, and silent authentication's fixed one (SPEC ChannelTimeout). */
const DEFAULT_CHANNEL_TIMEOUT_S = 180;
const SILENT_AUTH_TIMEOUT_S = 60;

type Answer<T> = { ok: true; value: T } | { ok: false; problem: V2Problem };

export class VonageVerifyV2Gateway implements VerifyGateway {
  readonly api = 'v2' as const;
  readonly languages = V2_LANGUAGES;
  private readonly whatsappFrom: string | undefined;

  constructor(
    private readonly sdk: SdkVerify2Client,
    private readonly options: V2GatewayOptions,
    private readonly observe: CallObserver = () => {},
  ) {
    this.whatsappFrom = options.whatsappFrom?.replace(/^\+/, '');
  }

  checkOptions(options: StartOptions): void {
    if (options.pinExpiryGiven) {
      throw errors.optionNotSupported(
        'pinExpiry',
        'Verify v2 has no code expiry of its own: each channel waits nextEventWait (15-900 s).',
      );
    }
    if (options.channels.includes('whatsapp') && !this.whatsappFrom) {
      throw errors.optionNotSupported(
        'channels',
        'The whatsapp channel needs a WhatsApp Business sender, which this service has not been given (VONAGE_WHATSAPP_FROM).',
      );
    }
  }

  async start(params: StartParams): Promise<StartOutcome> {
    // Vonage takes the international form without "+".
    const to = params.phoneNumber.replace(/^\+/, '');
    const request: V2StartRequest = {
      brand: params.brand,
      workflow: params.channels.map((channel) =>
        channel === 'whatsapp' && this.whatsappFrom
          ? { channel, to, from: this.whatsappFrom }
          : { channel, to },
      ),
      codeLength: params.codeLength,
      ...(params.locale ? { locale: params.locale } : {}),
      ...(params.nextEventWait ? { channelTimeout: params.nextEventWait } : {}),
    };
    const wait = params.nextEventWait ?? DEFAULT_CHANNEL_TIMEOUT_S;
    const endsInSeconds = params.channels.reduce(
      (sum, channel) => sum + (channel === 'silent_auth' ? SILENT_AUTH_TIMEOUT_S : wait),
      0,
    );
    // Never retried: a second start after an unclear failure could send a second message.
    return observedCall(
      this.observe,
      'start',
      false,
      () => answer(() => this.sdk.newRequest(request)),
      (result): StartOutcome | ReturnType<typeof mapStartProblem> => {
        if (!result.ok) return mapStartProblem(result.problem);
        const { requestId, checkUrl } = result.value;
        if (typeof requestId !== 'string' || requestId === '') return errors.upstreamError();
        return {
          kind: 'started',
          requestId,
          endsInSeconds,
          ...(typeof checkUrl === 'string' && checkUrl !== '' ? { checkUrl } : {}),
        };
      },
    );
  }

  async check(requestId: string, code: string): Promise<CheckOutcome> {
    return observedCall(
      this.observe,
      'check',
      true,
      () => answer(() => this.sdk.checkCode(requestId, code)),
      (result) => {
        if (!result.ok) return mapCheckProblem(result.problem);
        return result.value === 'completed' ? { kind: 'verified' as const } : errors.upstreamError();
      },
    );
  }

  async cancel(requestId: string): Promise<ControlOutcome> {
    return observedCall(
      this.observe,
      'cancel',
      true,
      () => answer(() => this.sdk.sendDeleteRequest(this.url(requestId))),
      (result) => (result.ok ? { kind: 'done' as const } : mapCancelProblem(result.problem)),
    );
  }

  async triggerNextEvent(requestId: string): Promise<ControlOutcome> {
    return observedCall(
      this.observe,
      'trigger',
      false,
      () => answer(() => this.sdk.sendPostRequest(`${this.url(requestId)}/next_workflow`)),
      (result) => (result.ok ? { kind: 'done' as const } : mapNextProblem(result.problem)),
    );
  }

  /** v2 has no read of a request: what became of it is told by its callbacks (see the webhook). */
  async resolve(_requestId: string): Promise<Resolution> {
    return { kind: 'unknown' };
  }

  /** Each channel waits channel_timeout (nextEventWait, default 180 s); silent_auth always 60 s. */
  deliveryWaitsSeconds(params: Pick<StartParams, 'channels' | 'nextEventWait'>): number[] {
    const wait = params.nextEventWait ?? DEFAULT_CHANNEL_TIMEOUT_S;
    return params.channels.map((channel) => (channel === 'silent_auth' ? SILENT_AUTH_TIMEOUT_S : wait));
  }

  private url(requestId: string): string {
    return `${this.options.apiHost}/v2/verify/${encodeURIComponent(requestId)}`;
  }
}

/** Runs an SDK call; an HTTP error answer becomes a V2Problem (its body read), anything else is rethrown. */
async function answer<T>(run: () => Promise<T>): Promise<Answer<T>> {
  try {
    return { ok: true, value: await run() };
  } catch (error) {
    const problem = await problemOf(error);
    if (problem) return { ok: false, problem };
    throw error;
  }
}

/**
 * The SDK's VetchError keeps the unread Response of a non-2xx answer; its Authorization-carrying config is
 * never touched. Judged by shape, not `instanceof`: fetch's Response can come from another realm. A 2xx
 * whose body could not be decoded is not a problem answer: it is left to mapThrown (upstream_error).
 */
async function problemOf(error: unknown): Promise<V2Problem | undefined> {
  const response = (error as { response?: unknown } | null | undefined)?.response;
  const status = (response as { status?: unknown } | null | undefined)?.status;
  if (typeof response !== 'object' || response === null || typeof status !== 'number' || status < 400) {
    return undefined;
  }
  const { headers } = response as Response;
  let body: V2Problem['body'] = {};
  try {
    const parsed: unknown = await (response as Response).json();
    if (parsed !== null && typeof parsed === 'object') body = parsed as V2Problem['body'];
  } catch {
    // An unreadable problem body still has its status.
  }
  const retryAfter = Number(headers?.get?.('retry-after'));
  return {
    status,
    body,
    ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { retryAfterSeconds: retryAfter } : {}),
  };
}
