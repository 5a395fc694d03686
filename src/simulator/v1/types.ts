// Public types of the Verify v1 simulator (plus two tiny shared helpers), kept apart so the engine and the
// HTTP layer can share them without importing the simulator class, which imports both of them.

import type { Clock } from '../../clock';

/** The four Vonage Verify v1 operations; PSD2 start counts as 'start'. */
export type SimOperation = 'start' | 'check' | 'control' | 'search';

export const SIM_OPERATIONS = [
  'start',
  'check',
  'control',
  'search',
] as const satisfies readonly SimOperation[];

/** Infrastructure failures that make the SDK throw instead of returning a Vonage status. */
export type FaultMode = 'http500' | 'http401' | 'http429' | 'hang' | 'badJson' | 'reset' | 'noContentType';

export const FAULT_MODES = [
  'http500',
  'http401',
  'http429',
  'hang',
  'badJson',
  'reset',
  'noContentType',
] as const satisfies readonly FaultMode[];

export interface Fault {
  mode: FaultMode;
  /** Default: every operation. */
  operations?: SimOperation[];
  /** Default: until cleared with setFault(null). */
  times?: number;
  /**
   * Only for AFTER_WORK_MODES: Vonage does the work first (a code is started, checked, cancelled) and
   * then the answer is lost or unreadable (badJson), so the caller cannot tell whether it happened.
   * Default: the call fails before Vonage sees it.
   */
  afterWork?: boolean;
}

/** The faults that can come after Vonage has done the work (Fault.afterWork). */
export const AFTER_WORK_MODES: readonly FaultMode[] = ['hang', 'reset', 'badJson'];

export type Channel = 'sms' | 'tts';

export interface DeliveredMessage {
  requestId: string;
  /** Digits as received (after country formatting), no '+'. */
  number: string;
  channel: Channel;
  code: string;
  brand: string;
  text: string;
  /** ISO time on the simulator's clock. */
  at: string;
}

export interface SimulatorOptions {
  apiKey: string;
  apiSecret: string;
  clock?: Clock;
  /** Default 3: the 3rd wrong code for the current PIN returns 17. */
  maxWrongCodes?: number;
  /** Default off. Above this many calls per clock second for one api key, answer status 1 "Throttled". */
  throttlePerSecond?: number;
  /** Default false, as on a standard account: a `pin_code` parameter gets status 20. */
  pinCodeEnabled?: boolean;
  /**
   * Default 60 000: for this long after a verification ends, search answers status 101 "No response
   * found", as Vonage documents it can for up to about a minute after completion. 0 turns the lag off.
   */
  searchLagMs?: number;
}

export type VerificationStatus = 'IN PROGRESS' | 'SUCCESS' | 'FAILED' | 'EXPIRED' | 'CANCELLED';

export interface RequestState {
  status: VerificationStatus;
  number: string;
  eventsDelivered: number;
  createdAt: number;
}

export interface SimulatorStats {
  calls: Record<SimOperation, number>;
  verificationsStarted: number;
  /** TCP connections accepted so far. */
  connections: number;
}

type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/** A Verify v1 response body; `status` is always a string on the wire. */
export interface VonageBody {
  status: string;
  [key: string]: JsonValue;
}

/** A clock the simulator can move: VirtualClock, or any clock with the same advance(). */
export type AdvanceableClock = Clock & { advance(ms: number): void };

export function isAdvanceable(clock: Clock): clock is AdvanceableClock {
  return typeof (clock as { advance?: unknown }).advance === 'function';
}
