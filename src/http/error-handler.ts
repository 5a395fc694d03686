// Turns every error into an application/problem+json answer (RFC 9457) and logs it exactly once.
// Nothing internal reaches the caller: unknown errors become a plain 500.

import type { ErrorRequestHandler, Response } from 'express';
import { ApiError, errors, problemBody } from '../errors';
import type { Logger } from '../logger';
import { jsonErrorPosition } from './json-position';
import { requestLogsAt } from './request-log';

/** What is wrong with a body that body-parser could not parse, with where (never quoting the body). */
function jsonSyntaxProblem(error: unknown): ApiError {
  const body = (error as { body?: unknown }).body;
  const where = typeof body === 'string' ? jsonErrorPosition(body) : undefined;
  if (!where) {
    // Valid JSON that express.json's strict mode refuses: a bare string, number or literal.
    const message = typeof body === 'string' ? 'the body must be a JSON object' : 'body is not valid JSON';
    return errors.validationFailed([{ path: '', message }], 'The body is not a JSON object.');
  }
  const what =
    where.found === undefined ? 'the body ends too early' : `unexpected ${JSON.stringify(where.found)}`;
  const at = `at line ${where.line}, column ${where.column} (position ${where.position})`;
  return errors.validationFailed(
    [{ path: '', message: `body is not valid JSON: ${what} ${at}` }],
    `The body is not valid JSON: ${what} ${at}.`,
  );
}

/** Errors thrown by body-parser (and the router) carry an HTTP status, and mostly a `type`. */
function fromBodyParser(error: unknown): ApiError | undefined {
  const type = (error as { type?: unknown } | undefined)?.type;
  if (type === 'entity.too.large') return errors.payloadTooLarge();
  if (type === 'entity.parse.failed') return jsonSyntaxProblem(error);
  if (typeof type === 'string' && /^(encoding|charset)\./.test(type)) {
    return errors.validationFailed([{ path: '', message: 'unsupported body encoding or charset' }]);
  }
  if (type === 'request.aborted' || type === 'request.size.invalid' || type === 'stream.encoding.set') {
    return errors.validationFailed([{ path: '', message: 'the body could not be read' }]);
  }
  // Other client errors the libraries flag with a 4xx status and no type: a body that does not inflate
  // (Content-Encoding: gzip over garbage), a path with a malformed %-escape (the router's URIError).
  const status = (error as { status?: unknown } | undefined)?.status;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return errors.validationFailed([{ path: '', message: 'the request could not be read' }]);
  }
  return undefined;
}

/** The answer to an ApiError: its status, the headers it adds (in order) and its problem+json body. */
export interface ProblemAnswer {
  status: number;
  headers: Array<[name: string, value: string]>;
  body: string;
}

/**
 * What answers `error`, with the headers Express's res.type(...).send(string) would set (Content-Type
 * with charset=utf-8, Content-Length) and Retry-After when it says when to try again. Pure: the Express
 * error handler and the refusal fast path both write this.
 */
export function problemAnswer(error: ApiError): ProblemAnswer {
  const { retryAfterSeconds } = error.extensions;
  const body = JSON.stringify(problemBody(error));
  const headers: ProblemAnswer['headers'] = [];
  if (retryAfterSeconds !== undefined) headers.push(['Retry-After', String(retryAfterSeconds)]);
  headers.push(['Content-Type', 'application/problem+json; charset=utf-8']);
  headers.push(['Content-Length', String(Buffer.byteLength(body))]);
  return { status: error.status, headers, body };
}

/**
 * Writes the problem answer itself (no body for HEAD): problems come in floods, and send() spends more
 * on negotiating than this answer needs.
 */
export function sendProblem(res: Response, error: ApiError): void {
  const answer = problemAnswer(error);
  res.statusCode = answer.status;
  for (const [name, value] of answer.headers) res.setHeader(name, value);
  if (res.req.method === 'HEAD') res.end();
  else res.end(answer.body);
}

/** Any error as the ApiError that answers it: itself, a body-parser failure, or a plain 500. */
export function toApiError(error: unknown): ApiError {
  return error instanceof ApiError ? error : (fromBodyParser(error) ?? errors.internal());
}

/** Where a request's problem line goes: its `req.log`, made only when a line is written. */
export interface ProblemLog {
  logger(): Logger | undefined;
  debug: boolean;
}

/**
 * The one line a problem adds to the request's completion line: an error line for a 5xx (with what
 * caused it), a debug line for the rest when debug lines are written.
 */
export function logProblem(error: unknown, apiError: ApiError, log: ProblemLog): void {
  if (apiError.status >= 500) {
    const cause = error instanceof ApiError ? error.cause : error;
    log.logger()?.error({ err: cause ?? error, problem: apiError.code }, apiError.title);
  } else if (log.debug) {
    // The request's own completion line already records the status at info; refusals come in floods,
    // so their logger is not even made unless debug lines are written.
    log.logger()?.debug({ problem: apiError.code, status: apiError.status }, apiError.title);
  }
}

export function createErrorHandler(onProblem?: (error: ApiError) => void): ErrorRequestHandler {
  return (error: unknown, req, res, next) => {
    if (res.headersSent) {
      next(error);
      return;
    }
    const apiError = toApiError(error);
    onProblem?.(apiError);
    logProblem(error, apiError, { logger: () => req.log, debug: requestLogsAt(req, 'debug') });
    sendProblem(res, apiError);
  };
}
