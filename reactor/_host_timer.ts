/**
 * The reactor's timed calls on the host: a {@linkcode TimerHeap} of
 * `DelayedCall`s with one host `setTimeout` armed for the earliest of
 * them. Due calls run in time order; a call scheduled while others run
 * waits for the next turn; an error a call throws (or a Promise it returns
 * rejects with) is logged, the others still run. The host timer keeps the
 * process alive only while `keepAlive` is on. Private to the reactor (not
 * exported from mod.ts).
 *
 * @module
 */

import { Failure } from "../deferred/failure.ts";
import type { Logger } from "../log/mod.ts";
import { DelayedCall, type DelayedCallOwner } from "./delayed_call.ts";
import { TimerHeap } from "./_timer_heap.ts";

/** The longest delay a host timer accepts (2^31 - 1 ms, about 24.8 days). */
export const MAX_TIMER_MS = 0x7fffffff;

/** The pending calls of one reactor and the host timer that runs them. */
export class HostTimer {
  #heap = new TimerHeap();
  #seq = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** When (in `seconds()`) the host timer fires; Infinity when unarmed. */
  #timerAt = Infinity;
  /**
   * Whether the host timer keeps the process alive: true until shutdown
   * completes (or `crash()`), true again on `run()`.
   */
  #keepAlive = true;
  #owner: DelayedCallOwner;
  #onTimer = (): void => {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    this.#runDueCalls();
  };

  /**
   * @param seconds The clock calls are timed by.
   * @param log Where errors of calls are reported.
   * @param afterTurn Runs after each turn of due calls.
   */
  constructor(
    readonly seconds: () => number,
    readonly log: Logger,
    readonly afterTurn: () => void,
  ) {
    this.#owner = {
      seconds,
      callCancelled: (call) => {
        this.#heap.remove(call);
        this.#arm();
      },
      callRescheduled: (call) => {
        this.#heap.update(call);
        this.#arm();
      },
    };
  }

  /** Schedules `fn(...args)` at `time` (in `seconds()`). */
  schedule(
    time: number,
    fn: (...args: never[]) => unknown,
    args: readonly unknown[],
  ): DelayedCall {
    const call = new DelayedCall(time, fn, args, this.#seq++, this.#owner);
    this.#heap.push(call);
    // Only a new earliest call can need the host timer moved.
    if (call.index === 0) this.#arm();
    return call;
  }

  /** Every pending call, in no particular order. */
  pending(): DelayedCall[] {
    return [...this.#heap.items];
  }

  /** Refs or unrefs the host timer, now and when it is re-armed. */
  setKeepAlive(on: boolean): void {
    this.#keepAlive = on;
    if (this.#timer === undefined) return;
    if (on) Deno.refTimer(this.#timer);
    else Deno.unrefTimer(this.#timer);
  }

  /**
   * Makes the host timer fire no later than the earliest call. A timer
   * armed earlier than needed (the earliest call was cancelled or moved
   * later) is left alone: it wakes, finds nothing due and re-arms, which is
   * cheaper than clearing and re-creating it on every change.
   */
  #arm(): void {
    const top = this.#heap.peek();
    if (top === undefined) {
      // Nothing pending: a stale timer must not keep the process alive.
      if (this.#timer !== undefined) {
        clearTimeout(this.#timer);
        this.#timer = undefined;
        this.#timerAt = Infinity;
      }
      return;
    }
    if (this.#timer !== undefined && this.#timerAt <= top.time) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    const now = this.seconds();
    // Round up: a timer that wakes a hair early only re-arms itself.
    const ms = Math.min(
      MAX_TIMER_MS,
      Math.max(0, Math.ceil((top.time - now) * 1000)),
    );
    this.#timer = setTimeout(this.#onTimer, ms);
    this.#timerAt = Math.min(top.time, now + ms / 1000);
    if (!this.#keepAlive) Deno.unrefTimer(this.#timer);
  }

  /** Runs every call due now, in (time, seq) order, then re-arms. */
  #runDueCalls(): void {
    const heap = this.#heap;
    const now = this.seconds();
    // Calls scheduled from here on wait for the next turn (see schedule).
    const limit = this.#seq;
    for (;;) {
      const call = heap.peek();
      if (call === undefined || call.time > now || call.seq >= limit) break;
      heap.pop();
      call.called = true;
      try {
        const result = call.invoke();
        if (result instanceof Promise) {
          result.catch((error) => this.#callFailed(call, error));
        }
      } catch (error) {
        this.#callFailed(call, error);
      }
    }
    this.#arm();
    this.afterTurn();
  }

  #callFailed(call: DelayedCall, error: unknown): void {
    const failure = new Failure(error);
    const fields = { call: String(call) };
    this.log.failure("Unhandled error in {call}", failure, "critical", fields);
  }
}
