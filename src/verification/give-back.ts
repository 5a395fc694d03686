// Giving rate-limit slots back when the work they were taken for did not happen (a refused start, a
// call not made): best effort, one at a time, a failure only logged (the slot then ages out of its window).

import type { RateLimiter, Reservation } from '../store/limiter';
import type { CallContext } from './types';

export async function giveBack(
  limiter: RateLimiter,
  ctx: CallContext,
  taken: Reservation[],
  what = 'a rate-limit slot',
): Promise<void> {
  for (const reservation of taken) {
    await limiter.release(reservation).catch((error: unknown) => {
      ctx.log.warn({ err: error }, `could not give ${what} back`);
    });
  }
}
