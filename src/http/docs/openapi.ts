// The OpenAPI 3.1 document of the HTTP API (served at GET /openapi.json), built from the route table
// (../routes.ts), the endpoint data (endpoints.ts) and the error catalogue (error-catalogue.ts). Request
// and response schemas are the same zod schemas that validate requests; every documented problem is an
// instance made by the factories of errors.ts, so it is exactly what the service sends.
//   openapi.ts          this builder          endpoints.ts   per-route data (a declarative table)
//   error-catalogue.ts  every error code      page.ts        /openapi.json and the Swagger UI at /docs
//   operator-endpoints.ts  per-route data of the operator routes and Vonage's webhook

import { OpenAPIRegistry, OpenApiGeneratorV31, type ResponseConfig } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { type ErrorCode, problemBody } from '../../errors';
import { API_VERSION } from '../../version';
import {
  ADMIN_BASE,
  ADMIN_ROUTES,
  API_BASE,
  API_ROUTES,
  DOCS_ROUTES,
  OPS_ROUTES,
  openApiPath,
  type RouteSpec,
  WEBHOOK_ROUTES,
} from '../routes';
import { problemResponse } from '../schemas';
import { apiEndpointDocs, docsEndpointDocs, type EndpointDoc, opsEndpointDocs } from './endpoints';
import { ERROR_CATALOGUE, type ErrorDoc } from './error-catalogue';
import { adminEndpointDocs, webhookEndpointDocs } from './operator-endpoints';

export interface OpenApiOptions {
  /** Sandbox mode: documents GET /sandbox/messages and how to get a code without a phone. */
  sandbox: boolean;
  /** ADMIN_API_KEY is set: documents the operator routes under /admin (default: they do not exist). */
  admin?: boolean;
  /** Base URL of the service; default '/' (the origin the document was fetched from). */
  serverUrl?: string;
}

const PROBLEM_MEDIA_TYPE = 'application/problem+json';

const RETRY_AFTER = {
  description: 'Seconds to wait before trying again (also in `retryAfterSeconds`).',
  schema: { type: 'integer', minimum: 1 },
  example: 30,
} as const;

/**
 * The error responses of one endpoint: one response per status, each listing its codes with a named
 * example of each (Swagger UI and Postman show them as selectable examples).
 */
function errorResponses(
  codes: ErrorCode[],
  overrides: Partial<Record<ErrorCode, ErrorDoc>> = {},
): Record<string, ResponseConfig> {
  const byStatus = new Map<number, ErrorDoc[]>();
  for (const code of new Set(codes)) {
    const doc = overrides[code] ?? ERROR_CATALOGUE[code];
    byStatus.set(doc.example.status, [...(byStatus.get(doc.example.status) ?? []), doc]);
  }
  const responses: Record<string, ResponseConfig> = {};
  for (const [status, docs] of [...byStatus].sort(([a], [b]) => a - b)) {
    const retryAfter = docs.some((doc) => doc.example.extensions.retryAfterSeconds !== undefined);
    responses[String(status)] = {
      description: docs.map((doc) => `\`${doc.example.code}\`: ${doc.when}`).join('\n\n'),
      ...(retryAfter
        ? {
            headers: {
              // Always sent with 429; with the other codes only when the wait is known.
              'Retry-After': status === 429 ? { ...RETRY_AFTER, required: true } : RETRY_AFTER,
            },
          }
        : {}),
      content: {
        [PROBLEM_MEDIA_TYPE]: {
          schema: problemResponse,
          examples: Object.fromEntries(
            docs.map((doc) => [
              doc.example.code,
              { summary: doc.example.title, value: problemBody(doc.example) },
            ]),
          ),
        },
      },
    };
  }
  return responses;
}

