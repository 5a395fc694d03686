// The route table: every endpoint, once. The handlers (api-routes.ts, ops-routes.ts, admin-routes.ts,
// webhook-route.ts, docs/page.ts) and the OpenAPI document (docs/endpoints.ts) are keyed by its operation
// ids, so a route without a handler or without documentation does not compile; the metrics route labels
// and the Allow header of 405 method_not_allowed (methodsAt) come from its paths.

export interface RouteSpec {
  operationId: string;
  method: 'get' | 'post' | 'delete';
  /** Express form (`/verifications/:requestId`), relative to the table's base path. */
  path: string;
  /** Mounted only in sandbox mode. */
  sandboxOnly?: boolean;
}

/** Behind the bearer key, mounted at API_BASE. */
export const API_BASE = '/api';
export const API_ROUTES = [
  { operationId: 'requestToken', method: 'post', path: '/request-token' },
  { operationId: 'verifyToken', method: 'post', path: '/verify-token' },
  { operationId: 'cancelVerification', method: 'post', path: '/cancel' },
  { operationId: 'triggerNextEvent', method: 'post', path: '/next-event' },
  { operationId: 'getVerification', method: 'get', path: '/verifications/:requestId' },
] as const satisfies readonly RouteSpec[];

/** For the platform, no key needed, mounted at the root. */
export const OPS_ROUTES = [
  { operationId: 'serviceIndex', method: 'get', path: '/' },
  { operationId: 'healthz', method: 'get', path: '/healthz' },
  { operationId: 'readyz', method: 'get', path: '/readyz' },
  { operationId: 'metrics', method: 'get', path: '/metrics' },
  { operationId: 'listSandboxMessages', method: 'get', path: '/sandbox/messages', sandboxOnly: true },
  { operationId: 'resetSandbox', method: 'post', path: '/sandbox/reset', sandboxOnly: true },
] as const satisfies readonly RouteSpec[];

/** The API's own description, no key needed, mounted at the root by docs/page.ts. */
export const DOCS_ROUTES = [
  { operationId: 'openApiDocument', method: 'get', path: '/openapi.json' },
  { operationId: 'docsPage', method: 'get', path: '/docs' },
] as const satisfies readonly RouteSpec[];

/** The abuse guard's operator routes, behind ADMIN_API_KEY (a bearer key of their own), mounted at
 * ADMIN_BASE only when that key is set. */
export const ADMIN_BASE = '/admin';
export const ADMIN_ROUTES = [
  { operationId: 'getAbuseGuard', method: 'get', path: '/guard' },
  { operationId: 'liftGuardBlock', method: 'delete', path: '/guard/blocks/:scope/:value' },
] as const satisfies readonly RouteSpec[];

/** Called by Vonage, not by callers: the signed JWT of each callback is its authentication. At the root. */
export const WEBHOOK_ROUTES = [
  { operationId: 'vonageVerifyCallback', method: 'post', path: '/webhooks/vonage/verify' },
] as const satisfies readonly RouteSpec[];

export type ApiOperationId = (typeof API_ROUTES)[number]['operationId'];
export type OpsOperationId = (typeof OPS_ROUTES)[number]['operationId'];
export type DocsOperationId = (typeof DOCS_ROUTES)[number]['operationId'];
export type AdminOperationId = (typeof ADMIN_ROUTES)[number]['operationId'];
export type WebhookOperationId = (typeof WEBHOOK_ROUTES)[number]['operationId'];
export type OperationId =
  | ApiOperationId
  | OpsOperationId
  | DocsOperationId
  | AdminOperationId
  | WebhookOperationId;

/** The metrics label of a route of the table: its full path in Express form (`/admin/guard/blocks/:scope/:value`). */
export function routeLabel(base: string, route: RouteSpec): string {
  return `${base}${route.path}`;
}

/** `/verifications/:requestId` -> `/verifications/{requestId}` (OpenAPI's form). */
export function openApiPath(base: string, path: string): string {
  return `${base}${path}`.replace(/:(\w+)/g, '{$1}');
}

/** apiRouteLabel's table, built once (it is asked on every /api request): each path before its first parameter. */
const API_LABELS = API_ROUTES.map((route) => {
  const fixed = route.path.split(':')[0] ?? route.path;
  return { fixed, exact: fixed === route.path, label: `${API_BASE}${route.path}` };
});

/**
 * The metrics label of an /api path (relative to API_BASE), whatever its method: the route's full path
 * for a route of the table, or a path under one with parameters (`/verifications/anything`); undefined
 * for anything else (then labelled `unmatched`, keeping the label set small).
 */
export function apiRouteLabel(path: string): string | undefined {
  for (const route of API_LABELS) {
    const matches = route.exact ? path === route.fixed : path.startsWith(route.fixed);
    if (matches) return route.label;
  }
  return undefined;
}

/** Whether a request path (no query) is a route's path, `:param` matching one segment. */
function pathMatches(pattern: string, path: string): boolean {
  const trimmed = (text: string) => (text.length > 1 ? text.replace(/\/$/, '') : text);
  const segments = trimmed(pattern).split('/');
  const given = trimmed(path).split('/');
  return (
    segments.length === given.length &&
    segments.every((segment, i) => (segment.startsWith(':') ? (given[i] ?? '') !== '' : segment === given[i]))
  );
}

/** Which routes of the table an app has mounted, besides those it always has. */
export interface MountedRoutes {
  /** Sandbox mode: the sandboxOnly routes. */
  sandbox: boolean;
  /** ADMIN_API_KEY is set: the operator routes. */
  admin: boolean;
}

/**
 * The methods the table answers at a request path, HEAD wherever GET is (Express answers HEAD with the
 * GET handler); empty for a path the table does not know. For 405 method_not_allowed and its Allow header.
 */
export function methodsAt(path: string, options: MountedRoutes): string[] {
  const routes = [
    ...API_ROUTES.map((route) => ({ ...route, path: `${API_BASE}${route.path}` })),
    ...OPS_ROUTES.filter((route) => options.sandbox || !('sandboxOnly' in route && route.sandboxOnly)),
    ...DOCS_ROUTES,
    ...WEBHOOK_ROUTES,
    ...(options.admin ? ADMIN_ROUTES.map((route) => ({ ...route, path: `${ADMIN_BASE}${route.path}` })) : []),
  ];
  const found = new Set<string>();
  for (const route of routes) if (pathMatches(route.path, path)) found.add(route.method.toUpperCase());
  if (found.has('GET')) found.add('HEAD');
  return [...found].sort();
}
