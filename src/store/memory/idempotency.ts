// In-memory IdempotencyStore for sandbox mode: one process, forgotten on restart, expiring on the
// injected clock. Expired entries are swept as new keys arrive, so a long sandbox run stays bounded.

import { randomUUID } from 'node:crypto';
import type { Clock } from '../../clock';
import type { IdempotencyBegin, IdempotencyStore, KeptResponse } from '../idempotency';

interface Entry {
  fingerprint: string;
  token?: string;
  response?: KeptResponse;
  expiresAt: number;
}

const SWEEP_EVERY = 256;

export class MemoryIdempotencyStore implements IdempotencyStore {
  private readonly entries = new Map<string, Entry>();
  private begun = 0;

  constructor(private readonly clock: Clock) {}

  /** Forgets every kept answer (the sandbox's reset). */
  clear(): void {
    this.entries.clear();
  }

  async begin(caller: string, key: string, fingerprint: string, leaseMs: number): Promise<IdempotencyBegin> {
    this.sweep();
    const name = `${caller}\n${key}`;
    const entry = this.live(name);
    if (entry?.response) return { state: 'done', fingerprint: entry.fingerprint, response: entry.response };
    if (entry) {
      const leaseLeftMs = entry.expiresAt - this.clock.now();
      return { state: 'running', fingerprint: entry.fingerprint, leaseLeftMs };
    }
    const token = randomUUID();
    this.entries.set(name, { fingerprint, token, expiresAt: this.clock.now() + leaseMs });
    return { state: 'started', token };
  }

  async renew(caller: string, key: string, token: string, leaseMs: number): Promise<boolean> {
    const entry = this.held(caller, key, token);
    if (entry) entry.expiresAt = this.clock.now() + leaseMs;
    return entry !== undefined;
  }

  async complete(
    caller: string,
    key: string,
    token: string,
    response: KeptResponse,
    ttlMs: number,
  ): Promise<boolean> {
    const entry = this.held(caller, key, token);
    if (!entry) return false;
    delete entry.token;
    entry.response = response;
    entry.expiresAt = this.clock.now() + ttlMs;
    return true;
  }

  async release(caller: string, key: string, token: string): Promise<void> {
    if (this.held(caller, key, token)) this.entries.delete(`${caller}\n${key}`);
  }

  private held(caller: string, key: string, token: string): Entry | undefined {
    const entry = this.live(`${caller}\n${key}`);
    return entry?.token === token ? entry : undefined;
  }

  private live(name: string): Entry | undefined {
    const entry = this.entries.get(name);
    if (entry && entry.expiresAt <= this.clock.now()) {
      this.entries.delete(name);
      return undefined;
    }
    return entry;
  }

  private sweep(): void {
    this.begun += 1;
    if (this.begun % SWEEP_EVERY !== 0) return;
    const now = this.clock.now();
    for (const [name, entry] of this.entries) if (entry.expiresAt <= now) this.entries.delete(name);
  }
}
