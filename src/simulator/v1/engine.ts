// The Verify v1 state machine behind the simulator: verifications, their delivery schedule, PINs, wrong-code
// counting, cancel rules and search records. No HTTP, credentials or faults here: callers pass the
// authenticated api key and a validated request, and get the Vonage answer body back.

import { randomBytes, randomInt } from 'node:crypto';
import type { CheckRequest, ControlRequest, StartRequest } from './params';
import { DueQueue } from './queue';
import {
  CANCEL_WINDOW_MS,
  CURRENCY,
  DEFAULT_PIN_EXPIRY_SECONDS,
  defaultWaitsSeconds,
  PRICE,
  PRICE_PER_MESSAGE,
  TEXT,
  WORKFLOWS,
} from './texts';
import type { Channel, DeliveredMessage, RequestState, VerificationStatus, VonageBody } from './types';

interface Verification {
  requestId: string;
  apiKey: string;
  /** api key + number: Vonage refuses a second request to the same number while one is active (status 10). */
  numberKey: string;
  number: string;
  kind: 'standard' | 'psd2';
  brand: string;
  amount?: number;
  senderId: string;
  codeLength: number;
  fixedCode?: string;
  channels: readonly Channel[];
  /** waitsMs[i]: from event i to event i+1, or to expiry after the last event. */
  waitsMs: number[];
  pinExpiryMs: number;
  code: string;
  codeIssuedAt: number;
  wrongForCode: number;
  status: VerificationStatus;
  createdAt: number;
  finalizedAt?: number;
  events: { id: string; type: Channel; at: number }[];
  checks: { at: number; code: string; status: 'VALID' | 'INVALID' }[];
  /** Bumped whenever the pending schedule entry changes, so stale queue entries are skipped. */
  version: number;
}

export class VerifyEngine {
  private readonly verifications = new Map<string, Verification>();
  /** numberKey -> request_id of the active verification for that number. */
  private readonly active = new Map<string, string>();
  private readonly queue = new DueQueue();
  private delivered: DeliveredMessage[] = [];

  constructor(
    private readonly maxWrongCodes: number,
    private readonly searchLagMs: number,
  ) {}

  reset(): void {
    this.verifications.clear();
    this.active.clear();
    this.queue.clear();
    this.delivered = [];
  }

  /** Runs every delivery and expiry due at or before `now`, at its own due time. */
  tick(now: number): void {
    for (let due = this.queue.popDue(now); due !== undefined; due = this.queue.popDue(now)) {
      const v = this.verifications.get(due.requestId);
      if (!v || v.version !== due.version || v.status !== 'IN PROGRESS') continue;
      if (v.events.length < v.channels.length) this.deliver(v, due.at);
      else this.finish(v, 'EXPIRED', due.at);
    }
  }

  activeRequestFor(apiKey: string, number: string): string | undefined {
    return this.active.get(numberKey(apiKey, number));
  }

  start(apiKey: string, req: StartRequest, now: number): VonageBody {
    const key = numberKey(apiKey, req.number);
    const inFlight = this.active.get(key);
    if (inFlight !== undefined) return { request_id: inFlight, status: '10', error_text: TEXT.concurrent };

    const channels = WORKFLOWS[req.workflowId] ?? WORKFLOWS[1] ?? [];
    const waitsSeconds =
      req.nextEventWaitSeconds === undefined
        ? defaultWaitsSeconds(req.workflowId, channels.length)
        : channels.map(() => req.nextEventWaitSeconds ?? DEFAULT_PIN_EXPIRY_SECONDS);
    const v: Verification = {
      requestId: randomBytes(16).toString('hex'),
      apiKey,
      numberKey: key,
      number: req.number,
      kind: req.kind,
      brand: req.brand,
      amount: req.amount,
      senderId: req.senderId ?? 'verify',
      codeLength: req.codeLength,
      fixedCode: req.pinCode,
      channels,
      waitsMs: waitsSeconds.map((s) => s * 1000),
      pinExpiryMs: req.pinExpirySeconds * 1000,
      code: '',
      codeIssuedAt: now,
      wrongForCode: 0,
      status: 'IN PROGRESS',
      createdAt: now,
      events: [],
      checks: [],
      version: 0,
    };
    this.newCode(v, now);
    this.verifications.set(v.requestId, v);
    this.active.set(key, v.requestId);
    this.deliver(v, now);
    return { request_id: v.requestId, status: '0' };
  }

