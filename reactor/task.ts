/**
 * Scheduling helpers on top of `callLater`, as in Twisted's
 * `twisted.internet.task`: {@linkcode LoopingCall} (call a function every
 * interval, never overlapping itself), {@linkcode deferLater} (a Deferred
 * that fires later) and {@linkcode react} (run the reactor around one main
 * function and exit with its outcome). Time-sliced iteration
 * (`Cooperator`) lives in `cooperator.ts`.
 *
 * Everything timed takes an `IReactorTime` (`clock`), so tests drive it
 * with the `Clock` of `@twisted-deno/core/testing` instead of real time.
 *
 * @module
 */

import { Deferred } from "../deferred/deferred.ts";
import { maybeDeferred } from "../deferred/helpers.ts";
import { Failure } from "../deferred/failure.ts";
import { Logger } from "../log/mod.ts";
import { ReactorNotRunning } from "./errors.ts";
import type { IDelayedCall, IReactorTime } from "./interfaces.ts";
import { getGlobalReactor, globalClock, type IReactor } from "./global.ts";

const log = new Logger("task");

// ------------------------------------------------------------ LoopingCall

/**
 * Calls a function every `interval` seconds. A call that returns a Deferred
 * (or Promise) is waited for before the next one is scheduled; a call that
 * throws, or whose Deferred fails, stops the loop and fails the Deferred
 * `start()` returned. When calls run late (the function ran long, or the
 * loop was blocked), missed intervals are skipped: the next call is at the
 * next interval boundary still in the future, counted from `start()`.
 *
 * @example Tick three times on a test clock, then stop
 * ```ts
 * import assert from "node:assert/strict";
 * import { LoopingCall } from "@twisted-deno/core/reactor";
 * import { Clock, successResultOf } from "@twisted-deno/core/testing";
 *
 * const clock = new Clock();
 * const ticks: number[] = [];
 * const loop = new LoopingCall(() => ticks.push(clock.seconds()));
 * loop.clock = clock;
 * const done = loop.start(1); // calls now, then every second
 * clock.pump([1, 1]);
 * loop.stop();
 * assert.deepEqual(ticks, [0, 1, 2]);
 * assert.equal(successResultOf(done), loop);
 * ```
 */
export class LoopingCall {
  /** The clock to schedule on: the global reactor unless set (before `start`). */
  clock: IReactorTime = globalClock;
  /** The interval in seconds, once started. May be changed while running. */
  interval: number | undefined = undefined;
  #fn: (...args: unknown[]) => unknown;
  #args: unknown[];
  #running = false;
  #call: IDelayedCall | null = null;
  #deferred: Deferred<LoopingCall> | null = null;
  #startTime = 0;
  #runAtStart = false;
  /** withCount: when the count was last handed out. */
  #realLastTime: number | undefined = undefined;

  /**
   * Makes a loop (not started: see `start()`).
   *
   * @param fn The function to call each interval.
   * @param args Its arguments.
   */
  constructor(fn: (...args: never[]) => unknown, ...args: unknown[]) {
    if (typeof fn !== "function") {
      throw new TypeError(
        `Cannot make a LoopingCall: ${String(fn)} is not a function`,
      );
    }
    this.#fn = fn as (...args: unknown[]) => unknown;
    this.#args = args;
  }

