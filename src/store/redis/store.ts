// Redis VerificationStore: what production and the tests use. One verification's keys share a hash tag
// ({caller:+number}) so its transaction stays in one Redis Cluster slot; the request-id index is the
// only key outside it, written first so a record is never unreachable by its id.

import { randomUUID } from 'node:crypto';
import type { Clock } from '../../clock';
import { errors } from '../../errors';
import type { LimitGuard, LockResult, VerificationRecord, VerificationStore } from '../store';
import type { RedisClient } from './client';

const UNLOCK = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

// Takes the number's lock unless the guard's rate-limit window (a sorted set kept by RedisRateLimiter,
// same hash tag) is full: 0 = taken, -1 = held by another request, n > 0 = full for n more ms.
const LOCK = `
if #KEYS > 1 then
  local now = tonumber(ARGV[3])
  local window = tonumber(ARGV[4])
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now - window)
  if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[5]) then
    local oldest = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
    return math.max(1, tonumber(oldest[2]) + window - now)
  end
end
if redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2], 'NX') then return 0 end
return -1
`;

interface IndexEntry {
  caller: string;
  phoneNumber: string;
}

export class RedisVerificationStore implements VerificationStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly clock: Clock,
  ) {}

  /** The hash tag of one caller's number: every key of its verifications lands in one slot. */
  tag(caller: string, phoneNumber: string): string {
    return `${this.prefix}{${caller}:${phoneNumber}}`;
  }

  recordKey(record: Pick<VerificationRecord, 'caller' | 'phoneNumber' | 'requestId'>): string {
    return `${this.tag(record.caller, record.phoneNumber)}:v:${record.requestId}`;
  }

  indexKey(requestId: string): string {
    return `${this.prefix}id:{${requestId}}`;
  }

  async create(record: VerificationRecord, retainUntil: number): Promise<boolean> {
    const ttl = Math.max(1000, retainUntil - this.clock.now());
    const index: IndexEntry = { caller: record.caller, phoneNumber: record.phoneNumber };
    const tag = this.tag(record.caller, record.phoneNumber);
    return this.run(async () => {
      // The index first (its own slot), and only if new: an id is never taken over from another caller.
      const fresh = await this.redis.set(
        this.indexKey(record.requestId),
        JSON.stringify(index),
        'PX',
        ttl,
        'NX',
      );
      if (fresh !== 'OK') return false;
      const result = await this.redis
        .multi()
        .set(this.recordKey(record), JSON.stringify(record), 'PX', ttl)
        .set(`${tag}:cur`, record.requestId, 'PX', ttl)
        .del(`${tag}:uncertain`)
        .exec();
      const failed = result?.find(([error]) => error);
      if (!result || failed) throw failed?.[0] ?? new Error('transaction aborted');
      return true;
    });
  }

  async update(record: VerificationRecord): Promise<void> {
    await this.run(() => this.redis.set(this.recordKey(record), JSON.stringify(record), 'KEEPTTL', 'XX'));
  }

  async findById(caller: string, requestId: string): Promise<VerificationRecord | undefined> {
    return this.run(async () => {
      const raw = await this.redis.get(this.indexKey(requestId));
      if (raw === null) return undefined;
      const index = JSON.parse(raw) as IndexEntry;
      if (index.caller !== caller) return undefined;
      return this.read(this.recordKey({ caller, phoneNumber: index.phoneNumber, requestId }));
    });
  }

  async findCurrent(caller: string, phoneNumber: string): Promise<VerificationRecord | undefined> {
    return this.run(async () => {
      const requestId = await this.redis.get(`${this.tag(caller, phoneNumber)}:cur`);
      if (requestId === null) return undefined;
      return this.read(this.recordKey({ caller, phoneNumber, requestId }));
    });
  }

  async get(caller: string, phoneNumber: string, requestId: string): Promise<VerificationRecord | undefined> {
    return this.run(() => this.read(this.recordKey({ caller, phoneNumber, requestId })));
  }

  async lock(caller: string, phoneNumber: string, ttlMs: number, guard?: LimitGuard): Promise<LockResult> {
    const token = randomUUID();
    const key = `${this.tag(caller, phoneNumber)}:lock`;
    const ttl = Math.max(1, Math.ceil(ttlMs));
    let answer: unknown;
    try {
      answer = guard
        ? await this.redis.eval(
            LOCK,
            2,
            key,
            guard.key,
            token,
            ttl,
            this.clock.now(),
            guard.rule.windowMs,
            guard.rule.count,
          )
        : await this.redis.eval(LOCK, 1, key, token, ttl);
    } catch (cause) {
      // A timed-out lock was still sent: a frozen Redis runs it when it wakes, and the number would stay
      // locked for the whole TTL. Queue the release behind it on the same connection (best effort).
      this.redis.eval(UNLOCK, 1, key, token).catch(() => {});
      throw errors.storeUnavailable(cause);
    }
    const wait = Number(answer);
    if (wait > 0) return { limitedForMs: wait };
    return wait === 0 ? { token } : { held: true };
  }

  async unlock(caller: string, phoneNumber: string, token: string): Promise<void> {
    await this.run(() => this.redis.eval(UNLOCK, 1, `${this.tag(caller, phoneNumber)}:lock`, token));
  }

  async noteUncertainStart(caller: string, phoneNumber: string, at: number, ttlMs: number): Promise<void> {
    const key = `${this.tag(caller, phoneNumber)}:uncertain`;
    await this.run(() => this.redis.set(key, String(at), 'PX', Math.max(1000, Math.ceil(ttlMs))));
  }

  async uncertainStartAt(caller: string, phoneNumber: string): Promise<number | undefined> {
    const raw = await this.run(() => this.redis.get(`${this.tag(caller, phoneNumber)}:uncertain`));
    return raw === null ? undefined : Number(raw);
  }

  async ping(): Promise<void> {
    await this.run(() => this.redis.ping());
  }

  private async read(key: string): Promise<VerificationRecord | undefined> {
    const raw = await this.redis.get(key);
    return raw === null ? undefined : (JSON.parse(raw) as VerificationRecord);
  }

  private async run<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (cause) {
      throw errors.storeUnavailable(cause);
    }
  }
}
