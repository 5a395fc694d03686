// In-memory VerificationStore: the first-run default when no REDIS_URL is set. One process only; it is
// not shared between instances and forgets everything on restart.

import { randomUUID } from 'node:crypto';
import type { Clock } from '../../clock';
import type {
  HeldLock,
  LockOptions,
  LockResult,
  StoreRef,
  VerificationRecord,
  VerificationStore,
} from '../store';
import type { MemoryRateLimiter } from './limiter';

interface Entry<T> {
  value: T;
  expiresAt: number;
}

export class MemoryVerificationStore implements VerificationStore {
  private readonly records = new Map<string, Entry<VerificationRecord>>();
  private readonly current = new Map<string, Entry<string>>();
  private readonly locks = new Map<string, Entry<string>>();
  /** By number, whatever the caller: the first caller whose start timed out, and when. */
  private readonly uncertain = new Map<string, Entry<{ caller: string; at: number }>>();
  /** When an in-flight request id without a record was first seen. */
  private readonly seen = new Map<string, Entry<number>>();
  private readonly intents = new Map<string, Entry<number>>();
  /** Which caller recorded each request id. */
  private readonly owners = new Map<string, Entry<string>>();

  constructor(
    private readonly clock: Clock,
    /** Where lock guards read their windows. */
    private readonly limiter?: MemoryRateLimiter,
  ) {}

  /** Forgets everything (the sandbox's reset). */
  clear(): void {
    for (const map of [this.records, this.current, this.locks, this.uncertain, this.owners]) map.clear();
  }

  async create(record: VerificationRecord, retainUntil: number, unlock?: HeldLock): Promise<boolean> {
    this.sweep();
    if (this.live(this.owners, record.requestId)) return false;
    this.owners.set(record.requestId, { value: record.caller, expiresAt: retainUntil });
    this.records.set(this.recordKey(record.caller, record.requestId), {
      value: { ...record },
      expiresAt: retainUntil,
    });
    const numberKey = this.numberKey(record.caller, record.phoneNumber);
    this.current.set(numberKey, { value: record.requestId, expiresAt: retainUntil });
    this.uncertain.delete(record.phoneNumber);
    this.intents.delete(numberKey);
    if (unlock) this.release(numberKey, unlock);
    return true;
  }

  async update(record: VerificationRecord, unlock?: HeldLock): Promise<void> {
    const key = this.recordKey(record.caller, record.requestId);
    const entry = this.live(this.records, key);
    if (entry) this.records.set(key, { value: { ...record }, expiresAt: entry.expiresAt });
    if (unlock) this.release(this.numberKey(record.caller, record.phoneNumber), unlock);
  }

  /** Lets the number's lock go with a write, if this token still holds it. */
  private release(numberKey: string, unlock: HeldLock): void {
    if (this.locks.get(numberKey)?.value === unlock.token) this.locks.delete(numberKey);
    unlock.released = true;
  }

  async findById(caller: string, requestId: string): Promise<VerificationRecord | undefined> {
    const entry = this.live(this.records, this.recordKey(caller, requestId));
    return entry ? { ...entry.value } : undefined;
  }

  async findByRequestId(requestId: string): Promise<VerificationRecord | undefined> {
    const owner = this.live(this.owners, requestId);
    return owner ? this.findById(owner.value, requestId) : undefined;
  }

  async locate(
    caller: string,
    ref: StoreRef,
  ): Promise<{ requestId: string; phoneNumber: string } | undefined> {
    const record =
      'requestId' in ref
        ? await this.findById(caller, ref.requestId)
        : await this.findCurrent(caller, ref.phoneNumber);
    return record ? { requestId: record.requestId, phoneNumber: record.phoneNumber } : undefined;
  }

  async findCurrent(caller: string, phoneNumber: string): Promise<VerificationRecord | undefined> {
    const pointer = this.live(this.current, this.numberKey(caller, phoneNumber));
    return pointer ? this.findById(caller, pointer.value) : undefined;
  }

