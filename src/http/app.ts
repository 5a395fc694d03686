// createApp(deps): the Express app, wired from what it is given. It opens no socket and reads no
// environment; src/server.ts builds the real dependencies and listens.

import { randomUUID } from 'node:crypto';
import cors from 'cors';
import express, { type Express, type NextFunction, type Request, type Response } from 'express';
import helmet from 'helmet';
import { pinoHttp } from 'pino-http';
import type { Config } from '../config';
import { errors } from '../errors';
import type { Logger } from '../logger';
import type { Metrics } from '../metrics';
import type { RateLimiter } from '../store/limiter';
import type { VerificationStore } from '../store/store';
import type { VerifyService } from '../verification/verify-service';
import { createApiRouter } from './api-routes';
import { createAuthenticator, createAuthFailureLimiter, requireCaller } from './auth';
import { createErrorHandler, sendProblem } from './error-handler';

export type AppConfig = Pick<
  Config,
  'API_KEYS' | 'TRUST_PROXY' | 'CORS_ORIGINS' | 'LIMIT_AUTH_FAILURES_PER_IP' | 'sandbox'
>;

/** What sandbox mode adds: the simulator's "delivered" messages. */
export interface SandboxInbox {
  messages(filter?: { number?: string }): unknown[];
}

export interface AppDeps {
  config: AppConfig;
  service: VerifyService;
  store: VerificationStore;
  limiter: RateLimiter;
  logger: Logger;
  metrics: Metrics;
  sandbox?: SandboxInbox;
  /** The OpenAPI document and its interactive page, when built. */
  docs?: (app: Express) => void;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

export function createApp(deps: AppDeps): Express {
  const { config, logger, metrics } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', config.TRUST_PROXY);
  app.set('etag', false);

  app.use(
    pinoHttp({
      logger,
      genReqId: (req, res) => {
        const given = req.headers['x-request-id'];
        const id = typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
        res.setHeader('X-Request-Id', id);
        return id;
      },
      serializers: {
        // The query string is dropped: /sandbox/messages?phoneNumber=... would put a number in the log.
        req: (req: { id: unknown; method: unknown; url: unknown }) => ({
          id: req.id,
          method: req.method,
          url: typeof req.url === 'string' ? req.url.split('?')[0] : undefined,
        }),
        res: (res: { statusCode: unknown }) => ({ statusCode: res.statusCode }),
      },
      customLogLevel: (_req, res, error) => (error || res.statusCode >= 500 ? 'error' : 'info'),
      quietReqLogger: true,
    }),
  );

  app.use((req: Request, res: Response, next: NextFunction) => {
    const started = performance.now();
    res.on('finish', () => {
      const named = typeof res.locals.route === 'string' ? res.locals.route : undefined;
      const route = named ?? (req.route?.path ? `${req.baseUrl}${req.route.path}` : 'unmatched');
      metrics.observeHttp(route, req.method, res.statusCode, (performance.now() - started) / 1000);
    });
    next();
  });

  app.use(helmet());
  if (config.CORS_ORIGINS) {
    app.use(
      cors({
        origin: config.CORS_ORIGINS,
        methods: ['GET', 'POST'],
        allowedHeaders: ['Authorization', 'Content-Type', 'X-Request-Id'],
        exposedHeaders: ['Retry-After', 'X-Request-Id'],
        maxAge: 600,
      }),
    );
  }

  app.get('/', (_req, res) => {
    res.json({
      service: 'otp-verify',
      sandbox: config.sandbox,
      docs: '/docs',
      openapi: '/openapi.json',
      ...(config.sandbox ? { sandboxMessages: '/sandbox/messages' } : {}),
    });
  });
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    try {
      await deps.store.ping();
      res.json({ status: 'ready', store: 'ok', vonage: config.sandbox ? 'sandbox' : 'configured' });
    } catch (cause) {
      sendProblem(res, errors.notReady(cause));
    }
  });
  app.get('/metrics', async (_req, res) => {
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
  deps.docs?.(app);

  const sandbox = deps.sandbox;
  if (sandbox) {
    app.get('/sandbox/messages', (req, res) => {
      const raw = typeof req.query.phoneNumber === 'string' ? req.query.phoneNumber : undefined;
      const number = raw?.replace(/[^\d]/g, '');
      res.json({ messages: sandbox.messages(number ? { number } : undefined) });
    });
  }

  app.use(
    '/api',
    // Who is calling comes first: a body from an unknown caller is never parsed.
    createAuthenticator(config.API_KEYS),
    createAuthFailureLimiter(deps.limiter, config.LIMIT_AUTH_FAILURES_PER_IP),
    requireCaller,
    express.json({ limit: '16kb', strict: true }),
    createApiRouter(deps.service),
  );

  app.use((_req, _res, next) => next(errors.routeNotFound()));
  app.use(
    createErrorHandler((problem) => {
      if (problem.code === 'store_unavailable') metrics.observeStoreError();
    }),
  );
  return app;
}
