// What a person at a terminal sees: a start-up summary (where the service is, in which mode, with which
// store, the sandbox key and where the docs are) and log lines as short text. Used only when stdout is a
// terminal; anywhere else (a container, a pipe, a file) the service writes JSON lines for machines.

import { Writable } from 'node:stream';
import type { DestinationStream } from 'pino';
import type { Config } from './config';
import { API_VERSION } from './version';

export interface StartupFacts {
  port: number;
  sandbox: boolean;
  apiVersion: string;
  /** 'memory', or the Redis it talks to (no credentials). */
  store: string;
  /** Where the SDK sends Verify calls. */
  vonageHost: string;
  callers: string[];
  /** Only the built-in sandbox key, never a configured one. */
  sandboxKey?: string;
}

/** The facts of the summary from the configuration: a configured API key is never among them. */
export function startupFacts(config: Config, port: number, vonageHost: string): StartupFacts {
  const builtInKey =
    config.sandbox && config.API_KEYS.size === 1 && config.API_KEYS.get('local') === 'dev-key';
  return {
    port,
    sandbox: config.sandbox,
    apiVersion: API_VERSION,
    store: storeName(config),
    vonageHost,
    callers: [...config.API_KEYS.keys()],
    ...(builtInKey ? { sandboxKey: 'dev-key' } : {}),
  };
}

/** The store as a person reads it: never with the URL's credentials. */
function storeName(config: Pick<Config, 'REDIS_URL' | 'REDIS_CLUSTER'>): string {
  if (!config.REDIS_URL) return 'memory (one instance only, lost on restart)';
  const hosts = config.REDIS_URL.split(',').map((seed) => {
    const text = seed.trim();
    try {
      return new URL(text.includes('://') ? text : `redis://${text}`).host;
    } catch {
      return '?';
    }
  });
  return `${config.REDIS_CLUSTER ? 'Redis Cluster' : 'Redis'} at ${hosts.join(', ')}`;
}

export function startupSummary(facts: StartupFacts): string {
  const url = `http://localhost:${facts.port}`;
  const rows: [string, string][] = [
    ['URL', url],
    [
      'mode',
      facts.sandbox
        ? 'SANDBOX: codes go to the local Verify simulator, never to phones'
        : `live: Vonage Verify at ${facts.vonageHost}`,
    ],
    ['API version', facts.apiVersion],
    ['store', facts.store],
    ['callers', facts.callers.join(', ')],
    ...(facts.sandboxKey
      ? ([['sandbox key', `${facts.sandboxKey}  (Authorization: Bearer ${facts.sandboxKey})`]] as [
          string,
          string,
        ][])
      : []),
    ['docs', `${url}/docs  (OpenAPI: ${url}/openapi.json)`],
    ...(facts.sandbox
      ? ([
          ['codes', `${url}/sandbox/messages`],
          ['reset', `curl -X POST ${url}/sandbox/reset`],
          ['try it', 'npm run demo   (in another terminal)'],
        ] as [string, string][])
      : []),
  ];
  const width = Math.max(...rows.map(([name]) => name.length));
  return [
    '',
    '  otp-verify is running',
    '',
    ...rows.map(([name, value]) => `  ${name.padEnd(width)}  ${value}`),
    '',
    '  Stop with Ctrl-C. Logs follow as text; pipe the output anywhere for JSON lines.',
    '',
    '',
  ].join('\n');
}

const LEVELS: Record<number, string> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
/** Fields every line has, or that the line shows in its own way. */
const SHOWN_APART = new Set([
  'level',
  'time',
  'pid',
  'hostname',
  'service',
  'msg',
  'req',
  'res',
  'responseTime',
]);

/** One pino JSON line as `12:00:01 INFO  message  key=value ...`; anything else passes through unchanged. */
export function textLine(json: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(json) as Record<string, unknown>;
  } catch {
    return json;
  }
  const time = typeof entry.time === 'number' ? new Date(entry.time).toTimeString().slice(0, 8) : '--:--:--';
  const level = (LEVELS[Number(entry.level)] ?? String(entry.level)).padEnd(5);
  const req = entry.req as { method?: unknown; url?: unknown } | undefined;
  const res = entry.res as { statusCode?: unknown } | undefined;
  const request =
    req && res
      ? ` ${String(req.method)} ${String(req.url)} ${String(res.statusCode)} ${String(entry.responseTime)}ms`
      : res
        ? ` ${String(res.statusCode)}`
        : '';
  const fields = Object.entries(entry)
    .filter(([key]) => !SHOWN_APART.has(key))
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`);
  return [`${time} ${level} ${String(entry.msg ?? '')}${request}`, ...fields].join('  ');
}

/** A pino destination that writes each line as text to a terminal. */
export function textLogStream(out: NodeJS.WritableStream): DestinationStream {
  let pending = '';
  return new Writable({
    write(chunk, _encoding, done) {
      pending += String(chunk);
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line) out.write(`${textLine(line)}\n`);
      done();
    },
  });
}
