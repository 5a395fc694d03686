// Redis GuardStore. Every guard key shares the hash tag {guard} (keys.ts): a code's admission (both its
// scopes: block, conversion, velocity) and its settling (the pending set, the seen lists and both
// scopes' outcomes) are one script each, in one Redis Cluster slot. Key names in keys.ts, Lua in
// scripts.ts.

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
import { GUARD_ADMIT, GUARD_SETTLE, TAKE_DUE } from './scripts';

/** How many recently active scopes the operator view weighs to find the busiest. */
const SEEN_CANDIDATES = 200;

export class RedisGuardStore implements GuardStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  async admit(requests: readonly AdmitRequest[], now: number): Promise<Admission[]> {
    const keys: string[] = [];
    const args: (string | number)[] = [now];
    const velocities: (string | undefined)[] = [];
    const members: string[] = [];
    for (const request of requests) {
      const scope = this.keys.guardScope(request.scope, request.value);
      const member = newMember(now);
      const rule = request.conversion;
      const rules = request.velocity ? flatRules(request.velocity) : [];
      keys.push(scope.sends, scope.settled, scope.verified, scope.block);
      args.push(
        member,
        rule ? 1 : 0,
        rule?.enforce ? 1 : 0,
        rule?.windowMs ?? 0,
        rule?.minSettled ?? 0,
        rule?.minConversion ?? 0,
        rule?.blockMs ?? 0,
        rules.length,
        ...rules,
      );
      velocities.push(request.velocity ? scope.sends : undefined);
      members.push(member);
    }
    const answer = (await this.run(() => runScript(this.redis, GUARD_ADMIT, keys, args))) as number[];
    return requests.map((_, i) => admissionOf(answer, i, velocities[i], members[i] ?? ''));
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
    // Whoever removes the code from the pending set records its outcome: exactly once, across instances,
    // in the same step as its scopes' outcomes and seen marks.
    const keys = [
      this.keys.guard('pending'),
      this.keys.guard('seen:prefix'),
      this.keys.guard('seen:country'),
    ];
    for (const [scope, value] of scopesOf(code)) {
      const scopeKeys = this.keys.guardScope(scope, value);
      keys.push(scopeKeys.settled, scopeKeys.verified);
    }
    const args = [
      taken ? '' : memberOf(code),
      now,
      code.prefix,
      code.country ?? '',
      code.requestId,
      verified ? 1 : 0,
      windowMs,
    ];
    const settles = await this.run(() => runScript(this.redis, GUARD_SETTLE, keys, args));
    return Number(settles) === 1;
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
      // A block the previous key layout kept goes too, so no instance of that version still applies it.
      const [deleted, legacy] = await Promise.all([
        this.redis.del(keys.block, keys.settled, keys.verified),
        this.redis.del(this.keys.legacyGuardBlock(scope, value)),
      ]);
      const listed = await this.redis.zrem(this.keys.guard('blocks'), blockMember({ scope, value }));
      return deleted + legacy + listed;
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
      const raw = await this.run(() => this.currentBlock(entry, now));
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

  /**
   * A listed block's value ("settled:verified:since:until"). One that only the key layout before
   * 2026-11-30 holds (started by an instance of that version, during a rolling deploy) is carried over
   * to this layout's key first, so this version's admissions refuse it too; every instance runs this
   * at each sweep (AbuseGuard.sweep), so such a block is applied within one sweep.
   */
  private async currentBlock(entry: BlockEntry, now: number): Promise<string | null> {
    const key = this.keys.guardScope(entry.scope, entry.value).block;
    const raw = await this.redis.get(key);
    if (raw !== null) return raw;
    const legacy = await this.redis.get(this.keys.legacyGuardBlock(entry.scope, entry.value));
    if (legacy === null) return null;
    const until = Number(legacy.split(':')[3] ?? entry.until);
    await this.redis.set(key, legacy, 'PX', Math.max(1, Math.ceil(until - now)), 'NX');
    return legacy;
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

/** The i-th scope's answer out of GUARD_ADMIT's flat reply (six numbers per scope). */
function admissionOf(answer: number[], i: number, velocity: string | undefined, member: string): Admission {
  const at = i * 6;
  const [kind, ms, started, settled, verified, blockMs] = [0, 1, 2, 3, 4, 5].map((j) =>
    Number(answer[at + j] ?? 0),
  ) as [number, number, number, number, number, number];
  const admission: Admission = {};
  if (blockMs > 0) admission.block = { retryAfterMs: blockMs, started: started === 1, settled, verified };
  if (kind === 2) admission.velocity = { allowed: false, retryAfterMs: ms };
  else if (kind === 0 && velocity !== undefined)
    admission.velocity = { allowed: true, reservation: { key: velocity, member } };
  return admission;
}
