// HTTP face of the Verify v2 simulator: Vonage's routes under /v2/verify (JWT or Basic auth, injected faults,
// problem+json errors), the silent-auth check_url redirect chain, and the /_simulator control API.

import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import type { Answer } from './engine';
import type { Problem } from './problems';
import { problems } from './problems';
import {
  CALLBACK_FAULT_MODES,
  type CallbackFault,
  V2_FAULT_MODES,
  V2_OPERATIONS,
  type V2CallbackRecord,
  type V2DeliveredMessage,
  type V2Fault,
  type V2FaultMode,
  type V2Operation,
  type V2RequestState,
} from './types';

export type AuthResult = { ok: true; basic: boolean } | { ok: false; problem: Problem };

/** What the routes need from the simulator. */
export interface V2Hooks {
  /** Runs what fell due, and consumes the fault that applies to this call, if any. */
  beginCall(operation: V2Operation): V2FaultMode | undefined;
  authenticate(authorization: string | undefined): AuthResult;
  start(body: unknown, basic: boolean): Answer;
  check(requestId: string, body: unknown): Answer;
  cancel(requestId: string): Answer;
  next(requestId: string): Answer;
  silentAuthCode(requestId: string): Answer;
  silentAuthRedirectUrl(requestId: string): string | undefined;
}

export interface V2Control {
  tick(): void;
  advance(ms: number): void;
  canAdvance(): boolean;
  now(): number;
  setFault(fault: V2Fault | null): void;
  setCallbackFault(fault: CallbackFault | null): void;
  messages(filter?: { to?: string; requestId?: string }): V2DeliveredMessage[];
  callbacks(filter?: { requestId?: string }): V2CallbackRecord[];
  requestState(requestId: string): V2RequestState | undefined;
  reset(): void;
}

/** Hops of the simulated carrier redirect chain before the final answer. */
const CARRIER_HOPS = 2;

export function createV2App(hooks: V2Hooks, control: V2Control): Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');
  const rawBody = express.text({ type: () => true, limit: '64kb' });

  const route =
    (operation: V2Operation, handle: (req: Request, basic: boolean) => Answer) =>
    (req: Request, res: Response, next: NextFunction) => {
      const mode = hooks.beginCall(operation);
      if (mode !== undefined && !(mode === 'replicationDelay' && operation !== 'next')) {
        return applyFault(mode, req, res);
      }
      const auth = hooks.authenticate(req.get('authorization'));
      if (!auth.ok) return sendAnswer(res, auth.problem);
      rawBody(req, res, (error?: unknown) => {
        if (error) return next(error);
        sendAnswer(res, handle(req, auth.basic));
      });
    };

  app.post(
    '/v2/verify',
    route('start', (req, basic) => hooks.start(parseJson(req.body), basic)),
  );
  app.post(
    '/v2/verify/:id',
    route('check', (req) => hooks.check(param(req), parseJson(req.body))),
  );
  app.delete(
    '/v2/verify/:id',
    route('cancel', (req) => hooks.cancel(param(req))),
  );
  app.post(
    '/v2/verify/:id/next_workflow',
    route('next', (req) => hooks.next(param(req))),
  );

  // The check_url is opened by the handset, which has no JWT: no authentication here.
  app.get('/v2/verify/:id/silent-auth/redirect', (req, res) => {
    const mode = hooks.beginCall('silentAuth');
    if (mode !== undefined && mode !== 'replicationDelay') return applyFault(mode, req, res);
    res.redirect(302, `/v2/verify/${encodeURIComponent(param(req))}/silent-auth/carrier/1`);
  });
  app.get('/v2/verify/:id/silent-auth/carrier/:hop', (req, res) => {
    const id = param(req);
    const hop = Number(req.params.hop);
    if (Number.isInteger(hop) && hop >= 1 && hop < CARRIER_HOPS) {
      return res.redirect(302, `/v2/verify/${encodeURIComponent(id)}/silent-auth/carrier/${hop + 1}`);
    }
    const answer = hooks.silentAuthCode(id);
    const redirectUrl = hooks.silentAuthRedirectUrl(id);
    if (redirectUrl === undefined) return sendAnswer(res, answer);
    // SPEC Redirect: request_id and code as a URL fragment; errors as #error_description=...
    const fragment =
      'body' in answer && answer.status === 200
        ? new URLSearchParams(answer.body as Record<string, string>).toString()
        : new URLSearchParams({
            error_description: ('body' in answer && (answer.body as { detail?: string }).detail) || 'failed',
          }).toString();
    res.redirect(302, `${redirectUrl}#${fragment}`);
  });

  app.use('/_simulator', controlRouter(control));

  app.use((_req: Request, res: Response) => {
    sendAnswer(res, problems.routeNotFound());
  });
  app.use((_error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    sendAnswer(res, problems.internal());
  });
  return app;
}

