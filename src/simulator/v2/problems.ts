// Verify v2 error answers: RFC 7807 problem bodies with the `type`, `title` and `detail` that Vonage's
// OpenAPI document (and, where it is silent, the SDKs' recorded fixtures) give. Sources: docs/vonage-verify-v2.md.

import { randomUUID } from 'node:crypto';

export interface Problem {
  status: number;
  body: {
    type: string;
    title: string;
    detail: string;
    instance: string;
    invalid_parameters?: { name: string; reason: string }[];
    request_id?: string;
  };
  headers?: Record<string, string>;
}

const V2 = 'https://developer.vonage.com/en/api-errors/verify-v2';

function problem(status: number, type: string, title: string, detail: string): Problem {
  return { status, body: { type, title, detail, instance: randomUUID() } };
}

export const problems = {
  unauthorized: () =>
    problem(
      401,
      'https://developer.vonage.com/api-errors#unauthorized',
      'Unauthorized',
      'You did not provide correct credentials',
    ),
  jwtExpired: () =>
    problem(
      401,
      'https://developer.vonage.com/en/api-errors#jwt-expired',
      'You did not provide correct credentials.',
      'The JWT provided has expired.',
    ),
  lowBalance: () =>
    problem(
      402,
      'https://developer.vonage.com/en/api-errors/#low-balance',
      'Low balance',
      'This request could not be performed due to your account balance being low.',
    ),
  invalidCode: () =>
    problem(
      400,
      `${V2}#invalid-code`,
      'Invalid Code',
      'The code you provided does not match the expected value.',
    ),
  /** SDK-TEST fixtures (check, cancel, next_workflow). */
  notFound: (requestId: string) =>
    problem(
      404,
      'https://developer.vonage.com/api-errors#not-found',
      'Not Found',
      `Request ${requestId} was not found or it has been verified already.`,
    ),
  routeNotFound: () =>
    problem(404, 'https://developer.vonage.com/api-errors#not-found', 'Not Found', 'No such route.'),
  concurrent: (inFlightRequestId?: string) => {
    const p = problem(
      409,
      `${V2}#concurrent`,
      'Conflict',
      'Concurrent verifications to the same number are not allowed.',
    );
    if (inFlightRequestId !== undefined) p.body.request_id = inFlightRequestId;
    return p;
  },
  /** The Python SDK's recorded next_workflow answer. */
  noMoreEvents: () =>
    problem(
      409,
      'https://developer.nexmo.com/api-errors#conflict',
      'Conflict',
      'There are no more events left to trigger.',
    ),
  replicationDelay: () =>
    problem(
      409,
      `${V2}#conflict`,
      'Conflict',
      'The operation cannot be performed at this time. Please try again later.',
    ),
  /** Status and body undocumented: the SPEC's sentence as detail, status configurable (default 409). */
  cancelRefused: (status: number) =>
    problem(
      status,
      `${V2}#conflict`,
      'Conflict',
      'Cancellation is only possible 30 seconds after the start of the verification request and before the second event has taken place.',
    ),
  /** The Python SDK's recorded 410 (title), with the SPEC's x-errors.expired text. */
  terminated: () =>
    problem(
      410,
      'https://developer.nexmo.com/api-errors#gone',
      'Invalid Code',
      'An incorrect code has been provided too many times. Workflow terminated.',
    ),
  networkNotSupported: () =>
    problem(
      412,
      `${V2}#precondition-failed`,
      'Network not supported',
      'Device number does not resolve to a supported Mobile Network Operator.',
    ),
  silentAuthFailed: () =>
    problem(
      412,
      `${V2}#precondition-failed`,
      'Silent authentication failed',
      'The silent auth verification cannot be completed.',
    ),
  invalidParams: (invalid: { name: string; reason: string }[]) => {
    const p = problem(
      422,
      'https://developer.vonage.com/en/api-errors#invalid-params',
      'Invalid params',
      'The value of one or more parameters is invalid.',
    );
    p.body.invalid_parameters = invalid;
    return p;
  },
  throttled: (retryAfter: boolean) => {
    const p = problem(
      429,
      'https://developer.vonage.com/en/api-errors#throttled',
      'Rate Limit Hit',
      'Please wait, then retry your request',
    );
    if (retryAfter) p.headers = { 'Retry-After': '1' };
    return p;
  },
  internal: () =>
    problem(
      500,
      'https://developer.vonage.com/api-errors#internal-error',
      'Internal error',
      'There was an error processing your request in the Platform.',
    ),
} as const;
