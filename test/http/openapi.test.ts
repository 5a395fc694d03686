// The OpenAPI document and the docs page: the document is valid OpenAPI 3.1, lists every endpoint of
// design.md with every error it can give (as problem+json examples identical to what the service sends),
// and /openapi.json, /docs and every file the page loads answer through the real composed app.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { validate } from '@readme/openapi-parser';
import express from 'express';
import supertest from 'supertest';
import type { z } from 'zod';
import type { Composed } from '../../src/compose';
import { loadConfig } from '../../src/config';
import type { ErrorCode } from '../../src/errors';
import { problemBody } from '../../src/errors';
import { ERROR_CATALOGUE } from '../../src/http/docs/error-catalogue';
import { buildOpenApiDocument } from '../../src/http/docs/openapi';
import { mountDocs } from '../../src/http/docs/page';
import { createErrorHandler } from '../../src/http/error-handler';
import { cancelBody, nextEventBody, requestTokenBody, verifyTokenBody } from '../../src/http/schemas';
import { createLogger } from '../../src/logger';
import { composeAsServer } from '../support/harness';

// Just the parts of an OpenAPI document these tests read.
interface Example {
  summary?: string;
  value: unknown;
}
interface MediaType {
  schema?: { $ref?: string };
  example?: unknown;
  examples?: Record<string, Example>;
}
interface Operation {
  operationId?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  requestBody?: { content: Record<string, MediaType> };
  responses: Record<
    string,
    {
      description: string;
      headers?: Record<string, { required?: boolean }>;
      content?: Record<string, MediaType>;
    }
  >;
}
type IdempotentOperation = Operation & {
  parameters?: { in: string; name: string; required?: boolean; schema?: unknown }[];
};
interface Document {
  openapi: string;
  info: { title: string; description?: string };
  servers: { url: string }[];
  tags: { name: string }[];
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, { type: string; scheme?: string }> };
}

const documentOf = (options: { sandbox: boolean; serverUrl?: string }) =>
  buildOpenApiDocument(options) as Document;

/** The statuses of design.md's error table (plus the two codes it leaves implicit: route 404 and 500). */
const STATUS: Record<ErrorCode, number> = {
  validation_failed: 400,
  invalid_phone_number: 400,
  unauthorized: 401,
  country_not_allowed: 403,
  destination_blocked: 403,
  verification_not_found: 404,
  not_found: 404,
  method_not_allowed: 405,
  verification_in_progress: 409,
  concurrent_verification: 409,
  already_verified: 409,
  cancel_not_allowed: 409,
  no_more_events: 409,
  verification_expired: 410,
  too_many_attempts: 410,
  payload_too_large: 413,
  code_mismatch: 422,
  number_not_supported: 422,
  option_not_supported: 422,
  rate_limited: 429,
  internal_error: 500,
  upstream_error: 502,
  upstream_unavailable: 503,
  store_unavailable: 503,
  upstream_timeout: 504,
  idempotency_in_progress: 409,
  idempotency_key_reused: 422,
};

const UPSTREAM: ErrorCode[] = ['upstream_error', 'upstream_unavailable', 'upstream_timeout'];
const BY_ID_OR_NUMBER: ErrorCode[] = [
  'validation_failed',
  'invalid_phone_number',
  'unauthorized',
  'verification_not_found',
  'already_verified',
  'verification_expired',
  'too_many_attempts',
  'payload_too_large',
  'rate_limited',
  'store_unavailable',
  ...UPSTREAM,
];

interface ExpectedOperation {
  method: 'get' | 'post';
  path: string;
  success: string;
  auth: boolean;
  errors: ErrorCode[];
  /** The zod schema the route validates the body with: every documented example must pass it. */
  body?: z.ZodType;
}

