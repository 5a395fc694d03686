// The API's exact POSTs without Express's router: POST /api/request-token, /verify-token, /cancel and
// /next-event, named exactly (no query string, no other spelling), run the same middleware the app runs
// for them, in the same order, on the same request and response objects, and nothing else. What the
// app's router would add is only the matching: trying each app-level layer's path on the request,
// trimming and restoring the mount path around the /api chain. For the complete flows that was ~60 µs
// of CPU per flow in the router's own code, more with the garbage its per-request closures leave: over
// six back-to-back pairs of the flows benchmark the service/peer CPU per flow went from 0.96-1.15×
// (mean 1.07×) to 0.90-1.04× (mean 0.97×), every pair lower (docs/perf-profile.md, 2026-11-30).
//
// What it does is what Express's app.handle does before its router (request and response know each
// other, Express's prototypes, res.locals), then what the router does for a mounted layer (originalUrl,
// baseUrl, url relative to /api), then the handlers of the app's chain for the path (exact-routes.ts's
// runHandlers: next() goes on, next(error), a throw or a rejection go to the error handler); an error
// the error handler passes on (an answer already started) closes the connection, as Express's final
// handler does. Every other request goes to the Express app. test/http/exact-dispatch.test.ts sends the
// same requests both ways and compares status, headers in order, body, metrics and log lines.

import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { ErrorRequestHandler, Express, Request, RequestHandler, Response } from 'express';
import { errors } from '../errors';
import { runHandlers } from './exact-routes';
import { API_BASE, API_ROUTES } from './routes';

/** What the app runs for an /api request, in order (app-level layers, then the /api chain), and its error handler. */
export interface ApiChain {
  handlers: readonly RequestHandler[];
  onError: ErrorRequestHandler;
}

/** The exact URLs of the table's POST routes under /api. */
const EXACT_POSTS = new Set<string>(
  API_ROUTES.filter((route) => route.method === 'post').map((route) => `${API_BASE}${route.path}`),
);

export class ExactDispatch {
  /** How many requests were run here (tests check the path was taken). */
  dispatched = 0;

  constructor(
    private readonly app: Express,
    private readonly chain: ApiChain,
  ) {}

  /** The listener: the exact POSTs run here, everything else by the app. */
  listener(): RequestListener {
    return (req, res) => {
      if (req.method === 'POST' && EXACT_POSTS.has(req.url ?? '')) this.run(req, res);
      else this.app(req, res);
    };
  }

  private run(incoming: IncomingMessage, outgoing: ServerResponse): void {
    const { app } = this;
    const req = incoming as Request;
    const res = outgoing as Response;
    // As app.handle: each knows the other, Express's request and response methods, res.locals.
    req.res = res;
    res.req = req;
    Object.setPrototypeOf(req, app.request);
    Object.setPrototypeOf(res, app.response);
    if (!res.locals) res.locals = Object.create(null);
    // As the router for the layers mounted at /api: the URL as given, the mount path, the rest.
    const url = req.url;
    req.originalUrl = url;
    req.baseUrl = API_BASE;
    req.url = url.slice(API_BASE.length);
    this.dispatched += 1;
    runHandlers(this.chain.handlers, req, res, (error?: unknown) => {
      // The chain's last handler answers every exact route; passing on is the router's 404.
      this.chain.onError(error ?? errors.routeNotFound(), req, res, () => {
        // As Express's final handler for an error once the answer has started: the connection is closed.
        res.destroy();
      });
    });
  }
}
