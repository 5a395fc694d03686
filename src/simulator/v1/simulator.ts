// A local fake of Vonage Verify v1 that the real @vonage/server-sdk talks to over HTTP (sandbox mode, tests,
// benchmarks): the public class that owns the clock, credentials, fault switches, forced statuses, stats
// and the HTTP server. Verify semantics live in engine.ts, routes in http.ts.
// It logs nothing, so codes and credentials cannot leak through it.

import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Express } from 'express';
import { type Clock, systemClock } from '../../clock';
import { VerifyEngine } from './engine';
import { createSimulatorApp, type VonageCall } from './http';
import { looseText, parseCheck, parseControl, parseSearch, parseStart } from './params';
import { FORCEABLE, forcedBody, TEXT } from './texts';
import {
  AFTER_WORK_MODES,
  type DeliveredMessage,
  FAULT_MODES,
  type Fault,
  type FaultMode,
  isAdvanceable,
  type RequestState,
  SIM_OPERATIONS,
  type SimOperation,
  type SimulatorOptions,
  type SimulatorStats,
  type VonageBody,
} from './types';

export type {
  Channel,
  DeliveredMessage,
  Fault,
  FaultMode,
  RequestState,
  SimOperation,
  SimulatorOptions,
  SimulatorStats,
  VerificationStatus,
  VonageBody,
} from './types';

interface ActiveFault {
  mode: FaultMode;
  afterWork: boolean;
  operations?: ReadonlySet<SimOperation>;
  remaining?: number;
}

interface ForcedAnswer {
  status: string;
  remaining: number;
  errorText?: string;
}

export class VerifySimulator {
  readonly clock: Clock;
  readonly app: Express;
  readonly stats: SimulatorStats = {
    calls: { start: 0, check: 0, control: 0, search: 0 },
    verificationsStarted: 0,
    connections: 0,
  };

  private readonly apiKey: string;
  private readonly apiSecret: string;
  private readonly throttlePerSecond?: number;
  private readonly pinCodeEnabled: boolean;
  private readonly engine: VerifyEngine;
  private fault: ActiveFault | null = null;
  private readonly forced = new Map<SimOperation, ForcedAnswer[]>();
  private throttleSecond = Number.NaN;
  private readonly throttleCounts = new Map<string, number>();
  private server?: Server;
  private readonly sockets = new Set<Socket>();

  constructor(options: SimulatorOptions) {
    if (!options.apiKey || !options.apiSecret)
      throw new Error('VerifySimulator needs an apiKey and an apiSecret');
    const maxWrongCodes = options.maxWrongCodes ?? 3;
    if (!Number.isInteger(maxWrongCodes) || maxWrongCodes < 1) {
      throw new RangeError('maxWrongCodes must be a positive integer');
    }
    if (options.throttlePerSecond !== undefined && !(options.throttlePerSecond > 0)) {
      throw new RangeError('throttlePerSecond must be positive');
    }
    this.apiKey = options.apiKey;
    this.apiSecret = options.apiSecret;
    this.throttlePerSecond = options.throttlePerSecond;
    this.pinCodeEnabled = options.pinCodeEnabled ?? false;
    this.clock = options.clock ?? systemClock;
    const searchLagMs = options.searchLagMs ?? 60_000;
    if (!(searchLagMs >= 0)) throw new RangeError('searchLagMs must not be negative');
    this.engine = new VerifyEngine(maxWrongCodes, searchLagMs);
    this.app = createSimulatorApp(this, {
      beginCall: (operation) => this.beginCall(operation),
      answer: (call) => this.answer(call),
    });
  }

