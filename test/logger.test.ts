// The logger: a destination that batches lines (production's stdout) is asked to write at once for a
// warning or an error, never for an info line; without such a destination nothing changes. The logger
// without redaction (for completion lines) writes those lines byte for byte as the redacting one does.

import { Writable } from 'node:stream';
import { createLogger, unredacted } from '../src/logger';

function batchingSink() {
  const lines: string[] = [];
  let flushes = 0;
  const stream = Object.assign(
    new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(chunk.toString());
        done();
      },
    }),
    { flush: () => void flushes++ },
  );
  return { stream, lines, flushes: () => flushes };
}

test('info lines may wait for a batch; a warning or an error is flushed at once', () => {
  const sink = batchingSink();
  const log = createLogger('info', sink.stream);
  log.info('request completed');
  log.debug('not written at info');
  expect(sink.flushes()).toBe(0);
  log.warn('slow Vonage');
  expect(sink.flushes()).toBe(1);
  log.error({ err: new Error('boom') }, 'failed');
  expect(sink.flushes()).toBe(2);
  log.child({ requestId: 'r1' }).warn('from a child logger too');
  expect(sink.flushes()).toBe(3);
});

test('the hook leaves the lines themselves alone (redaction included)', () => {
  const sink = batchingSink();
  createLogger('info', sink.stream).warn({ phoneNumber: '+447700900123', code: '1234' }, 'w');
  const line = JSON.parse(sink.lines.join('')) as Record<string, unknown>;
  expect(line).toMatchObject({ msg: 'w', level: 40, phoneNumber: '[redacted]', code: '[redacted]' });
});

describe('the logger without redaction', () => {
  beforeEach(() => {
    jest.useFakeTimers({ now: new Date('2026-11-30T00:00:00Z') });
  });
  afterEach(() => {
    jest.useRealTimers();
  });

  const completion = (url: string, statusCode: number, extra: Record<string, unknown> = {}) => ({
    reqId: 'b3f1c2d4-0000-4000-8000-000000000001',
    req: { id: 'b3f1c2d4-0000-4000-8000-000000000001', method: 'POST', url },
    res: { statusCode },
    responseTime: 12,
    ...extra,
  });
  const failure = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
  const lines: Array<[level: 'info' | 'error', fields: Record<string, unknown>, msg: string]> = [
    ['info', completion('/api/request-token', 201), 'request completed'],
    ['info', completion('/api/verify-token', 200), 'request completed'],
    ['info', completion('/api/verify-token', 401, { folded: 31 }), 'request completed'],
    ['info', completion('/api/x"y\\z\u0001', 404), 'request completed'],
    ['info', completion('/api/caf\u00e9/\ud83d\ude00/\ud800', 404), 'request completed'],
    ['info', completion(`/${'a'.repeat(300)}`, 404), 'request completed'],
    ['info', { ...completion('/api/request-token', 201), reqId: 'given.by-the_client' }, 'request completed'],
    ['error', completion('/api/request-token', 503, { err: failure }), 'request errored'],
    ['error', completion('/api/request-token', 500, { err: 'a string thrown' }), 'request errored'],
    [
      'error',
      completion('/api/request-token', 502, { err: new Error('failed with status code 502') }),
      'request errored',
    ],
  ];

  test('writes every completion line byte for byte as the redacting logger does', () => {
    const redacting = batchingSink();
    const plain = batchingSink();
    const withRedaction = createLogger('info', redacting.stream);
    const without = unredacted(createLogger('info', plain.stream));
    expect(without).not.toBe(withRedaction);
    for (const [level, fields, msg] of lines) {
      withRedaction[level](fields, msg);
      without[level](fields, msg);
    }
    expect(plain.lines).toHaveLength(lines.length);
    expect(plain.lines).toEqual(redacting.lines);
    // Errors keep their flush, as the redacting logger's do.
    expect(plain.flushes()).toBe(3);
  });

  test('is only the logger createLogger made: a child logger, or any other, is returned as it is', () => {
    const sink = batchingSink();
    const root = createLogger('info', sink.stream);
    const child = root.child({ reqId: 'r1' });
    expect(unredacted(child)).toBe(child);
    unredacted(child).info({ phoneNumber: '+447700900123' }, 'from the child');
    expect(JSON.parse(sink.lines.join(''))).toMatchObject({ reqId: 'r1', phoneNumber: '[redacted]' });
  });
});
