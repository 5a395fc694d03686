// The logger: a destination that batches lines (production's stdout) is asked to write at once for a
// warning or an error, never for an info line; without such a destination nothing changes.

import { Writable } from 'node:stream';
import { createLogger } from '../src/logger';

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
