// A Vonage call's budget is asked for while the store write it depends on (a start's intent, a call's
// unknown-outcome mark) is made (issue 17: one round trip instead of two). The call itself still waits
// for both: it is never made before the write is in, nor when the write fails, and a budget slot taken
// for a call that is not made is given back.

import { VirtualClock } from '../../src/clock';
import type { Limit } from '../../src/config';
import { createLogger } from '../../src/logger';
import { MemoryRateLimiter } from '../../src/store/memory/limiter';
import type { CallContext } from '../../src/verification/types';
import { VonageBudget } from '../../src/verification/vonage-budget';
import type { ControlOutcome, VerifyGateway } from '../../src/vonage/gateway';

const PER_CALLER: Limit = { rules: [{ count: 1, windowMs: 60_000, text: '1/1m' }], text: '1/1m' };

function setUp() {
  const clock = new VirtualClock(Date.UTC(2026, 0, 1));
  const limiter = new MemoryRateLimiter(clock);
  const calls: string[] = [];
  const gateway = {
    api: 'v1',
    languages: new Set<string>(),
    cancel: async (requestId: string): Promise<ControlOutcome> => {
      calls.push(requestId);
      return { kind: 'done' };
    },
  } as unknown as VerifyGateway;
  const budget = new VonageBudget(gateway, limiter, {
    callsPerCaller: PER_CALLER,
    maxRequestsPerSecond: 100,
  });
  const ctx: CallContext = { caller: 'alpha', log: createLogger('silent') };
  return { limiter, calls, budget, ctx };
}

test('the call waits for the write; then it is made, counted once', async () => {
  const { limiter, calls, budget, ctx } = setUp();
  let write = () => {};
  const written = new Promise<void>((resolve) => (write = resolve));
  const call = budget.for(ctx, written).cancel('r-1');
  await new Promise((resolve) => setImmediate(resolve));
  // The budget is taken already (both windows), the call not made.
  expect(limiter.size).toBe(2);
  expect(calls).toEqual([]);
  write();
  expect(await call).toEqual({ kind: 'done' });
  expect(calls).toEqual(['r-1']);
});

test("a write that fails: no call, the error is the write's, and the budget is given back", async () => {
  const { limiter, calls, budget, ctx } = setUp();
  const failed = Promise.reject(new Error('store_unavailable (injected)'));
  await expect(budget.for(ctx, failed).cancel('r-2')).rejects.toThrow(/injected/);
  expect(calls).toEqual([]);
  expect(limiter.size).toBe(0);
  // The caller's one call a minute is still there.
  expect(await budget.for(ctx, Promise.resolve()).cancel('r-3')).toEqual({ kind: 'done' });
  expect(calls).toEqual(['r-3']);
});

test('a budget that refuses: 429 once the write is in, and no call', async () => {
  const { calls, budget, ctx } = setUp();
  await budget.for(ctx).cancel('r-4');
  await expect(budget.for(ctx, Promise.resolve()).cancel('r-5')).rejects.toMatchObject({ status: 429 });
  expect(calls).toEqual(['r-4']);
});
