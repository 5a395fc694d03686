// The HTTP face of the service. createApp(deps) wires the Express app from what it is given: it opens
// no socket and reads no environment (src/compose.ts builds the dependencies, src/server.ts listens).
//   routes.ts          the route table: handlers, metrics labels and OpenAPI all follow it
//   api-routes.ts      the /api handlers        ops-routes.ts   health, readiness, metrics, sandbox inbox
//   auth.ts            API keys and the failed-auth limit   webhook-route.ts  Vonage's signed callbacks
//   admin-routes.ts    the abuse guard's operator routes (ADMIN_API_KEY)
//   idempotency.ts     Idempotency-Key on every POST: replays, reuse and in-progress answers
//   schemas.ts         zod request and response schemas   error-handler.ts  problem+json answers
//   security-headers.ts  helmet's headers, precomputed
//   refusal-fast-path.ts answers unauthenticated /api requests before Express (createServiceApp)
//   start-fast-path.ts   answers request-token refused before its number's lock, before Express
//   exact-dispatch.ts    the exact /api POSTs run the app's middleware without Express's router
//   fast-answer.ts       how both answer a problem as Express would
//   docs/              the OpenAPI document and the /docs page

import type { RequestListener } from 'node:http';
import cors from 'cors';
import express, { type Express, type Request, type RequestHandler, type Response } from 'express';
import type { Config } from '../config';
import { type ApiError, errors } from '../errors';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import type { RateLimiter } from '../store/limiter';
import type { VerificationStore } from '../store/store';
import type { AbuseGuard } from '../verification/abuse-guard';
import type { VerifyService } from '../verification/verify-service';
import { createAdminRouter } from './admin-routes';
import { createApiRouter } from './api-routes';
import { createAuthFailureCount, createCallerCheck, createKeyCheck } from './auth';
import { createErrorHandler } from './error-handler';
import { type ApiChain, ExactDispatch } from './exact-dispatch';
import { FastAnswers } from './fast-answer';
import { createIdempotency, type IdempotencySettings, keepRawBody } from './idempotency';
import { createOpsRouter, type SandboxInbox } from './ops-routes';
import { RefusalFastPath, type TrustProxy } from './refusal-fast-path';
import { RefusalLog } from './refusal-log';
import { arrivalOf, requestLogger } from './request-log';
import { ADMIN_BASE, API_BASE, type MountedRoutes, methodsAt } from './routes';
import { helmetHeaderChanges, recordHeaderChanges, securityHeaders } from './security-headers';
import { StartFastPath, unlessReadBefore } from './start-fast-path';
import { createWebhookRouter, type WebhookOptions } from './webhook-route';

export type AppConfig = Pick<
  Config,
  'API_KEYS' | 'TRUST_PROXY' | 'CORS_ORIGINS' | 'LIMIT_AUTH_FAILURES_PER_IP' | 'sandbox'
> &
  Partial<Pick<Config, 'METRICS_TOKEN' | 'ADMIN_API_KEY'>>;

export interface AppDeps {
  config: AppConfig;
  service: VerifyService;
  store: VerificationStore;
  limiter: RateLimiter;
  /** The abuse guard, for the operator routes (mounted only with ADMIN_API_KEY). */
  guard?: AbuseGuard;
  logger: Logger;
  metrics: Metrics;
  /** Idempotency-Key on POST /api/*: where keys are kept, for how long. */
  idempotency: IdempotencySettings;
  sandbox?: SandboxInbox;
  /** Vonage's Verify v2 callbacks; without it the webhook refuses every callback. */
  webhook?: WebhookOptions;
  /** Folds the completion lines of refusals in floods (one of its own when not given). */
  refusalLog?: RefusalLog;
  /** The OpenAPI document and its interactive page, when built; told which optional routes the app has. */
  docs?: (app: Express, mounted: MountedRoutes) => void;
}

export function createApp(deps: AppDeps): Express {
  return buildApp(deps).app;
}

