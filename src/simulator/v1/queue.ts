// Time-ordered queue of the simulator's pending events (deliveries, expiries), so a large clock jump
// replays them in the order they would have happened, in O(log n) each even with many verifications.

export interface Due {
  at: number;
  requestId: string;
  /** The verification's schedule version when queued; a mismatch later means the entry is stale. */
  version: number;
}

interface Entry extends Due {
  seq: number;
}

/** Binary min-heap on (at, insertion order). */
export class DueQueue {
  private heap: Entry[] = [];
  private seq = 0;

  get size(): number {
    return this.heap.length;
  }

  push(due: Due): void {
    this.heap.push({ ...due, seq: this.seq++ });
    this.up(this.heap.length - 1);
  }

  /** Removes and returns the earliest entry if it is due at or before `now`. */
  popDue(now: number): Due | undefined {
    const top = this.heap[0];
    if (top === undefined || top.at > now) return undefined;
    const last = this.heap.pop();
    if (last !== undefined && this.heap.length > 0) {
      this.heap[0] = last;
      this.down(0);
    }
    return { at: top.at, requestId: top.requestId, version: top.version };
  }

  clear(): void {
    this.heap = [];
  }

  private before(a: number, b: number): boolean {
    const x = this.heap[a];
    const y = this.heap[b];
    if (x === undefined || y === undefined) return false;
    return x.at < y.at || (x.at === y.at && x.seq < y.seq);
  }

  private swap(a: number, b: number): void {
    const x = this.heap[a];
    const y = this.heap[b];
    if (x === undefined || y === undefined) return;
    this.heap[a] = y;
    this.heap[b] = x;
  }

  private up(index: number): void {
    let i = index;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.before(i, parent)) return;
      this.swap(i, parent);
      i = parent;
    }
  }

  private down(index: number): void {
    let i = index;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < this.heap.length && this.before(left, smallest)) smallest = left;
      if (right < this.heap.length && this.before(right, smallest)) smallest = right;
      if (smallest === i) return;
      this.swap(i, smallest);
      i = smallest;
    }
  }
}
