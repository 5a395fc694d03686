// The operational routes, one handler per entry of OPS_ROUTES (routes.ts): liveness, readiness,
// Prometheus metrics, the index at `/` and, in sandbox mode, the codes the simulator "delivered".

import { type Request, type Response, Router } from 'express';
import { errors } from '../errors';
import type { Metrics } from '../metrics';
import { storeProblem, type VerificationStore } from '../store/store';
import { type AuthFailureCount, requireBearer } from './auth';
import { sendProblem } from './error-handler';
import { OPS_ROUTES, type OpsOperationId } from './routes';

export interface SandboxFilter {
  /** Digits only, no '+'. */
  number?: string;
  requestId?: string;
}

/** What sandbox mode adds: the simulator's "delivered" messages, and a clean slate. */
export interface SandboxInbox {
  /** In the order they were delivered. */
  messages(filter?: SandboxFilter): unknown[];
  /** Forgets the simulator's messages and verifications, the store's verifications and every limit window. */
  reset(): Promise<void>;
}

export interface OpsDeps {
  sandbox: boolean;
  store: VerificationStore;
  metrics: Metrics;
  inbox?: SandboxInbox;
  /** Caller names and their volumes are on /metrics: when set, only this bearer may read them. */
  metricsToken?: string;
  /** Counts a wrong or missing METRICS_TOKEN against the address's failed-authentication limit. */
  countFailure?: AuthFailureCount;
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
        ...(deps.sandbox
          ? { sandboxMessages: '/sandbox/messages', sandboxReset: 'POST /sandbox/reset' }
          : {}),
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
      const { phoneNumber, requestId } = req.query;
      const number = typeof phoneNumber === 'string' ? phoneNumber.replace(/[^\d]/g, '') : '';
      const filter: SandboxFilter = {
        ...(number ? { number } : {}),
        ...(typeof requestId === 'string' && requestId ? { requestId } : {}),
      };
      // Newest first: a second run of the walk-through reads its own code, not the previous one's.
      res.json({ messages: (deps.inbox?.messages(filter) ?? []).reverse() });
    },
    resetSandbox: async (_req, res) => {
      try {
        await deps.inbox?.reset();
      } catch (cause) {
        throw errors.storeUnavailable(cause);
      }
      res.json({ reset: true });
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
      const bearer = requireBearer(deps.metricsToken, deps.countFailure);
      router[route.method](route.path, bearer, byId[route.operationId]);
    } else router[route.method](route.path, byId[route.operationId]);
  }
  return router;
}
