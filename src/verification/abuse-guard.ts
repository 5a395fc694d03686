// The abuse guard against SMS pumping: what is limited and when a destination is blocked.
//   Velocity: codes started to one prefix (all but the last 3 digits; LIMIT_SENDS_PER_PREFIX) and to
//   one country (LIMIT_SENDS_PER_COUNTRY), all callers and instances together; refunded like the other
//   send limits when no code goes out.
//   Conversion: of the codes to a prefix or country whose outcome is known (verified; or ended without
//   it: expired, failed, cancelled) over PUMPING_WINDOW, the share verified. With PUMPING_MIN_SETTLED
//   known and the share below PUMPING_MIN_CONVERSION, the scope is blocked for PUMPING_BLOCK (403
//   destination_blocked; in shadow mode decided, logged and counted, but nothing refused).
// Outcomes are recorded when a verification finishes, and expiries nobody asks about are found by
// sweep(), which every instance runs periodically (the store hands each expiry to one instance).

import type { Clock } from '../clock';
import type { Limit } from '../config';
import { ApiError, errors } from '../errors';
import type { Logger } from '../logger';
import type {
  Admission,
  AdmitRequest,
  BlockEntry,
  ConversionRule,
  GuardScope,
  GuardStore,
  PendingCode,
  ScopeConversion,
} from '../store/guard';
import type { RateLimiter, Reservation } from '../store/limiter';
import type { VerificationRecord, VerificationStatus } from '../store/store';
import { giveBack } from './give-back';
import { DestinationCache } from './phone';
import type { CallContext } from './types';

export type GuardMode = 'enforce' | 'shadow' | 'off';
export type GuardDecision = 'allowed' | 'blocked' | 'would_block';

export interface GuardSettings {
  mode: GuardMode;
  sendsPerPrefix: Limit;
  sendsPerCountry: Limit | undefined;
  windowMs: number;
  minSettled: number;
  minConversion: number;
  blockMs: number;
  /** E.164 numbers or prefixes the conversion guard never blocks. */
  safelist: string[];
}

/** What the guard reports (metrics). */
export interface GuardObserver {
  decision(scope: GuardScope, decision: GuardDecision, reason: string): void;
  activeBlocks(count: number): void;
}

export interface GuardView {
  mode: GuardMode;
  settings: {
    window: number;
    minSettled: number;
    minConversion: number;
    block: number;
    sendsPerPrefix: string;
    sendsPerCountry: string | null;
    safelist: string[];
  };
  blocks: Array<BlockEntry & { retryAfterSeconds: number; conversion: number | null }>;
  busiest: Record<GuardScope, Array<ScopeConversion & { conversion: number }>>;
}

/** How many expired codes one sweep settles at most (the next sweep takes the rest). */
const SWEEP_BATCH = 500;
const SWEEP_BATCHES = 20;
const BUSIEST = 20;

export class AbuseGuard {
  private readonly destinations = new DestinationCache();

  constructor(
    private readonly store: GuardStore,
    private readonly limiter: RateLimiter,
    private readonly clock: Clock,
    readonly settings: GuardSettings,
    private readonly observer: GuardObserver,
    private readonly log: Logger,
  ) {}

  /**
   * Checks the number's prefix and country before a code is started: throws destination_blocked or
   * rate_limited, or returns the velocity slots taken (given back if no code goes out).
   */
  async admit(ctx: CallContext, phoneNumber: string): Promise<Reservation[]> {
    const { settings } = this;
    const destination = this.destinations.of(phoneNumber);
    const safelisted = settings.safelist.some((entry) => phoneNumber.startsWith(entry));
    const conversion: ConversionRule | undefined =
      settings.mode === 'off' || safelisted
        ? undefined
        : {
            windowMs: settings.windowMs,
            minSettled: settings.minSettled,
            minConversion: settings.minConversion,
            blockMs: settings.blockMs,
            enforce: settings.mode === 'enforce',
          };
    const requests: AdmitRequest[] = [
      { scope: 'prefix', value: destination.prefix, velocity: settings.sendsPerPrefix, conversion },
    ];
    if (destination.country && (settings.sendsPerCountry || conversion)) {
      requests.push({
        scope: 'country',
        value: destination.country,
        velocity: settings.sendsPerCountry,
        conversion,
      });
    }
    // Both scopes in one step (the store's one script); a store that cannot answer refuses the start.
    let answers: Admission[];
    try {
      answers = await this.store.admit(requests, this.clock.now());
    } catch (error) {
      throw error instanceof ApiError ? error : errors.storeUnavailable(error);
    }
    const taken: Reservation[] = [];
    let refusal: ApiError | undefined;
    for (const [i, request] of requests.entries()) {
      const answer = answers[i] ?? {};
      if (answer.velocity?.allowed) taken.push(answer.velocity.reservation);
      // Every scope is judged (its decision counted, a new block logged), the first refusal answers.
      const judged = await this.judge(ctx, request, answer, safelisted);
      refusal ??= judged;
    }
    if (refusal === undefined) return taken;
    await giveBack(this.limiter, ctx, taken);
    throw refusal;
  }

