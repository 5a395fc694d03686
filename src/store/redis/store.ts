// Redis VerificationStore: what production and the tests use. One verification's keys share a hash tag
// ({caller:+number}) so its transaction stays in one Redis Cluster slot; the request-id index is the
// only key outside it, written first so a record is never unreachable by its id. Key names are in
// keys.ts, Lua scripts in scripts.ts.

import { randomUUID } from 'node:crypto';
import type { Clock } from '../../clock';
import { errors } from '../../errors';
import { flatRules, newMember } from '../limiter';
import type {
  HeldLock,
  LockOptions,
  LockResult,
  StoreRef,
  VerificationRecord,
  VerificationStore,
} from '../store';
import type { RedisClient } from './client';
import type { RedisKeys } from './keys';
import { runScript } from './run-script';
import { CREATE_RECORD, LOCK, UNLOCK, UPDATE_UNLOCK } from './scripts';

/** Whose timed-out start may be the number's in-flight verification, and when it was made. */
interface UncertainNote {
  caller: string;
  at: number;
  /** When it ends, by the service's clock (the key's own expiry is only for clean-up). */
  until: number;
}

interface IndexEntry {
  caller: string;
  phoneNumber: string;
}

/** How many request-id index entries this instance remembers (forgets all when full). */
const INDEXED_MEMO_ENTRIES = 4096;
/** A remembered index entry is believed until this long before its key's expiry (clock skew). */
const INDEXED_MEMO_MARGIN_MS = 60_000;

