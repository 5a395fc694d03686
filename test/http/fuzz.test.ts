// Property-based fuzzing of every POST endpoint (and the one GET with a path parameter): whatever the
// body, the service never answers 5xx, and every answer that is not 2xx is application/problem+json
// with a stable `code`. Bodies are built as raw text or bytes, so keys such as __proto__ reach the
// server as own JSON keys (an object literal would turn them into a prototype instead).
// 4 endpoints x (160 + 60 + 40) runs = 1040 generated bodies, plus 80 generated paths; FUZZ_SCALE=10
// multiplies the runs for a deeper search (fast-check prints the seed of any failure to replay it).

import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import supertest from 'supertest';
import { type Harness, KEYS, startHarness } from '../support/harness';

const SCALE = Math.max(1, Number(process.env.FUZZ_SCALE ?? 1) || 1);
const runs = (n: number) => ({ numRuns: n * SCALE });

const POSTS = ['/api/request-token', '/api/verify-token', '/api/cancel', '/api/next-event'] as const;
const FIELDS = [
  'phoneNumber',
  'country',
  'brand',
  'codeLength',
  'locale',
  'workflowId',
  'pinExpiry',
  'nextEventWait',
  'requestId',
  'code',
];
const DANGEROUS_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf'];
const WEIRD = [
  '',
  ' ',
  '\u0000',
  '\u202e+447400123456',
  '+44\u200b7400123456',
  '\uff0b\uff14\uff14\uff17\uff14\uff10\uff10\uff11\uff12\uff13\uff14\uff15\uff16',
  '\u0661\u0662\u0663\u0664\u0665\u0666',
  '\ud800',
  '\udfff\ud800',
  '😀😀😀😀',
  'e\u0301\u0301\u0301',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal Log4Shell-style probe, not a template
  '${jndi:ldap://x}',
  '<script>alert(1)</script>',
  "' OR 1=1 --",
  '../../etc/passwd',
  '%00',
  '\r\nX-Injected: 1',
  '-0',
  '1e309',
  'NaN',
];

/** Strings of every kind: random unicode (lone surrogates included), near-valid values, huge ones. */
const junkString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.constantFrom(...WEIRD, ...DANGEROUS_KEYS),
  fc.stringMatching(/^\+?[0-9 ()-]{0,20}$/),
  fc.stringMatching(/^\d{1,8}$/),
  fc.stringMatching(/^[A-Za-z0-9_-]{1,70}$/),
  fc.stringMatching(/^[a-z]{2}(-[a-z]{2})?$/),
  fc
    .tuple(fc.string({ maxLength: 4, minLength: 1 }), fc.integer({ min: 500, max: 9000 }))
    .map(([unit, times]) => unit.repeat(times)),
);

const junkScalar = fc.oneof(
  junkString,
  fc.integer(),
  fc.constantFrom(0, -1, 4, 6, 7, 8, 60, 3600, 2 ** 53, -(2 ** 53), 1e308, 0.5),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.boolean(),
  fc.constant(null),
);

/** JSON text (not values), so any key, __proto__ included, can appear at any depth. */
const jsonText: fc.Arbitrary<string> = fc.letrec<{ node: string }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    junkScalar.map((value) => JSON.stringify(value)),
    fc
      .array(fc.tuple(fc.oneof(fc.constantFrom(...FIELDS, ...DANGEROUS_KEYS), junkString), tie('node')), {
        maxLength: 6,
      })
      .map((entries) => `{${entries.map(([key, value]) => `${JSON.stringify(key)}:${value}`).join(',')}}`),
    fc.array(tie('node'), { maxLength: 4 }).map((items) => `[${items.join(',')}]`),
  ),
})).node;

/** Objects shaped like the real bodies, with wrong, missing or extra fields. */
const wrongTypes = fc
  .record(
    Object.fromEntries(FIELDS.map((field) => [field, fc.oneof(junkScalar, fc.jsonValue({ maxDepth: 2 }))])),
    { requiredKeys: [] },
  )
  .chain((body) =>
    fc
      .option(fc.tuple(fc.constantFrom(...DANGEROUS_KEYS, 'extra'), jsonText), { nil: undefined })
      .map((extra) => {
        const text = JSON.stringify(body);
        if (!extra) return text;
        const member = `${JSON.stringify(extra[0])}:${extra[1]}`;
        return text === '{}' ? `{${member}}` : `${text.slice(0, -1)},${member}}`;
      }),
  );

