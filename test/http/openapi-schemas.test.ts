// The OpenAPI document's schemas say what the service does, for clients generated from it: the body
// rule "exactly one of requestId or phoneNumber (country only with phoneNumber)" is in the schema
// (oneOf, dependentRequired) and agrees with the service's own validation on every combination; the
// real answers of a sandbox flow validate against their documented response schemas, phone numbers in
// E.164; and the public routes answer without a key, as their `security: []` says.

import Ajv2020 from 'ajv/dist/2020';
import supertest from 'supertest';
import type { z } from 'zod';
import type { Composed } from '../../src/compose';
import { loadConfig } from '../../src/config';
import { errors, problemBody } from '../../src/errors';
import { buildOpenApiDocument } from '../../src/http/docs/openapi';
import { mountDocs } from '../../src/http/docs/page';
import { cancelBody, nextEventBody, verifyTokenBody } from '../../src/http/schemas';
import { createLogger } from '../../src/logger';
import { composeAsServer } from '../support/harness';

interface Document {
  security: Record<string, string[]>[];
  paths: Record<string, Record<string, { security?: unknown[] }>>;
  components: { schemas: Record<string, object> };
}

const document = buildOpenApiDocument({ sandbox: true }) as Document;

/** A validator for one component schema, with every other component resolvable by $ref. */
function validatorFor(name: string) {
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  // ajv does not know OpenAPI's `example` keyword; strict: false lets it pass as an annotation.
  ajv.addSchema({ $id: 'openapi', components: document.components });
  return ajv.compile({ $ref: `openapi#/components/schemas/${name}` });
}

const ID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const PHONE = '+447400123456';
const BODIES: Record<string, unknown>[] = [
  { requestId: ID },
  { phoneNumber: PHONE },
  { phoneNumber: '07400 123456', country: 'GB' },
  {},
  { requestId: ID, phoneNumber: PHONE },
  { requestId: ID, country: 'GB' },
  { country: 'GB' },
  { requestId: ID, phoneNumber: PHONE, country: 'GB' },
];

describe.each([
  ['VerifyTokenBody', verifyTokenBody, { code: '123456' }],
  ['CancelBody', cancelBody, {}],
  ['NextEventBody', nextEventBody, {}],
] as [string, z.ZodType, Record<string, unknown>][])('%s', (name, zodSchema, extra) => {
  const validate = validatorFor(name);

  test('the schema states the rule as oneOf and dependentRequired', () => {
    const schema = document.components.schemas[name] as {
      oneOf?: { required: string[] }[];
      dependentRequired?: unknown;
    };
    expect(schema.oneOf?.map((branch) => branch.required)).toEqual([['requestId'], ['phoneNumber']]);
    expect(schema.dependentRequired).toEqual({ country: ['phoneNumber'] });
  });

  test.each(BODIES)('the document and the service agree on %j', (identity) => {
    const body = { ...identity, ...extra };
    const byService = zodSchema.safeParse(body).success;
    expect({ body, byDocument: validate(body) }).toEqual({ body, byDocument: byService });
  });

  test('exactly the bodies with one identity (and country only beside a number) pass', () => {
    const passing = BODIES.filter((identity) => validate({ ...identity, ...extra }));
    expect(passing).toEqual([
      { requestId: ID },
      { phoneNumber: PHONE },
      { phoneNumber: '07400 123456', country: 'GB' },
    ]);
  });
});

describe('security', () => {
  test('the default is the bearer key; every public route opts out with security: []', () => {
    expect(document.security).toEqual([{ bearerAuth: [] }]);
    const publicRoutes = Object.entries(document.paths)
      .filter(([, item]) =>
        Object.values(item).every((op) => Array.isArray(op.security) && op.security.length === 0),
      )
      .map(([path]) => path)
      .sort();
    expect(publicRoutes).toEqual([
      '/',
      '/docs',
      '/healthz',
      '/metrics',
      '/openapi.json',
      '/readyz',
      '/sandbox/messages',
      '/sandbox/reset',
    ]);
    for (const [path, item] of Object.entries(document.paths)) {
      if (path.startsWith('/api/')) {
        for (const op of Object.values(item)) expect(op.security).toEqual([{ bearerAuth: [] }]);
      }
    }
  });
});

