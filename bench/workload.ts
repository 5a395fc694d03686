// The measured part of the bench: the requests each phase sends, the phases in their order (ABBA where two
// servers are compared), and what is read around each phase (CPU and RSS from /proc, the simulator's
// connection count, Redis's command count). run.ts starts the processes and prints the result.

import { performance } from 'node:perf_hooks';
import type Redis from 'ioredis';
import { Client } from 'undici';
import { type CallResult, type LoadResult, Recorder, runLoad, type Worker } from './load';
import { cpuSeconds, establishedTo, loadAverage, machineCpuSeconds, type Proc, rssMb } from './procs';
import { type Row, type RssSample, type ServerKind, type SoakTrend, soakTrend } from './report';
import type { BenchSettings } from './settings';

export const VONAGE_KEY = 'bench-api-key';
export const VONAGE_SECRET = 'bench-api-secret';
/** The production default: the limited numbers reach it with real flows; every flow uses a fresh number. */
export const SENDS_PER_NUMBER = 5;
/** Service requests in one step of the mixed workload (memory run and soak): request-token, verify-token,
 *  four status reads, two wrong keys, two requests for a limited number. */
const MIXED_REQUESTS_PER_STEP = 10;

interface Item {
  requestId: string;
  code: string;
}

export interface Servers {
  simulator: Proc;
  service: Proc;
  reference: Proc;
  bare: Proc;
  origins: { simulator: string; service: string; reference: string; bare: string };
}

/** Unique valid UK mobile numbers (+447400000000, +447400000001, ...): no two flows share limits or locks. */
class Numbers {
  private next = 0;
  take(): string {
    const n = this.next++;
    return `+44${7400 + Math.floor(n / 1_000_000)}${String(n % 1_000_000).padStart(6, '0')}`;
  }
}

