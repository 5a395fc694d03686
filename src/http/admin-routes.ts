// The operator routes of the abuse guard, one handler per entry of ADMIN_ROUTES (routes.ts), under
// ADMIN_BASE (/admin) with ADMIN_API_KEY as a Bearer key of its own. Without ADMIN_API_KEY createApp does
// not mount them at all (404, like any unknown path).
//   GET    /admin/guard                          current blocks; conversion of the busiest prefixes/countries
//   DELETE /admin/guard/blocks/{scope}/{value}   lifts one block early
// A missing or wrong key counts against the address's failed-authentication limit, as under /api.

import { type Request, type Response, Router } from 'express';
import { errors } from '../errors';
import type { AbuseGuard } from '../verification/abuse-guard';
import { type AuthFailureCount, requireBearer } from './auth';
import { ADMIN_BASE, ADMIN_ROUTES, type AdminOperationId, routeLabel } from './routes';

type Handler = (req: Request, res: Response) => Promise<void>;

function handlers(guard: AbuseGuard): Record<AdminOperationId, Handler> {
  return {
    getAbuseGuard: async (_req, res) => {
      res.json(await guard.view());
    },
    liftGuardBlock: async (req, res) => {
      const { scope } = req.params;
      const value = typeof req.params.value === 'string' ? req.params.value : '';
      if (scope !== 'prefix' && scope !== 'country') {
        throw errors.validationFailed([{ path: 'scope', message: 'must be prefix or country' }]);
      }
      if (!(await guard.lift(scope, value))) {
        throw errors.routeNotFound(`No current block for ${scope} ${value}.`);
      }
      res.json({ lifted: true, scope, value });
    },
  };
}

export interface AdminOptions {
  /** ADMIN_API_KEY. */
  key: string;
  /** The failed-authentication count per address shared with /api (auth.ts createAuthFailureCount). */
  countFailure: AuthFailureCount;
}

/** The router to mount at ADMIN_BASE. */
export function createAdminRouter(guard: AbuseGuard, options: AdminOptions): Router {
  const router = Router();
  // Every path under /admin needs the key, known routes or not.
  router.use(requireBearer(options.key, options.countFailure));
  router.use((_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });
  const byId = handlers(guard);
  for (const route of ADMIN_ROUTES) {
    const label = routeLabel(ADMIN_BASE, route);
    const handler = byId[route.operationId];
    router[route.method](route.path, (req, res) => {
      res.locals.route = label;
      return handler(req, res);
    });
  }
  return router;
}
