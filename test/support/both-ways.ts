// Sends the same request to the service as it is served (composed.app: the fast paths in front of
// Express) and to its Express app alone (composed.express), and says what each answered: the status, the
// raw headers in order (Date and generated request ids masked), the body, the change in the HTTP, funnel
// and store-error metrics, and the request's log lines (times masked). The fast-path tests compare them.

import supertest from 'supertest';
import type { Composed } from '../../src/compose';
import type { Harness } from './harness';

export type Send = (http: ReturnType<typeof supertest>) => supertest.Test;

export interface Seen {
  status: number;
  rawHeaders: string[];
  body: string;
  metrics: Record<string, number>;
  lines: unknown[];
  answeredByFastPath: number;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Every series of the HTTP metrics (requests by route, method, status; duration counts) by its labels. */
async function httpSeries(composed: Composed): Promise<Record<string, number>> {
  const series: Record<string, number> = {};
  for (const name of [
    'otp_http_requests_total',
    'otp_http_request_duration_seconds',
    'otp_store_errors_total',
    'otp_verifications_total',
  ]) {
    const metric = composed.metrics.registry.getSingleMetric(name);
    for (const value of (await metric?.get())?.values ?? []) {
      const named = (value as { metricName?: string }).metricName ?? name;
      if (named.endsWith('_bucket') || named.endsWith('_sum')) continue;
      series[`${named}${JSON.stringify(value.labels)}`] = value.value;
    }
  }
  return series;
}

function change(before: Record<string, number>, after: Record<string, number>): Record<string, number> {
  const changed: Record<string, number> = {};
  for (const [key, value] of Object.entries(after)) {
    if (value !== (before[key] ?? 0)) changed[key] = value - (before[key] ?? 0);
  }
  return changed;
}

/**
 * The log lines of a request (those with its reqId: the Redis client's own warnings may come in between),
 * with what differs between two sends of it (times, made-up ids) masked.
 */
function linesSince(h: Harness, from: number, id: string): unknown[] {
  const own = h.logs.slice(from).filter((text) => text.includes(`"reqId":"${id}"`));
  return own.map((text) => {
    const line = JSON.parse(UUID.test(id) ? text.replaceAll(id, '<uuid>') : text) as Record<string, unknown>;
    delete line.time;
    delete line.responseTime;
    const err = line.err as { stack?: string } | undefined;
    if (err?.stack !== undefined) err.stack = err.stack.split('\n')[0];
    return line;
  });
}

/** How many requests a fast path answered so far (its own count). */
export type Answered = (composed: Composed) => number;

const refusalsAnswered: Answered = (composed) => composed.fastPath.answered;

async function send(
  h: Harness,
  http: ReturnType<typeof supertest>,
  request: Send,
  answered: Answered,
): Promise<Seen> {
  const metricsBefore = await httpSeries(h.composed);
  const answeredBefore = answered(h.composed);
  const from = h.logs.length;
  const res = await request(http);
  // The completion line is written when the response closes, just after the client has it.
  await new Promise((resolve) => setTimeout(resolve, 5));
  const id = String(res.headers['x-request-id']);
  const rawHeaders = (res as unknown as { res: { rawHeaders: string[] } }).res.rawHeaders.map(
    (value, i, all) => {
      const name = all[i - 1]?.toLowerCase();
      if (name === 'date') return '<date>';
      return name === 'x-request-id' && UUID.test(value) ? '<uuid>' : value;
    },
  );
  return {
    status: res.status,
    rawHeaders,
    body: res.text,
    metrics: change(metricsBefore, await httpSeries(h.composed)),
    lines: linesSince(h, from, id),
    answeredByFastPath: answered(h.composed) - answeredBefore,
  };
}

/**
 * The same request both ways: the answers must be the same, and the fast path (counted by `answered`,
 * the refusal fast path's by default) must have given its own, or none when `byFastPath` is 0.
 */
export async function expectSameBothWays(
  h: Harness,
  request: Send,
  answered: Answered = refusalsAnswered,
  byFastPath = 1,
): Promise<Seen> {
  const fast = await send(h, supertest(h.composed.app), request, answered);
  const express = await send(h, supertest(h.composed.express), request, answered);
  expect(express.answeredByFastPath).toBe(0);
  expect({ ...fast, answeredByFastPath: 0 }).toEqual(express);
  expect(fast.answeredByFastPath).toBe(byFastPath);
  return fast;
}
