// The reactor's queue of delayed calls: a binary min-heap keyed by
// (time, seq), so the earliest call is always at the root and calls due at the
// same time come out in the order they were scheduled. Each call records its
// slot in `index`, so cancelling or re-timing a call anywhere in the heap is
// O(log n): no search, no re-sort. Private to the reactor (not exported from
// mod.ts).

import type { DelayedCall } from "./delayed_call.ts";

function runsBefore(a: DelayedCall, b: DelayedCall): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}

/** A binary min-heap of {@linkcode DelayedCall}s, maintaining `call.index`. */
export class TimerHeap {
  /** The calls, in heap order (not sorted): `items[0]` runs first. */
  readonly items: DelayedCall[] = [];

  /** How many calls are queued. */
  get size(): number {
    return this.items.length;
  }

  /** The call that runs first, if any. */
  peek(): DelayedCall | undefined {
    return this.items[0];
  }

  /** Queues `call`. */
  push(call: DelayedCall): void {
    const items = this.items;
    call.index = items.length;
    items.push(call);
    this.#up(call.index);
  }

  /** Removes and returns the call that runs first. */
  pop(): DelayedCall | undefined {
    const items = this.items;
    const top = items[0];
    if (top === undefined) return undefined;
    const last = items.pop()!;
    if (last !== top) {
      items[0] = last;
      last.index = 0;
      this.#down(0);
    }
    top.index = -1;
    return top;
  }

  /** Removes `call` from wherever it sits; a call not queued is ignored. */
  remove(call: DelayedCall): void {
    const items = this.items;
    const i = call.index;
    if (i < 0 || items[i] !== call) return;
    const last = items.pop()!;
    call.index = -1;
    if (last === call) return; // it was the last slot
    items[i] = last;
    last.index = i;
    this.#fix(i);
  }

  /** Restores heap order after `call.time` changed. */
  update(call: DelayedCall): void {
    const i = call.index;
    if (i < 0 || this.items[i] !== call) {
      this.push(call);
      return;
    }
    this.#fix(i);
  }

  #fix(i: number): void {
    // A slot's new key is either smaller than its parent's (move up) or
    // possibly larger than a child's (move down), never both.
    if (i > 0 && runsBefore(this.items[i], this.items[(i - 1) >> 1])) {
      this.#up(i);
    } else {
      this.#down(i);
    }
  }

  #up(i: number): void {
    const items = this.items;
    const call = items[i];
    while (i > 0) {
      const parentIndex = (i - 1) >> 1;
      const parent = items[parentIndex];
      if (!runsBefore(call, parent)) break;
      items[i] = parent;
      parent.index = i;
      i = parentIndex;
    }
    items[i] = call;
    call.index = i;
  }

  #down(i: number): void {
    const items = this.items;
    const n = items.length;
    const call = items[i];
    for (;;) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      const child = right < n && runsBefore(items[right], items[left])
        ? right
        : left;
      if (!runsBefore(items[child], call)) break;
      items[i] = items[child];
      items[i].index = i;
      i = child;
    }
    items[i] = call;
    call.index = i;
  }
}
