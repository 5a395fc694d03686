// Sends the simulator's callbacks as Vonage does: POST compact JSON to the configured URL with
// `Authorization: Bearer <HS256 JWT>` whose `payload_hash` is the SHA-256 hex of the body bytes; a non-2xx
// answer or a network error is retried with back-off. One at a time, in the order they happened.
// Switches spoil the next callbacks (duplicate, unsigned, bad signature, wrong payload hash).

import type { Clock } from '../../clock';
import { sha256Hex, signCallbackJwt } from './jwt';
import { CALLBACK_FAULT_MODES, type CallbackFault, type V2CallbackRecord } from './types';

export interface CallbackSenderOptions {
  url: () => string | undefined;
  secret: string;
  apiKey: string;
  applicationId: string;
  jwtClock: Clock;
  retries: number;
  retryDelayMs: number;
}

export class CallbackSender {
  private readonly sent: V2CallbackRecord[] = [];
  private queue: Promise<void> = Promise.resolve();
  private fault: { mode: CallbackFault['mode']; remaining?: number } | null = null;
  private generation = 0;

  constructor(private readonly options: CallbackSenderOptions) {}

  /** Queues one callback; nothing is sent when no callback URL is configured. */
  send(kind: V2CallbackRecord['kind'], requestId: string, payload: object): void {
    const url = this.options.url();
    if (url === undefined) return;
    const record: V2CallbackRecord = {
      kind,
      requestId,
      body: JSON.stringify(payload),
      attempts: 0,
      delivered: false,
    };
    this.sent.push(record);
    const mode = this.takeFault();
    const generation = this.generation;
    this.queue = this.queue.then(async () => {
      if (generation !== this.generation) return;
      await this.deliver(url, record, mode);
      if (mode === 'duplicate') {
        const copy: V2CallbackRecord = { ...record, attempts: 0, delivered: false };
        this.sent.push(copy);
        await this.deliver(url, copy, undefined);
      }
    });
  }

  setFault(fault: CallbackFault | null): void {
    if (fault === null) {
      this.fault = null;
      return;
    }
    if (!CALLBACK_FAULT_MODES.includes(fault.mode))
      throw new RangeError(`unknown callback fault ${fault.mode}`);
    if (fault.times !== undefined && !(Number.isInteger(fault.times) && fault.times > 0)) {
      throw new RangeError('times must be a positive integer');
    }
    this.fault = { mode: fault.mode, remaining: fault.times };
  }

  /** Every callback queued so far, oldest first (copies). */
  list(filter: { requestId?: string } = {}): V2CallbackRecord[] {
    return this.sent
      .filter((c) => filter.requestId === undefined || c.requestId === filter.requestId)
      .map((c) => ({ ...c }));
  }

  /** Resolves once every queued callback was delivered or gave up. */
  idle(): Promise<void> {
    return this.queue;
  }

  /** Forgets the record and the switch; callbacks still queued are dropped. */
  reset(): void {
    this.generation += 1;
    this.sent.length = 0;
    this.fault = null;
  }

  private takeFault(): CallbackFault['mode'] | undefined {
    const fault = this.fault;
    if (!fault) return undefined;
    if (fault.remaining !== undefined) {
      fault.remaining -= 1;
      if (fault.remaining <= 0) this.fault = null;
    }
    return fault.mode;
  }

  private authorization(body: string, mode: CallbackFault['mode'] | undefined): string | undefined {
    if (mode === 'unsigned') return undefined;
    const { secret, apiKey, applicationId, jwtClock } = this.options;
    const token = signCallbackJwt(mode === 'badSignature' ? `${secret}-wrong` : secret, {
      apiKey,
      applicationId,
      payloadHash: sha256Hex(mode === 'badPayloadHash' ? `${body} ` : body),
      iatSeconds: Math.floor(jwtClock.now() / 1000),
    });
    return `Bearer ${token}`;
  }

  private async deliver(
    url: string,
    record: V2CallbackRecord,
    mode: CallbackFault['mode'] | undefined,
  ): Promise<void> {
    for (let attempt = 0; attempt <= this.options.retries; attempt += 1) {
      if (attempt > 0) await delay(attempt * this.options.retryDelayMs);
      record.attempts += 1;
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      const authorization = this.authorization(record.body, mode);
      if (authorization !== undefined) headers.authorization = authorization;
      try {
        const response = await fetch(url, {
          method: 'POST',
          headers,
          body: record.body,
          signal: AbortSignal.timeout(10_000),
        });
        await response.arrayBuffer().catch(() => undefined);
        record.responseStatus = response.status;
        if (response.ok) {
          record.delivered = true;
          return;
        }
      } catch {
        record.responseStatus = undefined;
      }
    }
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
