// Measuring the bench's phases: running load against a server, and reading around each phase its CPU
// and RSS (from /proc), the simulator's connection count and Redis's command count. Phases compared
// with each other run in ABBA order; each measured phase becomes a row of the report.

import { performance } from 'node:perf_hooks';
import type Redis from 'ioredis';
import { Client } from 'undici';
import { type LoadResult, Recorder, runLoad, type Worker } from './load';
import { cpuSeconds, establishedTo, loadAverage, machineCpuSeconds, type Proc, rssMb } from './procs';
import type { Row, ServerKind } from './report';

export interface Servers {
  simulator: Proc;
  service: Proc;
  reference: Proc;
  bare: Proc;
  peer: Proc;
  origins: { simulator: string; service: string; reference: string; bare: string; peer: string };
}

export function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

export async function redisInfoField(redis: Redis, section: string, field: string): Promise<string> {
  const info = await redis.info(section);
  return new RegExp(`^${field}:(.*)$`, 'm').exec(info)?.[1]?.trim() ?? '';
}

interface Snapshot {
  at: number;
  rss: number;
  cpu: number;
  simCpu: number;
  simConnections: number;
  benchSimConnections: number;
  redisCommands: number;
  redisCpu: number;
  machine: { busy: number; steal: number };
  bench: NodeJS.CpuUsage;
}

interface Totals {
  wall: number;
  cpu: number;
  simCpu: number;
  redisCpu: number;
  other: number;
  steal: number;
  vonage: number;
  peak: number;
  redisCommands: number;
  rssBefore: number;
  rssAfter: number;
  /** req/s of each half (ABBA), to show how much the machine moved the figure. */
  halves: number[];
}

interface Accumulator extends Totals {
  spec: PhaseSpec;
  recorder: Recorder;
}

function emptyTotals(): Totals {
  return {
    wall: 0,
    cpu: 0,
    simCpu: 0,
    redisCpu: 0,
    other: 0,
    steal: 0,
    vonage: 0,
    peak: 0,
    redisCommands: 0,
    rssBefore: Number.NaN,
    rssAfter: Number.NaN,
    halves: [],
  };
}

export interface PhaseSpec {
  id: string;
  title: string;
  server: ServerKind;
  expected: string;
  connections: number;
  amount?: number;
  durationMs?: number;
  talksToVonage: boolean;
  /** Each step is one complete flow (request-token → code → verify-token): figures per flow too. */
  flows?: boolean;
  step(worker: Worker, index: number): Promise<void>;
  /** Untimed, once per connection before each segment: a warm pool (and JIT) after the other server ran,
   *  so connections to Vonage counted in the segment are the ones the steady state opens. */
  prime?(worker: Worker): Promise<void>;
  /** Runs beside the load (RSS sampling in the soak). */
  during?: () => () => void;
}

export class Meter {
  readonly rows: Row[] = [];
  readonly extra: Record<string, unknown> = {};
  private benchSimConnections = 0;
  /** Redis's own pid when it runs on this machine (INFO server process_id), for its CPU time. */
  redisPid: number | undefined;
  private readonly control: Client;

  constructor(
    private readonly servers: Servers,
    private readonly redis: Redis,
  ) {
    this.control = new Client(servers.origins.simulator, { keepAliveTimeout: 1000 });
    this.control.on('connect', () => {
      this.benchSimConnections += 1;
    });
  }

  async close(): Promise<void> {
    await this.control.close();
  }

  load(
    target: string,
    connections: number,
    rest: Omit<Parameters<typeof runLoad>[0], 'origins' | 'connections'>,
  ) {
    const simulator = this.servers.origins.simulator;
    return runLoad({
      origins: { main: target, sim: simulator },
      connections,
      onConnect: (origin) => {
        if (origin === simulator) this.benchSimConnections += 1;
      },
      aggregate: (label) => (label.startsWith('sim:') || label.startsWith('prep:') ? undefined : '*'),
      ...rest,
    });
  }

  private async simStats(): Promise<{ connections: number }> {
    const answer = await this.control.request({ method: 'GET', path: '/_simulator/stats' });
    return (await answer.body.json()) as { connections: number };
  }

  private async snapshot(pid: number): Promise<Snapshot> {
    const stats = await this.simStats();
    const commands = Number(await redisInfoField(this.redis, 'stats', 'total_commands_processed'));
    return {
      redisCpu: this.redisPid === undefined ? Number.NaN : cpuSeconds(this.redisPid),
      machine: machineCpuSeconds(),
      bench: process.cpuUsage(),
      at: performance.now(),
      rss: rssMb(pid),
      cpu: cpuSeconds(pid),
      simCpu: cpuSeconds(this.servers.simulator.pid),
      simConnections: stats.connections,
      benchSimConnections: this.benchSimConnections,
      redisCommands: commands,
    };
  }

