// Routes answered without Express's Router when a request names one exactly: the method and the path as
// the route table writes them (POST /request-token, as every client sends it). The Router's matching of a
// nested router (prefix trimming, every layer's path tested, the route's own dispatch) costs more than a
// flood of refused requests costs everything else here; a Map lookup finds the same route. Its handlers run
// as the Router runs them: in turn, `next()` to go on, `next(error)`, a throw or a rejected promise to
// leave with the error. Any other spelling (another case, a trailing slash, a parameter) is the Router's.

import type { NextFunction, Request, RequestHandler, Response } from 'express';

export class ExactRoutes {
  private readonly routes = new Map<string, readonly RequestHandler[]>();

  add(method: string, path: string, handlers: readonly RequestHandler[]): void {
    this.routes.set(`${method.toUpperCase()} ${path}`, handlers);
  }

  /** The handlers of the route this request names exactly, if any. */
  find(method: string, path: string): readonly RequestHandler[] | undefined {
    return this.routes.get(`${method} ${path}`);
  }
}

/**
 * Runs `handlers` for the request as a route of the Router does; `done` gets the error that leaves them,
 * or nothing when the last one passes the request on (or one signals 'route' or 'router').
 */
export function runHandlers(
  handlers: readonly RequestHandler[],
  req: Request,
  res: Response,
  done: NextFunction,
): void {
  let index = 0;
  const step = (error?: unknown): void => {
    const handler = error ? undefined : handlers[index++];
    if (handler === undefined) {
      // A routing signal leaves the route as running past its last handler does.
      done(error === 'route' || error === 'router' ? undefined : error);
      return;
    }
    try {
      const returned: unknown = handler(req, res, step);
      if (returned instanceof Promise) {
        returned.then(undefined, (rejected: unknown) => done(rejected || new Error('Rejected promise')));
      }
    } catch (thrown) {
      done(thrown);
    }
  };
  step();
}
