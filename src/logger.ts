// The pino logger: built once in the entry file and injected. Redaction is a safety net; the code logs
// masked numbers and never codes or keys in the first place.

import pino, { type DestinationStream, type Logger, type LoggerOptions } from 'pino';

export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'res.headers["set-cookie"]',
  'headers.authorization',
  'authorization',
  'code',
  'pin',
  'apiKey',
  'apiSecret',
  '*.code',
  '*.apiKey',
  '*.apiSecret',
  'phoneNumber',
  '*.phoneNumber',
];

/** A destination that may hold lines back (batchedStdout); warnings and errors ask it to write at once. */
type Destination = DestinationStream & { flush?: () => void };

/** pino's level number for `warn`: from it up, a line is not left waiting in a batch. */
const WARN = 40;

/** The same logger without redaction, for lines whose fields are fixed (unredacted()). */
const UNREDACTED = Symbol('logger without redaction');

export function createLogger(level: string, destination?: Destination): Logger {
  const flush = destination?.flush?.bind(destination);
  const options: LoggerOptions = {
    level,
    base: { service: 'otp-verify' },
    serializers: { err: safeError },
    ...(flush
      ? {
          hooks: {
            logMethod(args, method, lineLevel) {
              method.apply(this, args);
              if (lineLevel >= WARN) flush();
            },
          },
        }
      : {}),
  };
  const logger = pino({ ...options, redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, destination);
  Object.defineProperty(logger, UNREDACTED, { value: pino(options, destination) });
  return logger;
}

/**
 * The logger `logger` was made with (createLogger), minus the redaction, for lines built from fixed fields
 * none of which is a redacted path: the completion line of every request (request-log.ts). pino's
 * redaction clones and walks every object field of every line for the wildcard paths; on such a line it
 * changes nothing, so the line is the same without it. Any other logger is returned as it is.
 */
export function unredacted(logger: Logger): Logger {
  // Its own property only: a child logger inherits it from its parent, without the child's bindings.
  return Object.hasOwn(logger, UNREDACTED)
    ? (logger as Logger & { [UNREDACTED]: Logger })[UNREDACTED]
    : logger;
}

/** How many bytes of log lines are gathered into one write, and the longest a line waits for it. */
export const LOG_BATCH = { bytes: 4096, maxWaitMs: 250 } as const;

/**
 * JSON lines on stdout in batches: one write per ~4 KB of lines instead of one per line (under load the
 * write per completion line was ~4% of the CPU of a flow, docs/perf-profile.md). A line waits at most
 * LOG_BATCH.maxWaitMs; a warning or an error is written at once (createLogger's hook); what is still
 * held when the process exits, by a signal or a crash, is written synchronously (pino registers that
 * for the destinations it builds).
 */
export function batchedStdout(): Destination {
  const stream = pino.destination({ dest: 1, minLength: LOG_BATCH.bytes, sync: false });
  setInterval(() => stream.flush(), LOG_BATCH.maxWaitMs).unref();
  return stream;
}

/**
 * Only type, message, errno code and stack: SDK errors carry request options with the Authorization
 * header, and Redis error replies carry their command (`command.args`: keys with the phone number, the
 * record JSON). Also given what pino-std-serializers made of an error (as pino-http passed it), from
 * which it keeps the same four fields.
 */
export function safeError(err: unknown): Record<string, unknown> {
  if (typeof err !== 'object' || err === null) return { message: String(err) };
  const fields = err as {
    name?: unknown;
    type?: unknown;
    message?: unknown;
    code?: unknown;
    stack?: unknown;
  };
  const type = err instanceof Error ? err.name : fields.type;
  // Under another name: `code` is redacted everywhere, as an OTP code would be.
  return {
    ...(typeof type === 'string' ? { type } : {}),
    message: typeof fields.message === 'string' ? fields.message : '',
    ...(typeof fields.code === 'string' ? { errno: fields.code } : {}),
    ...(typeof fields.stack === 'string' ? { stack: fields.stack } : {}),
  };
}

export type { Logger };
