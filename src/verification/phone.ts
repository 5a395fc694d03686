// Phone numbers: parsing any common written form into E.164, validity and number-type checks, and the
// masked form that is the only one allowed in logs.

import {
  type CountryCode,
  isSupportedCountry,
  type NumberType,
  parsePhoneNumberFromString,
} from 'libphonenumber-js/max';
import { ApiError, errors } from '../errors';

export interface ParsedPhone {
  /** E.164, e.g. +447400123456. */
  e164: string;
  country: CountryCode | undefined;
  type: NumberType | undefined;
}

/** Types that cannot receive an SMS or voice code, or that are the usual targets of SMS pumping. */
const REFUSED_TYPES = new Set<NumberType>([
  'PREMIUM_RATE',
  'SHARED_COST',
  'TOLL_FREE',
  'UAN',
  'VOICEMAIL',
  'PAGER',
]);

/** Codes people write that are not ISO 3166 alpha-2 (UK for GB, say), with the code they meant. */
const MISTAKEN_COUNTRIES: Record<string, string> = { UK: 'GB', EL: 'GR', EN: 'GB' };

/** What is wrong with a country code given beside a number, or undefined when it is a known one. */
export function countryCodeProblem(code: string): string | undefined {
  if (isSupportedCountry(code)) return undefined;
  const meant = MISTAKEN_COUNTRIES[code];
  if (meant) return `${code} is not an ISO 3166 alpha-2 code; use ${meant}`;
  return `${code} is not a known ISO 3166 alpha-2 country code`;
}

/** Parses without judging: undefined when the text is not a phone number at all. */
export function parsePhone(input: string, country?: string): ParsedPhone | undefined {
  const text = input.trim();
  // A number written with its country code but without "+" (447400123456) is common in APIs.
  const candidates = text.startsWith('+') || !/^\d{8,15}$/.test(text) ? [text] : [text, `+${text}`];
  for (const candidate of candidates) {
    const phone = parsePhoneNumberFromString(candidate, country as CountryCode | undefined);
    if (phone === undefined) continue;
    // With the max metadata a number is valid exactly when it has a type (isValid() is getType() !==
    // undefined for every country whose metadata lists types); each of the two walks the type patterns,
    // so the type is asked first and isValid() only for numbers without one.
    const type = phone.getType();
    if (type !== undefined || phone.isValid()) {
      // Asked exactly as destinationOf asks (the E.164 text, no country): its answer is this one's.
      if (country === undefined && candidate === phone.number) {
        remember(E164_COUNTRIES, candidate, phone.country, E164_COUNTRIES_CAPACITY);
      }
      return { e164: phone.number, country: phone.country, type };
    }
  }
  return undefined;
}

/** The policy for a number a code is to be sent to: valid, from an allowed country, able to receive it. */
export function judgePhone(
  phone: ParsedPhone | undefined,
  country: string | undefined,
  allowed?: Set<CountryCode>,
): ParsedPhone {
  if (!phone) {
    throw errors.invalidPhoneNumber(
      country === undefined
        ? 'Not a valid phone number; write it with its country code (+44...) or give "country".'
        : `Not a valid phone number for ${country}.`,
    );
  }
  if (allowed && (phone.country === undefined || !allowed.has(phone.country))) {
    throw errors.countryNotAllowed(phone.country);
  }
  if (phone.type !== undefined && REFUSED_TYPES.has(phone.type)) {
    throw errors.numberNotSupported(
      `Numbers of this type (${phone.type.toLowerCase()}) cannot receive a code.`,
    );
  }
  return phone;
}

/** Parses a number only to find an existing verification: no country or type policy applies. */
export function normalisePhone(input: string, country?: string): string | undefined {
  return parsePhone(input, country)?.e164 ?? parseE164Loose(input);
}

export function parseE164Loose(input: string): string | undefined {
  const phone = parsePhoneNumberFromString(input.trim());
  return phone?.number;
}

/** +447400123456 -> +44*******56: enough to tell numbers apart in logs, not enough to call one. */
export function maskPhone(e164: string): string {
  if (e164.length <= 6) return '***';
  return `${e164.slice(0, 3)}${'*'.repeat(e164.length - 5)}${e164.slice(-2)}`;
}

/** Why a number was refused, for the funnel metric. */
export type PhoneRefusal = 'refused_country' | 'refused_number';

/**
 * parsePhone (and parseE164Loose) of numbers as written, remembering the answers for recent inputs:
 * every request-token parses its number, a flood of refusals for one number included, and each parse
 * with the max metadata costs ~40 µs (docs/perf-profile.md). Exact: a parse is a pure function of the
 * text and the country, so a remembered answer is the one a new parse would give (the same number
 * written two ways is two entries with one E.164; the same text with two countries, two entries).
 * Bounded: each memo forgets everything when full (request-token inputs are at most 32 characters).
 */
