// Which numbers the service takes as valid, and of which type, must not depend on how parsePhone asks
// libphonenumber-js: it asks the type first and isValid() only for numbers without one. Compared here
// with asking both for every number, over an example mobile number of every country and variations of
// it (a digit changed, one dropped, one added), written with "+" and nationally with the country given.

import examples from 'libphonenumber-js/examples.mobile.json';
import { type CountryCode, getCountries, parsePhoneNumberFromString } from 'libphonenumber-js/max';
import {
  DestinationCache,
  destinationOf,
  parseE164Loose,
  parsePhone,
  WrittenPhones,
} from '../../src/verification/phone';

/** parsePhone as it was: isValid() and getType() asked for every number. */
function askingBoth(input: string, country?: string) {
  const text = input.trim();
  const candidates = text.startsWith('+') || !/^\d{8,15}$/.test(text) ? [text] : [text, `+${text}`];
  for (const candidate of candidates) {
    const phone = parsePhoneNumberFromString(candidate, country as CountryCode | undefined);
    if (phone?.isValid()) return { e164: phone.number, country: phone.country, type: phone.getType() };
  }
  return undefined;
}

function variations(national: string): string[] {
  const out = [national, national.slice(0, -1), `${national}7`];
  for (let i = 0; i < national.length; i++) {
    const digit = String((Number(national[i]) + 3) % 10);
    out.push(`${national.slice(0, i)}${digit}${national.slice(i + 1)}`);
  }
  return out;
}

test('every country: valid, invalid and typed exactly as isValid() and getType() say', () => {
  let compared = 0;
  let valid = 0;
  let invalid = 0;
  for (const country of getCountries()) {
    const example = (examples as Record<string, string>)[country];
    if (example === undefined) continue;
    const callingCode = parsePhoneNumberFromString(example, country)?.countryCallingCode;
    for (const national of variations(example)) {
      const inputs: Array<[string, string | undefined]> = [
        [`+${callingCode}${national}`, undefined],
        [national, country],
        [`${callingCode}${national}`, undefined],
      ];
      for (const [input, given] of inputs) {
        const expected = askingBoth(input, given);
        expect({ input, given, got: parsePhone(input, given) }).toEqual({ input, given, got: expected });
        compared++;
        if (expected) valid++;
        else invalid++;
      }
    }
  }
  // Enough of both kinds that the comparison says something.
  expect(compared).toBeGreaterThan(5000);
  expect(valid).toBeGreaterThan(1000);
  expect(invalid).toBeGreaterThan(1000);
});

test("the guard's destination cache answers as destinationOf does, for every country, and stays within its bound", () => {
  const cache = new DestinationCache(50);
  const numbers = getCountries().flatMap((country) => {
    const example = (examples as Record<string, string>)[country];
    const e164 = example === undefined ? undefined : parsePhoneNumberFromString(example, country)?.number;
    return e164 === undefined ? [] : [e164];
  });
  expect(numbers.length).toBeGreaterThan(200);
  // Twice over, so the second pass is answered from the cache where it still holds the number.
  for (const e164 of [...numbers, ...numbers.slice(0, 40), ...numbers]) {
    expect({ e164, got: cache.of(e164) }).toEqual({ e164, got: destinationOf(e164) });
    expect(cache.size).toBeLessThanOrEqual(50);
  }
  // Shared calling codes are told apart by the full number, not the prefix alone.
  expect(cache.of('+12025550123').country).toBe('US');
  expect(cache.of('+14165550123').country).toBe('CA');
});

test('destinationOf answers as a fresh parse of the number does, after parsePhone of any written form', () => {
  const fresh = (e164: string) => parsePhoneNumberFromString(e164)?.country;
  let fed = 0;
  for (const country of getCountries()) {
    const example = (examples as Record<string, string>)[country];
    if (example === undefined) continue;
    const callingCode = parsePhoneNumberFromString(example, country)?.countryCallingCode;
    for (const national of variations(example).slice(0, 4)) {
      const written: Array<[string, string | undefined]> = [
        [`+${callingCode}${national}`, undefined],
        [` +${callingCode}${national} `, undefined],
        [national, country],
        [`${callingCode}${national}`, undefined],
      ];
      for (const [input, given] of written) {
        const e164 = parsePhone(input, given)?.e164;
        if (e164 === undefined) continue;
        fed++;
        const destination = destinationOf(e164);
        expect({ input, given, destination }).toEqual({
          input,
          given,
          destination: { prefix: e164.slice(0, -3), country: fresh(e164) },
        });
      }
    }
  }
  expect(fed).toBeGreaterThan(1000);
  // Shared calling codes are told apart by the full number, whichever form parsePhone saw first.
  expect(destinationOf(parsePhone('(202) 555-0123', 'CA')?.e164 ?? '').country).toBe('US');
  expect(destinationOf(parsePhone('+1 202 555 0123')?.e164 ?? '').country).toBe('US');
  expect(destinationOf(parsePhone('14165550123')?.e164 ?? '').country).toBe('CA');
});

test('the memo of written numbers answers as parsePhone does, for every country and its variations, and stays within its bound', () => {
  const memo = new WrittenPhones(64);
  const inputs: Array<[string, string | undefined]> = [];
  for (const country of getCountries()) {
    const example = (examples as Record<string, string>)[country];
    if (example === undefined) continue;
    const callingCode = parsePhoneNumberFromString(example, country)?.countryCallingCode;
    for (const national of variations(example).slice(0, 4)) {
      inputs.push(
        [`+${callingCode}${national}`, undefined],
        [national, country],
        [`${callingCode}${national}`, undefined],
      );
    }
  }
  expect(inputs.length).toBeGreaterThan(2000);
  // Twice over, and a short stretch again, so answers come both from the memo and from fresh parses.
  for (const [input, country] of [...inputs, ...inputs.slice(0, 50), ...inputs.slice(0, 50), ...inputs]) {
    expect({ input, country, got: memo.parse(input, country) }).toEqual({
      input,
      country,
      got: parsePhone(input, country),
    });
    expect({ input, loose: memo.parseLoose(input) }).toEqual({ input, loose: parseE164Loose(input) });
    expect(memo.size).toBeLessThanOrEqual(2 * 64);
  }
});

test('the memo of written numbers keeps one text under two countries apart, and a text that is no number', () => {
  const memo = new WrittenPhones(8);
  expect(memo.parse('0612345678', 'NL')?.e164).toBe('+31612345678');
  expect(memo.parse('0612345678', 'FR')?.e164).toBe('+33612345678');
  expect(memo.parse('0612345678', undefined)).toBeUndefined();
  expect(memo.parse('0612345678', 'US')).toBeUndefined();
  // Asked again: the same answers, from the memo.
  expect(memo.parse('0612345678', 'NL')?.e164).toBe('+31612345678');
  expect(memo.parse('0612345678', 'FR')?.e164).toBe('+33612345678');
  expect(memo.parse('0612345678', undefined)).toBeUndefined();
  expect(memo.size).toBe(4);
  // A text that holds the separator cannot pass for another country's entry.
  expect(memo.parse('NL\u00000612345678', undefined)).toBeUndefined();
});
