// The Vonage call budget. Vonage stays the authority on status 10 and the cancel window, so answering
// them costs calls that send nothing; this bounds those calls. Every call made for a caller counts
// against LIMIT_VONAGE_CALLS_PER_CALLER whatever Vonage answers (a refused cancel, a status 10, a
// next-event with nothing left), and every call of every instance against VONAGE_MAX_REQUESTS_PER_SECOND
// (Vonage throttles the whole account). A call over either is not made.

import type { Limit } from '../config';
import { errors } from '../errors';
import { limits, type RateLimiter, type Reservation } from '../store/limiter';
import type { VerifyGateway } from '../vonage/gateway';
import { giveBack } from './give-back';
import type { CallContext } from './types';

const VONAGE_SLOT = 'a Vonage call slot';

export interface VonageBudgetSettings {
  callsPerCaller: Limit;
  /** Every call of the account, all instances together, per second. */
  maxRequestsPerSecond: number;
}

export class VonageBudget {
  private readonly account: Limit;

  constructor(
    private readonly gateway: VerifyGateway,
    private readonly limiter: RateLimiter,
    private readonly settings: VonageBudgetSettings,
    private readonly onRefused: (caller: string, why: 'caller' | 'account') => void = () => {},
  ) {
    const count = settings.maxRequestsPerSecond;
    this.account = { rules: [{ count, windowMs: 1000, text: `${count}/1s` }], text: `${count}/1s` };
  }

  /**
   * Vonage as one caller sees it: each call first takes its place in both budgets. `written`: a store
   * write the call depends on (a start's intent, a call's mark), asked for meanwhile: the call waits for
   * both, and a write that fails gives the budget back and is what the call throws.
   */
  for(ctx: CallContext, written?: Promise<unknown>): VerifyGateway {
    const { gateway } = this;
    const then = async <T>(call: () => Promise<T>): Promise<T> => {
      await (written ? this.takeWith(ctx, written) : this.take(ctx));
      return call();
    };
    return {
      api: gateway.api,
      languages: gateway.languages,
      // Nothing is called: no budget taken.
      checkOptions: (options) => gateway.checkOptions(options),
      start: (params) => then(() => gateway.start(params)),
      check: (requestId, code) => then(() => gateway.check(requestId, code)),
      cancel: (requestId) => then(() => gateway.cancel(requestId)),
      triggerNextEvent: (requestId) => then(() => gateway.triggerNextEvent(requestId)),
      resolve: (requestId) => then(() => gateway.resolve(requestId)),
      deliveryWaitsSeconds: (params) => gateway.deliveryWaitsSeconds(params),
    };
  }

  /** The budget and the write together (independent keys, so in parallel). */
  private async takeWith(ctx: CallContext, written: Promise<unknown>): Promise<void> {
    const [taken, stored] = await Promise.allSettled([this.take(ctx), written]);
    if (stored.status === 'rejected') {
      // The call is not made, so it is not counted.
      if (taken.status === 'fulfilled') await giveBack(this.limiter, ctx, taken.value, VONAGE_SLOT);
      throw stored.reason;
    }
    if (taken.status === 'rejected') throw taken.reason;
  }

  /** The caller's budget first (one caller cannot fill the account's alone), then the account's. */
  private async take(ctx: CallContext): Promise<Reservation[]> {
    const own = await this.limiter.reserve(
      limits.vonageCallsPerCaller(ctx.caller),
      this.settings.callsPerCaller,
    );
    if (!own.allowed) {
      this.onRefused(ctx.caller, 'caller');
      throw errors.rateLimited(
        own.retryAfterMs / 1000,
        `calls to Vonage made for this caller (${this.settings.callsPerCaller.text})`,
      );
    }
    const shared = await this.limiter.reserve(limits.vonageCallsOfAccount(), this.account);
    if (shared.allowed) return [own.reservation, shared.reservation];
    // Not made, so not counted against the caller either.
    await giveBack(this.limiter, ctx, [own.reservation], VONAGE_SLOT);
    this.onRefused(ctx.caller, 'account');
    ctx.log.warn('VONAGE_MAX_REQUESTS_PER_SECOND reached: call not made');
    throw errors.upstreamUnavailable(1);
  }
}
