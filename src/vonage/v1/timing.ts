// When Verify v1 delivers and when it ends a verification (docs/vonage-verify-v1-timing.md): the facts
// behind `expiresAt` and every `retryAfterSeconds`. Vonage keeps a request alive until its workflow has
// run out: the last delivery plus that delivery's wait, not `pin_expiry` after the start.

/** Deliveries of each workflow_id (1: SMS, voice, voice; ... 7: voice). */
const DELIVERIES: Readonly<Record<number, number>> = { 1: 3, 2: 3, 3: 2, 4: 2, 5: 2, 6: 1, 7: 1 };

/**
 * Seconds from each delivery to the next one (the last entry: to the end of the request). With
 * next_event_wait every wait is that value; without it Vonage documents 125, 180 and 300 s for workflows
 * 1 and 2, and the default 300 s wait elsewhere.
 */
export function v1DeliveryWaitsSeconds(workflowId: number, nextEventWait?: number): number[] {
  const deliveries = DELIVERIES[workflowId] ?? 3;
  if (nextEventWait !== undefined) return Array.from({ length: deliveries }, () => nextEventWait);
  if (workflowId === 1 || workflowId === 2) return [125, 180, 300];
  return Array.from({ length: deliveries }, () => 300);
}
