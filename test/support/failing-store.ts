// A VerificationStore over a real one that fails exactly where a test says: the next create() (the write
// right after Vonage started a verification) throws store_unavailable, optionally after running a hook
// (for example moving the virtual clock, as if the write had taken that long).

import { errors } from '../../src/errors';
import type {
  HeldLock,
  LockOptions,
  LockResult,
  StoreRef,
  VerificationRecord,
  VerificationStore,
} from '../../src/store/store';

export class FailingCreateStore implements VerificationStore {
  private armed: (() => void) | undefined;

  constructor(private readonly inner: VerificationStore) {}

  /** The next create() runs `before` and then fails; later ones go through. */
  failNextCreate(before: () => void = () => {}): void {
    this.armed = before;
  }

  async create(record: VerificationRecord, retainUntil: number, unlock?: HeldLock): Promise<boolean> {
    const before = this.armed;
    if (before) {
      this.armed = undefined;
      before();
      throw errors.storeUnavailable(new Error('injected: the store did not take the write'));
    }
    return this.inner.create(record, retainUntil, unlock);
  }

  update(record: VerificationRecord, unlock?: HeldLock): Promise<void> {
    return this.inner.update(record, unlock);
  }

  findById(caller: string, requestId: string): Promise<VerificationRecord | undefined> {
    return this.inner.findById(caller, requestId);
  }

  findByRequestId(requestId: string): Promise<VerificationRecord | undefined> {
    return this.inner.findByRequestId(requestId);
  }

  locate(caller: string, ref: StoreRef): Promise<{ requestId: string; phoneNumber: string } | undefined> {
    return this.inner.locate(caller, ref);
  }

  findCurrent(caller: string, phoneNumber: string): Promise<VerificationRecord | undefined> {
    return this.inner.findCurrent(caller, phoneNumber);
  }

  get(caller: string, phoneNumber: string, requestId: string): Promise<VerificationRecord | undefined> {
    return this.inner.get(caller, phoneNumber, requestId);
  }

  lock(caller: string, phoneNumber: string, ttlMs: number, options?: LockOptions): Promise<LockResult> {
    return this.inner.lock(caller, phoneNumber, ttlMs, options);
  }

  unlock(caller: string, phoneNumber: string, token: string): Promise<void> {
    return this.inner.unlock(caller, phoneNumber, token);
  }

  noteUncertainStart(caller: string, phoneNumber: string, at: number, ttlMs: number): Promise<void> {
    return this.inner.noteUncertainStart(caller, phoneNumber, at, ttlMs);
  }

  uncertainStartAt(caller: string, phoneNumber: string): Promise<number | undefined> {
    return this.inner.uncertainStartAt(caller, phoneNumber);
  }

  firstSeenInFlight(requestId: string, now: number, ttlMs: number): Promise<number> {
    return this.inner.firstSeenInFlight(requestId, now, ttlMs);
  }

  noteStartIntent(caller: string, phoneNumber: string, at: number, ttlMs: number): Promise<void> {
    return this.inner.noteStartIntent(caller, phoneNumber, at, ttlMs);
  }

  clearStartIntent(caller: string, phoneNumber: string): Promise<void> {
    return this.inner.clearStartIntent(caller, phoneNumber);
  }

  ping(): Promise<void> {
    return this.inner.ping();
  }
}
