// How a listener in front of Express answers a problem as the Express app would: the status, the headers
// in Express's order (X-Request-Id, then the middleware's fixed headers, then the problem's own), the
// problem+json body, the HTTP metric under the route Express would name, the problem's log line and the
// completion line (folded by the RefusalLog in floods). The refusal fast path (refusal-fast-path.ts)
// and the request-token fast path (start-fast-path.ts) both answer through it.

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiError } from '../errors';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import { logProblem, problemAnswer, toApiError } from './error-handler';
import type { RefusalLog } from './refusal-log';
import { type Arrival, writeCompletion } from './request-log';

export interface FastAnswerDeps {
  /** The headers the Express middleware sets on every /api answer after X-Request-Id, in its order. */
  headers: ReadonlyArray<readonly [name: string, value: string]>;
  metrics: Metrics;
  logger: Logger;
  refusals: RefusalLog;
  /** What the Express error handler is told of every problem (the store-error metric). */
  onProblem?: (error: ApiError) => void;
}

export class FastAnswers {
  /** X-Request-Id's slot first, then the fixed headers: a copy per answer, flat as writeHead takes them. */
  private readonly template: string[];

  constructor(private readonly deps: FastAnswerDeps) {
    this.template = ['X-Request-Id', '', ...deps.headers.flat()];
  }

  /**
   * Answers `error` (any thrown value) as the Express error handler would; never throws. False when the
   * client had left (only the completion line is written).
   */
  problem(req: IncomingMessage, res: ServerResponse, error: unknown, at: Arrival, route: string): boolean {
    try {
      return this.write(req, res, error, at, route);
    } catch (failure) {
      // Never expected (writing an answer does not throw); the connection is not left hanging.
      this.deps.logger.error({ err: failure, reqId: at.id }, 'fast path failed');
      res.destroy();
      return false;
    }
  }

  private write(
    req: IncomingMessage,
    res: ServerResponse,
    error: unknown,
    at: Arrival,
    route: string,
  ): boolean {
    const { logger, refusals } = this.deps;
    const apiError = toApiError(error);
    this.deps.onProblem?.(apiError);
    logProblem(error, apiError, {
      logger: () => logger.child({ reqId: at.id }),
      debug: logger.isLevelEnabled('debug'),
    });
    const completion = { id: at.id, method: req.method, url: req.url ?? '', startedAt: at.startedAt };
    if (res.destroyed) {
      // The client left before the answer: Express logs its close (status not yet set).
      writeCompletion(logger, refusals, { ...completion, statusCode: res.statusCode });
      return false;
    }
    const answer = problemAnswer(apiError);
    const headers = this.template.slice();
    headers[1] = at.id;
    for (const [name, value] of answer.headers) headers.push(name, value);
    res.writeHead(answer.status, headers);
    if (req.method === 'HEAD') res.end();
    else res.end(answer.body);
    const seconds = (performance.now() - at.started) / 1000;
    this.deps.metrics.observeHttp(route, req.method ?? '', answer.status, seconds);
    writeCompletion(logger, refusals, { ...completion, statusCode: answer.status });
    return true;
  }
}
