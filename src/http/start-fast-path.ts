// The request-token fast path: a request listener in front of the Express app that takes an authenticated
// POST /api/request-token, reads and parses its body with the app's own body parser, and runs the steps
// request-token takes before the number's lock (the body, the language, the number, the options, and this
// instance's memory of a number over its send limit: VerifyService.admitStart). What refuses the request
// there is answered here, as the Express app answers it (fast-answer.ts); every other request goes on to
// Express with its body parsed, or the parser's error, and its admission made, so nothing runs twice.
//
// Why it exists: a flood of request-token for a number over its limit cost ~330 CPU µs per 429 through
// Express against ~165 µs for a bare Express 429 that reads nothing (docs/perf-profile.md, 2026-11-30);
// Express's router, its request and response prototypes and its middleware chain cost more than the
// refusal, and a limited number's refusal cannot skip reading the body: the number is in it.
//
// Taken only when nothing before the handler could answer otherwise: POST to exactly /api/request-token
// (no query, no other spelling), a valid key, `Content-Type: application/json` exactly, a Content-Length
// above zero and no Transfer-Encoding (so the handler's "a JSON body is required" check passes), no
// Idempotency-Key (its store answers replays first) and, when CORS is on, no Origin. Anything else goes
// to Express untouched. test/http/start-fast-path.test.ts sends the same requests both ways and compares.

import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { Logger } from '../logger';
import type { CallContext } from '../verification/types';
import type { AdmittedStart, VerifyService } from '../verification/verify-service';
import { callerOfRequest, type KeyCheck } from './auth';
import type { FastAnswers } from './fast-answer';
import { arrival, noteArrival, requestIdFor } from './request-log';
import { API_BASE, apiRouteLabel } from './routes';
import { type RequestTokenBody, requestTokenInput } from './schemas';

const PATH = `${API_BASE}/request-token`;
/** The metrics label Express gives request-token (api-routes.ts names it before the handler runs). */
const ROUTE = apiRouteLabel('/request-token') ?? PATH;
/** A Content-Length above zero, as node passes it on (digits only). */
const SOME_BODY = /^0*[1-9][0-9]*$/;

/** request-token's steps before the number's lock, done: its body and what admitStart returned. */
export interface Admission {
  body: RequestTokenBody;
  admitted: AdmittedStart;
}

const ADMITTED = Symbol('request-token admitted before Express');
const READ_FAILED = Symbol('the body parser failed before Express');
type ReadBefore = IncomingMessage & { [ADMITTED]?: Admission; [READ_FAILED]?: { error: unknown } };

/** request-token's steps before the number's lock: the body, then admitStart; throws what refuses it. */
export function admitRequestToken(service: VerifyService, input: unknown, ctx: CallContext): Admission {
  const body = requestTokenInput(input);
  return { body, admitted: service.admitStart(ctx, body) };
}

/** The admission the fast path made for this request, if it made one. */
export function admissionOf(req: IncomingMessage): Admission | undefined {
  return (req as ReadBefore)[ADMITTED];
}

/**
 * The app's body parser, except for a request whose body the fast path has already read: that one goes
 * on with the parser's error, if the parser failed, as the parser itself would have passed it on.
 */
export function unlessReadBefore(parse: RequestHandler): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const failed = (req as ReadBefore)[READ_FAILED];
    if (failed !== undefined) next(failed.error);
    else if ((req as ReadBefore)[ADMITTED] !== undefined) next();
    else void parse(req, res, next);
  };
}

/** The app's JSON body parser, on node's own request and response (it reads nothing Express adds). */
export type BodyParser = (req: IncomingMessage, res: ServerResponse, done: (error?: unknown) => void) => void;

export interface StartFastPathDeps {
  checkKey: KeyCheck;
  parseBody: BodyParser;
  service: VerifyService;
  /** CORS is on: a request with an Origin header gets CORS's headers, so it goes to Express. */
  cors: boolean;
  answers: FastAnswers;
  logger: Logger;
}

export class StartFastPath {
  /** How many refusals were answered here (tests check the path was taken). */
  answered = 0;
  /** How many requests were read here and handed on to Express. */
  handedOn = 0;

  constructor(private readonly deps: StartFastPathDeps) {}

  /** The listener: request-token refused before its lock answered here, everything else by `next`. */
  listener(next: RequestListener): RequestListener {
    return (req, res) => {
      const caller = this.callerOf(req);
      if (caller === undefined) next(req, res);
      else this.take(req, res, caller, next);
    };
  }

  /** The caller of a request this path takes (see the top of the file), else undefined. */
  private callerOf(req: IncomingMessage): string | undefined {
    if (req.method !== 'POST' || req.url !== PATH) return undefined;
    const headers = req.headers;
    if (headers['content-type'] !== 'application/json' || headers['transfer-encoding'] !== undefined) {
      return undefined;
    }
    const length = headers['content-length'];
    if (length === undefined || !SOME_BODY.test(length)) return undefined;
    if (headers['idempotency-key'] !== undefined) return undefined;
    if (this.deps.cors && headers.origin !== undefined) return undefined;
    return callerOfRequest(req, this.deps.checkKey);
  }

  private take(req: IncomingMessage, res: ServerResponse, caller: string, next: RequestListener): void {
    const at = arrival(requestIdFor(req.headers['x-request-id']));
    // On to Express, the body read: with the request id and start time taken here.
    const handOn = () => {
      noteArrival(req, at);
      this.handedOn += 1;
      next(req, res);
    };
    this.deps.parseBody(req, res, (error) => {
      if (error !== undefined && error !== null) {
        (req as ReadBefore)[READ_FAILED] = { error };
        handOn();
        return;
      }
      let admission: Admission;
      try {
        admission = admitRequestToken(
          this.deps.service,
          (req as { body?: unknown }).body,
          this.context(caller, at.id),
        );
      } catch (refusal) {
        if (this.deps.answers.problem(req, res, refusal, at, ROUTE)) this.answered += 1;
        return;
      }
      (req as ReadBefore)[ADMITTED] = admission;
      handOn();
    });
  }

  /** The caller's context for admitStart; its logger (made only if used) carries this request's id. */
  private context(caller: string, id: string): CallContext {
    const logger = this.deps.logger;
    return {
      caller,
      get log() {
        return logger.child({ reqId: id });
      },
    };
  }
}