function param(req: Request): string {
  const id = req.params.id;
  return typeof id === 'string' ? id : '';
}

function parseJson(raw: unknown): unknown {
  if (typeof raw !== 'string' || raw === '') return undefined;
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

function sendAnswer(res: Response, answer: Answer): void {
  if (answer.body === undefined) {
    res.status(answer.status).end();
    return;
  }
  const payload = Buffer.from(JSON.stringify(answer.body));
  const headers: Record<string, string | number> = {
    'Content-Type': answer.status >= 400 ? 'application/problem+json' : 'application/json',
    'Content-Length': payload.length,
    ...('headers' in answer ? answer.headers : {}),
  };
  res.writeHead(answer.status, headers);
  res.end(payload);
}

const FAULT_PROBLEMS: Partial<Record<V2FaultMode, () => Problem>> = {
  http500: problems.internal,
  http401: problems.unauthorized,
  http402: problems.lowBalance,
  http429: () => problems.throttled(true),
  http429NoRetryAfter: () => problems.throttled(false),
  replicationDelay: problems.replicationDelay,
};

function applyFault(mode: V2FaultMode, req: Request, res: Response): void {
  const problem = FAULT_PROBLEMS[mode];
  if (problem) {
    sendAnswer(res, problem());
    return;
  }
  const raw = (contentType: string, text: string) => {
    const payload = Buffer.from(text);
    res.writeHead(200, { 'Content-Type': contentType, 'Content-Length': payload.length });
    res.end(payload);
  };
  // A content-length is what makes the SDK throw on a truncated body instead of returning {}.
  if (mode === 'badJson') raw('application/json', '{"request_id":');
  else if (mode === 'notJson') raw('text/plain', 'OK');
  else if (mode === 'reset') req.socket.destroy();
  // 'hang': never answer; close() destroys the socket.
}

// --- control API -----------------------------------------------------------------------------------

const faultSchema = z.strictObject({
  mode: z.enum(V2_FAULT_MODES),
  operations: z.array(z.enum(V2_OPERATIONS)).optional(),
  times: z.number().int().positive().optional(),
});
const callbackFaultSchema = z.strictObject({
  mode: z.enum(CALLBACK_FAULT_MODES),
  times: z.number().int().positive().optional(),
});
const advanceSchema = z.strictObject({ ms: z.number().finite().nonnegative() });

function json(res: Response, status: number, body: object): void {
  res.status(status).json(body);
}

function controlRouter(sim: V2Control): express.Router {
  const router = express.Router();
  router.use(express.json());
  router.use((_req, _res, next) => {
    sim.tick();
    next();
  });
  const query = (req: Request, name: string) => {
    const value = req.query[name];
    return typeof value === 'string' && value !== '' ? value : undefined;
  };
  router.get('/messages', (req, res) => {
    json(res, 200, { messages: sim.messages({ to: query(req, 'to'), requestId: query(req, 'requestId') }) });
  });
  router.get('/callbacks', (req, res) => {
    json(res, 200, { callbacks: sim.callbacks({ requestId: query(req, 'requestId') }) });
  });
  router.get('/requests/:id', (req, res) => {
    const state = sim.requestState(req.params.id);
    if (!state) return json(res, 404, { error: 'not_found' });
    json(res, 200, state);
  });
  router.post('/clock/advance', (req, res) => {
    const parsed = advanceSchema.safeParse(req.body);
    if (!parsed.success) return json(res, 400, { error: 'invalid_body', issues: parsed.error.issues });
    if (!sim.canAdvance()) return json(res, 400, { error: 'clock_not_virtual' });
    sim.advance(parsed.data.ms);
    json(res, 200, { now: sim.now(), at: new Date(sim.now()).toISOString() });
  });
  router.put('/fault', (req, res) => {
    const parsed = faultSchema.safeParse(req.body);
    if (!parsed.success) return json(res, 400, { error: 'invalid_body', issues: parsed.error.issues });
    sim.setFault(parsed.data);
    json(res, 200, { fault: parsed.data });
  });
  router.delete('/fault', (_req, res) => {
    sim.setFault(null);
    res.status(204).end();
  });
  router.put('/callback-fault', (req, res) => {
    const parsed = callbackFaultSchema.safeParse(req.body);
    if (!parsed.success) return json(res, 400, { error: 'invalid_body', issues: parsed.error.issues });
    sim.setCallbackFault(parsed.data);
    json(res, 200, { fault: parsed.data });
  });
  router.delete('/callback-fault', (_req, res) => {
    sim.setCallbackFault(null);
    res.status(204).end();
  });
  router.post('/reset', (_req, res) => {
    sim.reset();
    res.status(204).end();
  });
  return router;
}
