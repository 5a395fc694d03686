// Table-driven tests of the Verify v2 boundary: every v2 answer (HTTP status and problem body) maps to the
// contract's outcome or error code. The first tables test the mapping functions with Vonage's documented
// bodies; the last drive the simulator's fault switches and refusals through the real SDK over HTTP, end
// to end to the HTTP answer a caller sees.

import { ApiError } from '../../src/errors';
import {
  mapCancelProblem,
  mapCheckProblem,
  mapNextProblem,
  mapStartProblem,
  type V2Problem,
} from '../../src/vonage/v2/problem-map';
import { codeForV2, startV2Harness, ukMobile, type V2Harness } from '../support/harness';

const ID = '6a3c1f47-1111-4222-8333-444455556666';

function label(result: { kind: string } | ApiError): string {
  return result instanceof ApiError ? `${result.status} ${result.code}` : result.kind;
}

const problem = (status: number, body: V2Problem['body'] = {}, retryAfterSeconds?: number): V2Problem => ({
  status,
  body,
  ...(retryAfterSeconds ? { retryAfterSeconds } : {}),
});

// Vonage's own bodies (docs/vonage-verify-v2.md, "Errors").
const CONCURRENT = {
  type: 'https://developer.vonage.com/en/api-errors/verify-v2#concurrent',
  title: 'Conflict',
  detail: 'Concurrent verifications to the same number are not allowed.',
};
const INVALID_CODE = {
  type: 'https://developer.vonage.com/en/api-errors/verify-v2#invalid-code',
  title: 'Invalid Code',
  detail: 'The code you provided does not match the expected value.',
};
const NO_MORE_EVENTS = {
  type: 'https://developer.nexmo.com/api-errors#conflict',
  title: 'Conflict',
  detail: 'There are no more events left to trigger.',
};
const REPLICATION_DELAY = {
  type: 'https://developer.vonage.com/en/api-errors/verify-v2#conflict',
  title: 'Conflict',
  detail: 'The operation cannot be performed at this time. Please try again later.',
};
const invalidParams = (...names: string[]) => ({
  type: 'https://developer.vonage.com/en/api-errors#invalid-params',
  title: 'Invalid params',
  detail: 'The value of one or more parameters is invalid.',
  invalid_parameters: names.map((name) => ({ name, reason: 'Invalid' })),
});

describe('start (POST /v2/verify) answers', () => {
  test.each<[string, V2Problem, string]>([
    ['409 concurrent', problem(409, CONCURRENT), 'in_flight'],
    ['409 concurrent with the id in flight', problem(409, { ...CONCURRENT, request_id: ID }), 'in_flight'],
    ['422 naming workflow[0].to', problem(422, invalidParams('workflow[0].to')), '400 invalid_phone_number'],
    ['422 naming to', problem(422, invalidParams('to')), '400 invalid_phone_number'],
    ['422 naming brand', problem(422, invalidParams('brand')), '422 option_not_supported'],
    ['422 naming locale', problem(422, invalidParams('locale')), '422 option_not_supported'],
    [
      '422 naming channel_timeout',
      problem(422, invalidParams('channel_timeout')),
      '422 option_not_supported',
    ],
    ['422 naming code_length', problem(422, invalidParams('code_length')), '422 option_not_supported'],
    [
      '422 naming workflow[1].channel',
      problem(422, invalidParams('workflow[1].channel')),
      '422 option_not_supported',
    ],
    [
      '422 naming workflow[0].from (our sender)',
      problem(422, invalidParams('workflow[0].from')),
      '502 upstream_error',
    ],
    ['422 naming nothing', problem(422, {}), '502 upstream_error'],
    ['412 network not supported', problem(412), '422 number_not_supported'],
    ['401 unauthorized', problem(401), '502 upstream_error'],
    ['403 forbidden', problem(403), '502 upstream_error'],
    ['402 low balance', problem(402), '503 upstream_unavailable'],
    ['429 throttled', problem(429), '503 upstream_unavailable'],
    ['500 internal error', problem(500), '502 upstream_error'],
    ['503', problem(503), '502 upstream_error'],
    ['418 undocumented', problem(418), '502 upstream_error'],
  ])('%s -> %s', (_name, given, expected) => {
    expect(label(mapStartProblem(given))).toBe(expected);
  });

  test('409 keeps the in-flight id when Vonage gives one, and names none otherwise', () => {
    expect(mapStartProblem(problem(409, { ...CONCURRENT, request_id: ID }))).toEqual({
      kind: 'in_flight',
      requestId: ID,
    });
    expect(mapStartProblem(problem(409, CONCURRENT))).toEqual({ kind: 'in_flight' });
  });

  test('422 option_not_supported names the request field, 429 carries Retry-After', () => {
    const refused = mapStartProblem(problem(422, invalidParams('channel_timeout'))) as ApiError;
    expect(refused.extensions.option).toBe('nextEventWait');
    const throttled = mapStartProblem(problem(429, {}, 7)) as ApiError;
    expect(throttled.extensions.retryAfterSeconds).toBe(7);
    expect((mapStartProblem(problem(429)) as ApiError).extensions.retryAfterSeconds).toBe(1);
  });
});