const idempotencyKeyHeader = z.object({
  'Idempotency-Key': z
    .string()
    .min(1)
    .max(255)
    .regex(/^[\x20-\x7E]+$/)
    .optional()
    .meta({
      description:
        'Makes the request safe to retry (IETF draft-ietf-httpapi-idempotency-key-header): 1-255 printable ' +
        'ASCII characters, unique per request (a UUID), scoped to the caller. A retry with the same key, ' +
        'path and body gets the first final answer (2xx or 4xx) again, byte for byte, with ' +
        '`Idempotent-Replayed: true`, without running again, for `IDEMPOTENCY_TTL` (default 24 h). ' +
        'The body is compared byte for byte (SHA-256). A 5xx is not kept: the retry runs again.',
      example: '8e03978e-40d5-43e8-bc93-6894a57f9324',
    }),
});

const IDEMPOTENT_REPLAYED = {
  description: '`true` when this answer is a replay of the first answer to the same `Idempotency-Key`.',
  schema: { type: 'string' as const, enum: ['true'] },
};

/** A POST /api endpoint takes Idempotency-Key: the request header and its two refusals. */
function withIdempotency(doc: EndpointDoc): EndpointDoc {
  return {
    ...doc,
    route: { ...doc.route, request: { ...doc.route.request, headers: idempotencyKeyHeader } },
    errors: [...doc.errors, 'idempotency_in_progress', 'idempotency_key_reused'],
  };
}

/** Every answer that can be kept (2xx, 4xx) may come back as a replay. */
function markReplayable(responses: Record<string, ResponseConfig>): Record<string, ResponseConfig> {
  return Object.fromEntries(
    Object.entries(responses).map(([status, response]) => [
      status,
      // errorResponses and the success tables give headers as plain objects, never as zod schemas.
      /^[24]/.test(status) && !(response.headers instanceof z.ZodType)
        ? { ...response, headers: { ...response.headers, 'Idempotent-Replayed': IDEMPOTENT_REPLAYED } }
        : response,
    ]),
  );
}

/** The whole error catalogue as a Markdown table, for the top of the interactive page. */
function errorTable(): string {
  const rows = Object.values(ERROR_CATALOGUE)
    .sort((a, b) => a.example.status - b.example.status)
    .map((doc) => `| ${doc.example.status} | \`${doc.example.code}\` | ${doc.when} |`);
  return ['| HTTP | code | when |', '| --- | --- | --- |', ...rows].join('\n');
}

function description(sandbox: boolean, admin: boolean): string {
  return [
    'Sends one-time codes to phones and checks them, through Vonage Verify. Pending verifications are kept ' +
      "server-side per calling service: callers never handle Vonage ids and never see each other's verifications.",
    'Every `/api/*` request needs `Authorization: Bearer <API key>` (**Authorize** above). Phone numbers are ' +
      'accepted in any common written form and answered in E.164.',
    ...(admin
      ? [
          "The operator routes under `/admin` need the operators' key, `ADMIN_API_KEY`, instead (`adminAuth`).",
        ]
      : []),
    '`POST /webhooks/vonage/verify` is for Vonage, not for callers: its callbacks are authenticated by their ' +
      'signed JWT (`vonageSignature`).',
    ...(sandbox
      ? [
          '**Sandbox mode**: no Vonage credentials are configured, so codes go to a local Verify simulator instead ' +
            'of phones. Read them at `GET /sandbox/messages`. Unless `API_KEYS` is set, the API key is `dev-key`.',
        ]
      : []),
    'Every error is `application/problem+json` (RFC 9457) with a stable `code`:',
    errorTable(),
  ].join('\n\n');
}

/** Who may call a documented route: the API key, the operator key, Vonage's signature, or anyone. */
type Access = 'apiKey' | 'admin' | 'vonage' | 'public';

interface Documented {
  route: RouteSpec & { sandboxOnly?: boolean };
  base: string;
  access: Access;
  doc: EndpointDoc;
}

