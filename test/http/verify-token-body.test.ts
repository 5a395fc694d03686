// The common verify-token body, `{ requestId, code }`, is checked without zod (commonVerifyTokenBody):
// it must take exactly the bodies zod takes, with the same output, and leave every other body to zod,
// so each refusal still carries zod's errors.

import { commonVerifyTokenBody, verifyTokenBody } from '../../src/http/schemas';

const ID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';

const bodies: unknown[] = [
  { requestId: ID, code: '123456' },
  { code: '1234', requestId: ID },
  { requestId: 'a', code: 'ABCDEFGHIJ' },
  { requestId: 'x'.repeat(64), code: 'abcd' },
  { requestId: 'with_under-score', code: '000000' },
  { requestId: 'x'.repeat(65), code: '123456' },
  { requestId: '', code: '123456' },
  { requestId: 'has space', code: '123456' },
  { requestId: 'dot.ted', code: '123456' },
  { requestId: ID, code: '123' },
  { requestId: ID, code: '12345678901' },
  { requestId: ID, code: '12 34' },
  { requestId: ID, code: '123456\n' },
  { requestId: ID, code: 123456 },
  { requestId: 42, code: '123456' },
  { requestId: null, code: '123456' },
  { requestId: ID },
  { code: '123456' },
  { requestId: ID, code: '123456', phoneNumber: '+447400123456' },
  { requestId: ID, code: '123456', country: 'GB' },
  { phoneNumber: '+447400123456', code: '123456' },
  { requestId: ID, code: '123456', extra: true },
  { requestId: ID, code: '123456', requestID: ID },
  JSON.parse(`{"requestId":"${ID}","__proto__":{"code":"123456"}}`),
  JSON.parse(`{"requestId":"${ID}","code":"123456","__proto__":{"extra":1}}`),
  Object.create({ requestId: ID, code: '123456' }),
  Object.assign(Object.create(null), { requestId: ID, code: '123456' }),
  {},
  [],
  [ID, '123456'],
  null,
  `{"requestId":"${ID}","code":"123456"}`,
  undefined,
];

test('the common verify-token body is taken exactly when zod takes it, with the same output', () => {
  let taken = 0;
  for (const body of bodies) {
    const quick = commonVerifyTokenBody(body);
    const parsed = verifyTokenBody.safeParse(body);
    if (quick === undefined) {
      // Left to zod: whatever zod says of it (an error, or a form this check does not take) stands.
      continue;
    }
    taken++;
    expect({ body, parsed }).toEqual({ body, parsed: { success: true, data: quick } });
    expect(Object.keys(quick)).toEqual(Object.keys(parsed.data ?? {}));
  }
  expect(taken).toBe(5);
});
