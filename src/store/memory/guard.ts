// In-memory GuardStore for the sandbox (one process): the same decisions as the Redis store's scripts,
// over maps. Velocity windows are kept by the MemoryRateLimiter, so a refund works the same way.

import type { Clock } from '../../clock';
import {
  type Admission,
  type AdmitRequest,
  type BlockEntry,
  type GuardScope,
  type GuardStore,
  memberOf,
  type PendingCode,
  pendingOf,
  type ScopeConversion,
  scopesOf,
} from '../guard';
import { limits } from '../limiter';
import type { MemoryRateLimiter } from './limiter';

interface ScopeState {
  /** Request id -> when its outcome became known, and whether it was verified. */
  outcomes: Map<string, { at: number; verified: boolean }>;
  block?: { until: number; settled: number; verified: number; since: number };
}

export class MemoryGuardStore implements GuardStore {
  private readonly scopes = new Map<string, ScopeState>();
  private readonly pending = new Map<string, number>();
  private readonly listed = new Map<string, BlockEntry>();

  constructor(
    private readonly limiter: MemoryRateLimiter,
    private readonly clock: Clock,
  ) {}

  /** Forgets every block and every conversion count (the sandbox's reset). */
  clear(): void {
    for (const map of [this.scopes, this.pending, this.listed]) map.clear();
  }

  async admit(requests: readonly AdmitRequest[], now: number): Promise<Admission[]> {
    const admissions: Admission[] = [];
    for (const request of requests) admissions.push(await this.admitOne(request, now));
    return admissions;
  }

  private async admitOne(request: AdmitRequest, now: number): Promise<Admission> {
    const state = this.state(request.scope, request.value);
    const rule = request.conversion;
    const admission: Admission = {};
    if (rule) {
      const { settled, verified } = count(state, now - rule.windowMs);
      if (state.block && state.block.until <= now) delete state.block;
      let started = false;
      if (!state.block && settled >= rule.minSettled && verified < rule.minConversion * settled) {
        state.block = { until: now + rule.blockMs, settled, verified, since: now };
        started = true;
      }
      if (state.block) {
        admission.block = { retryAfterMs: state.block.until - now, started, settled, verified };
        if (rule.enforce) return admission;
      }
    }
    if (request.velocity) {
      const subject =
        request.scope === 'prefix'
          ? limits.sendsPerPrefix(request.value)
          : limits.sendsPerCountry(request.value);
      admission.velocity = await this.limiter.reserve(subject, request.velocity);
    }
    return admission;
  }

  async notePending(code: PendingCode): Promise<void> {
    this.pending.set(memberOf(code), code.expiresAt);
  }

  async settle(
    code: PendingCode,
    verified: boolean,
    now: number,
    windowMs: number,
    taken = false,
  ): Promise<boolean> {
    if (!this.pending.delete(memberOf(code)) && !taken) return false;
    for (const [scope, value] of scopesOf(code)) {
      const state = this.state(scope, value);
      count(state, now - windowMs);
      if (!state.outcomes.has(code.requestId)) state.outcomes.set(code.requestId, { at: now, verified });
    }
    return true;
  }

  async takeExpired(now: number, max: number): Promise<PendingCode[]> {
    const due: PendingCode[] = [];
    for (const [member, expiresAt] of this.pending) {
      if (due.length >= max) break;
      if (expiresAt > now) continue;
      this.pending.delete(member);
      const code = pendingOf(member, expiresAt);
      if (code) due.push(code);
    }
    return due;
  }

  async noteBlock(block: BlockEntry): Promise<void> {
    this.listed.set(`${block.scope}|${block.value}`, block);
  }

  async takeEnded(now: number): Promise<BlockEntry[]> {
    const ended = [...this.listed.entries()].filter(([, block]) => block.until <= now);
    for (const [key] of ended) this.listed.delete(key);
    return ended.map(([, block]) => block);
  }

  async lift(scope: GuardScope, value: string): Promise<boolean> {
    const key = `${scope}|${value}`;
    const state = this.scopes.get(key);
    const had = Boolean(state?.block && state.block.until > this.clock.now()) || this.listed.has(key);
    this.scopes.delete(key);
    this.listed.delete(key);
    return had;
  }

  async blocks(now: number): Promise<BlockEntry[]> {
    return [...this.listed.values()]
      .filter((block) => block.until > now)
      .map((block) => {
        const known = this.scopes.get(`${block.scope}|${block.value}`)?.block;
        return known
          ? { ...block, settled: known.settled, verified: known.verified, since: known.since }
          : block;
      });
  }

  async busiest(scope: GuardScope, now: number, windowMs: number, top: number): Promise<ScopeConversion[]> {
    const rows: ScopeConversion[] = [];
    for (const [key, state] of this.scopes) {
      const [kind, value] = key.split('|');
      if (kind !== scope || !value) continue;
      const { settled, verified } = count(state, now - windowMs);
      if (settled > 0) rows.push({ value, settled, verified });
    }
    return rows.sort((x, y) => y.settled - x.settled).slice(0, top);
  }

  private state(scope: GuardScope, value: string): ScopeState {
    const key = `${scope}|${value}`;
    let state = this.scopes.get(key);
    if (!state) {
      state = { outcomes: new Map() };
      this.scopes.set(key, state);
    }
    return state;
  }
}

/** Forgets outcomes older than the cutoff and counts the rest. */
function count(state: ScopeState, cutoff: number): { settled: number; verified: number } {
  let verified = 0;
  for (const [requestId, outcome] of state.outcomes) {
    if (outcome.at <= cutoff) state.outcomes.delete(requestId);
    else if (outcome.verified) verified += 1;
  }
  return { settled: state.outcomes.size, verified };
}
