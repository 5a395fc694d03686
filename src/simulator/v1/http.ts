// HTTP face of the Verify v1 simulator: the Vonage routes (parameters from JSON, form or query; Basic or
// api_key/api_secret credentials; injected faults) and the /_simulator control API for other processes.

import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import { z } from 'zod';
import type { Clock } from '../../clock';
import { looseText, type Params } from './params';
import { FORCEABLE } from './texts';
import {
  AFTER_WORK_MODES,
  type DeliveredMessage,
  FAULT_MODES,
  type Fault,
  type FaultMode,
  isAdvanceable,
  type RequestState,
  SIM_OPERATIONS,
  type SimOperation,
  type SimulatorStats,
  type VonageBody,
} from './types';

export interface Credentials {
  apiKey?: string;
  apiSecret?: string;
}

export interface VonageCall {
  operation: SimOperation;
  psd2: boolean;
  params: Params;
  credentials: Credentials;
}

/** The simulator internals the Vonage routes need; not part of the public class API. */
export interface VonageHooks {
  /** Processes due events, counts the call, and consumes the fault that applies to it, if any. */
  beginCall(operation: SimOperation): { mode: FaultMode; afterWork: boolean } | undefined;
  answer(call: VonageCall): VonageBody;
}

/** The public simulator API the control routes use. */
export interface SimulatorControl {
  readonly clock: Clock;
  readonly stats: SimulatorStats;
  tick(): void;
  advance(ms: number): void;
  setFault(fault: Fault | null): void;
  forceStatus(operation: SimOperation, status: string, times?: number, errorText?: string): void;
  messages(filter?: { number?: string; requestId?: string }): DeliveredMessage[];
  currentCode(requestId: string): string | undefined;
  requestState(requestId: string): RequestState | undefined;
  reset(): void;
}

export function createSimulatorApp(sim: SimulatorControl, hooks: VonageHooks): Express {
  const app = express();
  app.disable('x-powered-by');
  app.disable('etag');

  // The SDK sends JSON; curl and older clients send forms or query strings. Read the raw text and decide
  // here, so a body that does not parse just lacks parameters instead of failing before Vonage logic.
  const rawBody = express.text({ type: () => true, limit: '64kb' });

  const vonageRoute = (operation: SimOperation, psd2 = false) => [
    (req: Request, res: Response, next: NextFunction) => {
      const fault = hooks.beginCall(operation);
      if (fault === undefined) return next();
      if (fault.mode === 'noContentType') {
        res.locals.noContentType = true;
        return next();
      }
      if (fault.afterWork) {
        // Vonage does the work; only the answer is lost on the way back.
        res.locals.lostAnswer = fault.mode;
        return next();
      }
      applyFault(fault.mode, req, res);
    },
    rawBody,
    (req: Request, res: Response) => {
      const params = collectParams(req);
      const body = hooks.answer({ operation, psd2, params, credentials: readCredentials(req, params) });
      const lost = res.locals.lostAnswer as Exclude<FaultMode, 'noContentType'> | undefined;
      if (lost) return applyFault(lost, req, res);
      sendJson(res, 200, body, res.locals.noContentType !== true);
    },
  ];

  app.route('/verify/json').get(vonageRoute('start')).post(vonageRoute('start'));
  app.route('/verify/psd2/json').get(vonageRoute('start', true)).post(vonageRoute('start', true));
  app.route('/verify/check/json').get(vonageRoute('check')).post(vonageRoute('check'));
  app.route('/verify/control/json').get(vonageRoute('control')).post(vonageRoute('control'));
  app.route('/verify/search/json').get(vonageRoute('search')).post(vonageRoute('search'));

  app.use('/_simulator', controlRouter(sim));

  app.use((_req: Request, res: Response) => {
    sendJson(res, 404, { error: 'not_found' });
  });
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    const status = httpStatusOf(error);
    const code = status === 413 ? 'payload_too_large' : status === 500 ? 'internal_error' : 'bad_request';
    sendJson(res, status, { error: code });
  });
  return app;
}

// --- control API -----------------------------------------------------------------------------------

const faultSchema = z
  .strictObject({
    mode: z.enum(FAULT_MODES),
    operations: z.array(z.enum(SIM_OPERATIONS)).optional(),
    times: z.number().int().positive().optional(),
    afterWork: z.boolean().optional(),
  })
  .refine((fault) => !fault.afterWork || AFTER_WORK_MODES.includes(fault.mode), {
    message: `afterWork applies to the ${AFTER_WORK_MODES.join(', ')} modes only`,
    path: ['afterWork'],
  });

const forceSchema = z.strictObject({
  operation: z.enum(SIM_OPERATIONS),
  status: z.union([z.string(), z.number().int().transform(String)]),
  times: z.number().int().positive().optional(),
  errorText: z.string().optional(),
});

const advanceSchema = z.strictObject({ ms: z.number().finite().nonnegative() });

