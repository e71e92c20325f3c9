/**
 * {@linkcode DelayedCall}: the handle `callLater` returns. It is shared by
 * the reactor's timer heap and the test `Clock`; each owner re-keys its
 * queue through the two hooks it passes in.
 *
 * @module
 */

import { AlreadyCalled, AlreadyCancelled } from "./errors.ts";
import type { IDelayedCall } from "./interfaces.ts";

/** How a {@linkcode DelayedCall} tells its scheduler it changed. */
export interface DelayedCallOwner {
  /** The current time, in the owner's seconds. */
  seconds(): number;
  /** The call was cancelled: drop it from the queue. */
  callCancelled(call: DelayedCall): void;
  /** The call's time changed: re-key it. */
  callRescheduled(call: DelayedCall): void;
}

/**
 * A scheduled call. `time` is when it runs; `seq` orders calls due at the
 * same time (FIFO); `index` is the owner's bookkeeping (a heap slot).
 *
 * @example Through a test clock
 * ```ts
 * import assert from "node:assert/strict";
 * import { Clock } from "@twisted-deno/core/testing";
 *
 * const clock = new Clock();
 * const call = clock.callLater(5, () => {});
 * call.delay(2);
 * assert.equal(call.getTime(), 7);
 * call.cancel();
 * assert.equal(call.active(), false);
 * ```
 */
export class DelayedCall implements IDelayedCall {
  /** When the call runs. */
  time: number;
  /** Tie-breaker for equal times: lower runs first. */
  seq: number;
  /** The owner's bookkeeping slot (the heap index), -1 when not queued. */
  index: number = -1;
  /** Whether it has run. */
  called = false;
  /** Whether it was cancelled. */
  cancelled = false;

  /**
   * Makes a call; owners (the reactor, `Clock`) do this in `callLater`.
   *
   * @param time When to run, in the owner's seconds.
   * @param func What to call.
   * @param args Its arguments.
   * @param seq Tie-breaker for equal times.
   * @param owner The scheduler to notify.
   */
  constructor(
    time: number,
    readonly func: (...args: never[]) => unknown,
    readonly args: readonly unknown[],
    seq: number,
    readonly owner: DelayedCallOwner,
  ) {
    this.time = time;
    this.seq = seq;
  }

  /** When the call will run. */
  getTime(): number {
    return this.time;
  }

  /** Whether it has neither run nor been cancelled. */
  active(): boolean {
    return !this.called && !this.cancelled;
  }

  #checkActive(): void {
    if (this.cancelled) throw new AlreadyCancelled();
    if (this.called) throw new AlreadyCalled();
  }

  /**
   * Prevents the call from running.
   * @throws {AlreadyCalled} When it already ran.
   * @throws {AlreadyCancelled} When it was already cancelled.
   */
  cancel(): void {
    this.#checkActive();
    this.cancelled = true;
    this.owner.callCancelled(this);
  }

  /** Moves the call by `seconds` (later for a positive value). */
  delay(seconds: number): void {
    this.#checkActive();
    this.time += seconds;
    this.owner.callRescheduled(this);
  }

  /** Makes the call run `seconds` from now. */
  reset(seconds: number): void {
    this.#checkActive();
    this.time = this.owner.seconds() + seconds;
    this.owner.callRescheduled(this);
  }

  /** Runs the function (the owner marks `called` first). */
  invoke(): unknown {
    return (this.func as (...args: unknown[]) => unknown)(...this.args);
  }

  /** A description for debugging. */
  toString(): string {
    const state = this.cancelled
      ? "cancelled"
      : this.called
      ? "called"
      : `at ${this.time}`;
    return `DelayedCall { ${this.func.name || "anonymous"} ${state} }`;
  }
}

/**
 * Checks `callLater`'s arguments, for every scheduler (the reactor and the
 * test `Clock`) to reject bad input the same way.
 *
 * @param delay Seconds from now: a number >= 0.
 * @param fn The function to call.
 * @throws {TypeError} When `fn` is not a function.
 * @throws {RangeError} When `delay` is negative or not a number.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { checkCallLater } from "@twisted-deno/core/reactor";
 *
 * checkCallLater(0, () => {});
 * assert.throws(() => checkCallLater(-1, () => {}), RangeError);
 * assert.throws(() => checkCallLater(1, "later" as never), TypeError);
 * ```
 */
export function checkCallLater(delay: number, fn: unknown): void {
  if (typeof fn !== "function") {
    throw new TypeError(
      `Cannot schedule a call: ${String(fn)} is not a function`,
    );
  }
  if (!(delay >= 0)) {
    throw new RangeError(
      `Cannot schedule a call ${delay} seconds from now: the delay must be a number of seconds >= 0`,
    );
  }
}
