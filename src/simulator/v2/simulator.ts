// A local fake of Vonage Verify v2 that the real @vonage/server-sdk (its verify2 client) talks to over HTTP:
// owns the clock, the application's public key, fault switches, the delivered-messages log, the callback
// sender and the HTTP server. Rules live in engine.ts, routes in http.ts. It logs nothing, so codes, JWTs
// and numbers cannot leak through it.

import { timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Express } from 'express';
import { type Clock, systemClock } from '../../clock';
import { CallbackSender } from './callbacks';
import { V2Engine } from './engine';
import { type AuthResult, createV2App } from './http';
import { checkApplicationJwt, loadPublicKey } from './jwt';
import { parseStart } from './params';
import { problems } from './problems';
import {
  type CallbackFault,
  V2_FAULT_MODES,
  V2_OPERATIONS,
  type V2CallbackRecord,
  type V2DeliveredMessage,
  type V2Fault,
  type V2FaultMode,
  type V2Operation,
  type V2RequestState,
  type V2SimulatorOptions,
} from './types';

type Advanceable = Clock & { advance(ms: number): void };

function isAdvanceable(clock: Clock): clock is Advanceable {
  return typeof (clock as { advance?: unknown }).advance === 'function';
}

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

export class VerifyV2Simulator {
  readonly clock: Clock;
  readonly app: Express;
  private readonly options: V2SimulatorOptions;
  private readonly publicKey: ReturnType<typeof loadPublicKey>;
  private readonly jwtClock: Clock;
  private readonly engine: V2Engine;
  private readonly sender: CallbackSender;
  private callbackUrl: string | undefined;
  private fault: { mode: V2FaultMode; operations?: ReadonlySet<V2Operation>; remaining?: number } | null =
    null;
  private baseUrl = 'http://127.0.0.1';
  private server?: Server;
  private readonly sockets = new Set<Socket>();

  constructor(options: V2SimulatorOptions) {
    if (!options.applicationId) throw new Error('VerifyV2Simulator needs an applicationId');
    this.options = options;
    this.publicKey = loadPublicKey(options.publicKey);
    this.clock = options.clock ?? systemClock;
    this.jwtClock = options.jwtClock ?? systemClock;
    this.callbackUrl = options.callbackUrl;
    this.sender = new CallbackSender({
      url: () => this.callbackUrl,
      secret: options.signatureSecret ?? 'sandbox-signature-secret',
      apiKey: options.apiKey ?? 'sandbox',
      applicationId: options.applicationId,
      jwtClock: this.jwtClock,
      retries: options.callbackRetries ?? 3,
      retryDelayMs: options.callbackRetryDelayMs ?? 200,
    });
    this.engine = new V2Engine({
      wrongCodeMode: options.wrongCodeMode ?? 'third',
      concurrentIncludesRequestId: options.concurrentIncludesRequestId ?? false,
      concurrentAfterCancelMs: options.concurrentAfterCancelMs ?? 0,
      cancelRefusalStatus: options.cancelRefusalStatus ?? 409,
      silentAuthUnsupported: options.silentAuthUnsupported ?? ((to) => to.startsWith('999')),
      blocked: options.blocked ?? ((to) => to.startsWith('998')),
      checkUrl: (id) =>
        `${this.options.publicUrl ?? this.baseUrl}/v2/verify/${encodeURIComponent(id)}/silent-auth/redirect`,
      emit: (kind, requestId, payload) => this.sender.send(kind, requestId, payload),
    });
    this.app = createV2App(
      {
        beginCall: (operation) => this.beginCall(operation),
        authenticate: (header) => this.authenticate(header),
        start: (body, basic) => {
          const parsed = parseStart(body);
          if (!parsed.ok) return problems.invalidParams(parsed.invalid);
          return this.engine.start(parsed.value, !basic, this.clock.now());
        },
        check: (id, body) => {
          const code = (body as { code?: unknown } | undefined)?.code;
          if (typeof code !== 'string' || code.length < 4 || code.length > 10) return problems.invalidCode();
          return this.engine.check(id, code, this.clock.now());
        },
        cancel: (id) => this.engine.cancel(id, this.clock.now()),
        next: (id) => this.engine.next(id, this.clock.now()),
        silentAuthCode: (id) => {
          this.tick();
          return this.engine.silentAuthCode(id, this.clock.now());
        },
        silentAuthRedirectUrl: (id) => this.engine.silentAuthRedirectUrl(id),
      },
      {
        tick: () => this.tick(),
        advance: (ms) => this.advance(ms),
        canAdvance: () => isAdvanceable(this.clock),
        now: () => this.clock.now(),
        setFault: (fault) => this.setFault(fault),
        setCallbackFault: (fault) => this.setCallbackFault(fault),
        messages: (filter) => this.messages(filter),
        callbacks: (filter) => this.callbacks(filter),
        requestState: (id) => this.requestState(id),
        reset: () => this.reset(),
      },
    );
  }

