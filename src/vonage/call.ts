// One observed call to Vonage, shared by every gateway version: run it (once more when the connection was
// refused and the call sends nothing to a phone), map its answer to an outcome or an ApiError, map what
// the SDK threw, and report the outcome and duration.

import { ApiError } from '../errors';
import type { CallObserver, VonageOperation } from './gateway';
import { isConnectionRefused, mapThrown } from './thrown';

export type Mapped<T> = T | ApiError;

export async function observedCall<B, T extends { kind: string }>(
  observe: CallObserver,
  operation: VonageOperation,
  retryRefused: boolean,
  send: () => Promise<B>,
  map: (body: B) => Mapped<T>,
): Promise<T> {
  const started = performance.now();
  let outcome = 'error';
  try {
    let body: B;
    try {
      body = await send();
    } catch (error) {
      if (!(retryRefused && isConnectionRefused(error))) throw error;
      body = await send();
    }
    const mapped = map(body);
    if (mapped instanceof ApiError) {
      outcome = mapped.code;
      throw mapped;
    }
    outcome = mapped.kind;
    return mapped;
  } catch (error) {
    if (error instanceof ApiError) throw error;
    const apiError = mapThrown(error);
    outcome = apiError.code;
    throw apiError;
  } finally {
    observe(operation, outcome, (performance.now() - started) / 1000);
  }
}