  check(apiKey: string, req: CheckRequest, now: number): VonageBody {
    const v = this.activeVerification(apiKey, req.requestId);
    if (!v) return { request_id: req.requestId, status: '6', error_text: TEXT.checkNotFound(req.requestId) };
    if (req.code === v.code) {
      v.checks.push({ at: now, code: req.code, status: 'VALID' });
      this.finish(v, 'SUCCESS', now);
      const lastEvent = v.events[v.events.length - 1];
      return {
        request_id: v.requestId,
        event_id: lastEvent?.id ?? '',
        status: '0',
        price: PRICE,
        currency: CURRENCY,
        estimated_price_messages_sent: messagesPrice(v),
      };
    }
    v.checks.push({ at: now, code: req.code, status: 'INVALID' });
    v.wrongForCode += 1;
    if (v.wrongForCode >= this.maxWrongCodes) {
      this.finish(v, 'FAILED', now);
      return { request_id: v.requestId, status: '17', error_text: TEXT.tooManyWrongCodes };
    }
    return { request_id: v.requestId, status: '16', error_text: TEXT.codeMismatch };
  }

  control(apiKey: string, req: ControlRequest, now: number): VonageBody {
    const v = this.activeVerification(apiKey, req.requestId);
    if (!v) return { status: '6', error_text: TEXT.controlNotFound(req.requestId) };
    if (req.cmd === 'cancel') {
      if (now - v.createdAt < CANCEL_WINDOW_MS)
        return { status: '19', error_text: TEXT.cancelTooEarly(v.requestId) };
      if (v.events.length >= 2) return { status: '19', error_text: TEXT.cancelTooLate(v.requestId) };
      this.finish(v, 'CANCELLED', now);
      return { status: '0', command: 'cancel' };
    }
    if (v.events.length >= v.channels.length)
      return { status: '19', error_text: TEXT.noMoreEvents(v.requestId) };
    this.deliver(v, now);
    return { status: '0', command: 'trigger_next_event' };
  }

  search(apiKey: string, requestId: string, now: number): VonageBody {
    const v = this.verifications.get(requestId);
    // Vonage: "No response found" also for up to about a minute after a request completes (notes 1.5).
    const lagging = v?.finalizedAt !== undefined && now - v.finalizedAt < this.searchLagMs;
    if (!v || v.apiKey !== apiKey || lagging)
      return { request_id: requestId, status: '101', error_text: TEXT.searchNotFound };
    const first = v.events[0];
    const last = v.events[v.events.length - 1];
    return {
      request_id: v.requestId,
      // Vonage's account id is the api key.
      account_id: v.apiKey,
      status: v.status,
      number: v.number,
      // v1 charges only for a successful verification.
      price: v.status === 'SUCCESS' ? PRICE : '0.00000000',
      currency: CURRENCY,
      sender_id: v.senderId,
      date_submitted: vonageDate(v.createdAt),
      // Not documented for unfinished requests; an empty string keeps the SDK's string type.
      date_finalized: v.finalizedAt === undefined ? '' : vonageDate(v.finalizedAt),
      first_event_date: first ? vonageDate(first.at) : '',
      last_event_date: last ? vonageDate(last.at) : '',
      checks: v.checks.map((c) => ({
        date_received: vonageDate(c.at),
        code: c.code,
        status: c.status,
        ip_address: '',
      })),
      events: v.events.map((e) => ({ id: e.id, type: e.type })),
      estimated_price_messages_sent: messagesPrice(v),
    };
  }

