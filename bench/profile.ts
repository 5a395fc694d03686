// Where a server's CPU goes, by package: reads a V8 .cpuprofile (`node --cpu-prof`, e.g. through
// BENCH_SERVICE_NODE_ARGS="--max-old-space-size=128 --cpu-prof --cpu-prof-dir=/tmp/prof") and charges each
// sample to the nearest frame on its stack that belongs to a package (node_modules/<name>, Node's bundled
// undici as "undici/fetch") or to the service's own code; Node internals under neither go to "node
// internals", and V8's (garbage collector) / (program) / (idle) rows stay apart. Prints the share of busy
// samples per family, and µs per unit when given the measured CPU per unit (per flow, per refusal).
//   npx tsx bench/profile.ts <file.cpuprofile> [µs-per-unit]

import { readFileSync } from 'node:fs';

interface CallFrame {
  functionName: string;
  url: string;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Packages reported together, as the issue names them. */
const FAMILIES: Array<[string, RegExp]> = [
  [
    'express + body parsing',
    /^(express|router|body-parser|raw-body|iconv-lite|content-type|type-is|mime-types|mime-db|finalhandler|send|qs|on-finished|parseurl|path-to-regexp|media-typer|accepts|negotiator|statuses|http-errors|depd|cookie|vary|fresh|etag|encodeurl|escape-html|proxy-addr|forwarded|ipaddr\.js|debug|ms|bytes|unpipe|destroy|content-disposition|merge-descriptors|setprototypeof|serve-static|range-parser|cors|object-assign)$/,
  ],
  [
    'pino / pino-http',
    /^(pino|pino-http|pino-std-serializers|fast-redact|@pinojs\/redact|sonic-boom|thread-stream|on-exit-leak-free|atomic-sleep|quick-format-unescaped|safe-stable-stringify|get-caller-file|process-warning|real-require|fast-safe-stringify)$/,
  ],
  ['helmet', /^helmet$/],
  ['prom-client', /^(prom-client|tdigest|bintrees)$/],
  ['zod', /^zod$/],
  ['libphonenumber-js', /^libphonenumber-js$/],
  [
    'ioredis',
    /^(ioredis|redis-parser|redis-errors|denque|cluster-key-slot|standard-as-callback|lodash\.defaults|lodash\.isarguments)$/,
  ],
  ['@vonage/* SDK', /^(@vonage\/.*|jsonwebtoken|jws|jwa|uuid|lodash.*)$/],
  ['undici / fetch', /^undici$/],
  ['express-rate-limit / ip-address', /^(express-rate-limit|ip-address|jsbn|sprintf-js)$/],
];

function familyOf(url: string): string | undefined {
  if (url.includes('node:internal/deps/undici') || url.includes('internal/deps/undici'))
    return 'undici / fetch';
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (match?.[1]) {
    const name = match[1];
    for (const [family, pattern] of FAMILIES) if (pattern.test(name)) return family;
    return `other: ${name}`;
  }
  if (/\/(dist|src)\/.*\.(js|ts)$/.test(url) && !url.includes('node_modules')) return 'service code';
  return undefined;
}

function main(): void {
  const file = process.argv[2];
  if (!file) throw new Error('usage: npx tsx bench/profile.ts <file.cpuprofile> [µs-per-unit]');
  const perUnit = process.argv[3] ? Number(process.argv[3]) : undefined;
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const charged = new Map<number, string>();
  const chargeOf = (id: number): string => {
    const cached = charged.get(id);
    if (cached) return cached;
    const leaf = byId.get(id);
    const name = leaf?.callFrame.functionName ?? '';
    let result: string | undefined;
    if (name === '(garbage collector)') result = 'GC (main thread)';
    else if (name === '(idle)') result = 'idle';
    else if (name === '(program)') result = '(program): V8/native, no JS frame';
    else {
      for (let at: number | undefined = id; at !== undefined && result === undefined; at = parent.get(at)) {
        result = familyOf(byId.get(at)?.callFrame.url ?? '');
      }
      result ??= 'node internals (net, http, timers)';
    }
    charged.set(id, result);
    return result;
  };
  const totals = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const family = chargeOf(id);
    totals.set(family, (totals.get(family) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const idle = totals.get('idle') ?? 0;
  totals.delete('idle');
  const busy = [...totals.values()].reduce((a, b) => a + b, 0);
  const rows = [...totals].sort((a, b) => b[1] - a[1]);
  const head = perUnit ? '| family | share of busy CPU | µs per unit |' : '| family | share of busy CPU |';
  process.stdout.write(`${head}\n| --- | ---: |${perUnit ? ' ---: |' : ''}\n`);
  for (const [family, micros] of rows) {
    const share = micros / busy;
    const cells = [family, `${(share * 100).toFixed(1)}%`];
    if (perUnit) cells.push((share * perUnit).toFixed(0));
    process.stdout.write(`| ${cells.join(' | ')} |\n`);
  }
  process.stdout.write(
    `\nbusy ${(busy / 1e6).toFixed(1)} s, idle ${(idle / 1e6).toFixed(1)} s of the profiled process's main thread\n`,
  );
}

main();
