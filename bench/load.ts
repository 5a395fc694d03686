// Closed-loop load generator over undici Clients: `connections` workers, each with its own keep-alive
// connection, run a step (one or several requests) again and again until a count or a duration is reached.
// Latencies are kept exactly (ms, sub-ms precision) per label, so p50/p99 and statuses can be compared.

import { performance } from 'node:perf_hooks';
import { Client } from 'undici';

export interface HttpCall {
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface CallResult {
  status: number;
  body: string;
}

/** One worker's view: its connections and a recorded call. */
export interface Worker {
  readonly index: number;
  /** Sends one request on `target` ('main' = the server under test), times it and checks its status. */
  call(
    label: string,
    target: string,
    request: HttpCall,
    expect: number,
    readBody?: boolean,
  ): Promise<CallResult>;
}

export interface LabelSummary {
  count: number;
  /** Answers with another status than expected, plus transport failures. */
  errors: number;
  transportErrors: number;
  statuses: Record<string, number>;
  rps: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export interface LoadResult {
  elapsedMs: number;
  steps: number;
  /** CPU the load generator used, as a share of one core. */
  generatorCpu: number;
  labels: Record<string, LabelSummary>;
}

/** Calls of one or more runs, per label; several runs can add up into one figure (ABBA ordering). */
export class Recorder {
  readonly stats = new Map<string, LabelStats>();
  elapsedMs = 0;
  cpuMs = 0;
  steps = 0;

  statsFor(label: string): LabelStats {
    let entry = this.stats.get(label);
    if (!entry) {
      entry = new LabelStats();
      this.stats.set(label, entry);
    }
    return entry;
  }

  result(): LoadResult {
    const labels: Record<string, LabelSummary> = {};
    for (const [label, entry] of this.stats) labels[label] = entry.summary(this.elapsedMs);
    return {
      elapsedMs: this.elapsedMs,
      steps: this.steps,
      generatorCpu: this.elapsedMs > 0 ? this.cpuMs / this.elapsedMs : 0,
      labels,
    };
  }
}

export interface LoadOptions {
  /** Origins by name; 'main' is the server under test. */
  origins: Record<string, string>;
  connections: number;
  /** Total steps; or stop after durationMs; at least one of the two. */
  amount?: number;
  durationMs?: number;
  /** Stops early when it returns true (checked between steps). */
  stopWhen?: () => boolean;
  step(worker: Worker, stepIndex: number): Promise<void>;
  /** Called for every new TCP connection to an origin (to subtract the bench's own from server stats). */
  onConnect?: (origin: string) => void;
  /** A label that a call is also counted under (e.g. every request to the server under test), or none. */
  aggregate?: (label: string) => string | undefined;
  /** Adds to this recorder (and returns its running totals); a fresh one by default. */
  recorder?: Recorder;
  /** Step indexes start here (the second half of a split phase continues where the first stopped). */
  firstStep?: number;
}

class LabelStats {
  latencies: number[] = [];
  statuses = new Map<number, number>();
  errors = 0;
  transportErrors = 0;

  summary(elapsedMs: number): LabelSummary {
    const sorted = Float64Array.from(this.latencies).sort();
    const at = (q: number) =>
      sorted.length === 0 ? 0 : (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0);
    const total = this.latencies.length + this.transportErrors;
    let sum = 0;
    for (const value of sorted) sum += value;
    return {
      count: total,
      errors: this.errors,
      transportErrors: this.transportErrors,
      statuses: Object.fromEntries([...this.statuses].map(([status, n]) => [String(status), n])),
      rps: elapsedMs > 0 ? (this.latencies.length / elapsedMs) * 1000 : 0,
      p50: at(0.5),
      p90: at(0.9),
      p99: at(0.99),
      max: sorted.length === 0 ? 0 : (sorted[sorted.length - 1] ?? 0),
      mean: sorted.length === 0 ? 0 : sum / sorted.length,
    };
  }
}

const CLIENT_OPTIONS = {
  pipelining: 1,
  keepAliveTimeout: 60_000,
  keepAliveMaxTimeout: 600_000,
  headersTimeout: 30_000,
  bodyTimeout: 30_000,
} as const;

/** One answer, counted under its label and its group. */
function tally(targets: LabelStats[], latencyMs: number, status: number, expect: number): void {
  for (const target of targets) {
    target.latencies.push(latencyMs);
    target.statuses.set(status, (target.statuses.get(status) ?? 0) + 1);
    if (status !== expect) target.errors += 1;
  }
}

/** A call that got no answer at all (refused, reset). */
function tallyTransportError(targets: LabelStats[]): void {
  for (const target of targets) {
    target.transportErrors += 1;
    target.errors += 1;
  }
}

export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  if (options.amount === undefined && options.durationMs === undefined) {
    throw new Error('runLoad needs an amount or a duration');
  }
  const recorder = options.recorder ?? new Recorder();
  const statsFor = (label: string) => recorder.statsFor(label);
  const clients: Client[] = [];
  const makeClient = (name: string): Client => {
    const origin = options.origins[name];
    if (origin === undefined) throw new Error(`unknown origin "${name}"`);
    const client = new Client(origin, CLIENT_OPTIONS);
    client.on('connect', () => options.onConnect?.(origin));
    clients.push(client);
    return client;
  };

  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const deadline = options.durationMs === undefined ? Number.POSITIVE_INFINITY : started + options.durationMs;
  const first = options.firstStep ?? 0;
  let next = first;
  let lastDone = started;

  const worker = async (index: number): Promise<void> => {
    const own = new Map<string, Client>();
    const view: Worker = {
      index,
      call: async (label, target, request, expect, readBody = false) => {
        let client = own.get(target);
        if (!client) {
          client = makeClient(target);
          own.set(target, client);
        }
        const entry = statsFor(label);
        const groupLabel = options.aggregate?.(label);
        const group = groupLabel === undefined ? undefined : statsFor(groupLabel);
        const t0 = performance.now();
        try {
          const response = await client.request({
            method: request.method,
            path: request.path,
            headers: request.headers,
            body: request.body,
          });
          const body = readBody || response.statusCode !== expect ? await response.body.text() : '';
          if (!readBody && response.statusCode === expect) await response.body.dump();
          const t1 = performance.now();
          tally(group ? [entry, group] : [entry], t1 - t0, response.statusCode, expect);
          lastDone = t1;
          return { status: response.statusCode, body };
        } catch (error) {
          tallyTransportError(group ? [entry, group] : [entry]);
          lastDone = performance.now();
          return { status: 0, body: error instanceof Error ? error.message : String(error) };
        }
      },
    };
    for (;;) {
      if (options.amount !== undefined && next >= first + options.amount) return;
      if (performance.now() >= deadline) return;
      if (options.stopWhen?.()) return;
      const stepIndex = next++;
      await options.step(view, stepIndex);
      recorder.steps += 1;
    }
  };

  try {
    await Promise.all(Array.from({ length: options.connections }, (_, index) => worker(index)));
  } finally {
    await Promise.all(clients.map((client) => client.close().catch(() => client.destroy())));
  }
  const cpu = process.cpuUsage(cpuBefore);
  recorder.elapsedMs += lastDone - started;
  recorder.cpuMs += (cpu.user + cpu.system) / 1000;
  return recorder.result();
}