  /** Remembers a started code until its outcome is known (not for test numbers: they cost nothing). */
  async started(ctx: CallContext, record: VerificationRecord): Promise<void> {
    if (record.test || this.settings.mode === 'off') return;
    await this.store.notePending(this.pendingOf(record)).catch((error: unknown) => {
      ctx.log.warn({ err: error }, 'abuse guard: could not note a started code');
    });
  }

  /** A verification finished: its outcome counts in its prefix and country, once. */
  async finished(record: VerificationRecord, status: VerificationStatus): Promise<void> {
    if (record.test || status === 'pending' || this.settings.mode === 'off') return;
    await this.store
      .settle(this.pendingOf(record), status === 'verified', this.clock.now(), this.settings.windowMs)
      .catch((error: unknown) => {
        this.log.warn({ err: error }, 'abuse guard: could not record an outcome');
      });
  }

  /**
   * Settles the codes whose verification ended unverified with nobody asking, ends the blocks whose time
   * is up (one log line each), and refreshes the active-blocks gauge. Run periodically by every instance.
   */
  async sweep(): Promise<{ expired: number; ended: number }> {
    const now = this.clock.now();
    let expired = 0;
    for (let batch = 0; batch < SWEEP_BATCHES; batch++) {
      const due = await this.store.takeExpired(now, SWEEP_BATCH);
      for (const code of due) {
        await this.store.settle(code, false, now, this.settings.windowMs, true);
      }
      expired += due.length;
      if (due.length < SWEEP_BATCH) break;
    }
    const ended = await this.store.takeEnded(now);
    for (const block of ended) {
      this.log.info({ scope: block.scope, value: block.value }, 'abuse guard: block ended');
    }
    this.observer.activeBlocks((await this.store.blocks(now)).length);
    return { expired, ended: ended.length };
  }

  async view(): Promise<GuardView> {
    const { settings } = this;
    const now = this.clock.now();
    const share = (settled: number | undefined, verified: number | undefined) =>
      settled ? Math.round(((verified ?? 0) / settled) * 1000) / 1000 : null;
    const blocks = (await this.store.blocks(now)).map((block) => ({
      ...block,
      retryAfterSeconds: Math.max(1, Math.ceil((block.until - now) / 1000)),
      conversion: share(block.settled, block.verified),
    }));
    const busiest = async (scope: GuardScope) =>
      (await this.store.busiest(scope, now, settings.windowMs, BUSIEST)).map((row) => ({
        ...row,
        conversion: share(row.settled, row.verified) ?? 0,
      }));
    return {
      mode: settings.mode,
      settings: {
        window: settings.windowMs / 1000,
        minSettled: settings.minSettled,
        minConversion: settings.minConversion,
        block: settings.blockMs / 1000,
        sendsPerPrefix: settings.sendsPerPrefix.text,
        sendsPerCountry: settings.sendsPerCountry?.text ?? null,
        safelist: settings.safelist,
      },
      blocks,
      busiest: { prefix: await busiest('prefix'), country: await busiest('country') },
    };
  }

  /** An operator lifts a block early; the scope's outcomes so far are forgotten with it. */
  async lift(scope: GuardScope, value: string): Promise<boolean> {
    const lifted = await this.store.lift(scope, value);
    if (lifted) {
      this.log.info({ scope, value }, 'abuse guard: block ended (lifted by an operator)');
      this.observer.activeBlocks((await this.store.blocks(this.clock.now())).length);
    }
    return lifted;
  }

  /** One scope's answer: the decision reported, a new block logged and listed, a refusal returned. */
  private async judge(
    ctx: CallContext,
    request: AdmitRequest,
    admission: Admission,
    safelisted: boolean,
  ): Promise<ApiError | undefined> {
    const { scope, value } = request;
    const { block, velocity } = admission;
    const enforce = this.settings.mode === 'enforce';
    if (block?.started) {
      ctx.log.warn(
        {
          scope,
          value,
          settled: block.settled,
          verified: block.verified,
          blockSeconds: Math.round(block.retryAfterMs / 1000),
          mode: this.settings.mode,
        },
        'abuse guard: block started',
      );
      const until = this.clock.now() + block.retryAfterMs;
      await this.store.noteBlock({ scope, value, until }).catch((error: unknown) => {
        ctx.log.warn({ err: error }, 'abuse guard: could not list a block');
      });
    }
    if (block) this.observer.decision(scope, enforce ? 'blocked' : 'would_block', 'low_conversion');
    if (block && enforce) return errors.destinationBlocked(scope, block.retryAfterMs / 1000);
    if (velocity && !velocity.allowed) {
      this.observer.decision(scope, 'blocked', 'velocity');
      const rule = scope === 'prefix' ? this.settings.sendsPerPrefix : this.settings.sendsPerCountry;
      const what = scope === 'prefix' ? 'numbers in this range' : 'this country';
      return errors.rateLimited(velocity.retryAfterMs / 1000, `codes sent to ${what} (${rule?.text ?? ''})`);
    }
    if (!block) this.observer.decision(scope, 'allowed', safelisted ? 'safelisted' : 'ok');
    return undefined;
  }

  private pendingOf(record: VerificationRecord): PendingCode {
    const { prefix, country } = this.destinations.of(record.phoneNumber);
    return {
      requestId: record.requestId,
      prefix,
      ...(country ? { country } : {}),
      expiresAt: record.expiresAt,
    };
  }
}
