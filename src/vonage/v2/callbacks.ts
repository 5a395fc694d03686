// Verify v2 callbacks (docs/vonage-verify-v2.md, "Callbacks"): checking Vonage's signature, and reading
// what a callback says about one verification, in the service's words. Statuses Vonage has not
// documented are accepted (network blocks arrive as "blocked").

import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { TimelineEvent } from '../../store/store';
import { CHANNELS, type Channel } from '../../verification/channels';
import type { CallbackUpdate } from '../../verification/types';

/** Tokens older than this are refused (a replayed capture); a little clock skew ahead is tolerated. */
const MAX_AGE_S = 24 * 60 * 60;
const MAX_SKEW_S = 5 * 60;

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function decode(part: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
    return value !== null && typeof value === 'object' && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether `authorization` is `Bearer <JWT>` signed HS256 with the signature secret, fresh, whose
 * `payload_hash` is the SHA-256 (hex) of exactly these body bytes. Only HS256 is accepted: a token cannot
 * pick a weaker algorithm (`none`) or another key.
 */
export function isSignedCallback(
  authorization: string | undefined,
  rawBody: Buffer,
  secret: string,
  nowMs: number,
): boolean {
  const token = /^Bearer\s+([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)\s*$/.exec(
    authorization ?? '',
  )?.[1];
  if (!token) return false;
  const [header, claims, signature] = token.split('.') as [string, string, string];
  if (decode(header)?.alg !== 'HS256') return false;
  const expected = createHmac('sha256', secret).update(`${header}.${claims}`).digest('base64url');
  if (!sameText(signature, expected)) return false;
  const payload = decode(claims);
  if (!payload || typeof payload.payload_hash !== 'string') return false;
  if (!sameText(payload.payload_hash.toLowerCase(), createHash('sha256').update(rawBody).digest('hex'))) {
    return false;
  }
  const now = nowMs / 1000;
  if (typeof payload.iat !== 'number' || payload.iat > now + MAX_SKEW_S || payload.iat < now - MAX_AGE_S) {
    return false;
  }
  return typeof payload.exp !== 'number' || payload.exp > now;
}

const OUTCOMES: Record<string, CallbackUpdate['outcome']> = {
  completed: 'verified',
  failed: 'failed',
  blocked: 'failed',
  expired: 'expired',
};

/** Step statuses a summary reports that no per-channel event did (those are read from the events). */
const SUMMARY_ONLY_STEP_STATUSES = new Set(['expired', 'user_rejected', 'blocked']);

const text = (value: unknown): string | undefined =>
  typeof value === 'string' && value !== '' ? value : undefined;

function channelOf(value: unknown): Channel | undefined {
  return CHANNELS.find((channel) => channel === value);
}

function timeOf(...values: unknown[]): number | undefined {
  for (const value of values) {
    const ms = typeof value === 'string' ? Date.parse(value) : Number.NaN;
    if (Number.isFinite(ms)) return ms;
  }
  return undefined;
}

function delivery(channel: unknown, status: unknown, at: number | undefined): TimelineEvent[] {
  const known = channelOf(channel);
  const said = text(status);
  if (at === undefined || !said) return [];
  return [{ at, type: 'delivery', ...(known ? { channel: known } : {}), status: said }];
}

/** What a v2 callback body says; undefined when it is not one (no request_id). */
export function readCallback(body: unknown): CallbackUpdate | undefined {
  if (body === null || typeof body !== 'object') return undefined;
  const callback = body as Record<string, unknown>;
  const requestId = text(callback.request_id);
  if (!requestId) return undefined;
  if (callback.type === 'summary') {
    const steps = Array.isArray(callback.workflow) ? (callback.workflow as Record<string, unknown>[]) : [];
    const events = steps
      .filter((step) => SUMMARY_ONLY_STEP_STATUSES.has(String(step?.status)))
      .flatMap((step) => delivery(step.channel, step.status, timeOf(step.initiated_at, step.finalized_at)));
    const outcome = OUTCOMES[String(callback.status)];
    return { requestId, events, ...(outcome ? { outcome } : {}) };
  }
  // A per-channel event. Silent authentication's "action_pending" says only that check_url is ready.
  if (callback.status === 'action_pending') return { requestId, events: [] };
  return {
    requestId,
    events: delivery(callback.channel, callback.status, timeOf(callback.finalized_at, callback.triggered_at)),
  };
}
