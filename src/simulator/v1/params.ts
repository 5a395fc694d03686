// Parameter validation of the Verify v1 simulator: turns the loose parameters of a request (JSON, form or
// query, numbers or strings) into typed requests, or into the status 2/3/20 answer Vonage would give.

import { type CountryCode, parsePhoneNumberFromString } from 'libphonenumber-js';
import { PSD2_LANGUAGES, TEXT, VERIFY_LANGUAGES } from './texts';
import type { VonageBody } from './types';

/** Parameters merged from query string and body; values are whatever the client sent. */
export type Params = Record<string, unknown>;

export type Parsed<T> = { ok: true; value: T } | { ok: false; body: VonageBody };

export interface StartRequest {
  kind: 'standard' | 'psd2';
  /** Digits only, no '+'. */
  number: string;
  /** Brand for /verify/json, payee for PSD2: the name shown in the message. */
  brand: string;
  amount?: number;
  senderId?: string;
  codeLength: number;
  lg: string;
  workflowId: number;
  pinExpirySeconds: number;
  /** Undefined when the caller did not set it: the workflow's default waits then apply. */
  nextEventWaitSeconds?: number;
  pinCode?: string;
}

export interface CheckRequest {
  requestId: string;
  code: string;
}

export type ControlCommand = 'cancel' | 'trigger_next_event';

export interface ControlRequest {
  requestId: string;
  cmd: ControlCommand;
}

export interface SearchRequest {
  requestId: string;
}

/** Thrown inside the parsers to stop at the first problem, like Vonage's one-error answers. */
class Rejection {
  constructor(readonly body: VonageBody) {}
}

const INVALID = Symbol('invalid');

/** A string or number parameter as text; empty means absent, anything else (objects, booleans) is invalid. */
function text(params: Params, name: string): string | undefined | typeof INVALID {
  const value = params[name];
  if (value === undefined || value === null || value === '') return undefined;
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return INVALID;
}

function integer(params: Params, name: string): number | undefined | typeof INVALID {
  const value = text(params, name);
  if (value === undefined || value === INVALID) return value;
  return /^\d+$/.test(value) ? Number(value) : INVALID;
}

function run<T>(parse: () => T): Parsed<T> {
  try {
    return { ok: true, value: parse() };
  } catch (error) {
    if (error instanceof Rejection) return { ok: false, body: error.body };
    throw error;
  }
}

function reject(status: string, errorText: string, extra: Record<string, string> = {}): never {
  throw new Rejection({ status, error_text: errorText, ...extra });
}

// --- start ---------------------------------------------------------------------------------------

function requiredStartText(params: Params, name: string): string {
  const value = text(params, name);
  if (value === undefined) reject('2', TEXT.missingParam(name));
  if (value === INVALID) reject('3', TEXT.invalidStartParam(name));
  return value;
}

function optionalStartText(params: Params, name: string, valid: (v: string) => boolean): string | undefined {
  const value = text(params, name);
  if (value === INVALID || (value !== undefined && !valid(value))) reject('3', TEXT.invalidStartParam(name));
  return value;
}

function optionalStartInt(params: Params, name: string, valid: (v: number) => boolean): number | undefined {
  const value = integer(params, name);
  if (value === INVALID || (value !== undefined && !valid(value))) reject('3', TEXT.invalidStartParam(name));
  return value;
}

/**
 * E.164 digits. With `country`, Verify formats national numbers itself, so libphonenumber does the same
 * here; without it the number must already look international. Deliberately lenient beyond that, so
 * tests can use any made-up number.
 */
function startNumber(params: Params): string {
  const raw = requiredStartText(params, 'number');
  const country = optionalStartText(params, 'country', (v) => /^[A-Za-z]{2}$/.test(v));
  if (country !== undefined) {
    const parsed = parsePhoneNumberFromString(raw, country.toUpperCase() as CountryCode);
    if (!parsed) reject('3', TEXT.invalidStartParam('number'));
    return parsed.number.slice(1);
  }
  const digits = raw.startsWith('+') ? raw.slice(1) : raw;
  if (!/^[1-9]\d{5,14}$/.test(digits)) reject('3', TEXT.invalidStartParam('number'));
  return digits;
}