/** Every route of the table the service has with these options, with its documentation. */
function documentedRoutes(options: OpenApiOptions): Documented[] {
  const apiDocs = apiEndpointDocs(options.sandbox);
  const opsDocs = opsEndpointDocs(options.sandbox);
  const docsDocs = docsEndpointDocs();
  const adminDocs = adminEndpointDocs();
  const webhookDocs = webhookEndpointDocs();
  const all: Documented[] = [
    ...API_ROUTES.map((route) => {
      const doc = apiDocs[route.operationId];
      const access: Access = 'apiKey';
      return { route, base: API_BASE, access, doc: route.method === 'post' ? withIdempotency(doc) : doc };
    }),
    ...OPS_ROUTES.map((route) => ({
      route,
      base: '',
      access: 'public' as const,
      doc: opsDocs[route.operationId],
    })),
    ...DOCS_ROUTES.map((route) => ({
      route,
      base: '',
      access: 'public' as const,
      doc: docsDocs[route.operationId],
    })),
    ...WEBHOOK_ROUTES.map((route) => ({
      route,
      base: '',
      access: 'vonage' as const,
      doc: webhookDocs[route.operationId],
    })),
    ...(options.admin
      ? ADMIN_ROUTES.map((route) => ({
          route,
          base: ADMIN_BASE,
          access: 'admin' as const,
          doc: adminDocs[route.operationId],
        }))
      : []),
  ];
  return all.filter(({ route }) => options.sandbox || !route.sandboxOnly);
}

/** Builds the document; callers cache it (it does not change while the process runs). */
export function buildOpenApiDocument(options: OpenApiOptions): object {
  const registry = new OpenAPIRegistry();
  const bearer = registry.registerComponent('securitySchemes', 'bearerAuth', {
    type: 'http',
    scheme: 'bearer',
    description: "The calling service's API key from `API_KEYS` (`caller:key` pairs).",
  });
  const vonage = registry.registerComponent('securitySchemes', 'vonageSignature', {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description:
      "Vonage's signed callbacks: a JWT signed HS256 with `VONAGE_SIGNATURE_SECRET`, its `payload_hash` claim the " +
      'SHA-256 (hex) of the exact body bytes, `iat` within the last day. Vonage signs it; callers never send one.',
  });
  const admin = options.admin
    ? registry.registerComponent('securitySchemes', 'adminAuth', {
        type: 'http',
        scheme: 'bearer',
        description:
          "The operators' key, `ADMIN_API_KEY` (not an API key). A missing or wrong one counts against " +
          '`LIMIT_AUTH_FAILURES_PER_IP`, like a wrong API key.',
      })
    : undefined;
  const schemes: Record<Access, string | undefined> = {
    apiKey: bearer.name,
    admin: admin?.name,
    vonage: vonage.name,
    public: undefined,
  };
  for (const { route, base, access, doc } of documentedRoutes(options)) {
    const responses = { ...doc.success, ...errorResponses(doc.errors, doc.overrides) };
    const scheme = schemes[access];
    registry.registerPath({
      method: route.method,
      path: openApiPath(base, route.path),
      operationId: route.operationId,
      ...doc.route,
      // Public routes say so (an empty list), rather than inheriting the document's default.
      security: scheme ? [{ [scheme]: [] }] : [],
      responses: access === 'apiKey' && route.method === 'post' ? markReplayable(responses) : responses,
    });
  }
  return new OpenApiGeneratorV31(registry.definitions).generateDocument({
    openapi: '3.1.0',
    info: {
      title: 'OTP verification service',
      version: API_VERSION,
      description: description(options.sandbox, options.admin === true),
      license: { name: 'MIT', identifier: 'MIT' },
    },
    // The default for any operation that does not say: the bearer key.
    security: [{ [bearer.name]: [] }],
    servers: [
      {
        url: options.serverUrl ?? '/',
        description: options.sandbox ? 'This service (sandbox mode)' : 'This service',
      },
    ],
    tags: [
      { name: 'Verification', description: 'Send and check codes. Needs the bearer API key.' },
      { name: 'Operations', description: 'Health, readiness and metrics for the platform. No key needed.' },
      ...(options.sandbox ? [{ name: 'Sandbox', description: 'Only in sandbox mode.' }] : []),
      ...(options.admin
        ? [{ name: 'Operators', description: "The abuse guard's operator routes. Needs `ADMIN_API_KEY`." }]
        : []),
      {
        name: 'Vonage callbacks',
        description: 'Called by Vonage (Verify v2), not by callers; authenticated by its signed JWT.',
      },
    ],
  });
}
