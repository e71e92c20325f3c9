/**
 * Scheduling helpers on top of `callLater`, as in Twisted's
 * `twisted.internet.task`: {@linkcode LoopingCall} (call a function every
 * interval, never overlapping itself), {@linkcode deferLater} (a Deferred
 * that fires later), {@linkcode react} (run the reactor around one main
 * function and exit with its outcome) and {@linkcode Cooperator}
 * (time-sliced iteration that leaves the event loop free for I/O).
 *
 * Everything timed takes an `IReactorTime` (`clock`), so tests drive it
 * with the `Clock` of `@twisted-deno/core/testing` instead of real time.
 *
 * @module
 */

import { Deferred, maybeDeferred } from "../deferred/deferred.ts";
import { Failure } from "../deferred/failure.ts";
import { Logger } from "../log/mod.ts";
import { ReactorNotRunning } from "./errors.ts";
import type { IDelayedCall, IReactorTime } from "./interfaces.ts";
import { type DenoReactor, reactor as globalReactor } from "./reactor.ts";

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
  clock: IReactorTime = globalReactor;
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
  start(interval: number, now = true): Deferred<LoopingCall> {
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
export interface ReactOptions {
  /** The reactor to run (the global one by default). */
  reactor?: DenoReactor;
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
export async function react<A extends any[]>(
  main: (reactor: DenoReactor, ...argv: A) => unknown,
  argv?: A,
  options: ReactOptions = {},
): Promise<never> {
  const r = options.reactor ?? globalReactor;
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

// -------------------------------------------------------------- Cooperator

/**
 * A {@linkcode Cooperator} or one of its tasks was in the wrong state for
 * the operation. The base of the scheduler errors.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SchedulerError, TaskDone } from "@twisted-deno/core/reactor";
 *
 * assert.ok(new TaskDone() instanceof SchedulerError);
 * ```
 */
export class SchedulerError extends Error {
  /** The error class\'s name. */
  override readonly name: string = "SchedulerError";
}

/**
 * The Cooperator was stopped, so the task was stopped with it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SchedulerStopped } from "@twisted-deno/core/reactor";
 *
 * assert.match(new SchedulerStopped().message, /stopped/);
 * ```
 */
export class SchedulerStopped extends SchedulerError {
  /** The error class\'s name. */
  override readonly name: string = "SchedulerStopped";
  /**
   * Makes the error.
   *
   * @param message What went wrong (a default is provided).
   */
  constructor(message = "Cannot run the task: its Cooperator was stopped") {
    super(message);
  }
}

/**
 * The task has finished (done, stopped or failed) and cannot be changed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TaskFinished, TaskStopped } from "@twisted-deno/core/reactor";
 *
 * assert.ok(new TaskStopped() instanceof TaskFinished);
 * ```
 */
export class TaskFinished extends SchedulerError {
  /** The error class\'s name. */
  override readonly name: string = "TaskFinished";
}

/**
 * The task's iterator was exhausted.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TaskDone } from "@twisted-deno/core/reactor";
 *
 * assert.match(new TaskDone().message, /completed/);
 * ```
 */
export class TaskDone extends TaskFinished {
  /** The error class\'s name. */
  override readonly name: string = "TaskDone";
  /**
   * Makes the error.
   *
   * @param message What went wrong (a default is provided).
   */
  constructor(message = "Cannot change the task: it has completed") {
    super(message);
  }
}

/**
 * The task was stopped with `stop()`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TaskStopped } from "@twisted-deno/core/reactor";
 *
 * assert.match(new TaskStopped().message, /stopped/);
 * ```
 */
export class TaskStopped extends TaskFinished {
  /** The error class\'s name. */
  override readonly name: string = "TaskStopped";
  /**
   * Makes the error.
   *
   * @param message What went wrong (a default is provided).
   */
  constructor(message = "Cannot change the task: it was stopped") {
    super(message);
  }
}

/**
 * The task's iterator threw, or a Deferred it yielded failed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TaskFailed } from "@twisted-deno/core/reactor";
 *
 * assert.match(new TaskFailed().message, /failed/);
 * ```
 */
export class TaskFailed extends TaskFinished {
  /** The error class\'s name. */
  override readonly name: string = "TaskFailed";
  /**
   * Makes the error.
   *
   * @param message What went wrong (a default is provided).
   */
  constructor(message = "Cannot change the task: it failed") {
    super(message);
  }
}

/**
 * `resume()` was called on a task that is not paused.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NotPaused } from "@twisted-deno/core/reactor";
 *
 * assert.match(new NotPaused().message, /not paused/);
 * ```
 */
export class NotPaused extends SchedulerError {
  /** The error class\'s name. */
  override readonly name: string = "NotPaused";
  /**
   * Makes the error.
   *
   * @param message What went wrong (a default is provided).
   */
  constructor(message = "Cannot resume the task: it is not paused") {
    super(message);
  }
}

type Completion = "done" | "stopped" | "failed";

// Module-private access between Cooperator and CooperativeTask, set in
// their static blocks, so these hooks are not part of the public API.
let addTask: (coop: Cooperator, task: CooperativeTask<unknown>) => void;
let removeTask: (coop: Cooperator, task: CooperativeTask<unknown>) => void;
let stepTask: (task: CooperativeTask<unknown>) => void;
let abandonTask: (task: CooperativeTask<unknown>) => void;

function completionError(state: Completion): TaskFinished {
  if (state === "done") return new TaskDone();
  if (state === "stopped") return new TaskStopped();
  return new TaskFailed();
}

function toIterator<T>(source: Iterator<T> | Iterable<T>): Iterator<T> {
  const iterable = source as Partial<Iterable<T>>;
  if (typeof iterable[Symbol.iterator] === "function") {
    return iterable[Symbol.iterator]!();
  }
  if (typeof (source as Partial<Iterator<T>>).next === "function") {
    return source as Iterator<T>;
  }
  throw new TypeError(
    `Cannot cooperate on ${String(source)}: it is not an iterator`,
  );
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null &&
    (typeof value === "object" || typeof value === "function") &&
    typeof (value as { then?: unknown }).then === "function";
}

/**
 * A task of a {@linkcode Cooperator}: an iterator stepped a little at a
 * time. Make one with `cooperate()`.
 *
 * @example Pause, resume, wait
 * ```ts
 * import assert from "node:assert/strict";
 * import { Cooperator } from "@twisted-deno/core/reactor";
 * import { Clock, successResultOf } from "@twisted-deno/core/testing";
 *
 * const clock = new Clock();
 * const coop = new Cooperator({ scheduler: (f) => clock.callLater(0, f) });
 * const seen: number[] = [];
 * const task = coop.cooperate((function* () {
 *   for (let i = 0; i < 3; i++) yield seen.push(i);
 * })());
 * task.pause();
 * clock.advance(0);
 * assert.deepEqual(seen, []);
 * task.resume();
 * const done = task.whenDone();
 * clock.advance(0);
 * assert.deepEqual(seen, [0, 1, 2]);
 * successResultOf(done);
 * ```
 */
export class CooperativeTask<T = unknown> {
  #iterator: Iterator<T>;
  #cooperator: Cooperator;
  #waiting: Deferred<Iterator<T>>[] = [];
  #pauseCount = 0;
  #completion: Completion | null = null;
  #result: Iterator<T> | Failure | undefined;

  /** @internal Use {@linkcode Cooperator.cooperate}. */
  constructor(iterator: Iterator<T>, cooperator: Cooperator) {
    this.#iterator = iterator;
    this.#cooperator = cooperator;
    addTask(cooperator, this);
  }

  static {
    stepTask = (task) => task.#oneWorkUnit();
    abandonTask = (task) =>
      task.#completeWith("stopped", new Failure(new SchedulerStopped()), false);
  }

  /**
   * A Deferred that fires with the iterator once it is exhausted, or fails
   * with the iterator's error, TaskStopped or SchedulerStopped.
   *
   * @returns A new Deferred (each call gets its own).
   */
  whenDone(): Deferred<Iterator<T>> {
    const d = new Deferred<Iterator<T>>();
    if (this.#completion === null) this.#waiting.push(d);
    else this.#fire(d, this.#result!);
    return d;
  }

  /**
   * Stops stepping the iterator until `resume()`; pauses nest.
   *
   * @throws {TaskFinished} When the task has finished.
   */
  pause(): void {
    this.#checkFinished();
    this.#pauseCount++;
    if (this.#pauseCount === 1) removeTask(this.#cooperator, this);
  }

  /**
   * Undoes one `pause()`; the last one puts the task back to work.
   *
   * @throws {NotPaused} When the task is not paused.
   */
  resume(): void {
    if (this.#pauseCount === 0) throw new NotPaused();
    this.#pauseCount--;
    if (this.#pauseCount === 0 && this.#completion === null) {
      addTask(this.#cooperator, this);
    }
  }

  /**
   * Stops the task for good: `whenDone()` Deferreds fail with TaskStopped.
   *
   * @throws {TaskFinished} When the task has already finished.
   */
  stop(): void {
    this.#checkFinished();
    this.#completeWith("stopped", new Failure(new TaskStopped()));
  }

  /** Performs one step of the iterator. */
  #oneWorkUnit(): void {
    let step: IteratorResult<T>;
    try {
      step = this.#iterator.next();
    } catch (error) {
      this.#completeWith("failed", new Failure(error));
      return;
    }
    if (step.done) {
      this.#completeWith("done", this.#iterator);
      return;
    }
    const value: unknown = step.value;
    if (value instanceof Deferred || isThenable(value)) {
      // Wait for it: no step until it fires; a failure ends the task.
      this.pause();
      const d = value instanceof Deferred ? value : Deferred.fromPromise(value);
      d.addCallbacks(
        () => this.resume(),
        (failure: Failure) => {
          if (this.#completion !== null) return failure; // stopped meanwhile
          this.#completeWith("failed", failure);
          return undefined;
        },
      );
    }
  }

  #checkFinished(): void {
    if (this.#completion !== null) throw completionError(this.#completion);
  }

  #completeWith(
    state: Completion,
    result: Iterator<T> | Failure,
    removeFromCooperator = true,
  ): void {
    this.#completion = state;
    this.#result = result;
    // Leave the Cooperator before firing: a callback may stop it or
    // another of its tasks.
    if (removeFromCooperator && this.#pauseCount === 0) {
      removeTask(this.#cooperator, this);
    }
    const waiting = this.#waiting;
    this.#waiting = [];
    if (state === "failed" && waiting.length === 0) {
      log.failure("Unhandled error in a cooperative task", result as Failure);
    }
    for (const d of waiting) this.#fire(d, result);
  }

  #fire(d: Deferred<Iterator<T>>, result: Iterator<T> | Failure): void {
    if (result instanceof Failure) d.errback(result);
    else d.callback(result);
  }
}

/**
 * Options of {@linkcode Cooperator}.
 *
 * @example One step per slice, slices run by hand
 * ```ts
 * import assert from "node:assert/strict";
 * import { Cooperator, type CooperatorOptions } from "@twisted-deno/core/reactor";
 *
 * const slices: (() => void)[] = [];
 * const options: CooperatorOptions = {
 *   terminationPredicateFactory: () => () => true,
 *   scheduler: (fn) => {
 *     slices.push(fn);
 *     return { cancel() {} };
 *   },
 * };
 * const done = new Cooperator(options).coiterate(["a", "b"]);
 * let turns = 0;
 * while (slices.length > 0) {
 *   slices.shift()!();
 *   turns++;
 * }
 * assert.equal(turns, 3); // two steps, then the one that finds the end
 * assert.equal(done.called, true);
 * ```
 */
export interface CooperatorOptions {
  /**
   * Makes, at the start of each time slice, a predicate that says when the
   * slice is over. By default a slice lasts 10 ms.
   */
  terminationPredicateFactory?: () => () => boolean;
  /**
   * Schedules the next slice (by default `reactor.callLater(0, fn)` on the
   * global reactor: a turn of the event loop, so I/O runs between slices).
   */
  scheduler?: (fn: () => void) => { cancel(): void };
  /** Step tasks as soon as they are added (default), or after `start()`. */
  started?: boolean;
}

/** The default time slice: 10 ms of work, then yield to the event loop. */
function tenMilliseconds(): () => boolean {
  const end = performance.now() + 10;
  return () => performance.now() >= end;
}

/**
 * Runs iterators a step at a time, round-robin, in slices: each slice
 * steps tasks until the termination predicate says stop, then the next
 * slice is scheduled, leaving the event loop free for I/O in between. A
 * step that yields a Deferred (or Promise) pauses its task until that
 * fires. Use the shared one through {@linkcode cooperate} and
 * {@linkcode coiterate}; make one to control scheduling (or for tests).
 *
 * @example On a test clock: one slice a second, three steps per slice
 * ```ts
 * import assert from "node:assert/strict";
 * import { Cooperator } from "@twisted-deno/core/reactor";
 * import { Clock, successResultOf } from "@twisted-deno/core/testing";
 *
 * const clock = new Clock();
 * const coop = new Cooperator({
 *   scheduler: (f) => clock.callLater(1, f),
 *   terminationPredicateFactory: () => {
 *     let steps = 0;
 *     return () => ++steps >= 3;
 *   },
 * });
 * const seen: string[] = [];
 * function* steps(name: string, count: number) {
 *   for (let i = 1; i <= count; i++) yield seen.push(`${name}${i}`);
 * }
 * const a = coop.coiterate(steps("a", 3));
 * const b = coop.coiterate(steps("b", 2));
 * clock.advance(1); // one slice: three steps, taking turns
 * assert.deepEqual(seen, ["a1", "b1", "a2"]);
 * clock.advance(1);
 * assert.deepEqual(seen, ["a1", "b1", "a2", "b2", "a3"]);
 * clock.advance(1); // the step that finds each iterator exhausted
 * successResultOf(a);
 * successResultOf(b);
 * ```
 */
export class Cooperator {
  #tasks: CooperativeTask<unknown>[] = [];
  /** The next task, round-robin, across slices. */
  #cursor = 0;
  #terminationPredicateFactory: () => () => boolean;
  #scheduler: (fn: () => void) => { cancel(): void };
  #delayedCall: { cancel(): void } | null = null;
  #stopped = false;
  #started: boolean;
  #mustScheduleOnStart = false;
  #tick = (): void => {
    this.#delayedCall = null;
    const terminated = this.#terminationPredicateFactory();
    slice: while (this.#tasks.length > 0) {
      while (this.#cursor < this.#tasks.length) {
        const task = this.#tasks[this.#cursor++];
        stepTask(task);
        if (terminated()) break slice;
      }
      this.#cursor = 0;
    }
    this.#reschedule();
  };

  /**
   * Makes a Cooperator.
   *
   * @param options How slices are timed and scheduled.
   */
  constructor(options: CooperatorOptions = {}) {
    this.#terminationPredicateFactory = options.terminationPredicateFactory ??
      tenMilliseconds;
    this.#scheduler = options.scheduler ??
      ((fn) => globalReactor.callLater(0, fn));
    this.#started = options.started ?? true;
  }

  /** Whether the Cooperator is started and not stopped. */
  get running(): boolean {
    return this.#started && !this.#stopped;
  }

  /**
   * Adds an iterator as a task.
   *
   * @param iterator The work: each step does a little.
   * @returns A Deferred that fires with the iterator when it is exhausted.
   */
  coiterate<T>(
    iterator: Iterator<T> | Iterable<T>,
  ): Deferred<Iterator<T>> {
    return this.cooperate(iterator).whenDone();
  }

  /**
   * Adds an iterator as a task.
   *
   * @param iterator The work: each step does a little.
   * @returns The task, to pause, resume, stop or wait for.
   */
  cooperate<T>(iterator: Iterator<T> | Iterable<T>): CooperativeTask<T> {
    return new CooperativeTask(toIterator(iterator), this);
  }

  /** Begins stepping tasks (when made with `started: false`). */
  start(): void {
    this.#stopped = false;
    this.#started = true;
    if (this.#mustScheduleOnStart) {
      this.#mustScheduleOnStart = false;
      this.#reschedule();
    }
  }

  /**
   * Stops stepping: every task's `whenDone()` fails with SchedulerStopped,
   * and tasks added later fail the same way.
   */
  stop(): void {
    this.#stopped = true;
    const tasks = this.#tasks;
    this.#tasks = [];
    this.#cursor = 0;
    for (const task of tasks) abandonTask(task);
    if (this.#delayedCall !== null) {
      this.#delayedCall.cancel();
      this.#delayedCall = null;
    }
  }

  static {
    addTask = (coop, task) => coop.#addTask(task);
    removeTask = (coop, task) => coop.#removeTask(task);
  }

  /** A task became runnable. */
  #addTask(task: CooperativeTask<unknown>): void {
    if (this.#stopped) {
      abandonTask(task);
      return;
    }
    this.#tasks.push(task);
    this.#reschedule();
  }

  /** A task paused or finished. */
  #removeTask(task: CooperativeTask<unknown>): void {
    const i = this.#tasks.indexOf(task);
    if (i === -1) return;
    this.#tasks.splice(i, 1);
    if (i < this.#cursor) this.#cursor--; // keep the round-robin fair
    if (this.#tasks.length === 0 && this.#delayedCall !== null) {
      this.#delayedCall.cancel();
      this.#delayedCall = null;
    }
  }

  #reschedule(): void {
    if (!this.#started) {
      this.#mustScheduleOnStart = true;
      return;
    }
    if (this.#delayedCall === null && this.#tasks.length > 0) {
      this.#delayedCall = this.#scheduler(this.#tick);
    }
  }
}

let theCooperator: Cooperator | undefined;

/**
 * Runs `iterator` on the shared {@linkcode Cooperator}, alongside every
 * other task given to `cooperate` or `coiterate`, in 10 ms slices on the
 * global reactor.
 *
 * @param iterator The work.
 * @returns The task.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { cooperate } from "@twisted-deno/core/reactor";
 *
 * let sum = 0;
 * const task = cooperate((function* () {
 *   for (let i = 1; i <= 1000; i++) yield sum += i;
 * })());
 * await task.whenDone();
 * assert.equal(sum, 500500);
 * ```
 */
export function cooperate<T>(
  iterator: Iterator<T> | Iterable<T>,
): CooperativeTask<T> {
  theCooperator ??= new Cooperator();
  return theCooperator.cooperate(iterator);
}

/**
 * Like {@linkcode cooperate}, returning only the Deferred that fires when
 * the iterator is exhausted.
 *
 * @param iterator The work.
 * @returns A Deferred fired with the iterator.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { coiterate } from "@twisted-deno/core/reactor";
 *
 * const seen: number[] = [];
 * function* work() {
 *   for (let n = 1; n <= 3; n++) yield seen.push(n);
 * }
 * const done = coiterate(work());
 * assert.deepEqual(seen, []); // nothing runs until the next slice
 * await done;
 * assert.deepEqual(seen, [1, 2, 3]);
 * ```
 */
export function coiterate<T>(
  iterator: Iterator<T> | Iterable<T>,
): Deferred<Iterator<T>> {
  return cooperate(iterator).whenDone();
}
