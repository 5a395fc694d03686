// The JSON scanner behind the syntax-error position agrees with JSON.parse on what is JSON, and the
// position it names is the first one no continuation can fix.

import fc from 'fast-check';
import { jsonErrorPosition } from '../../src/http/json-position';

const isJson = (text: string) => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};

const jsonish = fc
  .array(fc.constantFrom(...'{}[]":,.-+0123456789eEtrufalsn \\/\nbu"AF\t'.split('')), { maxLength: 24 })
  .map((chars) => chars.join(''));

test('says "no error" exactly when JSON.parse accepts the text', () => {
  fc.assert(
    fc.property(fc.oneof(jsonish, fc.json(), fc.string()), (text) => {
      expect(jsonErrorPosition(text) === undefined).toBe(isJson(text));
    }),
    { numRuns: 3000 },
  );
});

test('the position is never before the point where valid JSON was mangled', () => {
  fc.assert(
    fc.property(fc.json(), fc.nat(), fc.constantFrom('}', ']', ',', ':', 'x', '"'), (json, cut, junk) => {
      const at = cut % (json.length + 1);
      const text = `${json.slice(0, at)}${junk}${json.slice(at)}`;
      const where = jsonErrorPosition(text);
      if (where === undefined) return;
      // Everything before the reported position was fine: the error is at or after the inserted junk,
      // unless the junk closed the text early and what follows is the excess.
      expect(where.position).toBeGreaterThanOrEqual(Math.min(at, text.length));
    }),
    { numRuns: 2000 },
  );
});

test('names line and column from 1', () => {
  expect(jsonErrorPosition('{\n\n  x')).toEqual({ position: 5, line: 3, column: 3, found: 'x' });
  expect(jsonErrorPosition('')).toEqual({ position: 0, line: 1, column: 1, found: undefined });
});