export function parseStart(
  params: Params,
  kind: 'standard' | 'psd2',
  pinCodeEnabled: boolean,
): Parsed<StartRequest> {
  return run(() => {
    const number = startNumber(params);
    let brand: string;
    let amount: number | undefined;
    let senderId: string | undefined;
    let pinCode: string | undefined;
    if (kind === 'standard') {
      brand = requiredStartText(params, 'brand');
      if (brand.length > 18) reject('3', TEXT.invalidStartParam('brand'));
      senderId = optionalStartText(params, 'sender_id', (v) => v.length <= 11);
      pinCode = text(params, 'pin_code') === undefined ? undefined : requiredStartText(params, 'pin_code');
      if (pinCode !== undefined && !pinCodeEnabled) reject('20', TEXT.pinCodeUnsupported);
      if (pinCode !== undefined && !/^[A-Za-z0-9]{4,10}$/.test(pinCode)) {
        reject('3', TEXT.invalidStartParam('pin_code'));
      }
    } else {
      brand = requiredStartText(params, 'payee');
      if (brand.length > 18) reject('3', TEXT.invalidStartParam('payee'));
      const rawAmount = requiredStartText(params, 'amount');
      amount = Number(rawAmount);
      if (!/^\d+(\.\d+)?$/.test(rawAmount) || !(amount > 0)) reject('3', TEXT.invalidStartParam('amount'));
    }
    const codeLength = optionalStartInt(params, 'code_length', (v) => v === 4 || v === 6) ?? 4;
    const languages = kind === 'standard' ? VERIFY_LANGUAGES : PSD2_LANGUAGES;
    const lg =
      optionalStartText(params, 'lg', (v) => languages.has(v)) ?? (kind === 'standard' ? 'en-us' : 'en-gb');
    const workflowId = optionalStartInt(params, 'workflow_id', (v) => v >= 1 && v <= 7) ?? 1;
    const pinExpiry = optionalStartInt(params, 'pin_expiry', (v) => v >= 60 && v <= 3600);
    const nextEventWait = optionalStartInt(params, 'next_event_wait', (v) => v >= 60 && v <= 900);
    // Vonage does not reject a pin_expiry that is not a multiple of next_event_wait: it replaces it.
    const pinExpirySeconds =
      pinExpiry !== undefined && nextEventWait !== undefined && pinExpiry % nextEventWait !== 0
        ? nextEventWait
        : (pinExpiry ?? 300);
    return {
      kind,
      number,
      brand,
      amount,
      senderId,
      codeLength,
      lg,
      workflowId,
      pinExpirySeconds,
      nextEventWaitSeconds: nextEventWait,
      pinCode,
    };
  });
}

// --- check, control, search ------------------------------------------------------------------------

/** request_id for check/control/search; check and search errors echo it back, control errors do not. */
function requestIdParam(params: Params, echo: boolean): string {
  const value = text(params, 'request_id');
  if (value === undefined) reject('2', TEXT.missingParam('request_id'));
  if (value === INVALID || value.length > 32) {
    reject('3', TEXT.invalidParam('request_id'), echo && value !== INVALID ? { request_id: value } : {});
  }
  return value;
}

export function parseCheck(params: Params): Parsed<CheckRequest> {
  return run(() => {
    const requestId = requestIdParam(params, true);
    const code = text(params, 'code');
    if (code === undefined) reject('2', TEXT.missingParam('code'), { request_id: requestId });
    if (code === INVALID || code.length < 4 || code.length > 6) {
      reject('3', TEXT.invalidParam('code'), { request_id: requestId });
    }
    return { requestId, code };
  });
}

export function parseControl(params: Params): Parsed<ControlRequest> {
  return run(() => {
    const requestId = requestIdParam(params, false);
    const cmd = text(params, 'cmd');
    if (cmd === undefined) reject('2', TEXT.missingParam('cmd'));
    if (cmd !== 'cancel' && cmd !== 'trigger_next_event') reject('3', TEXT.invalidParam('cmd'));
    return { requestId, cmd };
  });
}

export function parseSearch(params: Params): Parsed<SearchRequest> {
  return run(() => ({ requestId: requestIdParam(params, true) }));
}

/** request_id and cmd as sent, for forced answers that quote them. */
export function looseText(params: Params, name: string): string | undefined {
  const value = text(params, name);
  return value === INVALID ? undefined : value;
}