describe('check (POST /v2/verify/{id}) answers', () => {
  test.each<[string, V2Problem, string]>([
    ['400 invalid code', problem(400, INVALID_CODE), 'mismatch'],
    ['400 something else', problem(400, { detail: 'Bad request' }), '502 upstream_error'],
    [
      '409 step takes no code',
      problem(409, { detail: 'The current Verify workflow step does not support a code.' }),
      'mismatch',
    ],
    [
      '410 workflow terminated',
      problem(410, { detail: 'An incorrect code has been provided too many times. Workflow terminated.' }),
      'too_many_attempts',
    ],
    [
      '404 not found or verified',
      problem(404, { detail: `Request ${ID} was not found or it has been verified already.` }),
      'not_found',
    ],
    ['401', problem(401), '502 upstream_error'],
    ['402', problem(402), '503 upstream_unavailable'],
    ['429', problem(429), '503 upstream_unavailable'],
    ['500', problem(500), '502 upstream_error'],
  ])('%s -> %s', (_name, given, expected) => {
    expect(label(mapCheckProblem(given))).toBe(expected);
  });
});

describe('cancel (DELETE /v2/verify/{id}) answers', () => {
  test.each<[string, V2Problem, string]>([
    ['404', problem(404), 'not_found'],
    ['409 refused (inside 30 s, or after the second step)', problem(409), 'refused'],
    ['400 refused', problem(400), 'refused'],
    ['403 refused', problem(403), 'refused'],
    ['401', problem(401), '502 upstream_error'],
    ['402', problem(402), '503 upstream_unavailable'],
    ['429', problem(429), '503 upstream_unavailable'],
    ['500', problem(500), '502 upstream_error'],
  ])('%s -> %s', (_name, given, expected) => {
    expect(label(mapCancelProblem(given))).toBe(expected);
  });
});

describe('next_workflow answers', () => {
  test.each<[string, V2Problem, string]>([
    ['404', problem(404), 'not_found'],
    ['409 no more events', problem(409, NO_MORE_EVENTS), 'refused'],
    ['409 replication delay (retryable)', problem(409, REPLICATION_DELAY), '503 upstream_unavailable'],
    ['401', problem(401), '502 upstream_error'],
    ['402', problem(402), '503 upstream_unavailable'],
    ['500', problem(500), '502 upstream_error'],
  ])('%s -> %s', (_name, given, expected) => {
    expect(label(mapNextProblem(given))).toBe(expected);
  });
});

