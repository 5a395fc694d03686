// Routes named exactly skip Express's Router (src/http/exact-routes.ts): their handlers must run as a
// Router route runs them. Each case below is answered twice by one Express app, once through a route of
// its Router and once through runHandlers, and the two answers must be the same. Then, over the service's
// HTTP API: a request that names request-token exactly and one the Router matches (another case, a
// trailing slash) get the same answers and are counted under the same metrics label.

import express, { type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import supertest from 'supertest';
import { runHandlers } from '../../src/http/exact-routes';
import { type Harness, startHarness, ukMobile } from '../support/harness';

const answer: RequestHandler = (_req, res) => {
  res.status(200).send('answered');
};
const passOn: RequestHandler = (_req, _res, next) => next();

const CASES: Record<string, RequestHandler[]> = {
  'a handler that answers': [answer],
  'a middleware that passes on, then a handler': [passOn, answer],
  'a handler that throws': [
    () => {
      throw new Error('thrown');
    },
  ],
  'a handler whose promise rejects': [async () => Promise.reject(new Error('rejected'))],
  'a promise rejected with nothing': [async () => Promise.reject(undefined)],
  'a middleware that passes an error on': [(_req, _res, next) => next(new Error('passed')), answer],
  'a middleware that leaves the route': [(_req, _res, next) => next('route'), answer],
  'a middleware that leaves the router': [(_req, _res, next) => next('router'), answer],
  'the last handler passes on': [passOn, passOn],
  'an async middleware, then a handler': [
    async (_req, _res, next) => {
      await Promise.resolve();
      next();
    },
    answer,
  ],
};

describe('runHandlers answers as a route of a nested Router does', () => {
  const app = express();
  Object.entries(CASES).forEach(([, handlers], i) => {
    // As the service mounts them: the /api router inside the app, and runHandlers in its place.
    const nested = express.Router();
    nested.post('/', ...handlers);
    app.use(`/router/${i}`, nested);
    app.use(`/exact/${i}`, (req, res, next) => runHandlers(handlers, req, res, next));
  });
  app.use((_req, res) => {
    res.status(404).send('passed on past the route');
  });
  app.use((error: unknown, _req: Request, res: Response, _next: NextFunction) => {
    res.status(500).send(`error: ${error instanceof Error ? error.message : String(error)}`);
  });

  test.each(Object.keys(CASES).map((name, i) => [name, i] as const))('%s', async (_name, i) => {
    const viaRouter = await supertest(app).post(`/router/${i}`);
    const viaExact = await supertest(app).post(`/exact/${i}`);
    expect({ status: viaExact.status, text: viaExact.text }).toEqual({
      status: viaRouter.status,
      text: viaRouter.text,
    });
  });
});

describe('over HTTP, request-token named exactly and as the Router matches it', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { LIMIT_SENDS_PER_NUMBER: '1/1h' } });
  });
  afterAll(async () => {
    await h.close();
  });

  test('the same answers, and the same metrics label', async () => {
    const phoneNumber = ukMobile();
    const paths = ['/api/request-token', '/api/Request-Token', '/api/request-token/'];
    expect((await h.as('alpha').post(paths[0] ?? '', { phoneNumber })).status).toBe(201);
    const bodies = [{ phoneNumber }, { phoneNumber: 'ab' }, { phoneNumber: '+44 12' }];
    const statuses: number[] = [];
    for (const body of bodies) {
      const answers = new Set<string>();
      for (const path of paths) {
        const res = await h.as('alpha').post(path, body);
        statuses.push(res.status);
        answers.add(
          JSON.stringify({ status: res.status, body: res.body, retryAfter: res.headers['retry-after'] }),
        );
      }
      expect({ body, answers: answers.size }).toEqual({ body, answers: 1 });
    }
    expect(statuses).toEqual([429, 429, 429, 400, 400, 400, 400, 400, 400]);
    const metrics = (await h.http.get('/metrics')).text;
    const line = metrics
      .split('\n')
      .find(
        (l) =>
          l.startsWith('otp_http_requests_total{') &&
          l.includes('route="/api/request-token"') &&
          l.includes('status="429"'),
      );
    expect(line?.endsWith(' 3')).toBe(true);
  });
});
