// The security headers of every answer: helmet's defaults, asked of helmet once at start-up and then set
// from that list. helmet's middleware rebuilds the same static headers on every request (a dozen
// function calls and closures), which under a flood of refusals is a visible share of their cost
// (docs/perf-profile.md); the list is helmet's own output, so the headers stay exactly helmet's.

import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet from 'helmet';

export interface HeaderChanges {
  /** Headers helmet sets, in its order. */
  set: Array<[name: string, value: string]>;
  /** Headers helmet removes (X-Powered-By). */
  removed: string[];
}

type Middleware = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

/**
 * What a synchronous middleware that only sets headers does to an answer's headers, found by running it
 * once on a stand-in request (`req`: its method, url and headers) and response.
 */
export function recordHeaderChanges(middleware: Middleware, req: Partial<IncomingMessage>): HeaderChanges {
  const changes: HeaderChanges = { set: [], removed: [] };
  const stand = {
    getHeader(name: string) {
      const lower = name.toLowerCase();
      return changes.set.find(([set]) => set.toLowerCase() === lower)?.[1];
    },
    setHeader(name: string, value: string | number | readonly string[]) {
      // As node keeps them: a header set again keeps its place.
      const lower = name.toLowerCase();
      const at = changes.set.findIndex(([set]) => set.toLowerCase() === lower);
      if (at === -1) changes.set.push([name, String(value)]);
      else changes.set[at] = [name, String(value)];
      return stand;
    },
    removeHeader(name: string) {
      changes.removed.push(name);
    },
  };
  let finished = false;
  middleware(req as IncomingMessage, stand as unknown as ServerResponse, (error?: unknown) => {
    finished = error === undefined;
  });
  // Anything asynchronous, failing or answering itself would make the list wrong.
  if (!finished)
    throw new Error('the middleware did not go on synchronously: its headers cannot be precomputed');
  return changes;
}

/** What helmet's default middleware does to an answer's headers, found by running it once on a stand-in. */
export function helmetHeaderChanges(): HeaderChanges {
  return recordHeaderChanges(helmet(), { method: 'GET', url: '/', headers: {} });
}

/** Sets helmet's default headers on an answer, from the list made once (run by createApp's first middleware). */
export function securityHeaders(): (res: ServerResponse) => void {
  const { set, removed } = helmetHeaderChanges();
  return (res) => {
    for (const name of removed) res.removeHeader(name);
    for (const [name, value] of set) res.setHeader(name, value);
  };
}
