// Validation of the Verify v2 start body (SPEC components.requestBodies.VerificationRequest and the channel
// schemas): every violation is collected as Vonage's `invalid_parameters` entry `{name, reason}`.
// Names inside a step are `workflow[i].field` (Vonage's naming there is undocumented).

import { V2_CHANNELS, type V2Channel } from './types';

export interface StartStep {
  channel: V2Channel;
  to: string;
  from?: string;
  reuseCode: boolean;
  /** silent_auth only. */
  redirectUrl?: string;
  coverageCheck: boolean;
}

export interface StartRequest {
  brand: string;
  locale: string;
  channelTimeout: number;
  codeLength: number;
  code?: string;
  clientRef?: string;
  fraudCheck: boolean;
  steps: StartStep[];
}

export type Invalid = { name: string; reason: string };
export type Parsed<T> = { ok: true; value: T } | { ok: false; invalid: Invalid[] };

type Json = Record<string, unknown>;

const BRAND_FORBIDDEN = /[/{}:$]/;
const ALNUM = /^[a-zA-Z0-9]+$/;
const LOCALE = /^[a-z]{2,3}-[a-z]{2}$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const PHONE = /^[0-9]{1,50}$/;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function optionalInt(body: Json, name: string, min: number, max: number, fallback: number, bad: Invalid[]) {
  const value = body[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    bad.push({ name, reason: `${name} must be an integer from ${min} to ${max}` });
    return fallback;
  }
  return value;
}

function optionalText(
  body: Json,
  name: string,
  bad: Invalid[],
  rule: { min: number; max: number; pattern?: RegExp },
  label = name,
): string | undefined {
  const value = body[name];
  if (value === undefined) return undefined;
  if (
    typeof value !== 'string' ||
    value.length < rule.min ||
    value.length > rule.max ||
    (rule.pattern !== undefined && !rule.pattern.test(value))
  ) {
    bad.push({ name: label, reason: `${label} is invalid` });
    return undefined;
  }
  return value;
}

function optionalBool(body: Json, name: string, fallback: boolean, bad: Invalid[], label = name): boolean {
  const value = body[name];
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') {
    bad.push({ name: label, reason: `${label} must be a boolean` });
    return fallback;
  }
  return value;
}

function parseTo(step: Json, channel: V2Channel, at: string, bad: Invalid[]): string {
  const to = step.to;
  const name = `${at}.to`;
  if (typeof to !== 'string' || to.length === 0) {
    bad.push({ name, reason: 'to is required' });
    return '';
  }
  if (channel === 'email') {
    if (!EMAIL.test(to)) bad.push({ name, reason: 'to must be an email address' });
  } else if (!PHONE.test(to) || to.startsWith('00')) {
    // Stricter than the SPEC (no pattern there) so a client that forgets to strip '+' is caught.
    bad.push({ name, reason: 'to must be an E.164 number without a leading + or 00' });
  }
  return to;
}

function parseStep(raw: unknown, index: number, bad: Invalid[]): StartStep | undefined {
  const at = `workflow[${index}]`;
  if (!isObject(raw)) {
    bad.push({ name: at, reason: 'each workflow step must be an object' });
    return undefined;
  }
  const channel = raw.channel;
  if (typeof channel !== 'string' || !(V2_CHANNELS as readonly string[]).includes(channel)) {
    bad.push({ name: `${at}.channel`, reason: `channel must be one of ${V2_CHANNELS.join(', ')}` });
    return undefined;
  }
  const ch = channel as V2Channel;
  const to = parseTo(raw, ch, at, bad);
  const fromRule = {
    sms: { min: 1, max: 15 },
    whatsapp: { min: 1, max: 50, pattern: PHONE },
    rcs: { min: 1, max: 15 },
    email: { min: 3, max: 254, pattern: EMAIL },
    voice: undefined,
    silent_auth: undefined,
  }[ch];
  const from = fromRule ? optionalText(raw, 'from', bad, fromRule, `${at}.from`) : undefined;
  if ((ch === 'whatsapp' || ch === 'rcs') && raw.from === undefined) {
    bad.push({ name: `${at}.from`, reason: `from is required for ${ch}` });
  }
  return {
    channel: ch,
    to,
    from,
    reuseCode: optionalBool(raw, 'reuse_code', false, bad, `${at}.reuse_code`),
    redirectUrl:
      ch === 'silent_auth'
        ? optionalText(raw, 'redirect_url', bad, { min: 1, max: 2000 }, `${at}.redirect_url`)
        : undefined,
    coverageCheck: optionalBool(raw, 'coverage_check', true, bad, `${at}.coverage_check`),
  };
}

function parseWorkflow(body: Json, bad: Invalid[]): StartStep[] {
  const workflow = body.workflow;
  if (!Array.isArray(workflow) || workflow.length === 0) {
    bad.push({ name: 'workflow', reason: 'Workflow is required' });
    return [];
  }
  if (workflow.length > 3) {
    bad.push({ name: 'workflow', reason: 'workflow must have at most 3 steps' });
    return [];
  }
  const steps = workflow.map((raw, index) => parseStep(raw, index, bad));
  steps.forEach((step, index) => {
    if (step?.channel === 'silent_auth' && index > 0) {
      // Vonage documents silent authentication as the first step only (check_url comes with the 202).
      bad.push({ name: `workflow[${index}].channel`, reason: 'silent_auth must be the first step' });
    }
  });
  return steps.filter((step): step is StartStep => step !== undefined);
}

export function parseStart(raw: unknown): Parsed<StartRequest> {
  if (!isObject(raw)) return { ok: false, invalid: [{ name: 'body', reason: 'a JSON object is required' }] };
  const bad: Invalid[] = [];
  let brand = '';
  if (raw.brand === undefined) bad.push({ name: 'brand', reason: 'Brand is required' });
  else if (
    typeof raw.brand !== 'string' ||
    raw.brand.length < 1 ||
    raw.brand.length > 18 ||
    BRAND_FORBIDDEN.test(raw.brand)
  ) {
    bad.push({ name: 'brand', reason: 'brand must be 1-18 characters without / { } : $' });
  } else brand = raw.brand;
  const steps = parseWorkflow(raw, bad);
  const value: StartRequest = {
    brand,
    locale: optionalText(raw, 'locale', bad, { min: 4, max: 6, pattern: LOCALE }) ?? 'en-us',
    channelTimeout: optionalInt(raw, 'channel_timeout', 15, 900, 180, bad),
    codeLength: optionalInt(raw, 'code_length', 4, 10, 4, bad),
    code: optionalText(raw, 'code', bad, { min: 4, max: 10, pattern: ALNUM }),
    clientRef: optionalText(raw, 'client_ref', bad, { min: 1, max: 40, pattern: ALNUM }),
    fraudCheck: optionalBool(raw, 'fraud_check', false, bad),
    steps,
  };
  return bad.length > 0 ? { ok: false, invalid: bad } : { ok: true, value };
}
