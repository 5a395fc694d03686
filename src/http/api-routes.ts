// The /api handlers, one per route of the table in routes.ts: validate with the zod schemas, call the
// service as the authenticated caller, answer.

import { type Request, type RequestHandler, type Response, Router } from 'express';
import { errors } from '../errors';
import type { CallContext, VerificationRef } from '../verification/types';
import type { VerifyService } from '../verification/verify-service';
import { callerOf } from './auth';
import { ExactRoutes, runHandlers } from './exact-routes';
import { API_ROUTES, type ApiOperationId, apiRouteLabel } from './routes';
import {
  cancelBody,
  commonVerifyTokenBody,
  nextEventBody,
  parseInput,
  requestIdParams,
  verifyTokenBody,
} from './schemas';
import { admissionOf, admitRequestToken } from './start-fast-path';

function context(req: Request, res: Response): CallContext {
  const caller = callerOf(res);
  if (caller === undefined) throw errors.unauthorized();
  // req.log is made on first use (a child logger per request is a visible cost of a flood of refusals).
  return {
    caller,
    get log() {
      return req.log;
    },
  };
}

function refOf(body: {
  requestId?: string | undefined;
  phoneNumber?: string | undefined;
  country?: string | undefined;
}): VerificationRef {
  if (body.requestId !== undefined) return { requestId: body.requestId };
  return { phoneNumber: body.phoneNumber ?? '', ...(body.country ? { country: body.country } : {}) };
}

/** POST bodies must be JSON; anything else is a clear 400 rather than a confusing "required" list. */
function requireJson(req: Request): void {
  // No body at all (curl -X POST without -d, or Content-Length: 0) says so, whatever the Content-Type.
  const length = req.headers['content-length'];
  if (req.headers['transfer-encoding'] === undefined && (length === undefined || Number(length) === 0)) {
    throw errors.validationFailed(
      [{ path: '', message: 'a JSON body is required' }],
      'A JSON body is required; send it with Content-Type: application/json.',
    );
  }
  // The usual header is compared as it is; any other is parsed (parameters, case, +json suffixes).
  if (req.headers['content-type'] !== 'application/json' && !req.is('application/json')) {
    throw errors.validationFailed(
      [{ path: '', message: 'Content-Type must be application/json' }],
      'Send the body as JSON with Content-Type: application/json.',
    );
  }
}

type Handler = (service: VerifyService, req: Request, res: Response) => Promise<void>;

/** What each route of the table does: validate, call the service as the caller, answer. */
const HANDLERS: Record<ApiOperationId, Handler> = {
  // Not async: whatever is refused before the number's lock (the body, the number, the options, a number
  // this instance remembers over its limit) is thrown synchronously and answered without a promise.
  requestToken: (service, req, res) => {
    requireJson(req);
    const ctx = context(req, res);
    // Admitted already when the request-token fast path read the body before Express (start-fast-path.ts).
    const { body, admitted } = admissionOf(req) ?? admitRequestToken(service, req.body, ctx);
    return service.requestToken(ctx, body, admitted).then((started) => {
      res.status(201).json(started);
    });
  },
  verifyToken: async (service, req, res) => {
    requireJson(req);
    const body = commonVerifyTokenBody(req.body) ?? parseInput(verifyTokenBody, req.body);
    const verified = await service.verifyToken(context(req, res), refOf(body), body.code);
    res.json({ verified: true, requestId: verified.requestId, phoneNumber: verified.phoneNumber });
  },
  cancelVerification: async (service, req, res) => {
    requireJson(req);
    const body = parseInput(cancelBody, req.body);
    res.json(await service.cancel(context(req, res), refOf(body)));
  },
  triggerNextEvent: async (service, req, res) => {
    requireJson(req);
    const body = parseInput(nextEventBody, req.body);
    res.json(await service.nextEvent(context(req, res), refOf(body)));
  },
  getVerification: async (service, req, res) => {
    const { requestId } = parseInput(requestIdParams, { requestId: req.params.requestId });
    res.json(await service.status(context(req, res), requestId));
  },
};

/**
 * The /api router: one handler per route of the table; every POST route runs `idempotent` first (the
 * Idempotency-Key handling of idempotency.ts), after the route is named so replays are counted under it.
 * A request that names a route exactly (POST /request-token) skips the Router's matching (exact-routes.ts).
 */
export function createApiRouter(service: VerifyService, idempotent: RequestHandler): RequestHandler {
  const router = Router();
  const exact = new ExactRoutes();
  for (const route of API_ROUTES) {
    const handler = HANDLERS[route.operationId];
    const run: RequestHandler = (req, res) => handler(service, req, res);
    if (route.method === 'post') {
      router.post(route.path, idempotent, run);
      exact.add(route.method, route.path, [idempotent, run]);
    } else router.get(route.path, run);
  }
  return (req, res, next) => {
    // Names the route for metrics before the handler runs: once an error leaves the router, Express
    // no longer says which route it came from.
    const path = req.path;
    const label = apiRouteLabel(path);
    if (label !== undefined) res.locals.route = label;
    const handlers = exact.find(req.method, path);
    if (handlers !== undefined) runHandlers(handlers, req, res, next);
    else router(req, res, next);
  };
}
