// Table-driven tests of the Vonage boundary: every Verify v1 status and every kind of SDK failure maps to
// the contract's outcome or error code. The first tables test the mapping functions; the last drives the
// same statuses through the real SDK and the simulator over HTTP, end to end to the HTTP answer.

import { ApiError } from '../../src/errors';
import { isOutcomeUnknown, mapThrown } from '../../src/vonage/thrown';
import { mapCheckStatus, mapControlStatus, mapStartStatus } from '../../src/vonage/v1/status-map';
import { codeFor, type Harness, startHarness, ukMobile } from '../support/harness';

const ID = 'abcdef0123456789abcdef0123456789';

/** The outcome kind, or the error code of what the mapping throws. */
function label(result: { kind: string } | ApiError): string {
  return result instanceof ApiError ? result.code : result.kind;
}

describe('start status mapping', () => {
  test.each([
    ['0', 'started'],
    ['10', 'in_flight'],
    ['1', 'upstream_unavailable'],
    ['2', 'upstream_error'],
    // Status 3 without a parameter named: nothing says the number is the problem.
    ['3', 'upstream_error'],
    ['4', 'upstream_error'],
    ['5', 'upstream_error'],
    ['6', 'number_not_supported'],
    ['7', 'number_not_supported'],
    ['8', 'upstream_error'],
    ['9', 'upstream_unavailable'],
    ['15', 'number_not_supported'],
    ['20', 'upstream_error'],
    ['29', 'number_not_supported'],
    ['999', 'upstream_error'],
    ['', 'upstream_error'],
  ])('status %p -> %s', (status, expected) => {
    expect(label(mapStartStatus(status, ID))).toBe(expected);
  });

  test.each([
    ['Invalid value for parameter `number`', 'invalid_phone_number', undefined],
    ['Invalid value for number', 'invalid_phone_number', undefined],
    ['Invalid value for param: country', 'invalid_phone_number', undefined],
    ['Invalid value for parameter `lg`', 'option_not_supported', 'locale'],
    ['Invalid value for parameter `brand`', 'option_not_supported', 'brand'],
    ['Invalid value for parameter `code_length`', 'option_not_supported', 'codeLength'],
    ['Invalid value for parameter `workflow_id`', 'option_not_supported', 'workflowId'],
    ['Invalid value for parameter `pin_expiry`', 'option_not_supported', 'pinExpiry'],
    ['Invalid value for param: next_event_wait', 'option_not_supported', 'nextEventWait'],
    ['Invalid value for parameter `sender_id`', 'upstream_error', undefined],
    ['Something else entirely', 'upstream_error', undefined],
  ])('status 3 "%s" -> %s (%s)', (errorText, expected, option) => {
    const mapped = mapStartStatus('3', undefined, errorText);
    expect(label(mapped)).toBe(expected);
    expect(mapped instanceof ApiError ? mapped.extensions.option : 'not an error').toBe(option);
  });

  test('status 0 without a request_id is an upstream error, 10 without one is concurrent_verification', () => {
    expect(label(mapStartStatus('0', undefined))).toBe('upstream_error');
    expect(label(mapStartStatus('10', undefined))).toBe('concurrent_verification');
  });
});

describe('check status mapping', () => {
  test.each([
    ['0', 'verified'],
    ['16', 'mismatch'],
    ['17', 'too_many_attempts'],
    ['6', 'not_found'],
    ['1', 'upstream_unavailable'],
    ['2', 'upstream_error'],
    ['3', 'upstream_error'],
    ['4', 'upstream_error'],
    ['5', 'upstream_error'],
    ['9', 'upstream_unavailable'],
    ['101', 'upstream_error'],
  ])('status %p -> %s', (status, expected) => {
    expect(label(mapCheckStatus(status))).toBe(expected);
  });
});

describe('control status mapping', () => {
  test.each([
    ['0', 'done'],
    ['19', 'refused'],
    ['6', 'not_found'],
    ['1', 'upstream_unavailable'],
    ['2', 'upstream_error'],
    ['3', 'upstream_error'],
    ['4', 'upstream_error'],
    ['5', 'upstream_error'],
    ['8', 'upstream_error'],
    ['9', 'upstream_unavailable'],
  ])('status %p -> %s', (status, expected) => {
    expect(label(mapControlStatus(status))).toBe(expected);
  });
});

