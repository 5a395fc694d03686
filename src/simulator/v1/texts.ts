// Vonage Verify v1 wording and tables, quoted from docs/vonage-verify-v1.md (1.4, 1.6) and Vonage's
// v1 OpenAPI document (Nexmo/api-specification definitions/verify.yml), in one place so every answer
// of the simulator uses the documented text verbatim.

import type { Channel, SimOperation, VonageBody } from './types';

export const TEXT = {
  throttled: 'Throttled',
  missingApiKey: 'Missing api_key',
  missingApiSecret: 'Missing api_secret',
  invalidCredentialsAtStart: 'Invalid credentials were provided',
  badCredentials: 'Bad credentials',
  internalError: 'Internal Error',
  notRouted:
    'The Vonage platform was unable to process this message for the following reason: The request could not be routed.',
  blacklisted: 'The number you are trying to verify is blacklisted for verification.',
  barred: 'The api_key you supplied is for an account that has been barred from submitting messages.',
  quotaExceeded: 'Partner quota exceeded',
  concurrent: 'Concurrent verifications to the same number are not allowed',
  unsupportedNetwork: 'The destination number is not in a supported network',
  pinCodeUnsupported: 'This account does not support the parameter: pin_code.',
  demoMode:
    'Your Vonage account is still in demo mode. While in demo mode you must add target numbers to the approved list for your account. Add funds to your account to remove this limitation.',
  codeMismatch: 'The code inserted does not match the expected value',
  tooManyWrongCodes: 'The wrong code was provided too many times. Request terminated',
  searchNotFound: 'No response found',
  /** Status 2 template (KB-CODES); the backticks are Vonage's. */
  missingParam: (name: string): string =>
    `Your request is incomplete and missing the mandatory parameter \`${name}\``,
  /** Status 3 at start (KB-CODES template). */
  invalidStartParam: (name: string): string => `Invalid value for parameter \`${name}\``,
  /** Status 3 at check, control and search (spec example form). */
  invalidParam: (name: string): string => `Invalid value for param: ${name}`,
  checkNotFound: (id: string): string =>
    `The Vonage platform was unable to process this message for the following reason: Request '${id}' was not found or it has been verified already.`,
  controlNotFound: (id: string): string => `The requestId '${id}' does not exist or its no longer active.`,
  cancelTooEarly: (id: string): string =>
    `Verification request ['${id}'] can't be cancelled within the first 30 seconds.`,
  /** The double space after "request" is in the spec example and in real responses (nexmo-developer#3671). */
  cancelTooLate: (id: string): string =>
    `Verification request  ['${id}'] can't be cancelled now. Too many attempts to re-deliver have already been made.`,
  noMoreEvents: (id: string): string => `No more events are left to execute for the request ['${id}']`,
} as const;

/** Locales accepted by `lg` on /verify/json: Vonage's documented list, shared with the service's v1 gateway. */
export { V1_LANGUAGES as VERIFY_LANGUAGES } from '../../vonage/v1/languages';

/** Locales accepted by `lg` on /verify/psd2/json (verify.yml psd2Request). */
export const PSD2_LANGUAGES: ReadonlySet<string> = new Set([
  'en-gb',
  'bg-bg',
  'cs-cz',
  'da-dk',
  'de-de',
  'ee-et',
  'el-gr',
  'es-es',
  'fi-fi',
  'fr-fr',
  'ga-ie',
  'hu-hu',
  'it-it',
  'lv-lv',
  'lt-lt',
  'mt-mt',
  'nl-nl',
  'pl-pl',
  'sk-sk',
  'sl-si',
  'sv-se',
]);

/** Delivery sequence of each workflow_id (SDK VerifyWorkflows enum comments; DOC-WF). */
export const WORKFLOWS: Readonly<Record<number, readonly Channel[]>> = {
  1: ['sms', 'tts', 'tts'],
  2: ['sms', 'sms', 'tts'],
  3: ['tts', 'tts'],
  4: ['sms', 'sms'],
  5: ['sms', 'tts'],
  6: ['sms'],
  7: ['tts'],
};

