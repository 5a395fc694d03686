// The simulator's record of one Verify v2 request, the codes it hands out, and the callback bodies Vonage
// would send about it (SPEC components.schemas.VerifyResource, VerifyResourceEventCallBackExample,
// VerifySilentAuth). Kept apart from the engine so the engine holds only the rules.

import { randomInt } from 'node:crypto';
import type { StartRequest, StartStep } from './params';
import type { V2Channel, V2RequestState, V2RequestStatus, V2StepStatus } from './types';

export interface StepRecord extends StartStep {
  status: V2StepStatus;
  initiatedAt?: number;
  endedAt?: number;
  code?: string;
}

export interface RequestRecord {
  id: string;
  request: StartRequest;
  steps: StepRecord[];
  current: number;
  status: V2RequestStatus | 'blocked';
  submittedAt: number;
  wrongCodes: number;
  /** Whether callbacks go out for it (JWT-started requests only). */
  callbacks: boolean;
  /** 'fourth' mode: terminated by wrong codes, later checks answer 410. */
  terminatedByWrongCodes: boolean;
  /** silent_auth: the redirect chain already handed out the code. */
  silentCodeIssued: boolean;
}

/** Silent Auth's channel_timeout is always 60 s (SPEC ChannelTimeout). */
export function stepTimeoutMs(record: RequestRecord, step: StepRecord): number {
  return (step.channel === 'silent_auth' ? 60 : record.request.channelTimeout) * 1000;
}

export function currentStep(record: RequestRecord): StepRecord {
  const step = record.steps[record.current];
  if (!step) throw new Error('request without a current step');
  return step;
}

const DIGITS = '0123456789';
const ALNUM = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';

export function randomCode(length: number, alphabet: 'digits' | 'alnum'): string {
  const chars = alphabet === 'digits' ? DIGITS : ALNUM;
  let code = '';
  for (let i = 0; i < length; i += 1) code += chars[randomInt(0, chars.length)];
  return code;
}

const iso = (ms: number) => new Date(ms).toISOString();

export function messageText(channel: V2Channel, brand: string, code: string, minutes: number): string {
  if (channel === 'voice') return `Your ${brand} verification code is ${code.split('').join(' ')}.`;
  if (channel === 'email')
    return `Your ${brand} verification code is ${code}. It expires in ${minutes} minutes.`;
  return `${brand}: Your verification code is ${code}. Valid for ${minutes} minutes.`;
}

export function eventPayload(
  record: RequestRecord,
  step: StepRecord,
  status: 'completed' | 'failed',
  now: number,
): object {
  return {
    request_id: record.id,
    triggered_at: iso(step.initiatedAt ?? now),
    type: 'event',
    channel: step.channel,
    status,
    finalized_at: iso(now),
    channel_timeout: record.request.channelTimeout,
    ...(record.request.clientRef !== undefined ? { client_ref: record.request.clientRef } : {}),
  };
}

export function summaryPayload(record: RequestRecord): object {
  return {
    request_id: record.id,
    submitted_at: iso(record.submittedAt),
    status: record.status,
    type: 'summary',
    channel_timeout: record.request.channelTimeout,
    workflow: record.steps.map((step) => ({
      channel: step.channel,
      ...(step.initiatedAt !== undefined ? { initiated_at: iso(step.initiatedAt) } : {}),
      status: step.status,
    })),
    ...(record.request.clientRef !== undefined ? { client_ref: record.request.clientRef } : {}),
  };
}

/** A fraud-check block, as the anti-fraud guide shows it. */
export function blockedSummaryPayload(record: RequestRecord, now: number): object {
  return {
    request_id: record.id,
    submitted_at: iso(record.submittedAt),
    status: 'blocked',
    type: 'summary',
    workflow: record.steps.map((step) => ({
      channel: step.channel,
      status: 'blocked',
      reason: 'Fraudulent traffic detected for your account on network [ 23415 ].',
      finalized_at: iso(now),
    })),
    ...(record.request.clientRef !== undefined ? { client_ref: record.request.clientRef } : {}),
  };
}

export function silentAuthPayload(record: RequestRecord, checkUrl: string, now: number): object {
  return {
    request_id: record.id,
    triggered_at: iso(now),
    type: 'event',
    channel: 'silent_auth',
    status: 'action_pending',
    action: { type: 'check', check_url: checkUrl },
  };
}

export function publicState(record: RequestRecord): V2RequestState {
  const step = record.steps[record.current];
  const deadline =
    record.status === 'in_progress' && step?.initiatedAt !== undefined
      ? iso(step.initiatedAt + stepTimeoutMs(record, step))
      : undefined;
  return {
    requestId: record.id,
    status: record.status === 'blocked' ? 'failed' : record.status,
    currentStep: record.current,
    steps: record.steps.map((s) => ({
      channel: s.channel,
      to: s.to,
      status: s.status,
      ...(s.initiatedAt !== undefined ? { initiatedAt: iso(s.initiatedAt) } : {}),
    })),
    wrongCodes: record.wrongCodes,
    submittedAt: iso(record.submittedAt),
    ...(deadline !== undefined ? { stepDeadline: deadline } : {}),
  };
}
