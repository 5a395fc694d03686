// Redis IdempotencyStore: one hash per caller's key (name in keys.ts, scripts in scripts.ts), shared by
// every instance and kept across restarts. Each step is one script, so two instances racing for a key
// cannot both hold it. A step that Redis cannot answer fails with store_unavailable.

import { randomUUID } from 'node:crypto';
import { errors } from '../../errors';
import type { IdempotencyBegin, IdempotencyStore, KeptResponse } from '../idempotency';
import type { RedisClient } from './client';
import type { RedisKeys } from './keys';
import { runScript } from './run-script';
import { IDEMPOTENCY_BEGIN, IDEMPOTENCY_COMPLETE, IDEMPOTENCY_RELEASE, IDEMPOTENCY_RENEW } from './scripts';

const ms = (value: number) => Math.max(1, Math.ceil(value));

function unavailable(cause: unknown): never {
  throw errors.storeUnavailable(cause);
}

const isOne = (answer: unknown) => Number(answer) === 1;
const nothing = () => undefined;

export class RedisIdempotencyStore implements IdempotencyStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  begin(caller: string, key: string, fingerprint: string, leaseMs: number): Promise<IdempotencyBegin> {
    const token = randomUUID();
    const name = this.keys.idempotency(caller, key);
    return runScript(this.redis, IDEMPOTENCY_BEGIN, [name], [fingerprint, token, ms(leaseMs)]).then(
      (answer): IdempotencyBegin => {
        const [state, found, kept, left] = answer as [string, string?, string?, number?];
        if (state === 'started') return { state: 'started', token };
        if (kept)
          return { state: 'done', fingerprint: found ?? '', response: JSON.parse(kept) as KeptResponse };
        return { state: 'running', fingerprint: found ?? '', leaseLeftMs: Math.max(0, Number(left ?? 0)) };
      },
      unavailable,
    );
  }

  renew(caller: string, key: string, token: string, leaseMs: number): Promise<boolean> {
    const name = this.keys.idempotency(caller, key);
    return runScript(this.redis, IDEMPOTENCY_RENEW, [name], [token, ms(leaseMs)]).then(isOne, unavailable);
  }

  complete(
    caller: string,
    key: string,
    token: string,
    response: KeptResponse,
    ttlMs: number,
  ): Promise<boolean> {
    const name = this.keys.idempotency(caller, key);
    const args = [token, JSON.stringify(response), ms(ttlMs)];
    return runScript(this.redis, IDEMPOTENCY_COMPLETE, [name], args).then(isOne, unavailable);
  }

  release(caller: string, key: string, token: string): Promise<void> {
    const name = this.keys.idempotency(caller, key);
    return runScript(this.redis, IDEMPOTENCY_RELEASE, [name], [token]).then(nothing, unavailable);
  }
}