/**
 * Seconds from each event to the next one (the last entry: to expiry) when next_event_wait is not given.
 * DOC-WF documents 125/180/300 for workflows 1 and 2; the others are undocumented, so 300 s everywhere.
 */
export function defaultWaitsSeconds(workflowId: number, events: number): number[] {
  if (workflowId === 1 || workflowId === 2) return [125, 180, 300];
  return Array.from({ length: events }, () => 300);
}

export const DEFAULT_PIN_EXPIRY_SECONDS = 300;
export const CANCEL_WINDOW_MS = 30_000;
export const PRICE = '0.10000000';
export const CURRENCY = 'EUR';
/** Per delivered message, so two events give the spec example's "0.06660000". */
export const PRICE_PER_MESSAGE = 0.0333;
/** SPEC-124: status 7 carries a `network` (an MCC/MNC) and no request_id; the value is illustrative. */
export const BLACKLIST_NETWORK = '23410';

/** Statuses each operation can be forced to answer, from the tables in notes 1.6. */
export const FORCEABLE: Readonly<Record<SimOperation, ReadonlySet<string>>> = {
  start: new Set(['1', '2', '3', '4', '5', '6', '7', '8', '9', '10', '15', '20', '29']),
  check: new Set(['1', '2', '3', '4', '5', '6', '16', '17']),
  control: new Set(['1', '2', '3', '4', '5', '6', '8', '9', '19']),
  search: new Set(['1', '2', '3', '4', '5', '101']),
};

export interface ForcedContext {
  /** request_id as sent (check, control, search). */
  requestId?: string;
  /** `cmd` as sent (control). */
  cmd?: string;
  /** In-flight request for the number, or a fresh id (start status 10). */
  concurrentRequestId?: string;
}

/** The documented body for a forced status; errorText overrides the documented text. */
export function forcedBody(
  operation: SimOperation,
  status: string,
  ctx: ForcedContext,
  errorText?: string,
): VonageBody {
  const id = ctx.requestId ?? '';
  const text = errorText ?? documentedText(operation, status, ctx, id);
  const body: VonageBody = { status, error_text: text };
  if (operation === 'start' && status === '7') body.network = BLACKLIST_NETWORK;
  if (operation === 'start' && status === '10') body.request_id = ctx.concurrentRequestId ?? '';
  if (operation === 'check' && ctx.requestId !== undefined) body.request_id = ctx.requestId;
  if (operation === 'search' && ctx.requestId !== undefined) body.request_id = ctx.requestId;
  return body;
}

function documentedText(operation: SimOperation, status: string, ctx: ForcedContext, id: string): string {
  switch (status) {
    case '1':
      return TEXT.throttled;
    case '2':
      return TEXT.missingApiKey;
    case '3':
      return operation === 'start' ? TEXT.invalidStartParam('number') : TEXT.invalidParam('request_id');
    case '4':
      return operation === 'start' ? TEXT.invalidCredentialsAtStart : TEXT.badCredentials;
    case '5':
      return TEXT.internalError;
    case '6':
      if (operation === 'check') return TEXT.checkNotFound(id);
      if (operation === 'control') return TEXT.controlNotFound(id);
      return TEXT.notRouted;
    case '7':
      return TEXT.blacklisted;
    case '8':
      return TEXT.barred;
    case '9':
      return TEXT.quotaExceeded;
    case '10':
      return TEXT.concurrent;
    case '15':
      return TEXT.unsupportedNetwork;
    case '16':
      return TEXT.codeMismatch;
    case '17':
      return TEXT.tooManyWrongCodes;
    // For cancel, a forced 19 means "too late": it holds at any age, unlike the 30-second refusal.
    case '19':
      return ctx.cmd === 'trigger_next_event' ? TEXT.noMoreEvents(id) : TEXT.cancelTooLate(id);
    case '20':
      return TEXT.pinCodeUnsupported;
    case '29':
      return TEXT.demoMode;
    case '101':
      return TEXT.searchNotFound;
    default:
      return TEXT.internalError;
  }
}