  /** Heap figures from the service's own /metrics (prom-client default metrics). */
  private async serviceHeap(): Promise<{ usedMb: number; totalMb: number; externalMb: number } | undefined> {
    try {
      const response = await fetch(`${this.servers.origins.service}/metrics`);
      const text = await response.text();
      const metric = (name: string) =>
        Number(new RegExp(`^otp_${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1]) / 1024 / 1024;
      return {
        usedMb: metric('nodejs_heap_size_used_bytes'),
        totalMb: metric('nodejs_heap_size_total_bytes'),
        externalMb: metric('nodejs_external_memory_bytes'),
      };
    } catch {
      return undefined;
    }
  }

  private pidOf(server: ServerKind): number {
    return this.servers[server].pid;
  }

  private originOf(server: ServerKind): string {
    return this.servers.origins[server];
  }

  /**
   * Measures phases that are compared with each other in ABBA order (A1 B1 B2 A2, each half of the phase),
   * so a change of the machine's load over time weighs on both sides alike; a single phase runs whole.
   */
  async measure(...specs: PhaseSpec[]): Promise<Row[]> {
    const accumulators = specs.map(
      (spec): Accumulator => ({ spec, recorder: new Recorder(), ...emptyTotals() }),
    );
    const order = specs.length === 1 ? [0] : [...specs.keys(), ...[...specs.keys()].reverse()];
    const halves = specs.length === 1 ? 1 : 2;
    const done = new Map<number, number>();
    for (const index of order) {
      const accumulator = accumulators[index];
      if (!accumulator) continue;
      const part = done.get(index) ?? 0;
      done.set(index, part + 1);
      await this.segment(accumulator, part, halves);
    }
    const rows: Row[] = [];
    for (const accumulator of accumulators) rows.push(await this.toRow(accumulator));
    return rows;
  }

  private async segment(acc: Accumulator, part: number, halves: number): Promise<void> {
    const { spec } = acc;
    const pid = this.pidOf(spec.server);
    if (this.servers[spec.server].exited)
      throw new Error(`${spec.server} died:\n${this.servers[spec.server].tail()}`);
    const firstHalf = spec.amount === undefined ? 0 : Math.floor(spec.amount / halves);
    let amount = spec.amount;
    if (spec.amount !== undefined && halves === 2) amount = part === 0 ? firstHalf : spec.amount - firstHalf;
    const { prime } = spec;
    if (prime) {
      await this.load(this.originOf(spec.server), spec.connections, {
        amount: spec.connections,
        step: (w) => prime(w),
      });
    }
    const before = await this.snapshot(pid);
    if (part === 0) acc.rssBefore = before.rss;
    const stopDuring = spec.during?.();
    const simPort = Number(new URL(this.servers.origins.simulator).port);
    const sampler = spec.talksToVonage
      ? setInterval(() => {
          acc.peak = Math.max(acc.peak, establishedTo(pid, simPort));
        }, 100)
      : undefined;
    const countBefore = acc.recorder.stats.get('*')?.latencies.length ?? 0;
    const stepsBefore = acc.recorder.steps;
    const elapsedBefore = acc.recorder.elapsedMs;
    await this.load(this.originOf(spec.server), spec.connections, {
      ...(amount !== undefined ? { amount, firstStep: halves === 2 && part === 1 ? firstHalf : 0 } : {}),
      ...(spec.durationMs !== undefined ? { durationMs: spec.durationMs / halves } : {}),
      recorder: acc.recorder,
      step: spec.step,
    });
    clearInterval(sampler);
    stopDuring?.();
    const after = await this.snapshot(pid);
    const elapsed = acc.recorder.elapsedMs - elapsedBefore;
    const count = (acc.recorder.stats.get('*')?.latencies.length ?? 0) - countBefore;
    const units = spec.flows ? acc.recorder.steps - stepsBefore : count;
    acc.halves.push(elapsed > 0 ? (units / elapsed) * 1000 : 0);
    acc.rssAfter = after.rss;
    const wall = (after.at - before.at) / 1000;
    acc.wall += wall;
    acc.cpu += after.cpu - before.cpu;
    acc.simCpu += after.simCpu - before.simCpu;
    acc.redisCpu += after.redisCpu - before.redisCpu;
    acc.other += this.otherCpu(before, after, wall) * wall;
    acc.steal += after.machine.steal - before.machine.steal;
    // Every connection the simulator accepted that the bench itself did not open is the server's.
    acc.vonage +=
      after.simConnections - before.simConnections - (after.benchSimConnections - before.benchSimConnections);
    // Two INFO calls of our own are in the count.
    acc.redisCommands += Math.max(0, after.redisCommands - before.redisCommands - 2);
  }

  private async toRow(acc: Accumulator): Promise<Row> {
    const { spec } = acc;
    const result = acc.recorder.result();
    const all = result.labels['*'];
    const requests = all?.count ?? 0;
    const heap = spec.server === 'service' ? await this.serviceHeap() : undefined;
    const row: Row = {
      id: spec.id,
      title: spec.title,
      server: spec.server,
      connections: spec.connections,
      requests,
      elapsedMs: result.elapsedMs,
      rps: all?.rps ?? 0,
      halves: acc.halves,
      p50: all?.p50 ?? Number.NaN,
      p99: all?.p99 ?? Number.NaN,
      errors: all?.errors ?? 0,
      expected: spec.expected,
      vonageConnections: spec.talksToVonage ? acc.vonage : null,
      peakVonageConnections: spec.talksToVonage ? acc.peak : null,
      ...(heap ? { heap } : {}),
      rssBeforeMb: acc.rssBefore,
      rssAfterMb: acc.rssAfter,
      serverCpu: acc.cpu / acc.wall,
      simulatorCpu: acc.simCpu / acc.wall,
      generatorCpu: result.generatorCpu,
      redisCpu: acc.redisCpu / acc.wall,
      serverCpuUsPerRequest: requests > 0 ? (acc.cpu / requests) * 1e6 : Number.NaN,
      simulatorCpuUsPerRequest: requests > 0 ? (acc.simCpu / requests) * 1e6 : Number.NaN,
      // Clock ticks are 10 ms: a phase with nothing else running can read slightly below zero.
      otherCpu: Math.max(0, acc.other / acc.wall),
      stealCpu: acc.steal / acc.wall,
      loadAverage: loadAverage(),
      redisPerRequest: requests > 0 ? acc.redisCommands / requests : null,
      labels: result.labels,
    };
    if (spec.flows) {
      const flows = result.steps;
      row.flows = {
        count: flows,
        perSecond: result.elapsedMs > 0 ? (flows / result.elapsedMs) * 1000 : 0,
        serverCpuUs: flows > 0 ? (acc.cpu / flows) * 1e6 : Number.NaN,
        vonageConnectionsPer1000: flows > 0 ? (acc.vonage / flows) * 1000 : Number.NaN,
      };
    }
    this.rows.push(row);
    log(
      `${spec.title}: ${requests} requests${row.flows ? ` (${row.flows.count} flows, ${row.flows.perSecond.toFixed(0)}/s, ${row.flows.serverCpuUs.toFixed(0)} µs CPU each)` : ''}, ${row.rps.toFixed(0)} req/s, p50 ${row.p50.toFixed(2)} ms, ` +
        `p99 ${row.p99.toFixed(2)} ms, errors ${row.errors}${row.errors > 0 ? ` ${JSON.stringify(all?.statuses)}` : ''}`,
    );
    return row;
  }

  /** Waits (at most 7 s) until the service holds no connection to the simulator, so that the next phase's
   *  peak counts only connections it opens itself; idle keep-alive sockets close after the server's 5 s. */
  async settleVonageConnections(): Promise<void> {
    const simPort = Number(new URL(this.servers.origins.simulator).port);
    const deadline = performance.now() + 7000;
    while (establishedTo(this.servers.service.pid, simPort) > 0 && performance.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** Busy CPU of the machine that none of the bench's processes (nor Redis) account for, in cores. */
  private otherCpu(before: Snapshot, after: Snapshot, wall: number): number {
    const bench = (after.bench.user + after.bench.system - before.bench.user - before.bench.system) / 1e6;
    const servers = after.cpu - before.cpu + (after.simCpu - before.simCpu);
    const redis = Number.isNaN(after.redisCpu) ? 0 : after.redisCpu - before.redisCpu;
    return (after.machine.busy - before.machine.busy - bench - servers - redis) / wall;
  }

  /** Untimed work (setup, preparing verifications): fails loudly when the service misbehaves. */
  async untimed(
    name: string,
    target: string,
    connections: number,
    amount: number,
    step: (w: Worker, i: number) => Promise<void>,
  ): Promise<LoadResult> {
    const result = await this.load(target, connections, { amount, step });
    this.extra[name] = { elapsedMs: result.elapsedMs, labels: result.labels };
    const failed = Object.entries(result.labels).filter(([, summary]) => summary.errors > 0);
    // A machine so busy that Redis answers after the service's command timeout gets a few 503s (the
    // service failing fast, as designed): noted, not fatal, when they are all and under 1 %.
    const overloadOnly = failed.every(
      ([, summary]) =>
        summary.errors === (summary.statuses['503'] ?? 0) + summary.transportErrors &&
        summary.transportErrors === 0 &&
        summary.errors <= summary.count * 0.01,
    );
    if (failed.length > 0 && overloadOnly) {
      const detail = failed.map(([label, s]) => `${label}: ${s.errors} × 503`);
      log(`${name}: the service answered 503 (overloaded machine): ${detail.join('; ')}`);
    } else if (failed.length > 0) {
      const detail = failed.map(([label, s]) => `${label}: ${s.errors} errors ${JSON.stringify(s.statuses)}`);
      throw new Error(`${name} failed: ${detail.join('; ')}\n${this.servers.service.tail()}`);
    }
    return result;
  }
}
