// Verify v2 semantics on a clock the caller passes in: workflows of 1-3 steps, one code per step (unless
// reuse_code), channel_timeout, three wrong codes, the concurrent rule, the cancel window, next_workflow,
// and silent authentication. It answers with HTTP status + body and reports callbacks through `emit`.

import { randomUUID } from 'node:crypto';
import type { StartRequest } from './params';
import { type Problem, problems } from './problems';
import {
  blockedSummaryPayload,
  currentStep,
  eventPayload,
  messageText,
  publicState,
  type RequestRecord,
  randomCode,
  type StepRecord,
  silentAuthPayload,
  stepTimeoutMs,
  summaryPayload,
} from './state';
import type { V2CallbackRecord, V2DeliveredMessage, V2RequestState, WrongCodeMode } from './types';

export type Answer = { status: number; body?: object } | Problem;

export interface EngineConfig {
  wrongCodeMode: WrongCodeMode;
  concurrentIncludesRequestId: boolean;
  concurrentAfterCancelMs: number;
  cancelRefusalStatus: number;
  silentAuthUnsupported: (to: string) => boolean;
  blocked: (to: string) => boolean;
  checkUrl: (requestId: string) => string;
  emit: (kind: V2CallbackRecord['kind'], requestId: string, payload: object) => void;
}

const MAX_WRONG_CODES = 3;
const CANCEL_AFTER_MS = 30_000;

export class V2Engine {
  private readonly requests = new Map<string, RequestRecord>();
  /** `to` → in-flight request id. */
  private readonly inFlight = new Map<string, string>();
  /** `to` → until when a cancelled request still blocks new ones (concurrentAfterCancelMs). */
  private readonly cancelledUntil = new Map<string, number>();
  private delivered: V2DeliveredMessage[] = [];

  constructor(private readonly config: EngineConfig) {}

  start(request: StartRequest, callbacks: boolean, now: number): Answer {
    const first = request.steps[0];
    if (!first) return problems.invalidParams([{ name: 'workflow', reason: 'Workflow is required' }]);
    for (const step of request.steps) {
      const inFlight = this.inFlight.get(step.to);
      if (inFlight !== undefined) {
        return problems.concurrent(this.config.concurrentIncludesRequestId ? inFlight : undefined);
      }
      if ((this.cancelledUntil.get(step.to) ?? 0) > now) return problems.concurrent();
    }
    if (
      first.channel === 'silent_auth' &&
      first.coverageCheck &&
      this.config.silentAuthUnsupported(first.to)
    ) {
      return problems.networkNotSupported();
    }
    const record: RequestRecord = {
      id: randomUUID(),
      request,
      steps: request.steps.map((step) => ({ ...step, status: 'unused' })),
      current: 0,
      status: 'in_progress',
      submittedAt: now,
      wrongCodes: 0,
      callbacks,
      terminatedByWrongCodes: false,
      silentCodeIssued: false,
    };
    this.requests.set(record.id, record);
    if (request.fraudCheck && this.config.blocked(first.to)) {
      record.status = 'blocked';
      this.emit('summary', record, blockedSummaryPayload(record, now));
      return { status: 202, body: { request_id: record.id } };
    }
    for (const step of request.steps) this.inFlight.set(step.to, record.id);
    this.beginStep(record, 0, now);
    const body: { request_id: string; check_url?: string } = { request_id: record.id };
    if (first.channel === 'silent_auth') body.check_url = this.config.checkUrl(record.id);
    return { status: 202, body };
  }

  check(requestId: string, code: string, now: number): Answer {
    if (this.requests.get(requestId)?.terminatedByWrongCodes && this.config.wrongCodeMode === 'fourth') {
      return problems.terminated();
    }
    const record = this.active(requestId);
    if (!record) return problems.notFound(requestId);
    const step = currentStep(record);
    if (step.code !== undefined && code === step.code) {
      step.status = 'completed';
      this.emit('event', record, eventPayload(record, step, 'completed', now));
      this.finish(record, 'completed', now);
      return { status: 200, body: { request_id: record.id, status: 'completed' } };
    }
    if (step.channel === 'silent_auth') {
      // One attempt for a Silent Auth step: it fails and the workflow moves on, or ends.
      this.failStep(record, step, now);
      if (record.current + 1 < record.steps.length) {
        this.beginStep(record, record.current + 1, now);
        return problems.invalidCode();
      }
      this.finish(record, 'failed', now);
      return problems.terminated();
    }
    record.wrongCodes += 1;
    if (record.wrongCodes < MAX_WRONG_CODES) return problems.invalidCode();
    this.failStep(record, step, now);
    record.terminatedByWrongCodes = true;
    this.finish(record, 'failed', now);
    return this.config.wrongCodeMode === 'third' ? problems.terminated() : problems.invalidCode();
  }

  cancel(requestId: string, now: number): Answer {
    const record = this.active(requestId);
    if (!record) return problems.notFound(requestId);
    if (now - record.submittedAt < CANCEL_AFTER_MS || record.current > 0) {
      return problems.cancelRefused(this.config.cancelRefusalStatus);
    }
    const step = currentStep(record);
    step.status = 'expired';
    step.endedAt = now;
    record.status = 'cancelled';
    this.release(record);
    if (this.config.concurrentAfterCancelMs > 0) {
      for (const s of record.steps) this.cancelledUntil.set(s.to, now + this.config.concurrentAfterCancelMs);
    }
    return { status: 204 };
  }

