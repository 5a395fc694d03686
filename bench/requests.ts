// The requests the bench sends: the service's API (with the right key, a wrong one, for a limited
// number), the simulator's control API for codes, and the reference server's check.

import { randomUUID } from 'node:crypto';
import type { CallResult, Worker } from './load';

export const VONAGE_KEY = 'bench-api-key';
export const VONAGE_SECRET = 'bench-api-secret';

/** A started verification and its code. */
export interface Item {
  requestId: string;
  code: string;
}

export function parseJson<T>(text: string): T | undefined {
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
}

const requestIdOf = (answer: CallResult) =>
  answer.status === 201 ? parseJson<{ requestId?: string }>(answer.body)?.requestId : undefined;
const codeOf = (answer: CallResult) =>
  answer.status === 200 ? parseJson<{ code?: string }>(answer.body)?.code : undefined;

export class BenchRequests {
  private readonly authed: Record<string, string>;
  private readonly wrongKey: Record<string, string>;
  /** Basic auth for the simulator's own Verify API. */
  private readonly simAuth: Record<string, string>;

  constructor(apiKey: string) {
    this.authed = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' };
    this.wrongKey = {
      authorization: 'Bearer not-a-valid-key-0123456789',
      'content-type': 'application/json',
    };
    this.simAuth = {
      authorization: `Basic ${Buffer.from(`${VONAGE_KEY}:${VONAGE_SECRET}`).toString('base64')}`,
      'content-type': 'application/json',
    };
  }

  /** The caller's headers with an Idempotency-Key of its own, as a careful client sends every POST. */
  private withKey(): Record<string, string> {
    return { ...this.authed, 'idempotency-key': randomUUID() };
  }

  async requestToken(w: Worker, label: string, phoneNumber: string): Promise<string | undefined> {
    return requestIdOf(await this.start(w, label, phoneNumber));
  }

  async readCode(w: Worker, label: string, requestId: string): Promise<string | undefined> {
    return codeOf(await this.codeAnswer(w, label, requestId));
  }

  private start(w: Worker, label: string, phoneNumber: string): Promise<CallResult> {
    const body = JSON.stringify({ phoneNumber });
    return w.call(
      label,
      'main',
      { method: 'POST', path: '/api/request-token', headers: this.withKey(), body },
      201,
      true,
    );
  }

  private codeAnswer(w: Worker, label: string, requestId: string): Promise<CallResult> {
    const path = `/_simulator/requests/${encodeURIComponent(requestId)}`;
    return w.call(label, 'sim', { method: 'GET', path }, 200, true);
  }

  verifyToken(w: Worker, label: string, item: Item): Promise<CallResult> {
    const body = JSON.stringify({ requestId: item.requestId, code: item.code });
    return w.call(
      label,
      'main',
      { method: 'POST', path: '/api/verify-token', headers: this.withKey(), body },
      200,
    );
  }

  status(w: Worker, label: string, requestId: string): Promise<CallResult> {
    const path = `/api/verifications/${encodeURIComponent(requestId)}`;
    return w.call(
      label,
      'main',
      { method: 'GET', path, headers: { authorization: this.authed.authorization ?? '' } },
      200,
    );
  }

  /**
   * A wrong key on verify-token: 401 from the service; `expect` another status for a server without auth,
   * or 429 from an address over its failed-authentication limit. `from`: the client address the service
   * sees (X-Forwarded-For, it trusts one proxy in the bench), else the bench's own.
   */
  refused401(w: Worker, label: string, expect = 401, from?: string): Promise<CallResult> {
    const body = JSON.stringify({ requestId: 'f3a0c5e2b1d94c7e8a6b2d1c0e9f8a7b', code: '123456' });
    const headers = from === undefined ? this.wrongKey : { ...this.wrongKey, 'x-forwarded-for': from };
    return w.call(label, 'main', { method: 'POST', path: '/api/verify-token', headers, body }, expect);
  }

  /** A number over its send limit: 429 from the service; `expect` another status for a server without limits. */
  refused429(w: Worker, label: string, phoneNumber: string, expect = 429): Promise<CallResult> {
    const body = JSON.stringify({ phoneNumber });
    return w.call(
      label,
      'main',
      { method: 'POST', path: '/api/request-token', headers: this.authed, body },
      expect,
    );
  }

  referenceCheck(w: Worker, label: string, item: Item): Promise<CallResult> {
    const body = JSON.stringify(item);
    return w.call(
      label,
      'main',
      { method: 'POST', path: '/check', headers: { 'content-type': 'application/json' }, body },
      200,
    );
  }

  /** request-token → code from the simulator's control API → verify-token; `server` prefixes the labels. */
  async flow(w: Worker, phoneNumber: string, tag: string, server = 'svc:'): Promise<string | undefined> {
    return (await this.explainedFlow(w, phoneNumber, tag, server)).requestId;
  }

  /** flow(), saying which step failed and with what answer (status and the start of the body). */
  async explainedFlow(
    w: Worker,
    phoneNumber: string,
    tag: string,
    server = 'svc:',
  ): Promise<{ requestId?: string; failure?: string }> {
    const failed = (step: string, answer: CallResult) =>
      ({ failure: `${step} answered ${answer.status}: ${answer.body.slice(0, 200)}` }) as const;
    const started = await this.start(w, `${server}${tag}request-token`, phoneNumber);
    const requestId = requestIdOf(started);
    if (requestId === undefined) return failed('request-token', started);
    const read = await this.codeAnswer(w, `sim:${tag}code`, requestId);
    const code = codeOf(read);
    if (code === undefined) return failed('the code read from the simulator', read);
    const verified = await this.verifyToken(w, `${server}${tag}verify-token`, { requestId, code });
    return verified.status === 200 ? { requestId } : failed('verify-token', verified);
  }

  /** A verification started straight at the simulator's Verify API (for the reference server). */
  async startAtSimulator(w: Worker, phoneNumber: string): Promise<string> {
    const body = JSON.stringify({ number: phoneNumber.slice(1), brand: 'Bench' });
    const answer = await w.call(
      'prep:start',
      'sim',
      { method: 'POST', path: '/verify/json', headers: this.simAuth, body },
      200,
      true,
    );
    const started = parseJson<{ status?: string; request_id?: string }>(answer.body);
    if (started?.status !== '0' || started.request_id === undefined) {
      throw new Error(`simulator refused a start: ${answer.body}`);
    }
    return started.request_id;
  }
}
