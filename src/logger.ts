// The pino logger: built once in the entry file and injected. Redaction is a safety net; the code logs
// masked numbers and never codes or keys in the first place.

import pino, { type DestinationStream, type Logger } from 'pino';

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

export function createLogger(level: string, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'otp-verify' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      serializers: { err: safeError },
    },
    destination,
  );
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
