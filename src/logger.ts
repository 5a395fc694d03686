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

/** Only name, message, errno code and stack: SDK errors carry request options with the Authorization header. */
export function safeError(err: unknown): Record<string, unknown> {
  if (!(err instanceof Error)) return { message: String(err) };
  // Under another name: `code` is redacted everywhere, as an OTP code would be.
  const code = (err as { code?: unknown }).code;
  return {
    type: err.name,
    message: err.message,
    ...(typeof code === 'string' ? { errno: code } : {}),
    stack: err.stack,
  };
}

export type { Logger };
