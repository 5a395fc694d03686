// The HTTP face of the service. createApp(deps) wires the Express app from what it is given: it opens
// no socket and reads no environment (src/compose.ts builds the dependencies, src/server.ts listens).
//   routes.ts          the route table: handlers, metrics labels and OpenAPI all follow it
//   api-routes.ts      the /api handlers        ops-routes.ts   health, readiness, metrics, sandbox inbox
//   auth.ts            API keys and the failed-auth limit   webhook-route.ts  Vonage's signed callbacks
//   idempotency.ts     Idempotency-Key on every POST: replays, reuse and in-progress answers
//   schemas.ts         zod request and response schemas   error-handler.ts  problem+json answers
//   docs/              the OpenAPI document and the /docs page

import cors from 'cors';
import express, {
  type Express,
  type NextFunction,
  type Request,
  type RequestHandler,
  type Response,
} from 'express';
import helmet from 'helmet';
import type { Config } from '../config';
import { errors } from '../errors';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import type { RateLimiter } from '../store/limiter';
import type { VerificationStore } from '../store/store';
import type { AbuseGuard } from '../verification/abuse-guard';
import type { VerifyService } from '../verification/verify-service';
import { createAdminRouter } from './admin-routes';
import { createApiRouter } from './api-routes';
import { createAuthenticator, createAuthFailureLimiter, requireCaller } from './auth';
import { createErrorHandler } from './error-handler';
import { createIdempotency, type IdempotencySettings, keepRawBody } from './idempotency';
import { createOpsRouter, type SandboxInbox } from './ops-routes';
import { requestLogger } from './request-log';
import { API_BASE, methodsAt } from './routes';
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
  /** The OpenAPI document and its interactive page, when built. */
  docs?: (app: Express) => void;
}

export function createApp(deps: AppDeps): Express {
  const { config, metrics } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.TRUST_PROXY);
  app.set('etag', false);

  app.use(requestLogger(app, deps.logger), observeRequests(metrics), helmet());
  // Answers under /api carry phone numbers: no cache (browser, proxy, CDN) may keep one, errors included.
  app.use(API_BASE, (_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  if (config.CORS_ORIGINS) app.use(corsFor(config.CORS_ORIGINS));

  app.use(
    createOpsRouter({
      sandbox: config.sandbox,
      store: deps.store,
      metrics,
      ...(config.METRICS_TOKEN ? { metricsToken: config.METRICS_TOKEN } : {}),
      ...(deps.sandbox ? { inbox: deps.sandbox } : {}),
    }),
  );
  deps.docs?.(app);
  app.use(createWebhookRouter(deps.service, deps.webhook ?? { signatureSecret: undefined }));
  app.use(
    API_BASE,
    // Who is calling comes first: a body from an unknown caller is never parsed.
    createAuthenticator(config.API_KEYS),
    createAuthFailureLimiter(deps.limiter, config.LIMIT_AUTH_FAILURES_PER_IP),
    requireCaller,
    express.json({ limit: '16kb', strict: true, verify: keepRawBody }),
    createApiRouter(deps.service, createIdempotency(deps.idempotency)),
  );

  if (config.ADMIN_API_KEY && deps.guard) {
    app.use('/admin', createAdminRouter(deps.guard, config.ADMIN_API_KEY));
  }

  app.use((req, res, next) => {
    const allowed = methodsAt(req.path, { sandbox: config.sandbox });
    if (allowed.length === 0 || allowed.includes(req.method)) {
      next(errors.routeNotFound());
      return;
    }
    res.setHeader('Allow', allowed.join(', '));
    next(errors.methodNotAllowed(req.method, allowed));
  });
  app.use(
    createErrorHandler((problem) => {
      if (problem.code === 'store_unavailable') metrics.observeStoreError();
    }),
  );
  return app;
}

/** HTTP metrics by route: the label a router named (res.locals.route), else Express's matched route. */
function observeRequests(metrics: Metrics): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const started = performance.now();
    res.on('finish', () => {
      const named = typeof res.locals.route === 'string' ? res.locals.route : undefined;
      const route = named ?? (req.route?.path ? `${req.baseUrl}${req.route.path}` : 'unmatched');
      metrics.observeHttp(route, req.method, res.statusCode, (performance.now() - started) / 1000);
    });
    next();
  };
}

function corsFor(origins: NonNullable<AppConfig['CORS_ORIGINS']>): RequestHandler {
  return cors({
    origin: origins,
    methods: ['GET', 'POST'],
    allowedHeaders: ['Authorization', 'Content-Type', 'X-Request-Id', 'Idempotency-Key'],
    exposedHeaders: ['Retry-After', 'X-Request-Id', 'Idempotent-Replayed'],
    maxAge: 600,
  });
}