export class RedisVerificationStore implements VerificationStore {
  /**
   * The request-id index entries this instance wrote, until shortly before their key expires. An entry
   * never changes once written (SET NX, never overwritten, deleted only by its expiry), so a lookup by
   * id on the instance that started the verification (verify-token, cancel, next-event, status, a
   * callback) skips its GET; any other id is read from Redis. If Redis lost the entry meanwhile, the
   * record (same expiry) is lost too and the lookup that follows it finds nothing, as without the memo.
   */
  private readonly indexed = new Map<string, IndexEntry & { until: number }>();

  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
    private readonly clock: Clock,
  ) {}

  /** The request id's index entry: remembered (see `indexed`), else read from Redis. */
  private async indexOf(requestId: string): Promise<IndexEntry | undefined> {
    const known = this.indexed.get(requestId);
    if (known !== undefined) {
      if (known.until > this.clock.now()) return known;
      this.indexed.delete(requestId);
    }
    const raw = await this.redis.get(this.keys.index(requestId));
    return raw === null ? undefined : (JSON.parse(raw) as IndexEntry);
  }

  private rememberIndex(requestId: string, index: IndexEntry, ttlMs: number): void {
    if (ttlMs <= INDEXED_MEMO_MARGIN_MS) return;
    if (this.indexed.size >= INDEXED_MEMO_ENTRIES) this.indexed.clear();
    this.indexed.set(requestId, { ...index, until: this.clock.now() + ttlMs - INDEXED_MEMO_MARGIN_MS });
  }

  private recordKey(record: Pick<VerificationRecord, 'caller' | 'phoneNumber' | 'requestId'>): string {
    return this.keys.record(record.caller, record.phoneNumber, record.requestId);
  }

  async create(record: VerificationRecord, retainUntil: number, unlock?: HeldLock): Promise<boolean> {
    const ttl = Math.max(1000, retainUntil - this.clock.now());
    const index: IndexEntry = { caller: record.caller, phoneNumber: record.phoneNumber };
    return this.run(async () => {
      // The index first (its own slot), and only if new: an id is never taken over from another caller.
      const fresh = await this.redis.set(
        this.keys.index(record.requestId),
        JSON.stringify(index),
        'PX',
        ttl,
        'NX',
      );
      if (fresh !== 'OK') return false;
      this.rememberIndex(record.requestId, index, ttl);
      // The record, the number's pointer and the intent (one slot), and the uncertain-start note (a slot
      // of its own), together: a start went through, so no earlier one is in flight at Vonage and the
      // note is spent. If its delete fails the note only outlives its use (see StartProtocol).
      const { caller, phoneNumber, requestId } = record;
      const keys = [
        this.recordKey(record),
        this.keys.current(caller, phoneNumber),
        this.keys.intent(caller, phoneNumber),
      ];
      const args: (string | number)[] = [JSON.stringify(record), requestId, ttl];
      if (unlock) {
        keys.push(this.keys.lock(caller, phoneNumber));
        args.push(unlock.token);
      }
      await Promise.all([
        runScript(this.redis, CREATE_RECORD, keys, args),
        this.redis.del(this.keys.uncertain(phoneNumber)).catch(() => 0),
      ]);
      if (unlock) unlock.released = true;
      return true;
    });
  }

  async update(record: VerificationRecord, unlock?: HeldLock): Promise<void> {
    const key = this.recordKey(record);
    if (!unlock) {
      await this.run(() => this.redis.set(key, JSON.stringify(record), 'KEEPTTL', 'XX'));
      return;
    }
    const keys = [key, this.keys.lock(record.caller, record.phoneNumber)];
    await this.run(() => runScript(this.redis, UPDATE_UNLOCK, keys, [JSON.stringify(record), unlock.token]));
    unlock.released = true;
  }

  async findById(caller: string, requestId: string): Promise<VerificationRecord | undefined> {
    return this.run(async () => {
      const index = await this.indexOf(requestId);
      if (index === undefined || index.caller !== caller) return undefined;
      return this.read(this.recordKey({ caller, phoneNumber: index.phoneNumber, requestId }));
    });
  }

  async findByRequestId(requestId: string): Promise<VerificationRecord | undefined> {
    return this.run(async () => {
      const index = await this.indexOf(requestId);
      if (index === undefined) return undefined;
      return this.read(this.recordKey({ caller: index.caller, phoneNumber: index.phoneNumber, requestId }));
    });
  }

  async locate(
    caller: string,
    ref: StoreRef,
  ): Promise<{ requestId: string; phoneNumber: string } | undefined> {
    return this.run(async () => {
      if ('phoneNumber' in ref) {
        const requestId = await this.redis.get(this.keys.current(caller, ref.phoneNumber));
        return requestId === null ? undefined : { requestId, phoneNumber: ref.phoneNumber };
      }
      const index = await this.indexOf(ref.requestId);
      return index?.caller === caller
        ? { requestId: ref.requestId, phoneNumber: index.phoneNumber }
        : undefined;
    });
  }

  async findCurrent(caller: string, phoneNumber: string): Promise<VerificationRecord | undefined> {
    return this.run(async () => {
      const requestId = await this.redis.get(this.keys.current(caller, phoneNumber));
      if (requestId === null) return undefined;
      return this.read(this.recordKey({ caller, phoneNumber, requestId }));
    });
  }

  async get(caller: string, phoneNumber: string, requestId: string): Promise<VerificationRecord | undefined> {
    return this.run(() => this.read(this.recordKey({ caller, phoneNumber, requestId })));
  }

  async lock(
    caller: string,
    phoneNumber: string,
    ttlMs: number,
    options: LockOptions = {},
  ): Promise<LockResult> {
    const { guard, read } = options;
    const token = randomUUID();
    const key = this.keys.lock(caller, phoneNumber);
    const ttl = Math.max(1, Math.ceil(ttlMs));
    const keys = [key];
    const args: (string | number)[] = [token, ttl, guard ? 1 : 0];
    let reservation: { key: string; member: string } | undefined;
    if (guard) {
      const now = this.clock.now();
      const window = this.keys.limit(guard.subject);
      reservation = guard.reserve ? { key: window, member: newMember(now) } : undefined;
      keys.push(window);
      args.push(now, reservation?.member ?? '', ...flatRules(guard.rule));
    }
    const recordKey =
      read === undefined ? undefined : this.recordKey({ caller, phoneNumber, requestId: read });
    if (recordKey) keys.push(recordKey);
    let answer: unknown;
    try {
      answer = await runScript(this.redis, LOCK, keys, args);
    } catch (cause) {
      // A timed-out lock was still sent: a frozen Redis runs it when it wakes, and the number would stay
      // locked for the whole TTL (and a send slot taken). Queue the release behind it on the same
      // connection (best effort).
      const slot = reservation
        ? { keys: [reservation.key], args: [reservation.member] }
        : { keys: [], args: [] };
      runScript(this.redis, UNLOCK, [key, ...slot.keys], [token, ...slot.args]).catch(() => {});
      throw errors.storeUnavailable(cause);
    }
    const [code, raw] = answer as [number, string | null | undefined];
    const wait = Number(code);
    if (wait > 0) return { limitedForMs: wait };
    if (wait !== 0) return { held: true };
    return {
      token,
      ...(reservation ? { reservation } : {}),
      ...(recordKey ? { record: raw ? (JSON.parse(raw) as VerificationRecord) : undefined } : {}),
    };
  }

  async unlock(caller: string, phoneNumber: string, token: string): Promise<void> {
    await this.run(() => runScript(this.redis, UNLOCK, [this.keys.lock(caller, phoneNumber)], [token]));
  }

  async noteUncertainStart(caller: string, phoneNumber: string, at: number, ttlMs: number): Promise<void> {
    const key = this.keys.uncertain(phoneNumber);
    const note: UncertainNote = { caller, at, until: this.clock.now() + ttlMs };
    const px = Math.max(1000, Math.ceil(ttlMs));
    await this.run(async () => {
      // NX: the first timed-out start claims the number; a later one (any caller's) got status 10 at
      // best. A note past its end (by the service's clock) is replaced.
      if ((await this.redis.set(key, JSON.stringify(note), 'PX', px, 'NX')) === 'OK') return;
      if ((await this.readNote(phoneNumber)) === undefined) {
        await this.redis.set(key, JSON.stringify(note), 'PX', px);
      }
    });
  }

  async uncertainStartAt(caller: string, phoneNumber: string): Promise<number | undefined> {
    const note = await this.run(() => this.readNote(phoneNumber));
    return note?.caller === caller ? note.at : undefined;
  }

  /** The number's uncertain-start note, unless it has ended. */
  private async readNote(phoneNumber: string): Promise<UncertainNote | undefined> {
    const raw = await this.redis.get(this.keys.uncertain(phoneNumber));
    if (raw === null) return undefined;
    const note = JSON.parse(raw) as UncertainNote;
    return note.until > this.clock.now() ? note : undefined;
  }

  async firstSeenInFlight(requestId: string, now: number, ttlMs: number): Promise<number> {
    const key = this.keys.seen(requestId);
    return this.run(async () => {
      await this.redis.set(key, String(now), 'PX', Math.max(1000, Math.ceil(ttlMs)), 'NX');
      const raw = await this.redis.get(key);
      return raw === null ? now : Number(raw);
    });
  }

  /**
   * Not one script: the uncertain-start note lives in a slot of its own (by number). The caller holds
   * its number's lock, so nothing else touches this intent meanwhile.
   */
  async noteStartIntent(caller: string, phoneNumber: string, at: number, ttlMs: number): Promise<void> {
    const key = this.keys.intent(caller, phoneNumber);
    const ttl = Math.max(1000, Math.ceil(ttlMs));
    // One round trip: SET ... GET answers the intent it replaced.
    const earlier = await this.run(() => this.redis.set(key, String(at), 'PX', ttl, 'GET'));
    // A start whose outcome was lost: it becomes the number's uncertain-start note, if no one has one.
    if (earlier !== null) await this.noteUncertainStart(caller, phoneNumber, Number(earlier), ttlMs);
  }

  async clearStartIntent(caller: string, phoneNumber: string): Promise<void> {
    await this.run(() => this.redis.del(this.keys.intent(caller, phoneNumber)));
  }

  /** A write, not a PING: a full Redis (OOM) or a read-only replica answers PING but takes no writes. */
  async ping(): Promise<void> {
    await this.run(() => this.redis.set(this.keys.readiness(), String(this.clock.now()), 'PX', 10_000));
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