/** The app, and what it runs for an /api request in order (for the exact dispatch of createServiceApp). */
function buildApp(deps: AppDeps): { app: Express; apiChain: ApiChain } {
  const { config, metrics } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.TRUST_PROXY);
  app.set('etag', false);

  const refusals = deps.refusalLog ?? new RefusalLog(deps.logger);
  // What every request starts with, in one layer (each layer is a turn of the Router's matching): its id
  // and completion line, its metrics, helmet's headers.
  const startLog = requestLogger(app, deps.logger, refusals);
  const observe = observeRequests(metrics);
  const secure = securityHeaders();
  const start: RequestHandler = (req, res, next) => {
    startLog(req, res);
    observe(req, res);
    secure(res);
    next();
  };
  app.use(start);
  // Answers under /api carry phone numbers: no cache (browser, proxy, CDN) may keep one, errors included.
  const noStore: RequestHandler = (_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  };
  app.use(API_BASE, noStore);
  const cors = config.CORS_ORIGINS ? corsFor(config.CORS_ORIGINS) : undefined;
  if (cors) app.use(cors);

  const handleErrors = createErrorHandler(countProblems(metrics));
  // The API comes first (no other router serves a path under it), so a refused caller costs no matching
  // against the ops, docs and webhook routes; and who is calling comes first within it: a body from an
  // unknown caller is never parsed.
  const api = [
    createCallerCheck(config.API_KEYS, deps.limiter, config.LIMIT_AUTH_FAILURES_PER_IP),
    unlessReadBefore(jsonBody()),
    createApiRouter(deps.service, createIdempotency(deps.idempotency)),
  ];
  // Its errors are answered here rather than after every later router has been matched against them.
  app.use(API_BASE, ...api, handleErrors);
  // A wrong METRICS_TOKEN or ADMIN_API_KEY counts against the same per-address limit as a wrong API key.
  const countFailure = createAuthFailureCount(deps.limiter, config.LIMIT_AUTH_FAILURES_PER_IP);
  app.use(
    createOpsRouter({
      sandbox: config.sandbox,
      store: deps.store,
      metrics,
      ...(config.METRICS_TOKEN ? { metricsToken: config.METRICS_TOKEN, countFailure } : {}),
      ...(deps.sandbox ? { inbox: deps.sandbox } : {}),
    }),
  );
  const mounted: MountedRoutes = {
    sandbox: config.sandbox,
    admin: Boolean(config.ADMIN_API_KEY && deps.guard),
  };
  deps.docs?.(app, mounted);
  app.use(createWebhookRouter(deps.service, deps.webhook ?? { signatureSecret: undefined }));

  if (config.ADMIN_API_KEY && deps.guard) {
    app.use(ADMIN_BASE, createAdminRouter(deps.guard, { key: config.ADMIN_API_KEY, countFailure }));
  }

  app.use((req, res, next) => {
    const allowed = methodsAt(req.path, mounted);
    if (allowed.length === 0 || allowed.includes(req.method)) {
      next(errors.routeNotFound());
      return;
    }
    res.setHeader('Allow', allowed.join(', '));
    next(errors.methodNotAllowed(req.method, allowed));
  });
  app.use(handleErrors);
  const apiChain = { handlers: [start, noStore, ...(cors ? [cors] : []), ...api], onError: handleErrors };
  return { app, apiChain };
}

/** The JSON body parser of /api (the request-token fast path reads bodies with one of its own). */
function jsonBody(): RequestHandler {
  return express.json({ limit: '16kb', strict: true, verify: keepRawBody });
}

/** The service's request listener: the fast paths in front of the Express app. */
export interface ServiceApp {
  listener: RequestListener;
  express: Express;
  fastPath: RefusalFastPath;
  startFastPath: StartFastPath;
  exactDispatch: ExactDispatch;
}

