// Request logging at the cost of one listener per request: an id (X-Request-Id, given or made), one
// completion line per request, and `req.log`, a child logger carrying the id that is made only when
// something logs through it. The lines are those pino-http wrote (same keys, messages and levels);
// pino-http built two child loggers and three listeners per request, which under a flood of refusals
// cost more than answering them (docs/perf-profile.md).

import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Express, Request, Response } from 'express';
import { type Logger, unredacted } from '../logger';
import type { RefusalLog } from './refusal-log';

declare module 'http' {
  interface IncomingMessage {
    /** The request's id: X-Request-Id when given in a safe form, else a fresh UUID. */
    id: string;
    /** A logger whose lines carry `reqId` (made on first use). */
    log: Logger;
  }
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;
const CHILD = Symbol('request logger');
const BASE = Symbol('base logger');
const STARTED = Symbol('started at');
const ARRIVAL = Symbol('taken up before Express');

type LoggedRequest = Request & { [CHILD]?: Logger; [BASE]?: Logger };
type ArrivedRequest = IncomingMessage & { [ARRIVAL]?: Arrival };
type TimedResponse = Response & { [STARTED]?: number; err?: unknown };

/** Gives every request of `app` a lazy `req.log`: `logger.child({ reqId })`, made the first time it is read. */
function installLazyLog(app: Express, logger: Logger): void {
  Object.defineProperty(app.request, BASE, { value: logger });
  Object.defineProperty(app.request, 'log', {
    configurable: true,
    get(this: LoggedRequest): Logger {
      let child = this[CHILD];
      if (child === undefined) {
        child = logger.child({ reqId: this.id });
        this[CHILD] = child;
      }
      return child;
    },
    set(this: LoggedRequest, value: Logger) {
      this[CHILD] = value;
    },
  });
}

/** Whether a line at `level` would be written for this request, without making its logger. */
export function requestLogsAt(req: Request, level: string): boolean {
  const base = (req as LoggedRequest)[BASE];
  return base?.isLevelEnabled(level) === true;
}

/** The id of a request: its X-Request-Id when given in a safe form, else a fresh UUID. */
export function requestIdFor(given: string | string[] | undefined): string {
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

/** When and as what a request was taken up. */
export interface Arrival {
  /** Its request id (requestIdFor). */
  id: string;
  /** Date.now() when it was taken up, for the completion line. */
  startedAt: number;
  /** performance.now() then, for the duration metric. */
  started: number;
}

export function arrival(id: string): Arrival {
  return { id, startedAt: Date.now(), started: performance.now() };
}

/**
 * Notes that a listener in front of Express took the request up (and read its body) before handing it
 * on: Express's request log and metrics then count from then, with the same request id.
 */
export function noteArrival(req: IncomingMessage, at: Arrival): void {
  (req as ArrivedRequest)[ARRIVAL] = at;
}

/** When a listener in front of Express took the request up, if one did (noteArrival). */
export function arrivalOf(req: IncomingMessage): Arrival | undefined {
  return (req as ArrivedRequest)[ARRIVAL];
}

/** What the completion line of a request says. */
export interface Completion {
  id: string;
  method: string | undefined;
  /** The request's URL as it came (req.originalUrl); its query string is not logged. */
  url: string;
  statusCode: number;
  /** When the request was taken up (Date.now()). */
  startedAt: number;
  /** Why the response failed, if it did. */
  err?: unknown;
}

/**
 * Writes the completion line: info, or error with `err` for a 5xx (or a response that failed). Refusals
 * (401, 429) in a flood are folded by `refusals` into a count on a later line (refusal-log.ts). The
 * Express path and the refusal fast path both write their lines here.
 */
export function writeCompletion(logger: Logger, refusals: RefusalLog, done: Completion): void {
  const folded = done.err === undefined ? refusals.admit(done.statusCode) : 0;
  if (folded === undefined) return;
  const url = done.url;
  const query = url.indexOf('?');
  // Built field by field, `folded` last when there is one: a conditional spread copies the object on
  // V8's slow path, on every line.
  const fields: CompletionFields = {
    reqId: done.id,
    // The query string is dropped: /sandbox/messages?phoneNumber=... would put a number in the log.
    req: { id: done.id, method: done.method, url: query === -1 ? url : url.slice(0, query) },
    res: { statusCode: done.statusCode },
    responseTime: Date.now() - done.startedAt,
  };
  if (folded > 0) fields.folded = folded;
  // None of these fields is a redacted path (err is safeError's type, message, errno and stack).
  const lines = unredacted(logger);
  if (done.err !== undefined || done.statusCode >= 500) {
    const err = done.err ?? new Error(`failed with status code ${done.statusCode}`);
    lines.error({ ...fields, err }, 'request errored');
    return;
  }
  lines.info(fields, 'request completed');
}

/** The fields of a completion line, in their order. */
interface CompletionFields {
  reqId: string;
  req: { id: string; method: string | undefined; url: string };
  res: { statusCode: number };
  responseTime: number;
  folded?: number;
}

function logCompletion(logger: Logger, refusals: RefusalLog, res: TimedResponse): void {
  const req = res.req;
  const done: Completion = {
    id: req.id,
    method: req.method,
    url: req.originalUrl,
    statusCode: res.statusCode,
    startedAt: res[STARTED] ?? Date.now(),
  };
  if (res.err !== undefined) done.err = res.err;
  writeCompletion(logger, refusals, done);
}

/**
 * The start of request logging for `app` (installs the lazy `req.log` on it): gives the request its id
 * and X-Request-Id, and writes its completion line when it closes. Run by createApp's first middleware.
 */
export function requestLogger(
  app: Express,
  logger: Logger,
  refusals: RefusalLog,
): (req: Request, res: Response) => void {
  installLazyLog(app, logger);
  // One function for every request: `this` is the response that closed.
  function onClose(this: TimedResponse): void {
    logCompletion(logger, refusals, this);
  }
  return (req: Request, res: Response) => {
    const before = arrivalOf(req);
    const id = before?.id ?? requestIdFor(req.headers['x-request-id']);
    res.setHeader('X-Request-Id', id);
    req.id = id;
    (res as TimedResponse)[STARTED] = before?.startedAt ?? Date.now();
    res.on('close', onClose);
  };
}
