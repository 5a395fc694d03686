// The operator routes of the abuse guard, under /admin with ADMIN_API_KEY as a Bearer key of its own.
// Without ADMIN_API_KEY createApp does not mount them at all (404, like any unknown path).
//   GET    /admin/guard                          current blocks; conversion of the busiest prefixes/countries
//   DELETE /admin/guard/blocks/{scope}/{value}   lifts one block early

import { createHash, timingSafeEqual } from 'node:crypto';
import { type RequestHandler, Router } from 'express';
import { errors } from '../errors';
import type { AbuseGuard } from '../verification/abuse-guard';

const digest = (value: string) => createHash('sha256').update(value).digest();

/** The operator's key, compared in constant time over fixed-length digests. */
function requireAdmin(key: string): RequestHandler {
  const expected = digest(key);
  return (req, _res, next) => {
    const header = req.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header) : null;
    const ok = match?.[1] !== undefined && timingSafeEqual(digest(match[1]), expected);
    next(ok ? undefined : errors.unauthorized());
  };
}

export function createAdminRouter(guard: AbuseGuard, key: string): Router {
  const router = Router();
  router.use(requireAdmin(key));
  router.use((_req, res, next) => {
    res.setHeader('Cache-Control', 'no-store');
    next();
  });

  router.get('/guard', async (_req, res) => {
    res.locals.route = '/admin/guard';
    res.json(await guard.view());
  });

  router.delete('/guard/blocks/:scope/:value', async (req, res) => {
    res.locals.route = '/admin/guard/blocks/:scope/:value';
    const { scope, value } = req.params;
    if (scope !== 'prefix' && scope !== 'country') {
      throw errors.validationFailed([{ path: 'scope', message: 'must be prefix or country' }]);
    }
    if (!(await guard.lift(scope, value ?? ''))) {
      throw errors.routeNotFound(`No current block for ${scope} ${value}.`);
    }
    res.json({ lifted: true, scope, value });
  });

  return router;
}