/** Bodies a broken or hostile client might send: JSON cut short, or any bytes at all. */
const mangled = fc.oneof(
  fc.tuple(jsonText, fc.nat()).map(([text, cut]) => Buffer.from(text.slice(0, cut % (text.length + 1)))),
  fc.uint8Array({ maxLength: 600 }).map((bytes) => Buffer.from(bytes)),
  fc.string({ unit: 'binary', maxLength: 200 }).map((text) => Buffer.from(text, 'utf16le')),
);

const contentType = fc.constantFrom(
  undefined,
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=utf-16le',
  'application/json; charset=latin1',
  'application/json; charset=bogus',
  'application/vnd.api+json',
  'text/plain',
  'application/x-www-form-urlencoded',
  'application/octet-stream',
);

const contentEncoding = fc.constantFrom(undefined, undefined, 'identity', 'gzip', 'deflate', 'br', 'x-bogus');

let h: Harness;
let server: Server;
let http: ReturnType<typeof supertest>;

beforeAll(async () => {
  h = await startHarness();
  // One listening server for the whole suite, instead of one per request.
  server = createServer(h.composed.app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  http = supertest(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  await h.close();
});

interface Answer {
  status: number;
  type: string;
  text: string;
}

/** The property every answer must have; returns false (and says why) so fast-check can shrink. */
function wellFormed(answer: Answer): boolean {
  if (answer.status >= 500) throw new Error(`5xx: ${answer.status} ${answer.text.slice(0, 300)}`);
  if (answer.status < 300) return true;
  if (!/^application\/problem\+json/.test(answer.type)) {
    throw new Error(`non-problem ${answer.status} answer: ${answer.type} ${answer.text.slice(0, 300)}`);
  }
  const problem = JSON.parse(answer.text) as { code?: unknown; status?: unknown };
  if (typeof problem.code !== 'string' || !/^[a-z]+(_[a-z]+)*$/.test(problem.code)) {
    throw new Error(`problem without a code: ${answer.text.slice(0, 300)}`);
  }
  if (problem.status !== answer.status) throw new Error(`status mismatch: ${answer.text.slice(0, 300)}`);
  return true;
}

async function post(
  path: string,
  body: string | Buffer,
  type: string | undefined = 'application/json',
  encoding?: string,
): Promise<Answer> {
  let req = http.post(path).set('Authorization', `Bearer ${KEYS.alpha}`);
  if (type !== undefined) req = req.set('Content-Type', type);
  if (encoding !== undefined) req = req.set('Content-Encoding', encoding);
  const res = await req.send(body);
  return { status: res.status, type: String(res.headers['content-type'] ?? ''), text: res.text };
}

describe.each(POSTS)('POST %s', (path) => {
  test('random JSON, nested junk and dangerous keys', async () => {
    await fc.assert(
      fc.asyncProperty(jsonText, async (text) => wellFormed(await post(path, text))),
      runs(160),
    );
  });

  test('objects shaped like the real bodies, with wrong types', async () => {
    await fc.assert(
      fc.asyncProperty(wrongTypes, async (text) => wellFormed(await post(path, text))),
      runs(60),
    );
  });

  test('raw bytes, cut-off JSON, odd content types and encodings', async () => {
    await fc.assert(
      fc.asyncProperty(mangled, contentType, contentEncoding, async (bytes, type, encoding) =>
        wellFormed(await post(path, bytes, type, encoding)),
      ),
      runs(40),
    );
  });
});

/** Every byte percent-encoded (lone surrogates become U+FFFD, as on the wire). */
const percentEncoded = (text: string) =>
  [...Buffer.from(text, 'utf8').subarray(0, 1500)]
    .map((byte) => `%${byte.toString(16).padStart(2, '0')}`)
    .join('');

test('GET /api/verifications/:requestId with any path segment, malformed escapes included', async () => {
  const segment = fc.oneof(junkString.map(percentEncoded), fc.stringMatching(/^[%0-9A-Za-z._~-]{1,24}$/));
  await fc.assert(
    fc.asyncProperty(segment, async (raw) => {
      const res = await http.get(`/api/verifications/${raw}`).set('Authorization', `Bearer ${KEYS.alpha}`);
      return wellFormed({
        status: res.status,
        type: String(res.headers['content-type'] ?? ''),
        text: res.text,
      });
    }),
    runs(80),
  );
});