describe('real answers against their documented schemas (composed sandbox app)', () => {
  let composed: Composed;
  let http: ReturnType<typeof supertest>;

  beforeAll(async () => {
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

  const expectValid = (schema: string, body: unknown) => {
    const validate = validatorFor(schema);
    expect({ schema, body, errors: validate(body) ? null : validate.errors }).toEqual({
      schema,
      body,
      errors: null,
    });
  };

  test('the public routes answer without a key, as documented', async () => {
    const index = await http.get('/').expect(200);
    expectValid('ServiceIndex', index.body);
    expect(index.body).toEqual(expect.objectContaining({ docs: '/docs', openapi: '/openapi.json' }));
    for (const path of ['/docs', '/openapi.json', '/healthz', '/readyz', '/metrics', '/sandbox/messages']) {
      const res = await http.get(path);
      expect({ path, status: res.status }).toEqual({ path, status: 200 });
    }
  });

  test('request, verify and status answer their schemas, with the number in E.164 whatever form was sent', async () => {
    const auth = { Authorization: 'Bearer dev-key' };
    const started = await http
      .post('/api/request-token')
      .set(auth)
      .send({ phoneNumber: '07400 123457', country: 'gb' })
      .expect(201);
    expectValid('Started', started.body);
    expect(started.body.phoneNumber).toBe('+447400123457');

    const inbox = await http.get('/sandbox/messages').query({ phoneNumber: '+447400123457' }).expect(200);
    expectValid('SandboxMessages', inbox.body);
    const code = (inbox.body.messages as { requestId: string; code: string }[]).find(
      (m) => m.requestId === started.body.requestId,
    )?.code;

    const verified = await http
      .post('/api/verify-token')
      .set(auth)
      .send({ phoneNumber: '(07400) 123-457', country: 'GB', code })
      .expect(200);
    expectValid('Verified', verified.body);
    expect(verified.body.phoneNumber).toBe('+447400123457');

    const status = await http.get(`/api/verifications/${started.body.requestId}`).set(auth).expect(200);
    expectValid('Verification', status.body);

    const problem = await http
      .post('/api/verify-token')
      .set(auth)
      .send({ requestId: ID, phoneNumber: PHONE, code });
    expect(problem.status).toBe(400);
    expectValid('Problem', problem.body);
  });
});

describe('the Problem schema', () => {
  const validate = validatorFor('Problem');
  const schema = document.components.schemas.Problem as { additionalProperties?: unknown };

  // Every problem the service writes, with its extensions: clients generated from the document type them.
  test.each([
    ['destination_blocked (prefix)', errors.destinationBlocked('prefix', 600)],
    ['destination_blocked (country)', errors.destinationBlocked('country', 60)],
    ['rate_limited', errors.rateLimited(3600, 'codes sent to this number (5/1h)')],
    ['validation_failed', errors.validationFailed([{ path: 'phoneNumber', message: 'required' }])],
  ])('%s validates, each of its fields documented', (_name, error) => {
    const body = problemBody(error);
    expect(validate(body)).toBe(true);
    const documented = Object.keys(
      (document.components.schemas.Problem as { properties: object }).properties,
    );
    expect(Object.keys(body).filter((field) => !documented.includes(field))).toEqual([]);
    expect(schema.additionalProperties === false || schema.additionalProperties === undefined).toBe(true);
  });

  test('destination_blocked names its reason and scope in the schema', () => {
    const properties = (
      document.components.schemas.Problem as { properties: Record<string, { enum?: unknown }> }
    ).properties;
    expect(properties.reason?.enum).toEqual(['low_conversion']);
    expect(properties.scope?.enum).toEqual(['prefix', 'country']);
  });
});
