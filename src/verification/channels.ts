// Channels: how a code reaches the phone, in the contract's words, and Verify v1's seven workflows as
// channel lists (the same lists Verify v2 is sent for a workflowId). Knows no Vonage wire format.

export const CHANNELS = ['sms', 'voice', 'whatsapp', 'silent_auth'] as const;
export type Channel = (typeof CHANNELS)[number];

/** Verify v1's seven workflows (docs/vonage-verify-v2.md, "v1 workflow_id"); v1 "TTS" is `voice`. */
export const WORKFLOWS: Readonly<Record<number, readonly Channel[]>> = {
  1: ['sms', 'voice', 'voice'],
  2: ['sms', 'sms', 'voice'],
  3: ['voice', 'voice'],
  4: ['sms', 'sms'],
  5: ['sms', 'voice'],
  6: ['sms'],
  7: ['voice'],
};

/** The workflows by their channel lists ("sms,voice,voice" → 1), built once: asked on every request-token. */
const WORKFLOW_BY_CHANNELS: ReadonlyMap<string, number> = new Map(
  Object.entries(WORKFLOWS).map(([id, list]) => [list.join(','), Number(id)]),
);

/** The v1 workflow that sends exactly these channels, if there is one. */
export function workflowIdFor(channels: readonly Channel[]): number | undefined {
  return WORKFLOW_BY_CHANNELS.get(channels.join(','));
}

/** The channels a request asked for: its own list, or its (or the default) workflow's. */
export function resolveChannels(
  asked: { channels?: Channel[] | undefined; workflowId?: number | undefined },
  defaultWorkflowId: number,
): Channel[] {
  if (asked.channels) return [...asked.channels];
  return [...(WORKFLOWS[asked.workflowId ?? defaultWorkflowId] ?? WORKFLOWS[1] ?? [])];
}
