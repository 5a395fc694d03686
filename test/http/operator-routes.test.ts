// The routes that are not for callers, as the route table drives them: the abuse guard's operator
// routes (/admin, only with ADMIN_API_KEY) and Vonage's webhook are in GET /openapi.json exactly when
// they exist, with their own security schemes; a wrong method on their paths is 405 method_not_allowed
// with Allow; and a missing or wrong operator key counts against the address's failed-authentication
// limit shared with /api (401, then 429 with Retry-After). The whole service over real Redis.

import { validate } from '@readme/openapi-parser';
import Ajv2020 from 'ajv/dist/2020';
import type { Response } from 'supertest';
import { type Harness, KEYS, startHarness } from '../support/harness';

const ADMIN = 'admin-key-0123456789abcdef';

interface Operation {
  operationId?: string;
  tags?: string[];
  security?: Record<string, string[]>[];
  responses: Record<string, { content?: Record<string, { examples?: Record<string, unknown> }> }>;
}
interface Document {
  tags: { name: string }[];
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, { type: string; scheme?: string }>; schemas: object };
}

function expectProblem(res: Response, status: number, code: string): void {
  expect({ status: res.status, code: res.body.code }).toEqual({ status, code });
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
}

function expectMethodNotAllowed(res: Response, allow: string): void {
  expectProblem(res, 405, 'method_not_allowed');
  expect(res.headers.allow).toBe(allow);
}

async function documentOf(h: Harness): Promise<Document> {
  const res = await h.http.get('/openapi.json').expect(200);
  const result = await validate(structuredClone(res.body) as Parameters<typeof validate>[0]);
  if (!result.valid) throw new Error(JSON.stringify(result.errors, null, 2));
  return res.body as Document;
}

async function metric(h: Harness, series: string): Promise<number> {
  const text = (await h.http.get('/metrics')).text;
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}

const statusLabel = (route: string, method: string, status: number) =>
  `otp_http_requests_total{route="${route}",method="${method}",status="${status}"}`;

describe('with ADMIN_API_KEY', () => {
  let h: Harness;
  const admin = { Authorization: `Bearer ${ADMIN}` };
  beforeAll(async () => {
    h = await startHarness({ env: { ADMIN_API_KEY: ADMIN, LIMIT_AUTH_FAILURES_PER_IP: '50/1m' } });
  });
  afterAll(async () => {
    await h.close();
  });

  test('/openapi.json documents the operator routes with their own bearer scheme, and the webhook with Vonage signature', async () => {
    const document = await documentOf(h);
    const guard = document.paths['/admin/guard']?.get;
    const lift = document.paths['/admin/guard/blocks/{scope}/{value}']?.delete;
    const webhook = document.paths['/webhooks/vonage/verify']?.post;
    expect(Object.keys(document.paths['/admin/guard'] ?? {})).toEqual(['get']);
    expect(Object.keys(document.paths['/admin/guard/blocks/{scope}/{value}'] ?? {})).toEqual(['delete']);
    expect(guard?.security).toEqual([{ adminAuth: [] }]);
    expect(lift?.security).toEqual([{ adminAuth: [] }]);
    expect(webhook?.security).toEqual([{ vonageSignature: [] }]);
    expect(document.components.securitySchemes.adminAuth).toEqual(
      expect.objectContaining({ type: 'http', scheme: 'bearer' }),
    );
    expect(document.components.securitySchemes.vonageSignature).toEqual(
      expect.objectContaining({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }),
    );
    expect(document.tags.map((tag) => tag.name)).toEqual(
      expect.arrayContaining(['Operators', 'Vonage callbacks']),
    );
    const codes = (op: Operation | undefined) =>
      Object.fromEntries(
        Object.entries(op?.responses ?? {}).map(([status, response]) => [
          status,
          Object.keys(response.content?.['application/problem+json']?.examples ?? {}),
        ]),
      );
    expect(codes(guard)).toEqual({
      '200': [],
      '401': ['unauthorized'],
      '429': ['rate_limited'],
      '500': ['internal_error'],
      '503': ['store_unavailable'],
    });
    expect(codes(lift)).toEqual({
      '200': [],
      '400': ['validation_failed'],
      '401': ['unauthorized'],
      '404': ['not_found'],
      '429': ['rate_limited'],
      '500': ['internal_error'],
      '503': ['store_unavailable'],
    });
    expect(codes(webhook)).toEqual(
      expect.objectContaining({ '200': [], '400': ['validation_failed'], '401': ['unauthorized'] }),
    );
  });

  test('the real answers of the operator routes validate against their documented schemas', async () => {
    const document = await documentOf(h);
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    ajv.addSchema({ $id: 'openapi', components: document.components });
    const check = (schema: string, body: unknown) => {
      const valid = ajv.compile({ $ref: `openapi#/components/schemas/${schema}` });
      expect({ schema, errors: valid(body) ? null : valid.errors }).toEqual({ schema, errors: null });
    };
    const view = await h.http.get('/admin/guard').set(admin).expect(200);
    expect(view.headers['cache-control']).toBe('no-store');
    check('GuardView', view.body);
    const missing = await h.http.delete('/admin/guard/blocks/prefix/%2B447700900').set(admin);
    expectProblem(missing, 404, 'not_found');
    check('Problem', missing.body);
  });

  test('a wrong method on an operator path is 405 with Allow once the key is right (401 before)', async () => {
    expectMethodNotAllowed(await h.http.post('/admin/guard').set(admin), 'GET, HEAD');
    expectMethodNotAllowed(await h.http.delete('/admin/guard').set(admin), 'GET, HEAD');
    expectMethodNotAllowed(await h.http.get('/admin/guard/blocks/prefix/%2B447700900').set(admin), 'DELETE');
    expectMethodNotAllowed(await h.http.put('/admin/guard/blocks/country/GB').set(admin), 'DELETE');
    // As under /api, who is asking comes first.
    expectProblem(await h.http.post('/admin/guard'), 401, 'unauthorized');
    // Paths the table does not know stay 404.
    expectProblem(await h.http.get('/admin/nothing').set(admin), 404, 'not_found');
    expectProblem(await h.http.get('/admin/guard/blocks/prefix').set(admin), 404, 'not_found');
  });

  test('the operator routes keep their metrics labels', async () => {
    const before = await metric(h, statusLabel('/admin/guard/blocks/:scope/:value', 'DELETE', 404));
    const viewed = await metric(h, statusLabel('/admin/guard', 'GET', 200));
    await h.http.delete('/admin/guard/blocks/country/ZZ').set(admin).expect(404);
    await h.http.get('/admin/guard').set(admin).expect(200);
    expect(await metric(h, statusLabel('/admin/guard/blocks/:scope/:value', 'DELETE', 404))).toBe(before + 1);
    expect(await metric(h, statusLabel('/admin/guard', 'GET', 200))).toBe(viewed + 1);
  });
});