  async get(
    caller: string,
    _phoneNumber: string,
    requestId: string,
  ): Promise<VerificationRecord | undefined> {
    return this.findById(caller, requestId);
  }

  async lock(
    caller: string,
    phoneNumber: string,
    ttlMs: number,
    options: LockOptions = {},
  ): Promise<LockResult> {
    const { guard, read } = options;
    const limitedForMs = guard && this.limiter ? this.limiter.waitMs(guard.subject, guard.rule) : 0;
    if (limitedForMs > 0) return { limitedForMs };
    const key = this.numberKey(caller, phoneNumber);
    if (this.live(this.locks, key)) return { held: true };
    const token = randomUUID();
    this.locks.set(key, { value: token, expiresAt: this.clock.now() + ttlMs });
    // The window had room a moment ago and only lock holders take its slots: this cannot be refused.
    const decision =
      guard?.reserve && this.limiter ? await this.limiter.reserve(guard.subject, guard.rule) : undefined;
    const reservation = decision?.allowed ? { reservation: decision.reservation } : {};
    const record = read === undefined ? {} : { record: await this.findById(caller, read) };
    return { token, ...reservation, ...record };
  }

  async unlock(caller: string, phoneNumber: string, token: string): Promise<void> {
    const key = this.numberKey(caller, phoneNumber);
    if (this.locks.get(key)?.value === token) this.locks.delete(key);
  }

  async noteUncertainStart(caller: string, phoneNumber: string, at: number, ttlMs: number): Promise<void> {
    if (this.live(this.uncertain, phoneNumber)) return;
    this.uncertain.set(phoneNumber, { value: { caller, at }, expiresAt: this.clock.now() + ttlMs });
  }

  async uncertainStartAt(caller: string, phoneNumber: string): Promise<number | undefined> {
    const note = this.live(this.uncertain, phoneNumber)?.value;
    return note?.caller === caller ? note.at : undefined;
  }

  async firstSeenInFlight(requestId: string, now: number, ttlMs: number): Promise<number> {
    const seen = this.live(this.seen, requestId);
    if (seen) return seen.value;
    this.seen.set(requestId, { value: now, expiresAt: now + ttlMs });
    return now;
  }

  async noteStartIntent(caller: string, phoneNumber: string, at: number, ttlMs: number): Promise<void> {
    const key = this.numberKey(caller, phoneNumber);
    const expiresAt = this.clock.now() + ttlMs;
    const earlier = this.live(this.intents, key);
    // A start whose outcome was lost: it becomes the number's uncertain-start note, if no one has one.
    if (earlier) await this.noteUncertainStart(caller, phoneNumber, earlier.value, ttlMs);
    this.intents.set(key, { value: at, expiresAt });
  }

  async clearStartIntent(caller: string, phoneNumber: string): Promise<void> {
    this.intents.delete(this.numberKey(caller, phoneNumber));
  }

  async ping(): Promise<void> {}

  private live<T>(map: Map<string, Entry<T>>, key: string): Entry<T> | undefined {
    const entry = map.get(key);
    if (entry && entry.expiresAt <= this.clock.now()) {
      map.delete(key);
      return undefined;
    }
    return entry;
  }

  /** Drops expired records now and then, so a long-running sandbox does not grow without bound. */
  private sweep(): void {
    if (this.records.size % 256 !== 0) return;
    const now = this.clock.now();
    for (const map of [
      this.records,
      this.current,
      this.locks,
      this.uncertain,
      this.intents,
      this.owners,
      this.seen,
    ] as Map<string, Entry<unknown>>[]) {
      for (const [key, entry] of map) if (entry.expiresAt <= now) map.delete(key);
    }
  }

  private recordKey(caller: string, requestId: string): string {
    return `${caller}\u0000${requestId}`;
  }

  private numberKey(caller: string, phoneNumber: string): string {
    return `${caller}\u0000${phoneNumber}`;
  }
}