function controlRouter(sim: SimulatorControl): express.Router {
  const router = express.Router();
  router.use(express.json());
  router.use((_req, _res, next) => {
    sim.tick();
    next();
  });

  router.get('/messages', (req, res) => {
    const number = queryText(req, 'number');
    const requestId = queryText(req, 'requestId');
    sendJson(res, 200, { messages: sim.messages({ number, requestId }) });
  });

  router.get('/requests/:id', (req, res) => {
    const state = sim.requestState(req.params.id);
    if (!state) return sendJson(res, 404, { error: 'not_found' });
    sendJson(res, 200, { requestId: req.params.id, ...state, code: sim.currentCode(req.params.id) });
  });

  router.post('/clock/advance', (req, res) => {
    const parsed = advanceSchema.safeParse(req.body);
    if (!parsed.success) return sendJson(res, 400, { error: 'invalid_body', issues: parsed.error.issues });
    if (!isAdvanceable(sim.clock)) {
      return sendJson(res, 400, {
        error: 'clock_not_virtual',
        detail: 'the simulator runs on the real clock',
      });
    }
    sim.advance(parsed.data.ms);
    const now = sim.clock.now();
    sendJson(res, 200, { now, at: new Date(now).toISOString() });
  });

  router.put('/fault', (req, res) => {
    const parsed = faultSchema.safeParse(req.body);
    if (!parsed.success) return sendJson(res, 400, { error: 'invalid_body', issues: parsed.error.issues });
    sim.setFault(parsed.data);
    sendJson(res, 200, { fault: parsed.data });
  });

  router.delete('/fault', (_req, res) => {
    sim.setFault(null);
    res.status(204).end();
  });

  router.post('/force-status', (req, res) => {
    const parsed = forceSchema.safeParse(req.body);
    if (!parsed.success) return sendJson(res, 400, { error: 'invalid_body', issues: parsed.error.issues });
    const { operation, status, times, errorText } = parsed.data;
    if (!FORCEABLE[operation].has(status)) {
      return sendJson(res, 400, { error: 'invalid_status', allowed: [...FORCEABLE[operation]] });
    }
    sim.forceStatus(operation, status, times, errorText);
    sendJson(res, 200, { operation, status, times: times ?? 1 });
  });

  router.get('/stats', (_req, res) => {
    sendJson(res, 200, sim.stats);
  });

  router.post('/reset', (_req, res) => {
    sim.reset();
    res.status(204).end();
  });

  return router;
}

// --- helpers ---------------------------------------------------------------------------------------

function collectParams(req: Request): Params {
  // Null prototype: keys come from the client, "__proto__" included.
  const params = Object.create(null) as Params;
  const url = new URL(req.originalUrl, 'http://simulator.invalid');
  for (const [key, value] of url.searchParams) {
    if (!(key in params)) params[key] = value;
  }
  const raw: unknown = req.body;
  if (typeof raw !== 'string' || raw === '') return params;
  if (req.is('application/json')) {
    const parsed = parseJson(raw);
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) {
      for (const [key, value] of Object.entries(parsed)) params[key] = value;
    }
  } else if (req.is('application/x-www-form-urlencoded')) {
    for (const [key, value] of new URLSearchParams(raw)) params[key] = value;
  }
  return params;
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

/** SDK 3.30.1 sends Basic auth only; curl and older SDKs put api_key/api_secret in the parameters. */
function readCredentials(req: Request, params: Params): Credentials {
  const match = /^Basic\s+(\S+)\s*$/i.exec(req.get('authorization') ?? '');
  if (match?.[1] !== undefined) {
    const decoded = Buffer.from(match[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const apiKey = colon < 0 ? decoded : decoded.slice(0, colon);
    const apiSecret = colon < 0 ? '' : decoded.slice(colon + 1);
    return { apiKey: apiKey || undefined, apiSecret: apiSecret || undefined };
  }
  return { apiKey: looseText(params, 'api_key'), apiSecret: looseText(params, 'api_secret') };
}

function queryText(req: Request, name: string): string | undefined {
  const value = new URL(req.originalUrl, 'http://simulator.invalid').searchParams.get(name);
  return value === null || value === '' ? undefined : value;
}

/** Written by hand so the noContentType fault can leave Content-Type out entirely. */
function sendJson(res: Response, status: number, body: object, withContentType = true): void {
  const payload = Buffer.from(JSON.stringify(body));
  const headers: Record<string, string | number> = { 'Content-Length': payload.length };
  if (withContentType) headers['Content-Type'] = 'application/json';
  res.writeHead(status, headers);
  res.end(payload);
}

const FAULT_BODIES = {
  http500: {
    status: 500,
    body: { type: 'https://developer.vonage.com/api-errors#internal-error', title: 'Internal Server Error' },
  },
  http401: {
    status: 401,
    body: {
      type: 'https://developer.vonage.com/api-errors#unauthorized',
      title: 'Unauthorized',
      detail: 'You did not provide correct credentials.',
    },
  },
  http429: {
    status: 429,
    body: {
      type: 'https://developer.vonage.com/api-errors#throttled',
      title: 'Too Many Requests',
      detail: 'Please wait, then retry your request',
    },
  },
} as const;

function applyFault(mode: Exclude<FaultMode, 'noContentType'>, req: Request, res: Response): void {
  switch (mode) {
    case 'http500':
    case 'http401':
    case 'http429': {
      const { status, body } = FAULT_BODIES[mode];
      if (mode === 'http429') res.setHeader('Retry-After', '1');
      sendJson(res, status, body);
      return;
    }
    case 'hang':
      // Never answer; close() destroys the socket.
      return;
    case 'badJson': {
      // A content-length is what makes the SDK throw "Failed to decode response body" instead of returning {}.
      const payload = Buffer.from('{"status":"0","request_id":');
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': payload.length });
      res.end(payload);
      return;
    }
    case 'reset':
      req.socket.destroy();
      return;
  }
}

function httpStatusOf(error: unknown): number {
  if (error !== null && typeof error === 'object') {
    const status = (error as { status?: unknown }).status;
    if (typeof status === 'number' && status >= 400 && status < 500) return status;
  }
  return 500;
}