  /**
   * A LoopingCall that passes `fn` the number of intervals elapsed since
   * its previous call: normally 1, more when calls were skipped. It is not
   * called at all when no whole interval has passed; with an interval of 0
   * the count is always 1.
   *
   * @param fn Called with the count.
   * @returns The LoopingCall (not started).
   *
   * @example Count skipped intervals
   * ```ts
   * import assert from "node:assert/strict";
   * import { LoopingCall } from "@twisted-deno/core/reactor";
   * import { Clock } from "@twisted-deno/core/testing";
   *
   * const clock = new Clock();
   * const counts: number[] = [];
   * const loop = LoopingCall.withCount((n) => counts.push(n));
   * loop.clock = clock;
   * loop.start(1);
   * clock.advance(3); // two calls were due meanwhile: one call, count 3
   * loop.stop();
   * assert.deepEqual(counts, [1, 3]);
   * ```
   */
  static withCount(fn: (count: number) => unknown): LoopingCall {
    const loop: LoopingCall = new LoopingCall(() => loop.#counted(fn));
    return loop;
  }

  /**
   * Whether the loop is started: true from `start()` until `stop()` or a
   * failure. It is false by the time `start()`'s Deferred fires.
   */
  get running(): boolean {
    return this.#running;
  }

  /**
   * Starts calling the function every `interval` seconds.
   *
   * @param interval Seconds between calls, `>= 0` (0: as fast as the clock
   *   turns, one call per turn).
   * @param now Call the function right away (default), else first after
   *   `interval`.
   * @returns A Deferred fired with this LoopingCall when `stop()` takes
   *   effect, or failed with the error of a call.
   * @throws {Error} When the loop is already running.
   * @throws {RangeError} When `interval` is negative or not a number.
   *
   * @example A failing call stops the loop
   * ```ts
   * import assert from "node:assert/strict";
   * import { LoopingCall } from "@twisted-deno/core/reactor";
   * import { Clock, failureResultOf } from "@twisted-deno/core/testing";
   *
   * const clock = new Clock();
   * let n = 0;
   * const loop = new LoopingCall(() => {
   *   if (++n === 2) throw new RangeError("second call fails");
   * });
   * loop.clock = clock;
   * const done = loop.start(5);
   * clock.advance(5);
   * assert.equal(failureResultOf(done, RangeError).getErrorMessage(), "second call fails");
   * assert.equal(loop.running, false);
   * assert.deepEqual(clock.getDelayedCalls(), []);
   * ```
   */
  start(interval: number, now?: boolean): Deferred<LoopingCall> {
    now ??= true;
    if (this.#running) {
      throw new Error("Cannot start the LoopingCall: it is already running");
    }
    if (!(interval >= 0)) {
      throw new RangeError(
        `Cannot start the LoopingCall with interval ${interval}: it must be a number of seconds >= 0`,
      );
    }
    this.#running = true;
    // A call made by start() may fail and clear #deferred: keep our own.
    const deferred = this.#deferred = new Deferred<LoopingCall>();
    this.#startTime = this.clock.seconds();
    this.interval = interval;
    this.#runAtStart = now;
    this.#realLastTime = undefined;
    if (now) this.#run();
    else this.#scheduleFrom(this.#startTime);
    return deferred;
  }

  /**
   * Stops the loop. If no call is in progress, `start()`'s Deferred fires
   * now; otherwise it fires when the current call (and any Deferred it
   * returned) has finished.
   *
   * @throws {Error} When the loop is not running.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { LoopingCall } from "@twisted-deno/core/reactor";
   * import { Clock } from "@twisted-deno/core/testing";
   *
   * const clock = new Clock();
   * const loop = new LoopingCall(() => {});
   * loop.clock = clock;
   * loop.start(10, false);
   * loop.stop();
   * assert.deepEqual(clock.getDelayedCalls(), []);
   * assert.throws(() => loop.stop(), /not running/);
   * ```
   */
  stop(): void {
    if (!this.#running) {
      throw new Error("Cannot stop the LoopingCall: it is not running");
    }
    this.#running = false;
    if (this.#call !== null) {
      this.#call.cancel();
      this.#call = null;
      this.#finish();
    }
  }

  /**
   * Skips the pending call and restarts the interval from now (intervals
   * are then counted from this moment). Does nothing to a call in progress.
   *
   * @throws {Error} When the loop is not running.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { LoopingCall } from "@twisted-deno/core/reactor";
   * import { Clock } from "@twisted-deno/core/testing";
   *
   * const clock = new Clock();
   * let calls = 0;
   * const loop = new LoopingCall(() => calls++);
   * loop.clock = clock;
   * loop.start(2, false);
   * clock.advance(1);
   * loop.reset(); // next call at 3, not 2
   * clock.advance(1);
   * assert.equal(calls, 0);
   * clock.advance(1);
   * assert.equal(calls, 1);
   * loop.stop();
   * ```
   */
  reset(): void {
    if (!this.#running) {
      throw new Error("Cannot reset the LoopingCall: it is not running");
    }
    if (this.#call !== null) {
      this.#call.cancel();
      this.#call = null;
      this.#startTime = this.clock.seconds();
      this.#scheduleFrom(this.#startTime);
    }
  }

  /** A description for debugging: `LoopingCall<2>(poll)`. */
  toString(): string {
    return `LoopingCall<${this.interval}>(${this.#fn.name || "anonymous"})`;
  }

  #run(): void {
    this.#call = null;
    maybeDeferred(this.#fn, ...this.#args)
      .addCallback(() => {
        if (this.#running) this.#scheduleFrom(this.clock.seconds());
        else this.#finish();
      })
      .addErrback((failure: Failure) => {
        this.#running = false;
        const deferred = this.#deferred;
        this.#deferred = null;
        deferred?.errback(failure);
      });
  }

  #finish(): void {
    const deferred = this.#deferred;
    this.#deferred = null;
    deferred?.callback(this);
  }

  /** Schedules the next call at the next interval boundary after `when`. */
  #scheduleFrom(when: number): void {
    const interval = this.interval!;
    let delay = 0;
    if (interval !== 0) {
      const runningFor = when - this.#startTime;
      delay = interval - (runningFor % interval);
      // A remainder too small to move `when` means we are on a boundary:
      // that call is now, not in the future, so take the next one.
      if (when === when + delay) delay = interval;
    }
    this.#call = this.clock.callLater(delay, () => this.#run());
  }

  #counted(fn: (count: number) => unknown): unknown {
    const now = this.clock.seconds();
    const interval = this.interval!;
    if (interval === 0) {
      this.#realLastTime = now;
      return fn(1);
    }
    let last = this.#realLastTime;
    if (last === undefined) {
      // The first call: as if the previous one were at start (or one
      // interval before it, when start() calls at once).
      last = this.#startTime;
      if (this.#runAtStart) last -= interval;
    }
    const count = this.#intervalOf(now, interval) -
      this.#intervalOf(last, interval);
    if (count > 0) {
      this.#realLastTime = now;
      return fn(count);
    }
    return undefined;
  }