const EXPECTED: ExpectedOperation[] = [
  {
    method: 'post',
    path: '/api/request-token',
    success: '201',
    auth: true,
    body: requestTokenBody,
    errors: [
      'validation_failed',
      'invalid_phone_number',
      'unauthorized',
      'country_not_allowed',
      'destination_blocked',
      'verification_in_progress',
      'concurrent_verification',
      'payload_too_large',
      'number_not_supported',
      'option_not_supported',
      'rate_limited',
      'store_unavailable',
      ...UPSTREAM,
    ],
  },
  {
    method: 'post',
    path: '/api/verify-token',
    success: '200',
    auth: true,
    body: verifyTokenBody,
    errors: [...BY_ID_OR_NUMBER, 'code_mismatch'],
  },
  {
    method: 'post',
    path: '/api/cancel',
    success: '200',
    auth: true,
    body: cancelBody,
    errors: [...BY_ID_OR_NUMBER, 'cancel_not_allowed'],
  },
  {
    method: 'post',
    path: '/api/next-event',
    success: '200',
    auth: true,
    body: nextEventBody,
    errors: [...BY_ID_OR_NUMBER, 'no_more_events', 'destination_blocked'],
  },
  {
    method: 'get',
    path: '/api/verifications/{requestId}',
    success: '200',
    auth: true,
    errors: [
      'validation_failed',
      'unauthorized',
      'verification_not_found',
      'rate_limited',
      'store_unavailable',
    ],
  },
  { method: 'get', path: '/', success: '200', auth: false, errors: [] },
  { method: 'get', path: '/openapi.json', success: '200', auth: false, errors: [] },
  { method: 'get', path: '/docs', success: '200', auth: false, errors: [] },
  { method: 'get', path: '/healthz', success: '200', auth: false, errors: [] },
  { method: 'get', path: '/readyz', success: '200', auth: false, errors: ['store_unavailable'] },
  { method: 'get', path: '/metrics', success: '200', auth: false, errors: [] },
  { method: 'get', path: '/sandbox/messages', success: '200', auth: false, errors: [] },
];

function operation(document: Document, method: string, path: string): Operation {
  const found = document.paths[path]?.[method];
  if (!found) throw new Error(`${method.toUpperCase()} ${path} is not in the document`);
  return found;
}

/** The codes of errors.ts's ErrorCode union, read from the source so the test does not trust the catalogue. */
function errorCodesInSource(): string[] {
  const source = readFileSync(join(__dirname, '..', '..', 'src', 'errors.ts'), 'utf8');
  const union = /export type ErrorCode =([^;]+);/.exec(source)?.[1] ?? '';
  return [...union.matchAll(/'([a-z_]+)'/g)].map((match) => match[1] ?? '');
}

