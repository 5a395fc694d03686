// The measured part of the bench: the phases in their order (ABBA where two servers are compared) and
// the requests each sends. requests.ts holds the requests, meter.ts runs the load and reads CPU, RSS,
// connections and Redis around each phase; run.ts starts the processes and prints the result.

import { performance } from 'node:perf_hooks';
import type Redis from 'ioredis';
import type { CallResult, Worker } from './load';
import { log, Meter, type PhaseSpec, type Servers } from './meter';
import { rssMb } from './procs';
import { type Row, type RssSample, type ServerKind, type SoakTrend, soakTrend } from './report';
import { BenchRequests, type Item } from './requests';
import type { BenchSettings } from './settings';

/** The production default: the limited numbers reach it with real flows; every flow uses a fresh number. */
export const SENDS_PER_NUMBER = 5;
/** The production default of LIMIT_AUTH_FAILURES_PER_IP's count, kept in the bench. */
export const AUTH_FAILURES_PER_ADDRESS = 20;
/** A client address driven over its failed-authentication limit in the setup. */
const OVER_LIMIT_ADDRESS = '192.0.2.66';

/** Unique valid UK mobile numbers (+447400000000, +447400000001, ...): no two flows share limits or locks. */
class Numbers {
  private next = 0;
  take(): string {
    const n = this.next++;
    return `+44${7400 + Math.floor(n / 1_000_000)}${String(n % 1_000_000).padStart(6, '0')}`;
  }
}

export class Bench {
  private readonly numbers = new Numbers();
  private readonly req: BenchRequests;
  private readonly meter: Meter;
  /** A number over its send limit shared by every connection, and one per connection. */
  private limitedOne = '';
  private spread: string[] = [];
  /** Verifications made in the warm-up, for the status reads. */
  private readonly statusIds: string[] = [];
  private readonly samples: RssSample[] = [];

  constructor(
    private readonly settings: BenchSettings,
    private readonly servers: Servers,
    redis: Redis,
    apiKey: string,
  ) {
    this.req = new BenchRequests(apiKey);
    this.meter = new Meter(servers, redis);
  }

  /** Redis's own pid when it runs on this machine (INFO server process_id), for its CPU time. */
  set redisPid(pid: number | undefined) {
    this.meter.redisPid = pid;
  }

  async runAll(): Promise<{
    rows: Row[];
    trend: SoakTrend | undefined;
    soak: unknown;
    extra: Record<string, unknown>;
    idleRssMb: number;
  }> {
    const idle = rssMb(this.servers.service.pid);
    this.meter.extra.idleRssMb = {
      service: idle,
      reference: rssMb(this.servers.reference.pid),
      bare: rssMb(this.servers.bare.pid),
    };
    await this.setupLimitedNumbers();
    await this.warmUp();
    const run = (group: string) => this.settings.only === undefined || this.settings.only.has(group);
    if (run('refusals')) await this.refusals();
    if (run('status')) await this.statusReads();
    if (run('flows')) await this.flows();
    if (run('steps')) await this.steps();
    if (run('latency')) await this.latency();
    if (run('memory')) await this.memory();
    const { samples } = this;
    const trend = samples.length >= 3 ? soakTrend(samples) : undefined;
    await this.meter.close();
    return {
      rows: this.meter.rows,
      trend,
      soak: { samples, trend },
      extra: this.meter.extra,
      idleRssMb: idle,
    };
  }

  // --- the phases ------------------------------------------------------------------------------------