  #intervalOf(t: number, interval: number): number {
    return Math.trunc((t - this.#startTime) / interval);
  }
}

// ------------------------------------------------------------- deferLater

/**
 * A Deferred that fires `seconds` from now with the result of
 * `fn(...args)` (or `undefined` without `fn`); an error `fn` throws fails
 * it, a Deferred or Promise it returns is waited for. Cancelling the
 * Deferred before then cancels the delayed call and fails it with
 * `CancelledError`.
 *
 * @param clock What schedules the call: the reactor, or a `Clock`.
 * @param seconds The delay.
 * @param fn What to call then (optional).
 * @param args Its arguments.
 * @returns The Deferred.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { deferLater } from "@twisted-deno/core/reactor";
 * import { CancelledError } from "@twisted-deno/core/deferred";
 * import { Clock, failureResultOf, successResultOf } from "@twisted-deno/core/testing";
 *
 * const clock = new Clock();
 * const d = deferLater(clock, 3, (a: number, b: number) => a + b, 1, 2);
 * clock.advance(3);
 * assert.equal(successResultOf(d), 3);
 *
 * const cancelled = deferLater(clock, 3);
 * cancelled.cancel();
 * failureResultOf(cancelled, CancelledError);
 * assert.deepEqual(clock.getDelayedCalls(), []);
 * ```
 */
// deno-lint-ignore no-explicit-any
export function deferLater<R = undefined, A extends any[] = []>(
  clock: IReactorTime,
  seconds: number,
  fn?: (...args: A) => R,
  ...args: A
): Deferred<Awaited<R>> {
  // The canceller only runs once `call` is set (cancel() comes later).
  const fired = new Deferred<void>(() => call.cancel());
  const call = clock.callLater(seconds, () => fired.callback(undefined));
  return fired.addCallback(
    () => (fn === undefined ? undefined : fn(...args)) as R,
  ) as unknown as Deferred<Awaited<R>>;
}

// ------------------------------------------------------------------ react

/**
 * Options of {@linkcode react}, mostly for testing it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DenoReactor, type ReactOptions } from "@twisted-deno/core/reactor";
 *
 * const codes: number[] = [];
 * const options: ReactOptions = {
 *   reactor: new DenoReactor(),
 *   exit: (code) => codes.push(code),
 * };
 * assert.ok(options.reactor instanceof DenoReactor);
 * ```
 */
export interface ReactOptions<R extends IReactor = IReactor> {
  /** The reactor to run (the global one by default). */
  reactor?: R;
  /** Ends the process with a status code (`Deno.exit` by default). */
  exit?: (code: number) => void;
}

/**
 * Runs the reactor around `main(reactor, ...argv)` and exits: the reactor
 * stops (once) when the Deferred or Promise `main` returns settles, and the
 * process exits with 0 on success or 1 on failure (the failure is logged).
 * If something else stops the reactor first (SIGINT), the exit code is 0
 * unless `main` fails before shutdown completes. The way to write a client
 * or a one-off task.
 *
 * @param main The program: gets the reactor and `argv`.
 * @param argv Arguments for `main`.
 * @param options The reactor, and the exit function, to use.
 * @returns A Promise that never settles: the process exits (with an
 *   injected `exit` that returns, it stays pending).
 *
 * @example With an injected exit and a private reactor
 * ```ts
 * import assert from "node:assert/strict";
 * import { DenoReactor, deferLater, react } from "@twisted-deno/core/reactor";
 *
 * const exited = Promise.withResolvers<number>();
 * react(
 *   (r: DenoReactor, name: string) => deferLater(r, 0, () => `hello ${name}`),
 *   ["world"],
 *   { reactor: new DenoReactor(), exit: exited.resolve },
 * );
 * assert.equal(await exited.promise, 0);
 * ```
 */
// deno-lint-ignore no-explicit-any
export async function react<A extends any[], R extends IReactor = IReactor>(
  main: (reactor: R, ...argv: A) => unknown,
  argv?: A,
  options?: ReactOptions<R>,
): Promise<never> {
  options ??= {};
  const r = options.reactor ?? (getGlobalReactor() as R);
  const exit = options.exit ?? ((code: number) => Deno.exit(code));
  let code = 0;
  let stopping = false;
  r.addSystemEventTrigger("before", "shutdown", () => {
    stopping = true;
  });
  const record = (outcome: unknown): void => {
    if (outcome instanceof Failure) {
      log.failure("main function encountered error", outcome);
      code = 1;
    }
  };
  const stopWith = (outcome: unknown): void => {
    try {
      r.stop();
    } catch (error) {
      if (!(error instanceof ReactorNotRunning)) throw error;
    }
    record(outcome);
  };
  maybeDeferred(main, r, ...(argv ?? ([] as unknown as A))).addBoth(
    (outcome: unknown) => {
      if (stopping) record(outcome);
      else r.callWhenRunning(stopWith, outcome);
      return undefined; // handled: logged above
    },
  );
  await r.run();
  exit(code);
  return await new Promise<never>(() => {});
}
