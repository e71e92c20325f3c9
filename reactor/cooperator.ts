/**
 * Time-sliced iteration, as in Twisted's `twisted.internet.task.Cooperator`:
 * a {@linkcode Cooperator} steps many iterators a little at a time, so long
 * work leaves the event loop free for I/O; {@linkcode cooperate} and
 * {@linkcode coiterate} use a shared global one. Its tasks
 * ({@linkcode CooperativeTask}) can be paused, resumed and stopped, and
 * report how they ended with the scheduler errors defined here.
 *
 * @module
 */

import { Deferred } from "../deferred/deferred.ts";
import { Failure } from "../deferred/failure.ts";
import { Logger } from "../log/mod.ts";
import { globalClock } from "./global.ts";
import { isThenable } from "../deferred/_thenable.ts";

const log = new Logger("task");

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
      ((fn) => globalClock.callLater(0, fn));
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