describe('through the SDK and the v2 simulator', () => {
  let h: V2Harness;
  beforeAll(async () => {
    // Numbers ending 999 stand for networks without silent authentication.
    h = await startV2Harness({ sim: { silentAuthUnsupported: (to) => to.endsWith('999') } });
  }, 30_000);
  afterAll(async () => {
    await h.close();
  });
  afterEach(() => h.sim.faults.clear());

  const start = (body: object = {}) =>
    h.as('alpha').post('/api/request-token', { phoneNumber: ukMobile(), ...body });

  test.each([
    ['http500', 502, 'upstream_error'],
    ['http401', 502, 'upstream_error'],
    ['http402', 503, 'upstream_unavailable'],
    ['http429', 503, 'upstream_unavailable'],
    ['http429NoRetryAfter', 503, 'upstream_unavailable'],
    ['badJson', 502, 'upstream_error'],
    ['notJson', 502, 'upstream_error'],
    ['reset', 503, 'upstream_unavailable'],
  ] as const)('request-token when the simulator answers %s -> %i %s', async (mode, status, code) => {
    h.sim.faults.set({ mode, operations: ['start'], times: 1 });
    const res = await start();
    expect(res.status).toBe(status);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.code).toBe(code);
  });

  test('a hang answers 504 upstream_timeout within the timeout plus a second', async () => {
    h.sim.faults.set({ mode: 'hang', operations: ['start'], times: 1 });
    const began = Date.now();
    const res = await start();
    const took = Date.now() - began;
    expect(res.status).toBe(504);
    expect(res.body.code).toBe('upstream_timeout');
    expect(took).toBeLessThan(h.config.VONAGE_TIMEOUT_MS + 1_000);
  });

  test.each([
    ['http500', 502, 'upstream_error'],
    ['http402', 503, 'upstream_unavailable'],
    ['hang', 504, 'upstream_timeout'],
  ] as const)(
    'verify-token when the simulator answers %s -> %i %s, and nothing changes',
    async (mode, status, code) => {
      const started = await start();
      const requestId = started.body.requestId as string;
      h.sim.faults.set({ mode, operations: ['check'], times: 1 });
      const res = await h
        .as('alpha')
        .post('/api/verify-token', { requestId, code: codeForV2(h.sim, requestId) });
      expect(res.status).toBe(status);
      expect(res.body.code).toBe(code);
      // A timeout leaves the outcome unknown, and v2 has no read: the status waits for Vonage's callback (503).
      const after = await h.as('alpha').get(`/api/verifications/${requestId}`);
      if (mode === 'hang') expect(after.body.code).toBe('upstream_unavailable');
      else expect(after.body.status).toBe('pending');
    },
  );

  test.each([
    ['cancel', 'cancel', 'http500', 502, 'upstream_error'],
    ['cancel', 'cancel', 'http429', 503, 'upstream_unavailable'],
    ['next-event', 'next', 'http500', 502, 'upstream_error'],
    ['next-event', 'next', 'replicationDelay', 503, 'upstream_unavailable'],
  ] as const)(
    '%s when the simulator answers %s/%s -> %i %s (the reason verify2 would hide)',
    async (endpoint, operation, mode, status, code) => {
      const started = await start();
      h.sim.advance(31_000);
      h.sim.faults.set({ mode, operations: [operation], times: 1 });
      const res = await h.as('alpha').post(`/api/${endpoint}`, { requestId: started.body.requestId });
      expect(res.status).toBe(status);
      expect(res.body.code).toBe(code);
    },
  );

  test.each(['cancel', 'next-event'])(
    '%s of a request Vonage no longer knows: 404 verification_not_found',
    async (endpoint) => {
      const started = await start();
      h.sim.reset();
      // v2 has no read: "not found" waits for a callback (503); three minutes without one and it is over.
      const early = await h.as('alpha').post(`/api/${endpoint}`, { requestId: started.body.requestId });
      expect(early.status).toBe(503);
      expect(early.body.code).toBe('upstream_unavailable');
      h.sim.advance(181_000);
      const res = await h.as('alpha').post(`/api/${endpoint}`, { requestId: started.body.requestId });
      expect(res.status).toBe(404);
      expect(res.body.code).toBe('verification_not_found');
      const after = await h.as('alpha').get(`/api/verifications/${started.body.requestId}`);
      expect(after.body.status).toBe('expired');
    },
  );

  test('a brand Vonage refuses is 422 option_not_supported naming brand', async () => {
    const res = await start({ brand: 'Acme/Shop' });
    expect(res.status).toBe(422);
    expect(res.body).toMatchObject({ code: 'option_not_supported', option: 'brand' });
  });

  test('silent authentication on a network without it is 422 number_not_supported', async () => {
    const res = await start({ phoneNumber: '+447400100999', channels: ['silent_auth', 'sms'] });
    expect(res.status).toBe(422);
    expect(res.body.code).toBe('number_not_supported');
  });
});
