// POST /webhooks/vonage/verify: Verify v2's signed callbacks. Not called by callers, so no API key: the
// signature (HS256 JWT with VONAGE_SIGNATURE_SECRET, payload_hash over the raw body bytes) is the
// authentication. Anything unsigned or tampered with is 401 and changes nothing; without a secret every
// callback is 401. A valid one answers 200 once it is applied; an unknown request id is 200 and ignored.

import express, { type Request, type RequestHandler, type Response, Router } from 'express';
import { errors } from '../errors';
import type { VerifyService } from '../verification/verify-service';
import { isSignedCallback, readCallback } from '../vonage/v2/callbacks';
import { routeLabel, WEBHOOK_ROUTES, type WebhookOperationId } from './routes';

export interface WebhookOptions {
  /** VONAGE_SIGNATURE_SECRET (generated in sandbox mode); undefined refuses every callback. */
  signatureSecret: string | undefined;
  /** Wall-clock time for the token's age: Vonage signs with real time. */
  now?: () => number;
}

/** The handlers of WEBHOOK_ROUTES (routes.ts), after the route's metrics label is set. */
function handlers(
  service: VerifyService,
  options: WebhookOptions,
): Record<WebhookOperationId, RequestHandler[]> {
  const now = options.now ?? Date.now;
  return {
    vonageVerifyCallback: [
      // The raw bytes: payload_hash is over them, not over a re-serialised object.
      express.raw({ type: () => true, limit: '64kb' }),
      async (req: Request, res: Response) => {
        const raw: Buffer = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        const secret = options.signatureSecret;
        if (!secret || !isSignedCallback(req.headers.authorization, raw, secret, now())) {
          throw errors.webhookUnauthorized();
        }
        let body: unknown;
        try {
          body = JSON.parse(raw.toString('utf8'));
        } catch {
          throw errors.validationFailed([{ path: '', message: 'body is not valid JSON' }]);
        }
        const update = readCallback(body);
        if (update) await service.applyCallback(update, req.log);
        res.status(200).json({ received: true });
      },
    ],
  };
}

export function createWebhookRouter(service: VerifyService, options: WebhookOptions): Router {
  const router = Router();
  const byId = handlers(service, options);
  for (const route of WEBHOOK_ROUTES) {
    const label = routeLabel('', route);
    const labelled: RequestHandler = (_req, res, next) => {
      res.locals.route = label;
      next();
    };
    router[route.method](route.path, labelled, ...byId[route.operationId]);
  }
  return router;
}