  /** Starts the HTTP server; resolves to its base URL, which is the SDK's `apiHost`. Port 0 picks a free one. */
  async listen(port = 0, host = '127.0.0.1'): Promise<string> {
    if (this.server) throw new Error('VerifySimulator is already listening');
    const server = createServer(this.app);
    server.on('connection', (socket: Socket) => {
      this.stats.connections += 1;
      this.sockets.add(socket);
      socket.once('close', () => this.sockets.delete(socket));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    const { port: actualPort } = server.address() as AddressInfo;
    return `http://${host.includes(':') ? `[${host}]` : host}:${actualPort}`;
  }

  /** Stops the server and destroys every open socket, idle keep-alive and 'hang' ones included. */
  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await closed;
  }

  /** Moves a virtual clock forward and runs what fell due, in time order. */
  advance(ms: number): void {
    if (!isAdvanceable(this.clock))
      throw new Error('advance() needs a VirtualClock; this simulator uses the real clock');
    if (!Number.isFinite(ms) || ms < 0)
      throw new RangeError('advance() needs a finite, non-negative number of ms');
    this.clock.advance(ms);
    this.tick();
  }

  /** Runs deliveries, new PINs and expiries due by now; with the real clock this makes time act lazily. */
  tick(): void {
    this.engine.tick(this.clock.now());
  }

  setFault(fault: Fault | null): void {
    if (fault === null) {
      this.fault = null;
      return;
    }
    if (!FAULT_MODES.includes(fault.mode)) throw new RangeError(`unknown fault mode ${String(fault.mode)}`);
    if (fault.times !== undefined && !(Number.isInteger(fault.times) && fault.times > 0)) {
      throw new RangeError('fault.times must be a positive integer');
    }
    for (const operation of fault.operations ?? []) {
      if (!SIM_OPERATIONS.includes(operation)) throw new RangeError(`unknown operation ${String(operation)}`);
    }
    if (fault.afterWork && !AFTER_WORK_MODES.includes(fault.mode)) {
      throw new RangeError(`fault.afterWork applies to the ${AFTER_WORK_MODES.join(', ')} modes only`);
    }
    this.fault = {
      mode: fault.mode,
      afterWork: fault.afterWork === true,
      operations: fault.operations ? new Set(fault.operations) : undefined,
      remaining: fault.times,
    };
  }

  /**
   * The next `times` answers of `operation` carry `status` with its documented error_text (or `errorText`).
   * Queued behind earlier forced statuses. Checked after authentication; forced answers change no state.
   */
  forceStatus(operation: SimOperation, status: string, times = 1, errorText?: string): void {
    if (!FORCEABLE[operation].has(status)) {
      throw new RangeError(
        `status ${status} is not a documented ${operation} answer: ${[...FORCEABLE[operation]]}`,
      );
    }
    if (!Number.isInteger(times) || times < 1) throw new RangeError('times must be a positive integer');
    const queue = this.forced.get(operation) ?? [];
    queue.push({ status, remaining: times, errorText });
    this.forced.set(operation, queue);
  }

  messages(filter?: { number?: string; requestId?: string }): DeliveredMessage[] {
    this.tick();
    return this.engine.messages(filter);
  }

  /** The PIN currently valid for a request (test-only); kept after the request ends. */
  currentCode(requestId: string): string | undefined {
    this.tick();
    return this.engine.currentCode(requestId);
  }

  requestState(requestId: string): RequestState | undefined {
    this.tick();
    return this.engine.requestState(requestId);
  }

  /** Forgets verifications, messages, faults, forced statuses and stats; the clock and server stay. */
  reset(): void {
    this.engine.reset();
    this.fault = null;
    this.forced.clear();
    this.throttleCounts.clear();
    this.throttleSecond = Number.NaN;
    for (const operation of SIM_OPERATIONS) this.stats.calls[operation] = 0;
    this.stats.verificationsStarted = 0;
    this.stats.connections = 0;
  }

  private beginCall(operation: SimOperation): { mode: FaultMode; afterWork: boolean } | undefined {
    this.tick();
    this.stats.calls[operation] += 1;
    const fault = this.fault;
    if (!fault || (fault.operations && !fault.operations.has(operation))) return undefined;
    if (fault.remaining !== undefined) {
      fault.remaining -= 1;
      if (fault.remaining <= 0) this.fault = null;
    }
    return { mode: fault.mode, afterWork: fault.afterWork };
  }

  private answer(call: VonageCall): VonageBody {
    const { operation, params } = call;
    const { apiKey, apiSecret } = call.credentials;
    if (apiKey === undefined) return { status: '2', error_text: TEXT.missingApiKey };
    if (apiSecret === undefined) return { status: '2', error_text: TEXT.missingApiSecret };
    if (apiKey !== this.apiKey || apiSecret !== this.apiSecret) {
      return {
        status: '4',
        error_text: operation === 'start' ? TEXT.invalidCredentialsAtStart : TEXT.badCredentials,
      };
    }
    const now = this.clock.now();
    if (this.isThrottled(apiKey, now)) return { status: '1', error_text: TEXT.throttled };

    const forced = this.takeForced(operation);
    if (forced) {
      const number = looseText(params, 'number')?.replace(/^\+/, '');
      const inFlight = number === undefined ? undefined : this.engine.activeRequestFor(apiKey, number);
      const ctx = {
        requestId: looseText(params, 'request_id'),
        cmd: looseText(params, 'cmd'),
        concurrentRequestId: inFlight ?? randomBytes(16).toString('hex'),
      };
      return forcedBody(operation, forced.status, ctx, forced.errorText);
    }

    switch (operation) {
      case 'start': {
        const parsed = parseStart(params, call.psd2 ? 'psd2' : 'standard', this.pinCodeEnabled);
        if (!parsed.ok) return parsed.body;
        const body = this.engine.start(apiKey, parsed.value, now);
        if (body.status === '0') this.stats.verificationsStarted += 1;
        return body;
      }
      case 'check': {
        const parsed = parseCheck(params);
        return parsed.ok ? this.engine.check(apiKey, parsed.value, now) : parsed.body;
      }
      case 'control': {
        const parsed = parseControl(params);
        return parsed.ok ? this.engine.control(apiKey, parsed.value, now) : parsed.body;
      }
      case 'search': {
        const parsed = parseSearch(params);
        return parsed.ok ? this.engine.search(apiKey, parsed.value.requestId, now) : parsed.body;
      }
    }
  }

  private takeForced(operation: SimOperation): ForcedAnswer | undefined {
    const queue = this.forced.get(operation);
    const head = queue?.[0];
    if (!queue || !head) return undefined;
    head.remaining -= 1;
    if (head.remaining <= 0) queue.shift();
    return head;
  }

  /** Vonage allows 30 requests per second; counted per api key and clock second when the option is on. */
  private isThrottled(apiKey: string, now: number): boolean {
    if (this.throttlePerSecond === undefined) return false;
    const second = Math.floor(now / 1000);
    if (second !== this.throttleSecond) {
      this.throttleSecond = second;
      this.throttleCounts.clear();
    }
    const count = (this.throttleCounts.get(apiKey) ?? 0) + 1;
    this.throttleCounts.set(apiKey, count);
    return count > this.throttlePerSecond;
  }
}