export function log(message: string): void {
  process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}\n`);
}

function parseJson<T>(text: string): T | undefined {
  try {
    return JSON.parse(text) as T;
  } catch {
    return undefined;
  }
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

interface PhaseSpec {
  id: string;
  title: string;
  server: ServerKind;
  expected: string;
  connections: number;
  amount?: number;
  durationMs?: number;
  talksToVonage: boolean;
  step(worker: Worker, index: number): Promise<void>;
  /** Runs beside the load (RSS sampling in the soak). */
  during?: () => () => void;
}

export class Bench {
  private readonly numbers = new Numbers();
  private readonly rows: Row[] = [];
  private readonly extra: Record<string, unknown> = {};
  private benchSimConnections = 0;
  /** Redis's own pid when it runs on this machine (INFO server process_id), for its CPU time. */
  redisPid: number | undefined;
  private readonly control: Client;
  private readonly authed: Record<string, string>;
  private readonly wrongKey: Record<string, string>;
  private readonly simAuth: Record<string, string>;

  constructor(
    private readonly settings: BenchSettings,
    private readonly servers: Servers,
    private readonly redis: Redis,
    apiKey: string,
  ) {
    this.control = new Client(servers.origins.simulator, { keepAliveTimeout: 1000 });
    this.control.on('connect', () => {
      this.benchSimConnections += 1;
    });
    this.authed = { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' };
    this.wrongKey = {
      authorization: 'Bearer not-a-valid-key-0123456789',
      'content-type': 'application/json',
    };
    this.simAuth = {
      authorization: `Basic ${Buffer.from(`${VONAGE_KEY}:${VONAGE_SECRET}`).toString('base64')}`,
      'content-type': 'application/json',
    };
  }

  // --- requests --------------------------------------------------------------------------------------

  private async requestToken(w: Worker, label: string, phoneNumber: string): Promise<string | undefined> {
    const body = JSON.stringify({ phoneNumber });
    const answer = await w.call(
      label,
      'main',
      { method: 'POST', path: '/api/request-token', headers: this.authed, body },
      201,
      true,
    );
    return answer.status === 201 ? parseJson<{ requestId?: string }>(answer.body)?.requestId : undefined;
  }

  private async readCode(w: Worker, label: string, requestId: string): Promise<string | undefined> {
    const path = `/_simulator/requests/${encodeURIComponent(requestId)}`;
    const answer = await w.call(label, 'sim', { method: 'GET', path }, 200, true);
    return answer.status === 200 ? parseJson<{ code?: string }>(answer.body)?.code : undefined;
  }

  private verifyToken(w: Worker, label: string, item: Item): Promise<CallResult> {
    const body = JSON.stringify({ requestId: item.requestId, code: item.code });
    return w.call(
      label,
      'main',
      { method: 'POST', path: '/api/verify-token', headers: this.authed, body },
      200,
    );
  }

  private status(w: Worker, label: string, requestId: string): Promise<CallResult> {
    const path = `/api/verifications/${encodeURIComponent(requestId)}`;
    return w.call(
      label,
      'main',
      { method: 'GET', path, headers: { authorization: this.authed.authorization ?? '' } },
      200,
    );
  }

  private refused401(w: Worker, label: string): Promise<CallResult> {
    const body = JSON.stringify({ requestId: 'f3a0c5e2b1d94c7e8a6b2d1c0e9f8a7b', code: '123456' });
    return w.call(
      label,
      'main',
      { method: 'POST', path: '/api/verify-token', headers: this.wrongKey, body },
      401,
    );
  }

  private refused429(w: Worker, label: string, phoneNumber: string): Promise<CallResult> {
    const body = JSON.stringify({ phoneNumber });
    return w.call(
      label,
      'main',
      { method: 'POST', path: '/api/request-token', headers: this.authed, body },
      429,
    );
  }

  private referenceCheck(w: Worker, label: string, item: Item): Promise<CallResult> {
    const body = JSON.stringify(item);
    return w.call(
      label,
      'main',
      { method: 'POST', path: '/check', headers: { 'content-type': 'application/json' }, body },
      200,
    );
  }

  /** request-token → code from the simulator's control API → verify-token. */
  private async flow(w: Worker, phoneNumber: string, tag: string): Promise<string | undefined> {
    const requestId = await this.requestToken(w, `svc:${tag}request-token`, phoneNumber);
    if (requestId === undefined) return undefined;
    const code = await this.readCode(w, `sim:${tag}code`, requestId);
    if (code === undefined) return undefined;
    const verified = await this.verifyToken(w, `svc:${tag}verify-token`, { requestId, code });
    return verified.status === 200 ? requestId : undefined;
  }

  // --- measuring -------------------------------------------------------------------------------------

  private load(
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
  private async measure(...specs: PhaseSpec[]): Promise<Row[]> {
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
    acc.halves.push(elapsed > 0 ? (count / elapsed) * 1000 : 0);
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
    this.rows.push(row);
    log(
      `${spec.title}: ${requests} requests, ${row.rps.toFixed(0)} req/s, p50 ${row.p50.toFixed(2)} ms, ` +
        `p99 ${row.p99.toFixed(2)} ms, errors ${row.errors}${row.errors > 0 ? ` ${JSON.stringify(all?.statuses)}` : ''}`,
    );
    return row;
  }

  /** Waits (at most 7 s) until the service holds no connection to the simulator, so that the next phase's
   *  peak counts only connections it opens itself; idle keep-alive sockets close after the server's 5 s. */
  private async settleVonageConnections(): Promise<void> {
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
  private async untimed(
    name: string,
    target: string,
    connections: number,
    amount: number,
    step: (w: Worker, i: number) => Promise<void>,
  ): Promise<LoadResult> {
    const result = await this.load(target, connections, { amount, step });
    this.extra[name] = { elapsedMs: result.elapsedMs, labels: result.labels };
    const failed = Object.entries(result.labels).filter(([, summary]) => summary.errors > 0);
    if (failed.length > 0) {
      const detail = failed.map(([label, s]) => `${label}: ${s.errors} errors ${JSON.stringify(s.statuses)}`);
      throw new Error(`${name} failed: ${detail.join('; ')}\n${this.servers.service.tail()}`);
    }
    return result;
  }

  /** Verifications started at the service, with their codes read from the simulator. */
  private async prepareAtService(name: string, count: number): Promise<Item[]> {
    const items: Item[] = [];
    await this.untimed(name, this.servers.origins.service, this.settings.connections, count, async (w) => {
      const requestId = await this.requestToken(w, 'prep:request-token', this.numbers.take());
      if (requestId === undefined) return;
      const code = await this.readCode(w, 'prep:code', requestId);
      if (code !== undefined) items.push({ requestId, code });
    });
    return items;
  }

  /** Verifications started straight at the simulator, for the reference server to check. */
  private async prepareAtSimulator(name: string, count: number): Promise<Item[]> {
    const items: Item[] = [];
    const simulator = this.servers.origins.simulator;
    await this.untimed(name, simulator, this.settings.connections, count, async (w) => {
      const body = JSON.stringify({ number: this.numbers.take().slice(1), brand: 'Bench' });
      const answer = await w.call(
        'prep:start',
        'sim',
        { method: 'POST', path: '/verify/json', headers: this.simAuth, body },
        200,
        true,
      );
      const requestId = parseJson<{ status?: string; request_id?: string }>(answer.body);
      if (requestId?.status !== '0' || requestId.request_id === undefined) {
        throw new Error(`simulator refused a start: ${answer.body}`);
      }
      const code = await this.readCode(w, 'prep:code', requestId.request_id);
      if (code !== undefined) items.push({ requestId: requestId.request_id, code });
    });
    return items;
  }

  // --- the run ---------------------------------------------------------------------------------------

  async runAll(): Promise<{
    rows: Row[];
    trend: SoakTrend | undefined;
    soak: unknown;
    extra: Record<string, unknown>;
    idleRssMb: number;
  }> {
    const s = this.settings;
    const C = s.connections;
    const phaseMs = s.phaseSeconds * 1000;
    const service = this.servers.origins.service;
    const idle = rssMb(this.servers.service.pid);
    this.extra.idleRssMb = {
      service: idle,
      reference: rssMb(this.servers.reference.pid),
      bare: rssMb(this.servers.bare.pid),
    };

    // Numbers over their per-number send limit: one shared by every connection, and one per connection.
    log(`setup: ${C + 1} numbers driven to their limit of ${SENDS_PER_NUMBER} sends with real flows`);
    const limited = Array.from({ length: C + 1 }, () => this.numbers.take());
    const limitedOne = limited[0] ?? '';
    const spread = limited.slice(1);
    await this.untimed(
      'setup-limited',
      service,
      Math.min(C, limited.length),
      limited.length,
      async (w, i) => {
        const phone = limited[i] ?? '';
        for (let k = 0; k < SENDS_PER_NUMBER; k++) {
          if ((await this.flow(w, phone, 'setup:')) === undefined)
            throw new Error(`setup flow failed for ${phone}`);
        }
        await this.refused429(w, 'svc:setup:429', phone);
      },
    );
    const spreadFor = (w: Worker) => spread[w.index % spread.length] ?? limitedOne;

    // Warm-up: every path of every server, untimed, so the JIT has seen them before anything is measured.
    log(
      `warm-up: ${s.warmup} mixed steps on the service, ${s.warmup} reference checks, ${s.warmup * 2} bare answers`,
    );
    const statusIds: string[] = [];
    await this.untimed('warmup-service', service, C, s.warmup, async (w) => {
      const id = await this.flow(w, this.numbers.take(), 'warm:');
      if (id !== undefined) {
        statusIds.push(id);
        await this.status(w, 'svc:warm:status', id);
      }
      await this.refused401(w, 'svc:warm:401');
      await this.refused429(w, 'svc:warm:429', spreadFor(w));
    });
    const warmItems = await this.prepareAtSimulator('warmup-reference-prepare', s.warmup);
    await this.untimed(
      'warmup-reference',
      this.servers.origins.reference,
      C,
      warmItems.length,
      async (w, i) => {
        const item = warmItems[i];
        if (item) await this.referenceCheck(w, 'ref:warm:check', item);
      },
    );
    await this.untimed('warmup-bare', this.servers.origins.bare, C, s.warmup, async (w) => {
      await this.refused401(w, 'bare:warm:401');
      await this.refused429(w, 'bare:warm:429', limitedOne);
    });

    const checks = (
      id: string,
      title: string,
      server: 'service' | 'reference',
      connections: number,
      list: Item[],
    ): PhaseSpec => ({
      id,
      title,
      server,
      expected: '200',
      connections,
      amount: list.length,
      talksToVonage: true,
      step: async (w, i) => {
        const item = list[i] ?? { requestId: '', code: '' };
        if (server === 'service') await this.verifyToken(w, `svc:${id}`, item);
        else await this.referenceCheck(w, `ref:${id}`, item);
      },
    });

    const run = (group: string) => s.only === undefined || s.only.has(group);

    // Refusals: the service against bare Express (ABBA order within each group).
    const refusal = (
      id: string,
      title: string,
      server: ServerKind,
      expected: string,
      call: (w: Worker) => Promise<CallResult>,
    ): PhaseSpec => ({
      id,
      title,
      server,
      expected,
      connections: C,
      durationMs: phaseMs,
      talksToVonage: server === 'service',
      step: async (w) => {
        await call(w);
      },
    });
    if (run('refusals')) {
      await this.measure(
        refusal('bare-401', 'bare Express 401', 'bare', '401', (w) => this.refused401(w, 'bare:401')),
        refusal('refused-401', 'refused: wrong key 401', 'service', '401', (w) =>
          this.refused401(w, 'svc:401'),
        ),
      );
      await this.measure(
        refusal('bare-429', 'bare Express 429', 'bare', '429', (w) =>
          this.refused429(w, 'bare:429', limitedOne),
        ),
        refusal('refused-429', 'refused: limited number 429 (one number)', 'service', '429', (w) =>
          this.refused429(w, 'svc:429', limitedOne),
        ),
        refusal('refused-429-spread', 'refused: limited numbers 429 (one per conn)', 'service', '429', (w) =>
          this.refused429(w, 'svc:429-spread', spreadFor(w)),
        ),
      );
    }

    // Status reads over verifications made in the warm-up.
    if (run('status')) {
      // Without a warm-up there is nothing to read yet: a few flows first.
      if (statusIds.length === 0) {
        await this.untimed('status-prepare', service, C, C * 4, async (w) => {
          const id = await this.flow(w, this.numbers.take(), 'prep:');
          if (id !== undefined) statusIds.push(id);
        });
      }
      await this.measure({
        id: 'status',
        title: 'status GET /api/verifications/:id',
        server: 'service',
        expected: '200',
        connections: C,
        durationMs: phaseMs,
        talksToVonage: true,
        step: async (w, i) => {
          await this.status(w, 'svc:status', statusIds[i % statusIds.length] ?? 'none');
        },
      });
    }

    // Complete flows, split so that each step is measured at full concurrency: request-token for fresh
    // numbers, the codes from the simulator's control API (untimed), then verify-token against the
    // reference (ABBA), each request on a verification of its own.
    if (run('flows')) {
      const started: string[] = [];
      await this.measure({
        id: 'request-token',
        title: 'flow: request-token',
        server: 'service',
        expected: '201',
        connections: C,
        amount: s.flows,
        talksToVonage: true,
        step: async (w) => {
          const id = await this.requestToken(w, 'svc:request-token', this.numbers.take());
          if (id !== undefined) started.push(id);
        },
      });
      const items: Item[] = [];
      await this.untimed('flow-codes', this.servers.origins.simulator, C, started.length, async (w, i) => {
        const requestId = started[i] ?? '';
        const code = await this.readCode(w, 'sim:code', requestId);
        if (code !== undefined) items.push({ requestId, code });
      });
      const refItems = await this.prepareAtSimulator('reference-prepare', items.length);
      await this.measure(
        checks('reference', 'REFERENCE check (GET+POST+SET)', 'reference', C, refItems),
        checks('verify-token', 'flow: verify-token', 'service', C, items),
      );
    }

    // One connection: the latency the service adds over the reference.
    if (run('latency')) {
      const oneService = await this.prepareAtService('latency-service-prepare', s.latencyRequests);
      const oneReference = await this.prepareAtSimulator('latency-reference-prepare', oneService.length);
      await this.settleVonageConnections();
      await this.measure(
        checks('latency-reference', 'REFERENCE check, 1 connection', 'reference', 1, oneReference),
        checks('latency-service', 'verify-token, 1 connection', 'service', 1, oneService),
      );
    }

    // Memory: a fixed number of requests of everything at once, then the soak.
    const samples: RssSample[] = [];
    if (run('memory')) {
      const mixed = async (w: Worker) => {
        const id = await this.flow(w, this.numbers.take(), 'mixed:');
        for (let k = 0; k < 4; k++) {
          if (id !== undefined) await this.status(w, 'svc:mixed:status', id);
          if (k % 2 === 0) await this.refused401(w, 'svc:mixed:401');
          else await this.refused429(w, 'svc:mixed:429', spreadFor(w));
        }
      };
      await this.measure({
        id: 'rss',
        title: `mixed, ${s.rssRequests} requests`,
        server: 'service',
        expected: 'per request',
        connections: C,
        amount: Math.ceil(s.rssRequests / MIXED_REQUESTS_PER_STEP),
        talksToVonage: true,
        step: mixed,
      });
      const sampleEvery = s.soakSeconds >= 60 ? 5000 : 1000;
      const pid = this.servers.service.pid;
      await this.measure({
        id: 'soak',
        title: `soak, mixed, ${s.soakSeconds} s`,
        server: 'service',
        expected: 'per request',
        connections: C,
        durationMs: s.soakSeconds * 1000,
        talksToVonage: true,
        step: mixed,
        during: () => {
          const t0 = performance.now();
          samples.push({ atSeconds: 0, rssMb: rssMb(pid) });
          const timer = setInterval(() => {
            samples.push({ atSeconds: (performance.now() - t0) / 1000, rssMb: rssMb(pid) });
          }, sampleEvery);
          return () => {
            clearInterval(timer);
            samples.push({ atSeconds: (performance.now() - t0) / 1000, rssMb: rssMb(pid) });
          };
        },
      });
    }
    const trend = samples.length >= 3 ? soakTrend(samples) : undefined;
    await this.control.close();
    return { rows: this.rows, trend, soak: { samples, trend }, extra: this.extra, idleRssMb: idle };
  }
}