  messages(filter: { number?: string; requestId?: string } = {}): DeliveredMessage[] {
    const number = filter.number?.replace(/^\+/, '');
    return this.delivered
      .filter(
        (m) =>
          (number === undefined || m.number === number) &&
          (filter.requestId === undefined || m.requestId === filter.requestId),
      )
      .map((m) => ({ ...m }));
  }

  currentCode(requestId: string): string | undefined {
    return this.verifications.get(requestId)?.code;
  }

  requestState(requestId: string): RequestState | undefined {
    const v = this.verifications.get(requestId);
    if (!v) return undefined;
    return { status: v.status, number: v.number, eventsDelivered: v.events.length, createdAt: v.createdAt };
  }

  private activeVerification(apiKey: string, requestId: string): Verification | undefined {
    const v = this.verifications.get(requestId);
    return v && v.apiKey === apiKey && v.status === 'IN PROGRESS' ? v : undefined;
  }

  private newCode(v: Verification, at: number): void {
    v.code = v.fixedCode ?? String(randomInt(0, 10 ** v.codeLength)).padStart(v.codeLength, '0');
    v.codeIssuedAt = at;
    // The wrong-code allowance is per PIN (KB-17).
    v.wrongForCode = 0;
  }

  /** Sends the next event of the sequence at `at` and schedules the one after it (or expiry). */
  private deliver(v: Verification, at: number): void {
    const index = v.events.length;
    const channel = v.channels[index];
    if (channel === undefined) return;
    if (index > 0 && at - v.codeIssuedAt >= v.pinExpiryMs) this.newCode(v, at);
    v.events.push({ id: randomBytes(8).toString('hex').toUpperCase(), type: channel, at });
    this.delivered.push({
      requestId: v.requestId,
      number: v.number,
      channel,
      code: v.code,
      brand: v.brand,
      text: messageText(v, channel),
      at: new Date(at).toISOString(),
    });
    this.schedule(v, at + (v.waitsMs[index] ?? DEFAULT_PIN_EXPIRY_SECONDS * 1000));
  }

  private schedule(v: Verification, at: number): void {
    v.version += 1;
    this.queue.push({ at, requestId: v.requestId, version: v.version });
  }

  private finish(v: Verification, status: VerificationStatus, at: number): void {
    v.status = status;
    v.finalizedAt = at;
    v.version += 1;
    if (this.active.get(v.numberKey) === v.requestId) this.active.delete(v.numberKey);
  }
}

function numberKey(apiKey: string, number: string): string {
  return `${apiKey}\u0000${number}`;
}

function messagesPrice(v: Verification): string {
  return (PRICE_PER_MESSAGE * v.events.length).toFixed(8);
}

function validity(pinExpiryMs: number): string {
  const seconds = Math.round(pinExpiryMs / 1000);
  if (seconds % 60 !== 0) return `${seconds} seconds`;
  const minutes = seconds / 60;
  return minutes === 1 ? '1 minute' : `${minutes} minutes`;
}

function messageText(v: Verification, channel: Channel): string {
  const spoken = v.code.split('').join(' ');
  if (v.kind === 'psd2') {
    const payment = `a payment of EUR ${(v.amount ?? 0).toFixed(2)} to ${v.brand}`;
    return channel === 'sms'
      ? `Your code to approve ${payment} is ${v.code}. Valid for ${validity(v.pinExpiryMs)}.`
      : `Your code to approve ${payment} is ${spoken}`;
  }
  return channel === 'sms'
    ? `${v.brand} code: ${v.code}. Valid for ${validity(v.pinExpiryMs)}.`
    : `Your ${v.brand} code is ${spoken}`;
}

/** Vonage search dates: `YYYY-MM-DD HH:MM:SS` (UTC). */
function vonageDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace('T', ' ');
}
