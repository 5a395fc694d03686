// The refusal fast path: a request listener in front of the Express app that answers the requests under
// /api that carry no valid API key (401, or 429 once their address is over LIMIT_AUTH_FAILURES_PER_IP)
// straight on node's request and response, and hands every other request to Express untouched.
//
// Why it exists: refusals come in floods (a wrong key retried in a loop), and through Express a refusal
// cost 300 CPU µs (401, one Redis script to count the failure) and 240 µs (429, from the local
// over-limit cache), against 134 µs for a bare Express 401 (BENCH_ONLY=refusals npm run bench, 2026-11-29,
// docs/perf-profile.md): the router, the request and response prototypes, the middleware chain and the
// header calls cost more than the answer. Here a refusal is one key check, one limiter call and one
// writeHead with the headers in Express's order.
//
// The answer is the Express path's, byte for byte: the same pure pieces build it (fast-answer.ts, over
// problemAnswer for status, headers and body, writeCompletion for the completion line and the RefusalLog
// folding, logProblem for the problem's own line; the shared key check and failure count of auth.ts;
// req.ip as Express computes it, with its trust proxy setting) and the headers are the ones the Express
// middleware sets, in its order (X-Request-Id, helmet's, Cache-Control, CORS's). Anything not certainly a
// refusal goes to Express: OPTIONS, a request with an Origin header when CORS is on, a path outside
// /api or not in a plain form, and every request whose key is valid. test/http/refusal-fast-path.test.ts
// sends the same requests both ways and compares the answers, the metrics and the lines.

import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import proxyaddr from 'proxy-addr';
import { type AuthFailureCount, callerOfRequest, type KeyCheck } from './auth';
import { type FastAnswerDeps, FastAnswers } from './fast-answer';
import { arrival, requestIdFor } from './request-log';
import { API_BASE } from './routes';

/**
 * URLs the Express app takes through its /api chain (app.use(API_BASE): case-insensitive, the base itself
 * or anything under it, a query string or not). Any other form (absolute, '#', a backslash) goes to Express.
 */
const UNDER_API = new RegExp(`^${API_BASE.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}(?:[/?]|$)`, 'i');

/** The route label Express's metrics give a refusal under /api: no route matched before the error. */
export const REFUSAL_ROUTE = 'unmatched';

export type TrustProxy = (address: string, hop: number) => boolean;

export interface RefusalFastPathDeps extends FastAnswerDeps {
  checkKey: KeyCheck;
  countFailure: AuthFailureCount;
  /** Express's compiled trust proxy setting (app.get('trust proxy fn')), so the address is its req.ip. */
  trustProxy: TrustProxy;
  /** CORS is on: a request with an Origin header gets CORS's answer, so it goes to Express. */
  cors: boolean;
}

export class RefusalFastPath {
  /** How many refusals were answered here (tests check the path was taken). */
  answered = 0;
  private readonly answers: FastAnswers;

  constructor(private readonly deps: RefusalFastPathDeps) {
    this.answers = new FastAnswers(deps);
  }

  /** The listener: refusals answered here, everything else by `next` (the Express app). */
  listener(next: RequestListener): RequestListener {
    return (req, res) => {
      if (this.isRefusal(req)) void this.refuse(req, res);
      else next(req, res);
    };
  }

  /** Whether the request is certainly one the Express app would refuse for its key. */
  private isRefusal(req: IncomingMessage): boolean {
    const url = req.url;
    if (url === undefined || !UNDER_API.test(url) || req.method === 'OPTIONS') return false;
    if (this.deps.cors && req.headers.origin !== undefined) return false;
    return callerOfRequest(req, this.deps.checkKey) === undefined;
  }

  /** Counts the failure and answers; never rejects. */
  private async refuse(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const at = arrival(requestIdFor(req.headers['x-request-id']));
    let error: unknown;
    try {
      error = await this.deps.countFailure(proxyaddr(req, this.deps.trustProxy));
    } catch (failure) {
      error = failure;
    }
    if (this.answers.problem(req, res, error, at, REFUSAL_ROUTE)) this.answered += 1;
  }
}