  /** Numbers over their per-number send limit: one shared by every connection, and one per connection. */
  private async setupLimitedNumbers(): Promise<void> {
    const C = this.settings.connections;
    await this.meter.untimed('setup-address', this.servers.origins.service, 1, 1, async (w) => {
      for (let k = 0; k < AUTH_FAILURES_PER_ADDRESS; k++) {
        await this.req.refused401(w, 'svc:setup:401', 401, OVER_LIMIT_ADDRESS);
      }
      await this.req.refused401(w, 'svc:setup:401-over', 429, OVER_LIMIT_ADDRESS);
    });
    log(`setup: ${C + 1} numbers driven to their limit of ${SENDS_PER_NUMBER} sends with real flows`);
    const limited = Array.from({ length: C + 1 }, () => this.numbers.take());
    this.limitedOne = limited[0] ?? '';
    this.spread = limited.slice(1);
    const service = this.servers.origins.service;
    await this.meter.untimed(
      'setup-limited',
      service,
      Math.min(C, limited.length),
      limited.length,
      async (w, i) => {
        const phone = limited[i] ?? '';
        for (let k = 0; k < SENDS_PER_NUMBER; k++) {
          const { failure } = await this.req.explainedFlow(w, phone, 'setup:');
          if (failure !== undefined) throw new Error(`setup flow ${k + 1} failed for ${phone}: ${failure}`);
        }
        await this.req.refused429(w, 'svc:setup:429', phone);
      },
    );
  }

  private addresses = 0;

  /** A client address not seen before (10.x.y.z): its wrong key is counted, never over the limit. */
  private freshAddress(): string {
    const n = this.addresses++;
    return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
  }

  private spreadFor(w: Worker): string {
    return this.spread[w.index % this.spread.length] ?? this.limitedOne;
  }

  /** Every path of every server, untimed, so the JIT has seen them before anything is measured. */
  private async warmUp(): Promise<void> {
    const { warmup, connections: C } = this.settings;
    log(
      `warm-up: ${warmup} mixed steps on the service, ${warmup} reference checks, ${warmup * 2} bare answers`,
    );
    await this.meter.untimed('warmup-service', this.servers.origins.service, C, warmup, async (w) => {
      const id = await this.req.flow(w, this.numbers.take(), 'warm:');
      if (id !== undefined) {
        this.statusIds.push(id);
        await this.req.status(w, 'svc:warm:status', id);
      }
      await this.req.refused401(w, 'svc:warm:401', 401, this.freshAddress());
      await this.req.refused429(w, 'svc:warm:429', this.spreadFor(w));
    });
    const warmItems = await this.prepareAtSimulator('warmup-reference-prepare', warmup);
    await this.meter.untimed(
      'warmup-reference',
      this.servers.origins.reference,
      C,
      warmItems.length,
      async (w, i) => {
        const item = warmItems[i];
        if (item) await this.req.referenceCheck(w, 'ref:warm:check', item);
      },
    );
    await this.meter.untimed('warmup-bare', this.servers.origins.bare, C, warmup, async (w) => {
      await this.req.refused401(w, 'bare:warm:401');
      await this.req.refused429(w, 'bare:warm:429', this.limitedOne);
    });
    await this.meter.untimed('warmup-peer', this.servers.origins.peer, C, warmup, async (w) => {
      if ((await this.req.flow(w, this.numbers.take(), 'warm:')) === undefined)
        throw new Error('peer warm-up flow failed');
    });
  }