  /** Starts the HTTP server; resolves to its base URL, the SDK's `apiHost`. Port 0 picks a free one. */
  async listen(port = 0, host = '127.0.0.1'): Promise<string> {
    if (this.server) throw new Error('VerifyV2Simulator is already listening');
    const server = createServer(this.app);
    server.on('connection', (socket: Socket) => {
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
    const { port: actual } = server.address() as AddressInfo;
    this.baseUrl = `http://${host.includes(':') ? `[${host}]` : host}:${actual}`;
    return this.baseUrl;
  }

  /** Stops the server, destroying open sockets ('hang' ones included); queued callbacks are dropped. */
  async close(): Promise<void> {
    this.sender.reset();
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const socket of this.sockets) socket.destroy();
    this.sockets.clear();
    await closed;
  }

  /** Moves a virtual clock forward and ends the steps and requests that timed out. */
  advance(ms: number): void {
    if (!isAdvanceable(this.clock)) throw new Error('advance() needs a VirtualClock');
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError('advance() needs a finite, non-negative ms');
    this.clock.advance(ms);
    this.tick();
  }

  tick(): void {
    this.engine.tick(this.clock.now());
  }

  /** Where callbacks go from now on (undefined: none are sent). */
  setCallbackUrl(url: string | undefined): void {
    this.callbackUrl = url;
  }

  setFault(fault: V2Fault | null): void {
    if (fault === null) {
      this.fault = null;
      return;
    }
    if (!V2_FAULT_MODES.includes(fault.mode))
      throw new RangeError(`unknown fault mode ${String(fault.mode)}`);
    if (fault.times !== undefined && !(Number.isInteger(fault.times) && fault.times > 0)) {
      throw new RangeError('fault.times must be a positive integer');
    }
    for (const operation of fault.operations ?? []) {
      if (!V2_OPERATIONS.includes(operation)) throw new RangeError(`unknown operation ${String(operation)}`);
    }
    this.fault = {
      mode: fault.mode,
      operations: fault.operations ? new Set(fault.operations) : undefined,
      remaining: fault.times,
    };
  }

  setCallbackFault(fault: CallbackFault | null): void {
    this.sender.setFault(fault);
  }

  /** Delivered codes, newest first, optionally for one `to` or one request. */
  messages(filter?: { to?: string; requestId?: string }): V2DeliveredMessage[] {
    this.tick();
    return this.engine.messages(filter);
  }

  /** Callbacks sent or being sent, oldest first. */
  callbacks(filter?: { requestId?: string }): V2CallbackRecord[] {
    return this.sender.list(filter);
  }

  /** Resolves when every queued callback was delivered or given up. */
  callbacksIdle(): Promise<void> {
    return this.sender.idle();
  }

  requestState(requestId: string): V2RequestState | undefined {
    this.tick();
    return this.engine.state(requestId);
  }

  /** The code the current step accepts (tests); undefined once the request ended. */
  currentCode(requestId: string): string | undefined {
    this.tick();
    return this.engine.currentCode(requestId);
  }

  /** Forgets requests, messages, callbacks and faults; the clock, callback URL and server stay. */
  reset(): void {
    this.engine.reset();
    this.sender.reset();
    this.fault = null;
  }

  private beginCall(operation: V2Operation): V2FaultMode | undefined {
    this.tick();
    const fault = this.fault;
    if (!fault || (fault.operations && !fault.operations.has(operation))) return undefined;
    if (fault.mode === 'replicationDelay' && operation !== 'next') return undefined;
    if (fault.remaining !== undefined) {
      fault.remaining -= 1;
      if (fault.remaining <= 0) this.fault = null;
    }
    return fault.mode;
  }

  private authenticate(header: string | undefined): AuthResult {
    const bearer = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
    if (bearer?.[1] !== undefined) {
      const result = checkApplicationJwt(
        bearer[1],
        this.publicKey,
        this.options.applicationId,
        this.jwtClock.now(),
      );
      if (result.ok) return { ok: true, basic: false };
      return {
        ok: false,
        problem: result.reason === 'expired' ? problems.jwtExpired() : problems.unauthorized(),
      };
    }
    const basic = /^Basic\s+(\S+)\s*$/i.exec(header ?? '');
    const { apiKey, apiSecret } = this.options;
    if (basic?.[1] !== undefined && apiKey !== undefined && apiSecret !== undefined) {
      const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
      if (sameText(decoded, `${apiKey}:${apiSecret}`)) return { ok: true, basic: true };
    }
    return { ok: false, problem: problems.unauthorized() };
  }
}

export interface StartV2SimulatorOptions extends V2SimulatorOptions {
  /** Default 0: a free port. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
}

export interface RunningV2Simulator {
  /** Base URL: give it to the SDK as `apiHost`. */
  url: string;
  clock: Clock;
  simulator: VerifyV2Simulator;
  faults: {
    set(fault: V2Fault): void;
    clear(): void;
    setCallback(fault: CallbackFault): void;
    clearCallback(): void;
  };
  messages(filter?: { to?: string; requestId?: string }): V2DeliveredMessage[];
  callbacks(filter?: { requestId?: string }): V2CallbackRecord[];
  callbacksIdle(): Promise<void>;
  setCallbackUrl(url: string | undefined): void;
  advance(ms: number): void;
  reset(): void;
  close(): Promise<void>;
}

/** Starts a Verify v2 simulator on a loopback port (by default) for in-process use. */
export async function startVerifyV2Simulator(options: StartV2SimulatorOptions): Promise<RunningV2Simulator> {
  const { port, host, ...simOptions } = options;
  const simulator = new VerifyV2Simulator(simOptions);
  const url = await simulator.listen(port ?? 0, host ?? '127.0.0.1');
  return {
    url,
    clock: simulator.clock,
    simulator,
    faults: {
      set: (fault) => simulator.setFault(fault),
      clear: () => simulator.setFault(null),
      setCallback: (fault) => simulator.setCallbackFault(fault),
      clearCallback: () => simulator.setCallbackFault(null),
    },
    messages: (filter) => simulator.messages(filter),
    callbacks: (filter) => simulator.callbacks(filter),
    callbacksIdle: () => simulator.callbacksIdle(),
    setCallbackUrl: (url) => simulator.setCallbackUrl(url),
    advance: (ms) => simulator.advance(ms),
    reset: () => simulator.reset(),
    close: () => simulator.close(),
  };
}
