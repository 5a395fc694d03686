// Refusals (401 and 429) come in floods: a wrong key retried in a loop, a number hammered past its
// limit. Writing a completion line for each one cost about as much as answering it (docs/perf-profile.md),
// so above debug level they are folded: per status, at most one line a second. The first refusal after
// a quiet second has its own completion line; the ones after it are counted, and a timer writes the count
// a second after that line ("refusals folded", `folded: n`, the status in res.statusCode). When the timer
// runs late, the count rides on the next completion line of that status instead. Never silent: every
// refusal is a line or in a count, and the metrics (otp_http_requests_total) count each one. At debug
// level every refusal has its own line.

import type { Logger } from '../logger';

/** The statuses folded: refusals of callers, the ones floods are made of. */
const FOLDED_STATUSES = new Set([401, 429]);

interface StatusState {
  /** When the status's last line was written (ms). */
  lastAt: number;
  /** Refusals since then that have no line of their own. */
  folded: number;
  timer: NodeJS.Timeout | undefined;
}

export class RefusalLog {
  private readonly byStatus = new Map<number, StatusState>();

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs = 1_000,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Whether the completion line of an answer with `status` is written: undefined when it is folded into
   * a count, else how many refusals of that status were folded since its previous line (0 if none).
   */
  admit(status: number): number | undefined {
    if (!FOLDED_STATUSES.has(status) || this.logger.isLevelEnabled('debug')) return 0;
    const now = this.now();
    let state = this.byStatus.get(status);
    if (state === undefined) {
      state = { lastAt: Number.NEGATIVE_INFINITY, folded: 0, timer: undefined };
      this.byStatus.set(status, state);
    }
    if (now - state.lastAt >= this.intervalMs) {
      const folded = state.folded;
      state.folded = 0;
      state.lastAt = now;
      if (state.timer !== undefined) clearTimeout(state.timer);
      state.timer = undefined;
      return folded;
    }
    state.folded += 1;
    if (state.timer === undefined) {
      const timer = setTimeout(() => this.flush(status), state.lastAt + this.intervalMs - now);
      // A pending count does not keep the process alive; close() writes it at shutdown.
      timer.unref();
      state.timer = timer;
    }
    return undefined;
  }

  /** Writes every pending count now (at shutdown). */
  close(): void {
    for (const status of this.byStatus.keys()) this.flush(status);
  }

  private flush(status: number): void {
    const state = this.byStatus.get(status);
    if (state === undefined) return;
    if (state.timer !== undefined) clearTimeout(state.timer);
    state.timer = undefined;
    if (state.folded === 0) return;
    this.logger.info({ res: { statusCode: status }, folded: state.folded }, 'refusals folded');
    state.folded = 0;
    state.lastAt = this.now();
  }
}
