// GET /openapi.json and GET /docs: the OpenAPI document and an interactive Swagger UI page for it, served
// from swagger-ui-dist's files (no CDN), so a developer can authorize with an API key and try the API,
// sandbox included, from the browser.

import { dirname } from 'node:path';
import type { Express, NextFunction, Request, Response } from 'express';
import { errors } from '../../errors';
import { DOCS_ROUTES, type DocsOperationId, type MountedRoutes } from '../routes';
import { buildOpenApiDocument } from './openapi';

/** swagger-ui-dist's folder. Resolved through package.json: requiring the package would load the whole bundle into Node. */
const SWAGGER_UI_DIR = dirname(require.resolve('swagger-ui-dist/package.json'));

/** The only swagger-ui-dist files served; its own index.html and initializer (the Petstore demo) are not. */
const ASSETS = new Set([
  'swagger-ui.css',
  'swagger-ui.css.map',
  'index.css',
  'swagger-ui-bundle.js',
  'swagger-ui-bundle.js.map',
  'favicon-16x16.png',
  'favicon-32x32.png',
]);

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>OTP verification service: API</title>
<link rel="stylesheet" href="/docs/assets/swagger-ui.css">
<link rel="stylesheet" href="/docs/assets/index.css">
<link rel="icon" type="image/png" href="/docs/assets/favicon-32x32.png" sizes="32x32">
<link rel="icon" type="image/png" href="/docs/assets/favicon-16x16.png" sizes="16x16">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/docs/assets/swagger-ui-bundle.js" defer></script>
<script src="/docs/init.js" defer></script>
</body>
</html>
`;

// A file of its own rather than an inline <script>, so the page runs under script-src 'self'.
// persistAuthorization keeps the key across reloads (in this browser's localStorage only);
// validatorUrl: null stops the page from sending the document to swagger.io for a badge.
const INIT_SCRIPT = `window.ui = SwaggerUIBundle({
  url: '/openapi.json',
  dom_id: '#swagger-ui',
  presets: [SwaggerUIBundle.presets.apis],
  layout: 'BaseLayout',
  deepLinking: true,
  persistAuthorization: true,
  tryItOutEnabled: true,
  displayRequestDuration: true,
  validatorUrl: null,
});
`;

/**
 * Helmet's default policy, minus `upgrade-insecure-requests`: that directive makes browsers fetch the
 * page's own scripts and API calls over https, which leaves a blank page wherever the service is reached
 * over plain http (a sandbox on another machine of the LAN, a container port). The page loads nothing
 * from elsewhere; "Try it out" may also call the documented server when it is on another origin.
 */
function pageCsp(serverOrigin: string | undefined): string {
  return [
    "default-src 'self'",
    "base-uri 'self'",
    `connect-src 'self'${serverOrigin ? ` ${serverOrigin}` : ''}`,
    "font-src 'self' data:",
    "form-action 'self'",
    "frame-ancestors 'self'",
    "img-src 'self' data:",
    "object-src 'none'",
    "script-src 'self'",
    "script-src-attr 'none'",
    "style-src 'self' 'unsafe-inline'",
  ].join('; ');
}

/** The origin of an absolute URL; undefined for a relative one such as '/'. */
function originOf(url: string | undefined): string | undefined {
  if (url === undefined) return undefined;
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}

export interface DocsOptions {
  sandbox: boolean;
  /** The document's server URL when callers reach the service elsewhere than where they read the docs; default '/'. */
  serverUrl?: string;
}

/**
 * For AppDeps.docs: mounts the document and the page on the app. The document lists the optional routes
 * the app says it has mounted (createApp tells; a bare app has no operator routes).
 */
export function mountDocs(options: DocsOptions): (app: Express, mounted?: MountedRoutes) => void {
  return (app: Express, mounted?: MountedRoutes) => {
    // Built once per app: the document does not change while the process runs.
    const document = JSON.stringify(buildOpenApiDocument({ ...options, admin: mounted?.admin === true }));
    const csp = pageCsp(originOf(options.serverUrl));

    // The documented routes, one handler per entry of DOCS_ROUTES (routes.ts).
    const handlers: Record<DocsOperationId, (req: Request, res: Response) => void> = {
      openApiDocument: (_req, res) => {
        res.type('application/json').send(document);
      },
      docsPage: (_req, res) => {
        res.setHeader('Content-Security-Policy', csp);
        res.setHeader('Cache-Control', 'no-cache');
        res.type('html').send(PAGE);
      },
    };
    for (const route of DOCS_ROUTES) app[route.method](route.path, handlers[route.operationId]);

    // The page's own files, not part of the API.

    app.get('/docs/init.js', (_req, res) => {
      res.setHeader('Cache-Control', 'no-cache');
      res.type('application/javascript').send(INIT_SCRIPT);
    });

    // `:file` cannot contain '/', and only listed names are served, so nothing else in the folder is reachable.
    app.get('/docs/assets/:file', (req, res: Response, next: NextFunction) => {
      const file = req.params.file;
      if (!ASSETS.has(file)) {
        next(errors.routeNotFound());
        return;
      }
      res.sendFile(file, { root: SWAGGER_UI_DIR, maxAge: '1d' }, (error) => {
        // A listed file missing from the install answers like any unknown path; other failures reach the
        // error handler, which logs them and answers 500.
        if (error && !res.headersSent) {
          next((error as { status?: unknown }).status === 404 ? errors.routeNotFound() : error);
        }
      });
    });
  };
}
