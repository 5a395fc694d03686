// Verify v2 answers in our words (docs/vonage-verify-v2.md, "Errors"): each operation's HTTP status and
// RFC 7807 problem becomes an outcome or an ApiError. Vonage writes one case's `type` under several hosts
// and paths, so the mapping branches on the HTTP status, then on `detail` or the `#anchor`, never on the
// whole `type`. The README's mapping table is this file.

import { type ApiError, errors } from '../../errors';
import type { Mapped } from '../call';
import type { CheckOutcome, ControlOutcome, StartOutcome } from '../gateway';

/** What a non-2xx v2 answer said: its HTTP status, problem body and Retry-After (seconds), if any. */
export interface V2Problem {
  status: number;
  body: {
    type?: unknown;
    title?: unknown;
    detail?: unknown;
    request_id?: unknown;
    invalid_parameters?: unknown;
  };
  retryAfterSeconds?: number;
}

const text = (value: unknown): string => (typeof value === 'string' ? value : '');

/** Account and platform answers, the same for every operation. */
function common(problem: V2Problem): ApiError {
  if (problem.status === 402) return errors.upstreamUnavailable();
  if (problem.status === 429) return errors.upstreamUnavailable(problem.retryAfterSeconds ?? 1);
  // 401/403 (our credentials), 5xx and anything undocumented: the caller can do nothing about it.
  return errors.upstreamError();
}

/** A start parameter Vonage refused, by its `invalid_parameters[].name`, as the request field it came from. */
const PARAMETER_FIELDS: [RegExp, string][] = [
  [/(^|\.)brand$/, 'brand'],
  [/(^|\.)locale$/, 'locale'],
  [/(^|\.)code_length$/, 'codeLength'],
  [/(^|\.)channel_timeout$/, 'nextEventWait'],
  [/^workflow(\[\d+\])?(\.channel)?$/, 'channels'],
];

function invalidParameters(problem: V2Problem): ApiError {
  const named = Array.isArray(problem.body.invalid_parameters)
    ? problem.body.invalid_parameters.map((p: { name?: unknown }) => text(p?.name))
    : [];
  // The number is refused only when it is the parameter named: 400 invalid_phone_number.
  if (named.some((name) => /(^|\.)to$/.test(name))) {
    return errors.invalidPhoneNumber('The verification provider rejected this number.');
  }
  for (const name of named) {
    const field = PARAMETER_FIELDS.find(([pattern]) => pattern.test(name))?.[1];
    if (field) {
      return errors.optionNotSupported(field, `The verification provider refused the value of ${field}.`);
    }
  }
  // Something we built (a WhatsApp sender, say) or an unnamed parameter: our side, not the caller's.
  return errors.upstreamError();
}

export function mapStartProblem(problem: V2Problem): Mapped<StartOutcome> {
  switch (problem.status) {
    case 409: {
      // "Concurrent verifications to the same number are not allowed": v2's status 10. The id of the one in
      // flight is not in Vonage's spec, so it is optional.
      const requestId = text(problem.body.request_id);
      return requestId ? { kind: 'in_flight', requestId } : { kind: 'in_flight' };
    }
    case 422:
      return invalidParameters(problem);
    case 412:
      // Silent authentication on a network that does not support it.
      return errors.numberNotSupported(
        'The mobile network of this number does not support silent authentication.',
      );
    default:
      return common(problem);
  }
}

export function mapCheckProblem(problem: V2Problem): Mapped<CheckOutcome> {
  switch (problem.status) {
    case 400:
      return /invalid-code|does not match/i.test(`${text(problem.body.type)} ${text(problem.body.detail)}`)
        ? { kind: 'mismatch' }
        : errors.upstreamError();
    case 409:
      // "The current Verify workflow step does not support a code": no code can be right now.
      return { kind: 'mismatch' };
    case 410:
      return { kind: 'too_many_attempts' };
    case 404:
      return { kind: 'not_found' };
    default:
      return common(problem);
  }
}

/** Statuses a refused cancel might come with: Vonage does not document it (the simulator answers 409). */
const CANCEL_REFUSALS = new Set([400, 403, 409, 412, 422]);

export function mapCancelProblem(problem: V2Problem): Mapped<ControlOutcome> {
  if (problem.status === 404) return { kind: 'not_found' };
  if (CANCEL_REFUSALS.has(problem.status)) return { kind: 'refused' };
  return common(problem);
}

export function mapNextProblem(problem: V2Problem): Mapped<ControlOutcome> {
  if (problem.status === 404) return { kind: 'not_found' };
  if (problem.status === 409) {
    // Two 409s share the anchor #conflict: "no more events" (final) and a replication delay (retry).
    return /try again later|cannot be performed at this time/i.test(text(problem.body.detail))
      ? errors.upstreamUnavailable(1)
      : { kind: 'refused' };
  }
  return common(problem);
}
