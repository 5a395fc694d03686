// Redis GuardStore. Each scope's keys share one hash tag ({g:prefix:+4474001234}, {g:country:GB}), so
// the admission script (block, conversion, velocity) and the settle script each run in one Redis
// Cluster slot; the keys that span scopes ({guard}:pending, :blocks, :seen:*) share a slot of their own
// and are only ever touched one command or script at a time. Key names in keys.ts, Lua in scripts.ts.

import { errors } from '../../errors';
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
import { flatRules, newMember } from '../limiter';
import type { RedisClient } from './client';
import type { RedisKeys } from './keys';
import { runScript } from './run-script';
import { GUARD_ADMIT, GUARD_SETTLE, GUARD_TAKE_PENDING, TAKE_DUE } from './scripts';

/** How many recently active scopes the operator view weighs to find the busiest. */
const SEEN_CANDIDATES = 200;

export class RedisGuardStore implements GuardStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  async admit(request: AdmitRequest, now: number): Promise<Admission> {
    const scope = this.keys.guardScope(request.scope, request.value);
    const velocity = scope.sends;
    const member = newMember(now);
    const rule = request.conversion;
    const args = [
      now,
      member,
      rule ? 1 : 0,
      rule?.enforce ? 1 : 0,
      rule?.windowMs ?? 0,
      rule?.minSettled ?? 0,
      rule?.minConversion ?? 0,
      rule?.blockMs ?? 0,
      ...(request.velocity ? flatRules(request.velocity) : []),
    ];
    const keys = [velocity, scope.settled, scope.verified, scope.block];
    const answer = (await this.run(() => runScript(this.redis, GUARD_ADMIT, keys, args))) as number[];
    const [kind = 0, ms = 0, started = 0, settled = 0, verified = 0, blockMs = 0] = answer.map(Number);
    const admission: Admission = {};
    if (blockMs > 0) admission.block = { retryAfterMs: blockMs, started: started === 1, settled, verified };
    if (kind === 2) admission.velocity = { allowed: false, retryAfterMs: ms };
    else if (kind === 0 && request.velocity)
      admission.velocity = { allowed: true, reservation: { key: velocity, member } };
    return admission;
  }

  async notePending(code: PendingCode): Promise<void> {
    await this.run(() => this.redis.zadd(this.keys.guard('pending'), code.expiresAt, memberOf(code)));
  }

  async settle(
    code: PendingCode,
    verified: boolean,
    now: number,
    windowMs: number,
    taken = false,
  ): Promise<boolean> {
    // Whoever removes the code from the pending set records its outcome: exactly once, across instances.
    // The same step marks its scopes as seen; the outcomes go to each scope's own slot after it.
    const settles = await this.run(() =>
      runScript(
        this.redis,
        GUARD_TAKE_PENDING,
        [this.keys.guard('pending'), this.keys.guard('seen:prefix'), this.keys.guard('seen:country')],
        [taken ? '' : memberOf(code), now, code.prefix, code.country ?? ''],
      ),
    );
    if (Number(settles) !== 1) return false;
    await this.run(() =>
      Promise.all(
        scopesOf(code).map(([scope, value]) => {
          const keys = this.keys.guardScope(scope, value);
          return runScript(
            this.redis,
            GUARD_SETTLE,
            [keys.settled, keys.verified],
            [now, code.requestId, verified ? 1 : 0, windowMs],
          );
        }),
      ),
    );
    return true;
  }

  async takeExpired(now: number, max: number): Promise<PendingCode[]> {
    const due = (await this.run(() =>
      runScript(this.redis, TAKE_DUE, [this.keys.guard('pending')], [now, max]),
    )) as string[];
    return due.flatMap((member) => {
      const code = pendingOf(member);
      return code ? [code] : [];
    });
  }

  async noteBlock(block: BlockEntry): Promise<void> {
    await this.run(() => this.redis.zadd(this.keys.guard('blocks'), block.until, blockMember(block)));
  }

  async takeEnded(now: number): Promise<BlockEntry[]> {
    const due = (await this.run(() =>
      runScript(this.redis, TAKE_DUE, [this.keys.guard('blocks')], [now, 1000]),
    )) as string[];
    return due.flatMap((member) => {
      const entry = blockOf(member, now);
      return entry ? [entry] : [];
    });
  }

  async lift(scope: GuardScope, value: string): Promise<boolean> {
    const keys = this.keys.guardScope(scope, value);
    const removed = await this.run(async () => {
      const deleted = await this.redis.del(keys.block, keys.settled, keys.verified);
      const listed = await this.redis.zrem(this.keys.guard('blocks'), blockMember({ scope, value }));
      return deleted + listed;
    });
    return removed > 0;
  }

  async blocks(now: number): Promise<BlockEntry[]> {
    const listed = await this.run(() =>
      this.redis.zrangebyscore(this.keys.guard('blocks'), `(${now}`, '+inf', 'WITHSCORES'),
    );
    const entries: BlockEntry[] = [];
    for (let i = 0; i + 1 < listed.length; i += 2) {
      const entry = blockOf(listed[i] ?? '', Number(listed[i + 1]));
      if (!entry) continue;
      const raw = await this.run(() => this.redis.get(this.keys.guardScope(entry.scope, entry.value).block));
      const [settled, verified, since] = (raw ?? '').split(':').map(Number);
      entries.push({
        ...entry,
        ...(raw ? { settled: settled ?? 0, verified: verified ?? 0, since: since ?? 0 } : {}),
      });
    }
    return entries;
  }

  async busiest(scope: GuardScope, now: number, windowMs: number, top: number): Promise<ScopeConversion[]> {
    const seen = this.keys.guard(`seen:${scope}`);
    const cutoff = now - windowMs;
    const values = await this.run(async () => {
      await this.redis.zremrangebyscore(seen, '-inf', cutoff);
      return this.redis.zrevrange(seen, 0, SEEN_CANDIDATES - 1);
    });
    const counted = await Promise.all(
      values.map(async (value) => {
        const keys = this.keys.guardScope(scope, value);
        const [settled, verified] = await this.run(() =>
          Promise.all([
            this.redis.zcount(keys.settled, `(${cutoff}`, '+inf'),
            this.redis.zcount(keys.verified, `(${cutoff}`, '+inf'),
          ]),
        );
        return { value, settled, verified };
      }),
    );
    return counted
      .filter((entry) => entry.settled > 0)
      .sort((x, y) => y.settled - x.settled)
      .slice(0, top);
  }

  private async run<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (cause) {
      throw errors.storeUnavailable(cause);
    }
  }
}

function blockMember(block: Pick<BlockEntry, 'scope' | 'value'>): string {
  return `${block.scope}|${block.value}`;
}

function blockOf(member: string, until: number): BlockEntry | undefined {
  const [scope, value] = member.split('|');
  if ((scope !== 'prefix' && scope !== 'country') || !value) return undefined;
  return { scope, value, until };
}
