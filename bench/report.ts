// The bench's figures: one row per measured phase, the issue #6 targets judged against them (met / not
// met, never asserted), and the markdown table printed at the end and pasted into the README.

import type { LabelSummary } from './load';

export type ServerKind = 'service' | 'reference' | 'bare' | 'peer';

export interface Row {
  id: string;
  title: string;
  server: ServerKind;
  connections: number;
  requests: number;
  elapsedMs: number;
  rps: number;
  /** req/s of each half when measured in ABBA order against its baseline. */
  halves: number[];
  p50: number;
  p99: number;
  /** Answers with a status other than the expected one, plus transport errors. */
  errors: number;
  expected: string;
  /** TCP connections the server opened to the simulator during the phase (null: it talks to none). */
  vonageConnections: number | null;
  /** Most connections to the simulator the server held open at once (sampled every 100 ms from /proc). */
  peakVonageConnections: number | null;
  /** V8 heap of the service after the phase (its /metrics), MB. */
  heap?: { usedMb: number; totalMb: number; externalMb: number };
  rssBeforeMb: number;
  rssAfterMb: number;
  /** CPU of the server under test and of the simulator (same core), and of the load generator. */
  serverCpu: number;
  simulatorCpu: number;
  generatorCpu: number;
  redisCpu: number;
  /** CPU time per request of the server under test and of the simulator: steadier than req/s on a busy machine. */
  serverCpuUsPerRequest: number;
  simulatorCpuUsPerRequest: number;
  /** CPU used on the machine by processes outside the bench (both cores together), and hypervisor steal. */
  otherCpu: number;
  stealCpu: number;
  loadAverage: number;
  /** Redis commands processed per request (global counter: approximate if others share the Redis). */
  redisPerRequest: number | null;
  /** Complete flows (request-token → code → verify-token), when each step of the phase is one. */
  flows?: {
    count: number;
    perSecond: number;
    /** Server CPU (utime + stime from /proc/<pid>/stat) per flow, µs. */
    serverCpuUs: number;
    /** TCP connections the server opened to the Verify simulator per 1,000 flows. */
    vonageConnectionsPer1000: number;
  };
  /** The row this one is compared with, and the ratio of their requests/s (flows/s for flow phases). */
  baseline?: string;
  ratio?: number;
  /** The ratio in each ABBA half: how far the machine's noise moves it. */
  ratioHalves?: number[];
  labels: Record<string, LabelSummary>;
}

export interface Target {
  name: string;
  goal: string;
  measured: string;
  met: boolean;
}

export interface RssSample {
  atSeconds: number;
  rssMb: number;
}

const fixed = (value: number, digits: number) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
const range = (values: number[] | undefined) =>
  values && values.length === 2 ? ` (${fixed(Math.min(...values), 2)}–${fixed(Math.max(...values), 2)})` : '';
const percent = (value: number) => (Number.isFinite(value) ? `${Math.round(value * 100)}%` : 'n/a');

/** Requests/s, or flows/s for a phase of complete flows. */
const throughput = (row: Row) => row.flows?.perSecond ?? row.rps;

export function linkBaselines(rows: Row[], baselines: Record<string, string>): void {
  const byId = new Map(rows.map((row) => [row.id, row]));
  for (const row of rows) {
    const baselineId = baselines[row.id];
    const baseline = baselineId ? byId.get(baselineId) : undefined;
    if (!baseline || throughput(baseline) === 0) continue;
    row.baseline = baseline.id;
    row.ratio = throughput(row) / throughput(baseline);
    if (row.halves.length === 2 && baseline.halves.length === 2) {
      row.ratioHalves = row.halves.map((rps, i) => rps / (baseline.halves[i] ?? Number.NaN));
    }
  }
}