  next(requestId: string, now: number): Answer {
    const record = this.active(requestId);
    if (!record) return problems.notFound(requestId);
    if (record.current + 1 >= record.steps.length) return problems.noMoreEvents();
    const step = currentStep(record);
    step.status = 'expired';
    step.endedAt = now;
    this.beginStep(record, record.current + 1, now);
    return { status: 200 };
  }

  /** The end of the check_url redirect chain: the code to submit, or why there is none. */
  silentAuthCode(requestId: string, now: number): Answer {
    const record = this.active(requestId);
    if (!record) return problems.notFound(requestId);
    const step = currentStep(record);
    if (step.channel !== 'silent_auth' || step.code === undefined || record.silentCodeIssued) {
      return problems.silentAuthFailed();
    }
    if (this.config.silentAuthUnsupported(step.to)) {
      // coverage_check was false: the failure shows here, and the workflow moves on (or fails).
      this.failStep(record, step, now);
      if (record.current + 1 < record.steps.length) this.beginStep(record, record.current + 1, now);
      else this.finish(record, 'failed', now);
      return problems.networkNotSupported();
    }
    record.silentCodeIssued = true;
    this.record(record, step, step.code, now);
    return { status: 200, body: { request_id: record.id, code: step.code } };
  }

  /** The silent_auth step's `redirect_url`, where the end of the check_url chain goes when set. */
  silentAuthRedirectUrl(requestId: string): string | undefined {
    const step = this.requests.get(requestId)?.steps[0];
    return step?.channel === 'silent_auth' ? step.redirectUrl : undefined;
  }

  /** Ends steps and requests whose channel_timeout passed by `now`, in time order per request. */
  tick(now: number): void {
    for (const record of this.requests.values()) {
      while (record.status === 'in_progress') {
        const step = currentStep(record);
        const deadline = (step.initiatedAt ?? record.submittedAt) + stepTimeoutMs(record, step);
        if (now < deadline) break;
        step.status = 'expired';
        step.endedAt = deadline;
        if (record.current + 1 < record.steps.length) this.beginStep(record, record.current + 1, deadline);
        else this.finish(record, 'expired', deadline);
      }
    }
  }

  messages(filter: { to?: string; requestId?: string } = {}): V2DeliveredMessage[] {
    return this.delivered
      .filter((m) => filter.to === undefined || m.to === filter.to)
      .filter((m) => filter.requestId === undefined || m.requestId === filter.requestId)
      .slice()
      .reverse();
  }

  state(requestId: string): V2RequestState | undefined {
    const record = this.requests.get(requestId);
    return record ? publicState(record) : undefined;
  }

  /** The code the current step accepts (test helper); undefined once the request ended. */
  currentCode(requestId: string): string | undefined {
    const record = this.requests.get(requestId);
    return record?.status === 'in_progress' ? currentStep(record).code : undefined;
  }

  reset(): void {
    this.requests.clear();
    this.inFlight.clear();
    this.cancelledUntil.clear();
    this.delivered = [];
  }

  private active(requestId: string): RequestRecord | undefined {
    const record = this.requests.get(requestId);
    return record?.status === 'in_progress' ? record : undefined;
  }

  private beginStep(record: RequestRecord, index: number, at: number): void {
    const step = record.steps[index];
    if (!step) throw new Error(`no step ${index}`);
    const previous = index > 0 ? record.steps[index - 1]?.code : undefined;
    record.current = index;
    step.status = 'in_progress';
    step.initiatedAt = at;
    if (step.channel === 'silent_auth') {
      step.code = randomCode(6, 'alnum');
      this.emit('silent_auth', record, silentAuthPayload(record, this.config.checkUrl(record.id), at));
      return;
    }
    step.code =
      record.request.code ??
      (step.reuseCode && previous !== undefined ? previous : randomCode(record.request.codeLength, 'digits'));
    this.record(record, step, step.code, at);
  }

  private record(record: RequestRecord, step: StepRecord, code: string, at: number): void {
    const minutes = Math.max(1, Math.round(stepTimeoutMs(record, step) / 60_000));
    this.delivered.push({
      requestId: record.id,
      to: step.to,
      channel: step.channel,
      code,
      brand: record.request.brand,
      locale: record.request.locale,
      step: record.current,
      text: messageText(step.channel, record.request.brand, code, minutes),
      at: new Date(at).toISOString(),
    });
  }

  private failStep(record: RequestRecord, step: StepRecord, now: number): void {
    step.status = 'failed';
    step.endedAt = now;
    this.emit('event', record, eventPayload(record, step, 'failed', now));
  }

  private finish(record: RequestRecord, status: 'completed' | 'expired' | 'failed', now: number): void {
    record.status = status;
    currentStep(record).endedAt ??= now;
    this.release(record);
    this.emit('summary', record, summaryPayload(record));
  }

  private release(record: RequestRecord): void {
    for (const step of record.steps) {
      if (this.inFlight.get(step.to) === record.id) this.inFlight.delete(step.to);
    }
  }

  private emit(kind: V2CallbackRecord['kind'], record: RequestRecord, payload: object): void {
    if (record.callbacks) this.config.emit(kind, record.id, payload);
  }
}