export class WrittenPhones {
  private readonly parsed = new Map<string, ParsedPhone | undefined>();
  private readonly loose = new Map<string, string | undefined>();

  constructor(private readonly capacity = 4_096) {}

  /** parsePhone(input, country), remembered. */
  parse(input: string, country: string | undefined): ParsedPhone | undefined {
    // A country is two letters (or none), so the first NUL ends it: no two (country, input) pairs share a key.
    const key = `${country ?? ''}\u0000${input}`;
    const known = this.parsed.get(key);
    if (known !== undefined || this.parsed.has(key)) return known;
    const parsed = parsePhone(input, country);
    remember(this.parsed, key, parsed === undefined ? undefined : Object.freeze(parsed), this.capacity);
    return parsed;
  }

  /** parseE164Loose(input), remembered. */
  parseLoose(input: string): string | undefined {
    const known = this.loose.get(input);
    if (known !== undefined || this.loose.has(input)) return known;
    const e164 = parseE164Loose(input);
    remember(this.loose, input, e164, this.capacity);
    return e164;
  }

  /** How many answers are remembered now (for tests). */
  get size(): number {
    return this.parsed.size + this.loose.size;
  }
}

/** Keeps `value` in a bounded memo: a full memo forgets everything first (WrittenPhones, DestinationCache). */
function remember<V>(memo: Map<string, V>, key: string, value: V, capacity: number): void {
  if (memo.size >= capacity) memo.clear();
  memo.set(key, value);
}

/**
 * The number a code is to be sent to, in E.164, or the ApiError saying why not. Test numbers skip
 * validity and policy (not the rate limits); `onRefused` hears of policy refusals. `written`: where the
 * parse is remembered (a fresh parse each time without one).
 */
export function phoneForSending(
  input: string,
  country: string | undefined,
  policy: { testNumbers: Map<string, string>; allowedCountries: Set<CountryCode> | undefined },
  onRefused: (why: PhoneRefusal) => void,
  written?: WrittenPhones,
): string {
  // Parsed once: this runs on every request-token, refused ones included.
  const parsed = written ? written.parse(input, country) : parsePhone(input, country);
  let e164 = parsed?.e164;
  if (e164 === undefined && policy.testNumbers.size > 0) {
    e164 = written ? written.parseLoose(input) : parseE164Loose(input);
  }
  if (e164 !== undefined && policy.testNumbers.has(e164)) return e164;
  try {
    return judgePhone(parsed, country, policy.allowedCountries).e164;
  } catch (error) {
    if (error instanceof ApiError && error.code === 'country_not_allowed') onRefused('refused_country');
    if (error instanceof ApiError && error.code === 'number_not_supported') onRefused('refused_number');
    throw error;
  }
}

/** Where a code goes, as the abuse guard sees it: the number's prefix (all but its last 3 digits) and country. */
export interface Destination {
  prefix: string;
  country: string | undefined;
}

/**
 * The countries parsePhone found for numbers written in E.164 without a country: the same call
 * destinationOf would make, so the guard does not parse again (~18 µs per request-token with the max
 * metadata, docs/perf-profile.md) the number request-token has just parsed. Bounded: it forgets
 * everything when full; it only has to last from the parse to the guard's first look, in the same request.
 */
const E164_COUNTRIES = new Map<string, CountryCode | undefined>();
const E164_COUNTRIES_CAPACITY = 4_096;

export function destinationOf(e164: string): Destination {
  const known = E164_COUNTRIES.get(e164);
  const country =
    known !== undefined || E164_COUNTRIES.has(e164) ? known : parsePhoneNumberFromString(e164)?.country;
  return { prefix: e164.slice(0, -3), country };
}

/**
 * destinationOf, remembering the answers for recent numbers: one code's number is asked about when it is
 * admitted, when its pending entry is written and when it settles, and each parse with the max metadata
 * costs ~50 µs (docs/perf-profile.md). Exact (a number's country does not change); bounded: it forgets
 * everything when full.
 */
export class DestinationCache {
  private readonly known = new Map<string, Destination>();

  constructor(private readonly capacity = 10_000) {}

  of(e164: string): Destination {
    const known = this.known.get(e164);
    if (known) return known;
    const destination = destinationOf(e164);
    remember(this.known, e164, destination, this.capacity);
    return destination;
  }

  get size(): number {
    return this.known.size;
  }
}
