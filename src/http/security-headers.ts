// The security headers of every answer: helmet's defaults, asked of helmet once at start-up and then set
// from that list. helmet's middleware rebuilds the same static headers on every request (a dozen
// function calls and closures), which under a flood of refusals is a visible share of their cost
// (docs/perf-profile.md); the list is helmet's own output, so the headers stay exactly helmet's.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import helmet from 'helmet';

export interface HeaderChanges {
  /** Headers helmet sets, in its order. */
  set: Array<[name: string, value: string]>;
  /** Headers helmet removes (X-Powered-By). */
  removed: string[];
}

/** What helmet's default middleware does to an answer's headers, found by running it once on a stand-in. */
export function helmetHeaderChanges(): HeaderChanges {
  const changes: HeaderChanges = { set: [], removed: [] };
  const stand = {
    setHeader(name: string, value: string | number | readonly string[]) {
      changes.set.push([name, String(value)]);
      return stand;
    },
    removeHeader(name: string) {
      changes.removed.push(name);
    },
  };
  let finished = false;
  helmet()(
    { method: 'GET', url: '/', headers: {} } as IncomingMessage,
    stand as unknown as ServerResponse,
    () => {
      finished = true;
    },
  );
  // helmet's defaults are synchronous and never fail; anything else would make the list wrong.
  if (!finished) throw new Error('helmet did not finish synchronously: its headers cannot be precomputed');
  return changes;
}

/** Sets helmet's default headers on every answer, from the list made once. */
export function securityHeaders(): RequestHandler {
  const { set, removed } = helmetHeaderChanges();
  return (_req, res, next) => {
    for (const name of removed) res.removeHeader(name);
    for (const [name, value] of set) res.setHeader(name, value);
    next();
  };
}
