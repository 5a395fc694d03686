// The operational routes, one handler per entry of OPS_ROUTES (routes.ts): liveness, readiness,
// Prometheus metrics, the index at `/` and, in sandbox mode, the codes the simulator "delivered".

import { type Request, type Response, Router } from 'express';
import { errors } from '../errors';
import type { Metrics } from '../metrics';
import { storeProblem, type VerificationStore } from '../store/store';
import { requireBearer } from './auth';
import { sendProblem } from './error-handler';
import { OPS_ROUTES, type OpsOperationId } from './routes';

/** What sandbox mode adds: the simulator's "delivered" messages. */
export interface SandboxInbox {
  messages(filter?: { number?: string }): unknown[];
}

export interface OpsDeps {
  sandbox: boolean;
  store: VerificationStore;
  metrics: Metrics;
  inbox?: SandboxInbox;
  /** Caller names and their volumes are on /metrics: when set, only this bearer may read them. */
  metricsToken?: string;
}

type Handler = (req: Request, res: Response) => Promise<void> | void;

function handlers(deps: OpsDeps): Record<OpsOperationId, Handler> {
  return {
    serviceIndex: (_req, res) => {
      res.json({
        service: 'otp-verify',
        sandbox: deps.sandbox,
        docs: '/docs',
        openapi: '/openapi.json',
        ...(deps.sandbox ? { sandboxMessages: '/sandbox/messages' } : {}),
      });
    },
    healthz: (_req, res) => {
      res.json({ status: 'ok' });
    },
    readyz: async (_req, res) => {
      try {
        await deps.store.ping();
        res.json({ status: 'ready', store: 'ok', vonage: deps.sandbox ? 'sandbox' : 'configured' });
      } catch (cause) {
        sendProblem(res, errors.notReady(cause, storeProblem(cause)));
      }
    },
    metrics: async (_req, res) => {
      res.type(deps.metrics.registry.contentType).send(await deps.metrics.registry.metrics());
    },
    listSandboxMessages: (req, res) => {
      const raw = typeof req.query.phoneNumber === 'string' ? req.query.phoneNumber : undefined;
      const number = raw?.replace(/[^\d]/g, '');
      res.json({ messages: deps.inbox?.messages(number ? { number } : undefined) ?? [] });
    },
  };
}

export function createOpsRouter(deps: OpsDeps): Router {
  const router = Router();
  const byId = handlers(deps);
  for (const route of OPS_ROUTES) {
    const sandboxOnly = 'sandboxOnly' in route && route.sandboxOnly;
    // The sandbox inbox exists only when the simulator runs in-process.
    if (sandboxOnly && !deps.inbox) continue;
    if (route.operationId === 'metrics') {
      router[route.method](route.path, requireBearer(deps.metricsToken), byId[route.operationId]);
    } else router[route.method](route.path, byId[route.operationId]);
  }
  return router;
}