  /** Refusals: the service against bare Express (ABBA order within each group). */
  private async refusals(): Promise<void> {
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
      connections: this.settings.connections,
      durationMs: this.settings.phaseSeconds * 1000,
      talksToVonage: server === 'service' || server === 'peer',
      step: async (w) => {
        await call(w);
      },
    });
    await this.meter.measure(
      refusal('bare-401', 'bare Express 401', 'bare', '401', (w) => this.req.refused401(w, 'bare:401')),
      refusal('refused-401', 'refused: wrong key 401 (addresses under their limit)', 'service', '401', (w) =>
        this.req.refused401(w, 'svc:401', 401, this.freshAddress()),
      ),
      refusal('refused-401-over', 'refused: wrong key, address over its limit 429', 'service', '429', (w) =>
        this.req.refused401(w, 'svc:401-over', 429, OVER_LIMIT_ADDRESS),
      ),
      refusal('peer-401', 'peer, same flood (no auth: a Vonage check each)', 'peer', '400', (w) =>
        this.req.refused401(w, 'peer:401', 400),
      ),
    );
    await this.meter.measure(
      refusal('bare-429', 'bare Express 429', 'bare', '429', (w) =>
        this.req.refused429(w, 'bare:429', this.limitedOne),
      ),
      refusal('refused-429', 'refused: limited number 429 (one number)', 'service', '429', (w) =>
        this.req.refused429(w, 'svc:429', this.limitedOne),
      ),
      refusal('refused-429-spread', 'refused: limited numbers 429 (one per conn)', 'service', '429', (w) =>
        this.req.refused429(w, 'svc:429-spread', this.spreadFor(w)),
      ),
      refusal('peer-429', 'peer, same flood (no limits: a Vonage start each)', 'peer', '400', (w) =>
        this.req.refused429(w, 'peer:429', this.limitedOne, 400),
      ),
    );
  }

  /** Status reads over verifications made in the warm-up. */
  private async statusReads(): Promise<void> {
    const C = this.settings.connections;
    const { statusIds } = this;
    // Without a warm-up there is nothing to read yet: a few flows first.
    if (statusIds.length === 0) {
      await this.meter.untimed('status-prepare', this.servers.origins.service, C, C * 4, async (w) => {
        const id = await this.req.flow(w, this.numbers.take(), 'prep:');
        if (id !== undefined) statusIds.push(id);
      });
    }
    await this.meter.measure({
      id: 'status',
      title: 'status GET /api/verifications/:id',
      server: 'service',
      expected: '200',
      connections: C,
      durationMs: this.settings.phaseSeconds * 1000,
      talksToVonage: true,
      step: async (w, i) => {
        await this.req.status(w, 'svc:status', statusIds[i % statusIds.length] ?? 'none');
      },
    });
  }

  /**
   * Complete flows, split so that each step is measured at full concurrency: request-token for fresh
   * numbers, the codes from the simulator's control API (untimed), then verify-token against the
   * reference (ABBA), each request on a verification of its own.
   */
  private async flows(): Promise<void> {
    await this.meter.measure(
      this.completeFlows('flow-service', 'complete flows: service', 'service', this.settings.completeFlows),
      this.completeFlows('flow-peer', 'complete flows: seed-style peer', 'peer', this.settings.completeFlows),
    );
  }

  /** request-token → the code from the simulator's control API → verify-token, each on a fresh number. */
  private completeFlows(id: string, title: string, server: 'service' | 'peer', flows: number): PhaseSpec {
    const tag = server === 'service' ? 'svc:' : 'peer:';
    return {
      id,
      title,
      server,
      expected: '201, 200',
      connections: this.settings.connections,
      amount: flows,
      talksToVonage: true,
      flows: true,
      prime: async (w) => {
        await this.req.flow(w, this.numbers.take(), 'prime:', tag);
      },
      step: async (w) => {
        await this.req.flow(w, this.numbers.take(), `${id}:`, tag);
      },
    };
  }

  /** The steps of a flow measured apart, verify-token against the REFERENCE server (issue 6). */
  private async steps(): Promise<void> {
    const C = this.settings.connections;
    const started: string[] = [];
    await this.meter.measure({
      id: 'request-token',
      title: 'flow: request-token',
      server: 'service',
      expected: '201',
      connections: C,
      amount: this.settings.flows,
      talksToVonage: true,
      step: async (w) => {
        const id = await this.req.requestToken(w, 'svc:request-token', this.numbers.take());
        if (id !== undefined) started.push(id);
      },
    });
    const items: Item[] = [];
    await this.meter.untimed(
      'flow-codes',
      this.servers.origins.simulator,
      C,
      started.length,
      async (w, i) => {
        const requestId = started[i] ?? '';
        const code = await this.req.readCode(w, 'sim:code', requestId);
        if (code !== undefined) items.push({ requestId, code });
      },
    );
    const refItems = await this.prepareAtSimulator('reference-prepare', items.length);
    await this.meter.measure(
      checks(this.req, 'reference', 'REFERENCE check (GET+POST+SET)', 'reference', C, refItems),
      checks(this.req, 'verify-token', 'flow: verify-token', 'service', C, items),
    );
  }

  /** One connection: the latency the service adds over the reference. */
  private async latency(): Promise<void> {
    const oneService = await this.prepareAtService('latency-service-prepare', this.settings.latencyRequests);
    const oneReference = await this.prepareAtSimulator('latency-reference-prepare', oneService.length);
    await this.meter.settleVonageConnections();
    await this.meter.measure(
      checks(this.req, 'latency-reference', 'REFERENCE check, 1 connection', 'reference', 1, oneReference),
      checks(this.req, 'latency-service', 'verify-token, 1 connection', 'service', 1, oneService),
    );
  }

  /** Memory: the same number of requests of complete flows on the service and the peer, then the soak. */
  private async memory(): Promise<void> {
    const s = this.settings;
    const flows = Math.ceil(s.rssRequests / 2);
    await this.meter.measure(
      this.completeFlows('mem-service', `complete flows, ${flows * 2} requests: service`, 'service', flows),
      this.completeFlows('mem-peer', `complete flows, ${flows * 2} requests: peer`, 'peer', flows),
    );
    if (s.soakSeconds > 0) await this.soak();
  }

  /** The service's mixed workload for a while, RSS sampled: does memory stay flat? */
  private async soak(): Promise<void> {
    const s = this.settings;
    const mixed = async (w: Worker) => {
      const id = await this.req.flow(w, this.numbers.take(), 'mixed:');
      for (let k = 0; k < 4; k++) {
        if (id !== undefined) await this.req.status(w, 'svc:mixed:status', id);
        if (k % 2 === 0) await this.req.refused401(w, 'svc:mixed:401', 401, this.freshAddress());
        else await this.req.refused429(w, 'svc:mixed:429', this.spreadFor(w));
      }
    };
    await this.meter.measure({
      id: 'soak',
      title: `soak, mixed, ${s.soakSeconds} s`,
      server: 'service',
      expected: 'per request',
      connections: s.connections,
      durationMs: s.soakSeconds * 1000,
      talksToVonage: true,
      step: mixed,
      during: () => sampleRss(this.servers.service.pid, this.samples, s.soakSeconds >= 60 ? 5000 : 1000),
    });
  }

  /** Verifications started at the service, with their codes read from the simulator. */
  private async prepareAtService(name: string, count: number): Promise<Item[]> {
    const items: Item[] = [];
    await this.meter.untimed(
      name,
      this.servers.origins.service,
      this.settings.connections,
      count,
      async (w) => {
        const requestId = await this.req.requestToken(w, 'prep:request-token', this.numbers.take());
        if (requestId === undefined) return;
        const code = await this.req.readCode(w, 'prep:code', requestId);
        if (code !== undefined) items.push({ requestId, code });
      },
    );
    return items;
  }

  /** Verifications started straight at the simulator, for the reference server to check. */
  private async prepareAtSimulator(name: string, count: number): Promise<Item[]> {
    const items: Item[] = [];
    const simulator = this.servers.origins.simulator;
    await this.meter.untimed(name, simulator, this.settings.connections, count, async (w) => {
      const requestId = await this.req.startAtSimulator(w, this.numbers.take());
      const code = await this.req.readCode(w, 'prep:code', requestId);
      if (code !== undefined) items.push({ requestId, code });
    });
    return items;
  }
}

/** Checks of prepared verifications: verify-token at the service, or /check at the reference. */
function checks(
  req: BenchRequests,
  id: string,
  title: string,
  server: 'service' | 'reference',
  connections: number,
  list: Item[],
): PhaseSpec {
  return {
    id,
    title,
    server,
    expected: '200',
    connections,
    amount: list.length,
    talksToVonage: true,
    step: async (w, i) => {
      const item = list[i] ?? { requestId: '', code: '' };
      if (server === 'service') await req.verifyToken(w, `svc:${id}`, item);
      else await req.referenceCheck(w, `ref:${id}`, item);
    },
  };
}

/** Samples a process's RSS into `samples` every `everyMs` until the returned function is called. */
function sampleRss(pid: number, samples: RssSample[], everyMs: number): () => void {
  const t0 = performance.now();
  samples.push({ atSeconds: 0, rssMb: rssMb(pid) });
  const timer = setInterval(() => {
    samples.push({ atSeconds: (performance.now() - t0) / 1000, rssMb: rssMb(pid) });
  }, everyMs);
  return () => {
    clearInterval(timer);
    samples.push({ atSeconds: (performance.now() - t0) / 1000, rssMb: rssMb(pid) });
  };
}