describe('thrown SDK errors', () => {
  const httpError = (status: number) =>
    Object.assign(new Error(`Request failed with status code ${status}`), { response: { status } });
  const abort = () => Object.assign(new Error('This operation was aborted'), { name: 'AbortError' });
  const network = (code: string) => Object.assign(new TypeError('fetch failed'), { cause: { code } });

  // The SDK's VetchError for a 2xx whose body it could not decode keeps that 2xx response.
  const undecodable = () =>
    Object.assign(new Error('Failed to decode response body'), { response: { status: 200 } });

  // unknown: whether Vonage may have carried the call out (the answer went missing or was unreadable).
  test.each([
    ['HTTP 500', 'upstream_error', 502, false, httpError(500)],
    ['HTTP 502', 'upstream_error', 502, false, httpError(502)],
    ['HTTP 401', 'upstream_error', 502, false, httpError(401)],
    ['HTTP 429', 'upstream_unavailable', 503, false, httpError(429)],
    ['timeout (AbortError)', 'upstream_timeout', 504, true, abort()],
    ['connection refused', 'upstream_unavailable', 503, false, network('ECONNREFUSED')],
    ['connection reset', 'upstream_unavailable', 503, true, network('ECONNRESET')],
    ['a 200 the SDK could not decode', 'upstream_error', 502, true, undecodable()],
    [
      'undecodable body, no response',
      'upstream_error',
      502,
      true,
      new Error('Failed to decode response body'),
    ],
    ['something else', 'upstream_error', 502, true, 'a string'],
  ])('%s -> %s %i (outcome unknown: %s)', (_name, code, status, unknown, thrown) => {
    const mapped = mapThrown(thrown);
    expect(mapped.code).toBe(code);
    expect(mapped.status).toBe(status);
    expect(isOutcomeUnknown(mapped)).toBe(unknown);
  });
});

describe('through the SDK and the simulator', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(async () => {
    await h.close();
  });

  test.each([
    ['1', 503, 'upstream_unavailable'],
    ['2', 502, 'upstream_error'],
    ['3', 400, 'invalid_phone_number'],
    ['4', 502, 'upstream_error'],
    ['5', 502, 'upstream_error'],
    ['6', 422, 'number_not_supported'],
    ['7', 422, 'number_not_supported'],
    ['8', 502, 'upstream_error'],
    ['9', 503, 'upstream_unavailable'],
    ['15', 422, 'number_not_supported'],
    ['20', 502, 'upstream_error'],
    ['29', 422, 'number_not_supported'],
  ])('request-token when Vonage answers status %s -> %i %s', async (status, http, code) => {
    h.sim.forceStatus('start', status);
    const res = await h.as('alpha').post('/api/request-token', { phoneNumber: ukMobile() });
    expect(res.status).toBe(http);
    expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    expect(res.body.code).toBe(code);
  });

  test.each([
    ['1', 503, 'upstream_unavailable'],
    ['4', 502, 'upstream_error'],
    ['5', 502, 'upstream_error'],
    // Status 6 for a verification the service holds as running: its search decides (test/verification/
    // outcomes.test.ts); one that still shows it running has not caught up yet, so: try again shortly.
    ['6', 503, 'upstream_unavailable'],
    ['16', 422, 'code_mismatch'],
    ['17', 410, 'too_many_attempts'],
  ])('verify-token when Vonage answers status %s -> %i %s', async (status, http, code) => {
    const started = await h.as('alpha').post('/api/request-token', { phoneNumber: ukMobile() });
    h.sim.forceStatus('check', status);
    const res = await h.as('alpha').post('/api/verify-token', {
      requestId: started.body.requestId,
      code: codeFor(h.sim, started.body.requestId),
    });
    expect(res.status).toBe(http);
    expect(res.body.code).toBe(code);
  });

  test.each([
    ['cancel', '19', 409, 'cancel_not_allowed'],
    ['cancel', '6', 503, 'upstream_unavailable'],
    ['cancel', '1', 503, 'upstream_unavailable'],
    ['cancel', '8', 502, 'upstream_error'],
    ['next-event', '19', 409, 'no_more_events'],
    ['next-event', '6', 503, 'upstream_unavailable'],
    ['next-event', '9', 503, 'upstream_unavailable'],
    ['next-event', '5', 502, 'upstream_error'],
  ])('%s when Vonage answers status %s -> %i %s', async (endpoint, status, http, code) => {
    const started = await h.as('alpha').post('/api/request-token', { phoneNumber: ukMobile() });
    h.sim.advance(31_000);
    h.sim.forceStatus('control', status);
    const res = await h.as('alpha').post(`/api/${endpoint}`, { requestId: started.body.requestId });
    expect(res.status).toBe(http);
    expect(res.body.code).toBe(code);
  });
});