describe('the failed-authentication limit on the operator key', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({ env: { ADMIN_API_KEY: ADMIN, LIMIT_AUTH_FAILURES_PER_IP: '4/1m' } });
  });
  afterAll(async () => {
    await h.close();
  });

  test('a wrong or missing admin key counts, with wrong API keys, toward the address limit: 401, then 429', async () => {
    expectProblem(
      await h.http.get('/admin/guard').set('Authorization', 'Bearer guess-1'),
      401,
      'unauthorized',
    );
    expectProblem(await h.http.get('/admin/guard'), 401, 'unauthorized');
    // An API key is not the operator key, and the same count goes on under /api.
    expectProblem(
      await h.http
        .delete('/admin/guard/blocks/prefix/%2B447700900')
        .set('Authorization', `Bearer ${KEYS.alpha}`),
      401,
      'unauthorized',
    );
    expectProblem(
      await h.http.get('/api/verifications/x').set('Authorization', 'Bearer nope'),
      401,
      'unauthorized',
    );

    const refused = await h.http.get('/admin/guard').set('Authorization', 'Bearer guess-2');
    expectProblem(refused, 429, 'rate_limited');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThan(0);
    expect(refused.body.retryAfterSeconds).toBe(Number(refused.headers['retry-after']));
    expect(refused.body.detail).toContain('failed authentication attempts from this address');
    // The address is over its limit under /api too.
    expectProblem(await h.http.get('/api/verifications/x'), 429, 'rate_limited');
    // The right key is not counted and still answers.
    await h.http.get('/admin/guard').set('Authorization', `Bearer ${ADMIN}`).expect(200);
  });
});

describe('without ADMIN_API_KEY', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  test('/openapi.json has no operator routes, and still the webhook', async () => {
    const document = await documentOf(h);
    expect(Object.keys(document.paths).filter((path) => path.startsWith('/admin'))).toEqual([]);
    expect(document.components.securitySchemes.adminAuth).toBeUndefined();
    expect(document.tags.map((tag) => tag.name)).not.toContain('Operators');
    expect(document.paths['/webhooks/vonage/verify']?.post?.security).toEqual([{ vonageSignature: [] }]);
  });

  test('the operator paths do not exist, for any method', async () => {
    expectProblem(await h.http.get('/admin/guard').set('Authorization', `Bearer ${ADMIN}`), 404, 'not_found');
    expectProblem(
      await h.http.post('/admin/guard').set('Authorization', `Bearer ${ADMIN}`),
      404,
      'not_found',
    );
  });

  test('a wrong method on the webhook is 405 with Allow: POST, labelled as before', async () => {
    const before = await metric(h, statusLabel('unmatched', 'GET', 405));
    expectMethodNotAllowed(await h.http.get('/webhooks/vonage/verify'), 'POST');
    expectMethodNotAllowed(await h.http.put('/webhooks/vonage/verify'), 'POST');
    expect(await metric(h, statusLabel('unmatched', 'GET', 405))).toBe(before + 1);
    // The route itself still answers its own way, under its own label.
    const refused = await metric(h, statusLabel('/webhooks/vonage/verify', 'POST', 401));
    expectProblem(await h.http.post('/webhooks/vonage/verify').send({}), 401, 'unauthorized');
    expect(await metric(h, statusLabel('/webhooks/vonage/verify', 'POST', 401))).toBe(refused + 1);
  });
});
