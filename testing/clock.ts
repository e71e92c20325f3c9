/**
 * {@linkcode Clock}: a deterministic `IReactorTime` for tests. Time moves
 * only when the test calls `advance()`, so timed code is tested without
 * sleeping or racing real timers.
 *
 * @module
 */

import {
  checkCallLater,
  DelayedCall,
  type DelayedCallOwner,
} from "../reactor/delayed_call.ts";
import type { IDelayedCall, IReactorTime } from "../reactor/interfaces.ts";

/**
 * A fake clock. `callLater` queues calls; `advance(seconds)` moves time and
 * runs what is due, in time order (FIFO at equal times). An error thrown by
 * a call propagates out of `advance`, so the test sees it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Clock } from "@twisted-deno/core/testing";
 *
 * const clock = new Clock();
 * const fired: string[] = [];
 * clock.callLater(2, (what: string) => fired.push(what), "two");
 * clock.callLater(1, (what: string) => fired.push(what), "one");
 * clock.advance(1.5);
 * assert.deepEqual(fired, ["one"]);
 * clock.advance(1);
 * assert.deepEqual(fired, ["one", "two"]);
 * assert.equal(clock.seconds(), 2.5);
 * ```
 */
export class Clock implements IReactorTime, DelayedCallOwner {
  /** The current time. */
  rightNow = 0;
  /** Pending calls, sorted by time (then scheduling order). */
  readonly calls: DelayedCall[] = [];
  #seq = 0;

  /** The current time in seconds (starts at 0). */
  seconds(): number {
    return this.rightNow;
  }

  /**
   * Schedules `fn(...args)` `delay` seconds from now.
   *
   * @throws {TypeError} When `fn` is not a function.
   * @throws {RangeError} When `delay` is negative or not a number, as the
   *   reactor's `callLater` does.
   */
  // deno-lint-ignore no-explicit-any
  callLater<A extends any[]>(
    delay: number,
    fn: (...args: A) => unknown,
    ...args: A
  ): IDelayedCall {
    checkCallLater(delay, fn);
    const call = new DelayedCall(
      this.rightNow + delay,
      fn as (...args: never[]) => unknown,
      args,
      this.#seq++,
      this,
    );
    this.#insert(call);
    return call;
  }

  /** Every pending call. */
  getDelayedCalls(): IDelayedCall[] {
    return [...this.calls];
  }

  /**
   * Moves time forward by `amount` seconds, running every call now due, in
   * time order; a call scheduled for now by a running call runs too.
   *
   * @throws {RangeError} When `amount` is negative or not a number.
   */
  advance(amount: number): void {
    if (!(amount >= 0)) {
      throw new RangeError(
        `Cannot advance the clock by ${amount}: time only moves forward`,
      );
    }
    this.rightNow += amount;
    while (this.calls.length > 0 && this.calls[0].time <= this.rightNow) {
      const call = this.calls.shift()!;
      call.index = -1;
      call.called = true;
      call.invoke();
    }
  }

  /** Advances by each amount in turn, as in Twisted's `Clock.pump`. */
  pump(timings: Iterable<number>): void {
    for (const amount of timings) this.advance(amount);
  }

  /** @internal Part of {@linkcode DelayedCallOwner}. */
  callCancelled(call: DelayedCall): void {
    const i = this.calls.indexOf(call);
    if (i !== -1) this.calls.splice(i, 1);
  }

  /** @internal Part of {@linkcode DelayedCallOwner}. */
  callRescheduled(call: DelayedCall): void {
    this.callCancelled(call);
    this.#insert(call);
  }

  #insert(call: DelayedCall): void {
    // Binary search for the first call that runs strictly later.
    let lo = 0;
    let hi = this.calls.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const other = this.calls[mid];
      if (
        other.time < call.time ||
        (other.time === call.time && other.seq < call.seq)
      ) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    this.calls.splice(lo, 0, call);
  }
}