describe('the OpenAPI document', () => {
  it('is valid OpenAPI 3.1, with and without sandbox mode', async () => {
    for (const sandbox of [true, false]) {
      const document = buildOpenApiDocument({ sandbox });
      expect(document).toEqual(expect.objectContaining({ openapi: '3.1.0' }));
      // validate() dereferences in place: give it a copy.
      const result = await validate(structuredClone(document) as Parameters<typeof validate>[0]);
      if (!result.valid) throw new Error(JSON.stringify(result.errors, null, 2));
      expect(result.valid).toBe(true);
    }
  });

  it('names its server (serverUrl, or the origin it was fetched from)', () => {
    expect(documentOf({ sandbox: false }).servers).toEqual([expect.objectContaining({ url: '/' })]);
    expect(documentOf({ sandbox: false, serverUrl: 'https://otp.example.com' }).servers).toEqual([
      expect.objectContaining({ url: 'https://otp.example.com' }),
    ]);
  });

  it('lists GET /sandbox/messages only in sandbox mode', () => {
    expect(documentOf({ sandbox: true }).paths['/sandbox/messages']?.get).toBeDefined();
    expect(documentOf({ sandbox: false }).paths['/sandbox/messages']).toBeUndefined();
  });

  const document = documentOf({ sandbox: true });

  it.each(EXPECTED)(
    'documents $method $path with its success, auth and every error it can give',
    (expected) => {
      const op = operation(document, expected.method, expected.path);
      expect(op.operationId).toMatch(/^[A-Za-z]+$/);
      expect(op.tags?.length).toBeGreaterThan(0);
      expect(op.responses[expected.success]).toBeDefined();
      if (expected.auth) {
        expect(op.security).toEqual([{ bearerAuth: [] }]);
        // Anything behind the key can fail on a bug; the document says so rather than leaving 500 implicit.
        expect(
          op.responses['500']?.content?.['application/problem+json']?.examples?.internal_error,
        ).toBeDefined();
      } else {
        // Public routes say so explicitly: the document's default is the bearer key.
        expect(op.security).toEqual([]);
      }
      for (const code of expected.errors) {
        const response = op.responses[String(STATUS[code])];
        const media = response?.content?.['application/problem+json'];
        expect({ code, schema: media?.schema }).toEqual({
          code,
          schema: { $ref: '#/components/schemas/Problem' },
        });
        expect(media?.examples?.[code]?.value).toEqual(
          expect.objectContaining({ code, status: STATUS[code] }),
        );
        expect(response?.description).toContain(`\`${code}\``);
      }
    },
  );

  it('puts a required Retry-After header on every 429', () => {
    const limited = EXPECTED.filter((expected) => expected.errors.includes('rate_limited'));
    expect(limited.length).toBeGreaterThan(0);
    for (const expected of limited) {
      expect(
        operation(document, expected.method, expected.path).responses['429']?.headers?.['Retry-After'],
      ).toEqual(expect.objectContaining({ required: true }));
    }
  });

  it('documents Idempotency-Key on every POST /api operation: the header, 409, 422 and the replay marker', () => {
    const posts = Object.entries(document.paths).flatMap(([path, item]) =>
      path.startsWith('/api/') && item.post ? [{ path, op: item.post as IdempotentOperation }] : [],
    );
    expect(posts.map((post) => post.path).sort()).toEqual(
      EXPECTED.filter((e) => e.method === 'post')
        .map((e) => e.path)
        .sort(),
    );
    for (const { path, op } of posts) {
      const header = op.parameters?.find((p) => p.in === 'header' && p.name === 'Idempotency-Key');
      expect({ path, header: header?.schema }).toEqual({
        path,
        header: expect.objectContaining({ type: 'string', minLength: 1, maxLength: 255 }),
      });
      expect(header?.required).not.toBe(true);
      expect(
        op.responses['409']?.content?.['application/problem+json']?.examples?.idempotency_in_progress,
      ).toBeDefined();
      expect(op.responses['409']?.headers?.['Retry-After']).toBeDefined();
      expect(
        op.responses['422']?.content?.['application/problem+json']?.examples?.idempotency_key_reused,
      ).toBeDefined();
      for (const [status, response] of Object.entries(op.responses)) {
        const marked = response.headers?.['Idempotent-Replayed'] !== undefined;
        expect({ path, status, marked }).toEqual({ path, status, marked: /^[24]/.test(status) });
      }
    }
    const get = operation(document, 'get', '/api/verifications/{requestId}') as IdempotentOperation;
    expect(get.parameters?.some((p) => p.name === 'Idempotency-Key')).toBe(false);
  });

  it('answers GET /metrics as text/plain', () => {
    expect(Object.keys(operation(document, 'get', '/metrics').responses['200']?.content ?? {})).toEqual([
      'text/plain',
    ]);
  });

  it('has a bearer security scheme, unique operationIds and declared tags', () => {
    expect(document.components.securitySchemes.bearerAuth).toEqual(
      expect.objectContaining({ type: 'http', scheme: 'bearer' }),
    );
    const operations = Object.values(document.paths).flatMap((item) => Object.values(item));
    const ids = operations.map((op) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
    const declared = new Set(document.tags.map((tag) => tag.name));
    for (const op of operations) for (const tag of op.tags ?? []) expect(declared).toContain(tag);
  });

  it('has request examples that the request schemas accept', () => {
    for (const expected of EXPECTED.filter((e) => e.body !== undefined)) {
      const media = operation(document, expected.method, expected.path).requestBody?.content[
        'application/json'
      ];
      const examples = Object.values(media?.examples ?? {});
      expect(examples.length).toBeGreaterThan(0);
      for (const example of examples) {
        const parsed = expected.body?.safeParse(example.value);
        expect({ path: expected.path, example: example.value, ok: parsed?.success }).toEqual({
          path: expected.path,
          example: example.value,
          ok: true,
        });
      }
    }
  });

  it('mentions every error code of errors.ts', () => {
    const codes = errorCodesInSource();
    expect(codes.length).toBeGreaterThan(15);
    const text = JSON.stringify(document);
    for (const code of codes) {
      // Whole codes only: not_found must not count as found inside verification_not_found.
      expect({ code, found: new RegExp(`(?<![a-z_])${code}(?![a-z_])`).test(text) }).toEqual({
        code,
        found: true,
      });
    }
    expect(Object.keys(ERROR_CATALOGUE).sort()).toEqual([...codes].sort());
  });

  it('shows each error exactly as the error handler sends it', async () => {
    const app = express();
    app.get('/fail/:code', (req) => {
      throw ERROR_CATALOGUE[req.params.code as ErrorCode].example;
    });
    app.use(createErrorHandler());
    for (const [code, doc] of Object.entries(ERROR_CATALOGUE)) {
      expect(doc.example.code).toBe(code);
      expect(doc.example.status).toBe(STATUS[code as ErrorCode]);
      const res = await supertest(app).get(`/fail/${code}`);
      expect(res.status).toBe(doc.example.status);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(JSON.parse(res.text)).toEqual(problemBody(doc.example));
      expect(res.headers['retry-after'] !== undefined).toBe(
        doc.example.extensions.retryAfterSeconds !== undefined,
      );
    }
  });
});

describe('the docs routes in the composed sandbox app', () => {
  let composed: Composed;
  let http: ReturnType<typeof supertest>;

  beforeAll(async () => {
    // The app as src/server.ts builds it in sandbox mode (no Vonage credentials, in-memory store, own simulator).
    const config = loadConfig({ LOG_LEVEL: 'silent' });
    composed = await composeAsServer(config, createLogger('silent'), {
      docs: mountDocs({ sandbox: config.sandbox }),
      defaultMetrics: false,
    });
    http = supertest(composed.app);
  });

  afterAll(async () => {
    await composed?.close();
  });

  it('serves the document at /openapi.json', async () => {
    const res = await http.get('/openapi.json').expect(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.body).toEqual(JSON.parse(JSON.stringify(documentOf({ sandbox: true }))));
    const result = await validate(res.body as Parameters<typeof validate>[0]);
    expect(result.valid).toBe(true);
  });

  it('serves /docs, and every file it references answers 200', async () => {
    const res = await http.get('/docs').expect(200);
    expect(res.headers['content-type']).toMatch(/^text\/html/);
    const csp = String(res.headers['content-security-policy']);
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-eval');
    // No inline script: the page must run under script-src 'self'.
    expect(res.text).not.toMatch(/<script(?![^>]*\bsrc=)[^>]*>/);

    const urls = [...res.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1] ?? '');
    expect(urls).toEqual(expect.arrayContaining(['/docs/assets/swagger-ui-bundle.js', '/docs/init.js']));
    for (const url of urls) {
      expect(url).toMatch(/^\/docs\//);
      const asset = await http.get(url);
      expect({ url, status: asset.status }).toEqual({ url, status: 200 });
      const type = String(asset.headers['content-type']);
      if (url.endsWith('.js')) expect(type).toMatch(/javascript/);
      if (url.endsWith('.css')) expect(type).toMatch(/^text\/css/);
    }

    const init = await http.get('/docs/init.js');
    expect(init.text).toContain("url: '/openapi.json'");
    expect(init.text).toContain('persistAuthorization: true');
    expect(init.text).toContain('tryItOutEnabled: true');
  });

  it('serves only the listed swagger-ui files', async () => {
    for (const url of [
      '/docs/assets/index.html',
      '/docs/assets/swagger-initializer.js',
      '/docs/assets/..%2Fpackage.json',
    ]) {
      const res = await http.get(url);
      expect({ url, status: res.status }).toEqual({ url, status: 404 });
    }
  });

  it("runs request-token with the document's first example and the sandbox key, as Try it out does", async () => {
    const op = operation(documentOf({ sandbox: true }), 'post', '/api/request-token');
    const [first] = Object.values(op.requestBody?.content['application/json']?.examples ?? {});
    const res = await http
      .post('/api/request-token')
      .set('Authorization', 'Bearer dev-key')
      .send(first?.value as object)
      .expect(201);
    expect(res.body).toEqual(expect.objectContaining({ status: 'pending', phoneNumber: '+447911123456' }));
    const inbox = await http.get('/sandbox/messages').query({ phoneNumber: '+447911123456' }).expect(200);
    expect(inbox.body.messages).toEqual([expect.objectContaining({ requestId: res.body.requestId })]);
  });
});

describe('mountDocs on a bare app', () => {
  it('documents the given server and lets the page call it', async () => {
    const app = express();
    mountDocs({ sandbox: false, serverUrl: 'https://otp.example.com' })(app);
    const http = supertest(app);
    const document = (await http.get('/openapi.json').expect(200)).body as Document;
    expect(document.servers).toEqual([expect.objectContaining({ url: 'https://otp.example.com' })]);
    expect(document.paths['/sandbox/messages']).toBeUndefined();
    const page = await http.get('/docs/').expect(200);
    expect(page.headers['content-security-policy']).toContain("connect-src 'self' https://otp.example.com;");
    expect(page.headers['content-security-policy']).not.toContain('upgrade-insecure-requests');
  });
});