/**
 * The Express app (createApp) behind the fast paths: the refusal fast path (refusal-fast-path.ts), which
 * answers unauthenticated /api requests, then the request-token fast path (start-fast-path.ts), which
 * answers a request-token refused before its number's lock, both as the app would, with the same
 * limiter, metrics and refusal log; then the exact POSTs of the API run the app's own middleware without
 * its router (exact-dispatch.ts), and everything else goes to the app.
 */
export function createServiceApp(deps: AppDeps): ServiceApp {
  const { config } = deps;
  const refusals = deps.refusalLog ?? new RefusalLog(deps.logger);
  const { app, apiChain } = buildApp({ ...deps, refusalLog: refusals });
  // The headers the middleware of createApp sets on an /api answer after X-Request-Id, in its order.
  const headers: Array<[string, string]> = [...helmetHeaderChanges().set, ['Cache-Control', 'no-store']];
  if (config.CORS_ORIGINS) {
    // CORS's headers for a request without Origin (one with it goes to Express).
    headers.push(...recordHeaderChanges(corsFor(config.CORS_ORIGINS), { method: 'GET', headers: {} }).set);
  }
  const answering = {
    headers,
    metrics: deps.metrics,
    logger: deps.logger,
    refusals,
    onProblem: countProblems(deps.metrics),
  };
  const checkKey = createKeyCheck(config.API_KEYS);
  const cors = config.CORS_ORIGINS !== undefined;
  const fastPath = new RefusalFastPath({
    ...answering,
    checkKey,
    countFailure: createAuthFailureCount(deps.limiter, config.LIMIT_AUTH_FAILURES_PER_IP),
    trustProxy: app.get('trust proxy fn') as TrustProxy,
    cors,
  });
  const parse = jsonBody();
  const startFastPath = new StartFastPath({
    checkKey,
    parseBody: (req, res, done) => void parse(req as Request, res as Response, done),
    service: deps.service,
    cors,
    answers: new FastAnswers(answering),
    logger: deps.logger,
  });
  const exactDispatch = new ExactDispatch(app, apiChain);
  return {
    listener: fastPath.listener(startFastPath.listener(exactDispatch.listener())),
    express: app,
    fastPath,
    startFastPath,
    exactDispatch,
  };
}

/** What the metrics learn of every problem answered: store failures are counted. */
function countProblems(metrics: Metrics): (problem: ApiError) => void {
  return (problem) => {
    if (problem.code === 'store_unavailable') metrics.observeStoreError();
  };
}

const STARTED = Symbol('metrics: started at');
type ObservedResponse = Response & { [STARTED]?: number };

/** HTTP metrics by route: the label a router named (res.locals.route), else Express's matched route. */
function observeRequests(metrics: Metrics): (req: Request, res: Response) => void {
  // One listener function for every request (`this` is the response), not a closure per request.
  function onFinish(this: ObservedResponse): void {
    const req = this.req;
    const named = typeof this.locals.route === 'string' ? this.locals.route : undefined;
    const route = named ?? (req.route?.path ? `${req.baseUrl}${req.route.path}` : 'unmatched');
    const seconds = (performance.now() - (this[STARTED] ?? performance.now())) / 1000;
    metrics.observeHttp(route, req.method, this.statusCode, seconds);
  }
  return (req: Request, res: Response) => {
    // From when a fast path took the request up and read its body, if one did (request-log.ts).
    (res as ObservedResponse)[STARTED] = arrivalOf(req)?.started ?? performance.now();
    res.on('finish', onFinish);
  };
}

function corsFor(origins: NonNullable<AppConfig['CORS_ORIGINS']>): ReturnType<typeof cors> {
  return cors({
    origin: origins,
    methods: ['GET', 'POST'],
    allowedHeaders: ['Authorization', 'Content-Type', 'X-Request-Id', 'Idempotency-Key'],
    exposedHeaders: ['Retry-After', 'X-Request-Id', 'Idempotent-Replayed'],
    maxAge: 600,
  });
}