export function markdownTable(rows: Row[]): string {
  const head = [
    'phase',
    'conns',
    'requests',
    'req/s',
    'ratio',
    'p50 ms',
    'p99 ms',
    'errors',
    'TCP to Vonage opened / peak',
    'RSS MB before → after',
    'CPU µs/req srv+sim',
    'CPU srv / gen / other / steal',
    'Redis cmds/req',
  ];
  const lines = [
    `| ${head.join(' | ')} |`,
    `|${head.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`,
  ];
  for (const row of rows) {
    const cells = [
      row.title,
      String(row.connections),
      String(row.requests),
      fixed(row.rps, 0),
      row.ratio === undefined ? '' : `${fixed(row.ratio, 2)}× ${row.baseline ?? ''}${range(row.ratioHalves)}`,
      fixed(row.p50, 2),
      fixed(row.p99, 2),
      String(row.errors),
      row.vonageConnections === null ? '–' : `${row.vonageConnections} / ${row.peakVonageConnections ?? '?'}`,
      `${fixed(row.rssBeforeMb, 0)} → ${fixed(row.rssAfterMb, 0)}`,
      `${fixed(row.serverCpuUsPerRequest, 0)}+${fixed(row.simulatorCpuUsPerRequest, 0)}`,
      `${percent(row.serverCpu)} / ${percent(row.generatorCpu)} / ${percent(row.otherCpu)} / ${percent(row.stealCpu)}`,
      row.redisPerRequest === null ? '–' : fixed(row.redisPerRequest, 1),
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

/** The complete-flow phases side by side: per flow, as the issue 17 targets read them. */
export function flowsTable(rows: Row[]): string {
  const lines = [
    '| complete flows | flows | flows/s | ratio | server CPU µs/flow | p50 ms | p99 ms | errors | TCP to Vonage per 1,000 flows | RSS MB after |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const row of rows) {
    if (!row.flows) continue;
    const cells = [
      row.title,
      String(row.flows.count),
      fixed(row.flows.perSecond, 0),
      row.ratio === undefined ? '' : `${fixed(row.ratio, 2)}× ${row.baseline ?? ''}${range(row.ratioHalves)}`,
      fixed(row.flows.serverCpuUs, 0),
      fixed(row.p50, 2),
      fixed(row.p99, 2),
      String(row.errors),
      fixed(row.flows.vonageConnectionsPer1000, 1),
      fixed(row.rssAfterMb, 0),
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines.length > 2 ? lines.join('\n') : '';
}

export function targetsTable(targets: Target[]): string {
  const lines = ['| target | goal | measured | |', '| --- | --- | --- | --- |'];
  for (const target of targets) {
    lines.push(
      `| ${target.name} | ${target.goal} | ${target.measured} | ${target.met ? 'met' : '**not met**'} |`,
    );
  }
  return lines.join('\n');
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] ?? Number.NaN)
    : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

export interface SoakTrend {
  firstThirdMb: number;
  lastThirdMb: number;
  growthMb: number;
  maxMb: number;
  /** Least-squares slope of RSS over the soak. */
  slopeMbPerMinute: number;
}

export function soakTrend(samples: RssSample[]): SoakTrend {
  const third = Math.max(1, Math.floor(samples.length / 3));
  const first = median(samples.slice(0, third).map((s) => s.rssMb));
  const last = median(samples.slice(-third).map((s) => s.rssMb));
  const n = samples.length;
  const meanT = samples.reduce((sum, s) => sum + s.atSeconds, 0) / n;
  const meanR = samples.reduce((sum, s) => sum + s.rssMb, 0) / n;
  let num = 0;
  let den = 0;
  for (const s of samples) {
    num += (s.atSeconds - meanT) * (s.rssMb - meanR);
    den += (s.atSeconds - meanT) ** 2;
  }
  return {
    firstThirdMb: first,
    lastThirdMb: last,
    growthMb: last - first,
    maxMb: Math.max(...samples.map((s) => s.rssMb)),
    slopeMbPerMinute: den > 0 ? (num / den) * 60 : 0,
  };
}

/** RSS is "flat" when the last third of the soak sits within this of the first third. */
export const FLAT_TOLERANCE_MB = 10;

export function judgeTargets(rows: Row[], trend: SoakTrend | undefined): Target[] {
  const row = (id: string) => rows.find((r) => r.id === id);
  const targets: Target[] = [];
  const ratioTarget = (id: string, name: string, min: number) => {
    const r = row(id);
    if (!r || r.ratio === undefined) return;
    const unit = r.flows ? 'flows/s' : 'req/s';
    targets.push({
      name,
      goal: `≥ ${min}× ${r.baseline} ${unit}`,
      measured: `${fixed(throughput(r), 0)} ${unit} = ${fixed(r.ratio, 2)}×${range(r.ratioHalves)}`,
      met: r.ratio >= min,
    });
  };
  ratioTarget('flow-service', 'complete flows (32 connections)', 1.0);
  const service = row('flow-service');
  const peer = row('flow-peer');
  if (service?.flows && peer?.flows) {
    const cpu = service.flows.serverCpuUs / peer.flows.serverCpuUs;
    targets.push({
      name: 'server CPU per flow (/proc utime+stime)',
      goal: '≤ the peer’s',
      measured: `${fixed(service.flows.serverCpuUs, 0)} vs ${fixed(peer.flows.serverCpuUs, 0)} µs = ${fixed(cpu, 2)}×`,
      met: cpu <= 1,
    });
    const p99 = service.p99 / peer.p99;
    targets.push({
      name: 'p99 per request, complete flows',
      goal: '≤ 1.5× the peer’s',
      measured: `${fixed(service.p99, 1)} vs ${fixed(peer.p99, 1)} ms = ${fixed(p99, 2)}×`,
      met: p99 <= 1.5,
    });
  }
  ratioTarget('refused-401', 'refused: wrong API key (401), addresses under their limit', 0.8);
  ratioTarget('refused-401-over', 'refused: wrong API key, address over its limit (429)', 0.8);
  ratioTarget('refused-429', 'refused: rate-limited number (429), one number', 0.8);
  ratioTarget('refused-429-spread', 'refused: rate-limited numbers (429), one per connection', 0.8);
  const memService = row('mem-service');
  const memPeer = row('mem-peer');
  if (memService && memPeer) {
    targets.push({
      name: `RSS after ${memService.requests} + ${memPeer.requests} requests of complete flows`,
      goal: '≤ the peer’s',
      measured: `${fixed(memService.rssAfterMb, 0)} vs ${fixed(memPeer.rssAfterMb, 0)} MB`,
      met: memService.rssAfterMb <= memPeer.rssAfterMb,
    });
  }
  const serviceFlows = rows.filter((r) => r.server === 'service' && r.flows);
  if (serviceFlows.length > 0) {
    const worst = serviceFlows.reduce((a, b) =>
      (b.flows?.vonageConnectionsPer1000 ?? 0) > (a.flows?.vonageConnectionsPer1000 ?? 0) ? b : a,
    );
    const per1000 = worst.flows?.vonageConnectionsPer1000 ?? Number.NaN;
    targets.push({
      name: 'TCP connections to Vonage per 1,000 flows',
      goal: '≤ 40',
      measured: `${fixed(per1000, 1)} (${worst.title}; peer: ${fixed(peer?.flows?.vonageConnectionsPer1000 ?? Number.NaN, 1)})`,
      met: per1000 <= 40,
    });
  }

  const withVonage = rows.filter((r) => r.server === 'service' && r.peakVonageConnections !== null);
  if (withVonage.length > 0) {
    const peak = withVonage.reduce((a, b) =>
      (b.peakVonageConnections ?? 0) > (a.peakVonageConnections ?? 0) ? b : a,
    );
    const opened = withVonage.reduce((a, b) =>
      (b.vonageConnections ?? 0) / b.connections > (a.vonageConnections ?? 0) / a.connections ? b : a,
    );
    targets.push({
      name: 'TCP connections to Vonage',
      goal: '≤ concurrent requests (most open at once, every phase)',
      measured:
        `most open at once: ${peak.peakVonageConnections} for ${peak.connections} concurrent (${peak.title}); ` +
        `most opened in one phase: ${opened.vonageConnections} for ${opened.connections} (${opened.title})`,
      met: withVonage.every((r) => (r.peakVonageConnections ?? 0) <= r.connections),
    });
  }

  if (trend) {
    targets.push({
      name: 'RSS over the soak',
      goal: `flat (last third within ${FLAT_TOLERANCE_MB} MB of the first)`,
      measured: `${fixed(trend.firstThirdMb, 0)} → ${fixed(trend.lastThirdMb, 0)} MB (max ${fixed(trend.maxMb, 0)}, ${fixed(trend.slopeMbPerMinute, 1)} MB/min)`,
      met: trend.growthMb <= FLAT_TOLERANCE_MB,
    });
  }

  const one = row('latency-service');
  const ref = row('latency-reference');
  if (one && ref) {
    const added = one.p50 - ref.p50;
    targets.push({
      name: 'p50 added at one connection (verify-token vs reference)',
      goal: '< 1 ms',
      measured: `${fixed(one.p50, 2)} − ${fixed(ref.p50, 2)} = ${fixed(added, 2)} ms`,
      met: added < 1,
    });
  }
  return targets;
}
