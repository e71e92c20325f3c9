/**
 * {@linkcode Deferred}: "I promise to return or fail". A Deferred holds a
 * chain of callback/errback pairs and runs it synchronously, the moment a
 * result arrives: each callback's return value (or thrown error, as a
 * {@linkcode Failure}) becomes the next one's input. A callback that returns
 * a Deferred or any thenable pauses the chain until that settles.
 *
 * The chain is walked by index, and chained Deferreds are processed
 * iteratively with an explicit stack, so neither a 100 000-callback chain
 * nor Deferreds nested 10 000 deep grows the call stack.
 *
 * @module
 */

import { Logger } from "../log/mod.ts";
import { AlreadyCalledError, CancelledError, TimeoutError } from "./errors.ts";
import { Failure, getDebugging } from "./failure.ts";

/**
 * The part of a reactor's time service that {@linkcode Deferred.addTimeout}
 * needs. Every `IReactorTime` (the reactor, `Clock`) satisfies it.
 */
export interface CallLaterClock {
  /** Schedules `fn` after `delay` seconds. */
  callLater(
    delay: number,
    fn: () => void,
  ): { cancel(): void; active(): boolean };
}

// deno-lint-ignore no-explicit-any
type AnyFn = (...args: any[]) => unknown;

/**
 * A callback type checked bivariantly (as methods are), so that a
 * `Deferred<number>` is usable where a `Deferred<unknown>` is expected, as a
 * `Promise<number>` is. Callers still get full inference for `result`.
 */
type Callback<In, A extends unknown[], Out> = {
  bivarianceHack(result: In, ...args: A): Out;
}["bivarianceHack"];

/** One link of the chain: what to call on success and on failure. */
interface Link {
  cb: AnyFn | typeof CONTINUE;
  cbArgs: readonly unknown[];
  eb: AnyFn | typeof CONTINUE;
  ebArgs: readonly unknown[];
}

const NO_ARGS: readonly unknown[] = Object.freeze([]);
/** Marks the link a chained Deferred leaves on the Deferred it waits on. */
const CONTINUE = Symbol("continue");
const passthru = (result: unknown): unknown => result;

const log = new Logger("deferred");

/** Failures handed to an awaiting Promise: no unhandled-error report. */
const observedFailures = new WeakSet<Failure>();

/**
 * Reports a failure left at the end of a collected Deferred's chain. The
 * held value is the Failure (and debug text), never the Deferred, so the
 * registry does not keep the Deferred alive.
 */
const unhandled = new FinalizationRegistry<
  { failure: Failure; debug?: string }
>(
  ({ failure, debug }) => {
    if (observedFailures.has(failure)) return;
    log.failure(
      "Unhandled error in Deferred:" + (debug ? "\n{debugInfo}" : ""),
      failure,
      "critical",
      debug ? { debugInfo: debug } : undefined,
    );
  },
);

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return value !== null &&
    (typeof value === "object" || typeof value === "function") &&
    typeof (value as { then?: unknown }).then === "function";
}

function stackHere(label: string): string {
  return (new Error(label).stack ?? "").split("\n").slice(3).join("\n");
}

/**
 * A result that will arrive later, with callbacks to run on it.
 *
 * - `callback(result)` / `errback(reason)` fire it, exactly once.
 * - `addCallback(fn, ...args)` runs `fn(result, ...args)` on success;
 *   `addErrback(fn, ...args)` runs `fn(failure, ...args)` on failure and
 *   recovers if `fn` returns normally; `addBoth` runs on either.
 * - Callbacks run synchronously, in order; one added to a fired Deferred
 *   runs at once.
 * - `await d` works: a success resolves, a failure rejects with
 *   `failure.value`.
 *
 * @typeParam T The type of the current result.
 *
 * @example The talk's first example: results flow down the chain
 * ```ts
 * import assert from "node:assert/strict";
 * import { Deferred } from "@twisted-deno/core/deferred";
 *
 * const seen: string[] = [];
 * const d = new Deferred<number>();
 * d.addCallback((n, extra: number) => n + extra, 1)
 *   .addCallback((n) => { throw new Error(`bad ${n}`); })
 *   .addErrback((f) => f.getErrorMessage())
 *   .addCallback((text) => { seen.push(text); });
 * assert.deepEqual(seen, []);
 * d.callback(41);
 * assert.deepEqual(seen, ["bad 42"]);
 * ```
 */
export class Deferred<T = unknown> implements PromiseLike<T> {
  #links: Link[] = [];
  #next = 0;
  #called = false;
  #paused = 0;
  #result: unknown = undefined;
  #running = false;
  #chainedTo: Deferred<unknown> | null = null;
  #canceller: Callback<Deferred<T>, [], void> | undefined;
  #suppressAlreadyCalled = false;
  #reported = false;
  #creationStack: string | undefined;
  #firingStack: string | undefined;

  /**
   * @param canceller Called by `cancel()` before the Deferred has a
   *   result; it should stop the work and may fire the Deferred itself.
   */
  constructor(canceller?: Callback<Deferred<T>, [], void>) {
    this.#canceller = canceller;
    if (getDebugging()) this.#creationStack = stackHere("Deferred created");
  }

  /** Whether `callback` or `errback` has been called. */
  get called(): boolean {
    return this.#called;
  }

  /** How many unmatched `pause()` calls (including waits on another Deferred). */
  get paused(): number {
    return this.#paused;
  }

  /**
   * Fires the success chain with `result`.
   *
   * @throws {AlreadyCalledError} When the Deferred already has a result.
   * @throws {TypeError} When `result` is a Deferred: return it from a
   *   callback instead.
   */
  callback(result: T): void {
    if (result instanceof Deferred) {
      throw new TypeError(
        "Cannot pass a Deferred to callback(): return it from a callback instead",
      );
    }
    this.#start(result);
  }

  /**
   * Fires the failure chain. A reason that is not a {@linkcode Failure} is
   * wrapped in one.
   *
   * @throws {AlreadyCalledError} When the Deferred already has a result.
   */
  errback(reason?: unknown): void {
    if (!(reason instanceof Failure)) {
      reason = new Failure(
        arguments.length === 0
          ? new Error("errback() was called without a reason")
          : reason,
      );
    }
    this.#start(reason);
  }

  #start(result: unknown): void {
    if (this.#called) {
      if (this.#suppressAlreadyCalled) {
        this.#suppressAlreadyCalled = false;
        return;
      }
      throw new AlreadyCalledError(this.#debugText());
    }
    if (getDebugging()) this.#firingStack = stackHere("Deferred fired");
    this.#called = true;
    this.#canceller = undefined; // never called after firing: drop the reference
    this.#result = result;
    this.#runCallbacks();
  }

  /**
   * Adds a callback and an errback at the same position in the chain.
   *
   * @param callback Called with the result and `callbackArgs` on success.
   * @param errback Called with the failure and `errbackArgs` on failure;
   *   failures pass through unchanged when omitted.
   * @returns This Deferred, retyped for the new result.
   */
  addCallbacks<R1, R2 = never>(
    callback: Callback<T, never[], R1> | null,
    errback?: Callback<Failure, never[], R2> | null,
    options?: { callbackArgs?: unknown[]; errbackArgs?: unknown[] },
  ): Deferred<Awaited<R1> | Awaited<R2>> {
    this.#add(
      (callback as AnyFn | null) ?? passthru,
      options?.callbackArgs ?? NO_ARGS,
      (errback as AnyFn | null | undefined) ?? passthru,
      options?.errbackArgs ?? NO_ARGS,
    );
    return this as unknown as Deferred<Awaited<R1> | Awaited<R2>>;
  }

  #add(
    cb: AnyFn,
    cbArgs: readonly unknown[],
    eb: AnyFn,
    ebArgs: readonly unknown[],
  ): void {
    this.#links.push({ cb, cbArgs, eb, ebArgs });
    if (this.#called) this.#runCallbacks();
  }

  /**
   * Adds `fn(result, ...args)` for success; failures pass it by.
   *
   * @returns This Deferred, whose result becomes what `fn` returns (awaited
   *   when it is a Deferred or thenable).
   */
  addCallback<R, A extends unknown[]>(
    fn: Callback<T, A, R>,
    ...args: A
  ): Deferred<Awaited<R>> {
    this.#add(fn as AnyFn, args, passthru, NO_ARGS);
    return this as unknown as Deferred<Awaited<R>>;
  }

  /**
   * Adds `fn(failure, ...args)` for failure; results pass it by. If `fn`
   * returns normally the chain recovers with its return value; to pass the
   * failure on, throw (or `failure.trap(...)`) or return the failure.
   *
   * @returns This Deferred.
   */
  addErrback<R, A extends unknown[]>(
    fn: (failure: Failure, ...args: A) => R,
    ...args: A
  ): Deferred<T | Exclude<Awaited<R>, Failure>> {
    this.#add(passthru, NO_ARGS, fn as AnyFn, args);
    return this as unknown as Deferred<T | Exclude<Awaited<R>, Failure>>;
  }

  /**
   * Adds `fn(resultOrFailure, ...args)` for both success and failure.
   *
   * @returns This Deferred.
   */
  addBoth<R, A extends unknown[]>(
    fn: Callback<T | Failure, A, R>,
    ...args: A
  ): Deferred<Exclude<Awaited<R>, Failure>> {
    this.#add(fn as AnyFn, args, fn as AnyFn, args);
    return this as unknown as Deferred<Exclude<Awaited<R>, Failure>>;
  }

  /**
   * Fails this Deferred with `TimeoutError` if it has no result after
   * `seconds`, by cancelling it (so its canceller runs and the callbacks
   * added before this call see `CancelledError`).
   *
   * @param seconds The timeout.
   * @param clock Where to schedule it: the reactor, or a test `Clock`.
   * @param onTimeoutCancel Replaces the default conversion: called with the
   *   result after a timeout and `seconds`; its return value is the result.
   * @returns This Deferred.
   */
  addTimeout(
    seconds: number,
    clock: CallLaterClock,
    onTimeoutCancel?: (result: unknown, timeout: number) => unknown,
  ): Deferred<T> {
    let timedOut = false;
    const call = clock.callLater(seconds, () => {
      timedOut = true;
      this.cancel();
    });
    this.addBoth((result) => {
      if (!timedOut) return result;
      if (onTimeoutCancel) return onTimeoutCancel(result, seconds);
      if (result instanceof Failure) {
        result.trap(CancelledError);
        throw new TimeoutError(seconds);
      }
      return result;
    });
    this.addBoth((result) => {
      if (call.active()) call.cancel();
      return result;
    });
    return this;
  }

  /**
   * Makes `d` fire with this Deferred's result at this point in the chain:
   * shorthand for `addCallbacks(d.callback, d.errback)`. The result here
   * becomes `undefined`; firing `d` does not affect this Deferred.
   *
   * @returns This Deferred.
   */
  chainDeferred(d: Deferred<T>): Deferred<T> {
    d.#chainedTo = this as Deferred<unknown>;
    return this.addCallbacks(
      (result: T) => d.callback(result),
      (failure: Failure) => d.errback(failure),
    ) as unknown as Deferred<T>;
  }

  /**
   * Cancels the work behind this Deferred. Before it has a result: calls
   * the canceller, then fails with `CancelledError` if the canceller did not
   * fire it (with no canceller, one later `callback`/`errback` is silently
   * ignored). While waiting on another Deferred: cancels that one.
   */
  cancel(): void {
    if (!this.#called) {
      const canceller = this.#canceller;
      if (canceller) canceller(this);
      else this.#suppressAlreadyCalled = true;
      if (!this.#called) this.errback(new Failure(new CancelledError()));
    } else if (this.#chainedTo !== null) {
      this.#chainedTo.cancel();
    }
  }

  /** Stops the chain from running until a matching `unpause()`. */
  pause(): void {
    this.#paused++;
  }

  /** Undoes one `pause()`; the chain runs on once none is left. */
  unpause(): void {
    this.#paused--;
    if (this.#paused > 0) return;
    if (this.#called) this.#runCallbacks();
  }

  /**
   * Bridges to `await`: a Promise of the result at this point in the
   * chain. The chain goes on unchanged, except that a failure handed to the
   * Promise is no longer reported as unhandled.
   */
  then<R1 = T, R2 = never>(
    onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.asPromise().then(onFulfilled, onRejected);
  }

  /**
   * A Promise that settles with this Deferred's result at this point in
   * the chain: `failure.value` on failure.
   */
  asPromise(): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#add(
        (result: T) => {
          resolve(result);
          return result;
        },
        NO_ARGS,
        (failure: Failure) => {
          observedFailures.add(failure);
          reject(failure.value);
          return failure;
        },
        NO_ARGS,
      );
    });
  }

  /**
   * A Deferred that fires when `promise` settles: with its value, or with a
   * Failure of its rejection reason.
   */
  static fromPromise<T>(promise: PromiseLike<T>): Deferred<T> {
    const d = new Deferred<T>();
    promise.then(
      (value) => d.callback(value),
      (reason) => d.errback(reason),
    );
    return d;
  }

  /** A description for debugging: `Deferred { current result: 3 }`. */
  toString(): string {
    if (this.#chainedTo !== null) return "Deferred { waiting on a Deferred }";
    if (!this.#called) return "Deferred { no result }";
    return `Deferred { current result: ${String(this.#result)} }`;
  }

  #debugText(): string {
    const parts: string[] = [];
    if (this.#creationStack) parts.push(`Created at:\n${this.#creationStack}`);
    if (this.#firingStack) parts.push(`First fired at:\n${this.#firingStack}`);
    return parts.join("\n");
  }

  /**
   * Runs as much of the chain as can run now. See the module doc: chained
   * Deferreds are handled with an explicit stack rather than recursion.
   */
  #runCallbacks(): void {
    if (this.#running) return; // already running above us: the loop sees new links
    const chain: Deferred<unknown>[] = [this as Deferred<unknown>];
    while (chain.length > 0) {
      const current = chain[chain.length - 1];
      if (current.#paused > 0) return; // waiting: whoever unpauses resumes
      let finished = true;
      current.#chainedTo = null;
      const links = current.#links;
      while (current.#next < links.length) {
        const link = links[current.#next];
        // Walk by index and drop the reference; a fully run list is reset below.
        links[current.#next++] = undefined as unknown as Link;
        const failed = current.#result instanceof Failure;
        const fn = failed ? link.eb : link.cb;
        if (fn === passthru) continue;
        if (fn === CONTINUE) {
          // Hand our result to the Deferred waiting on us, and take it up
          // next; we come back to this one once it is done.
          const chainee = link.cbArgs[0] as Deferred<unknown>;
          chainee.#result = current.#result;
          current.#result = undefined;
          current.#forget();
          chainee.#paused--;
          chain.push(chainee);
          finished = false;
          break;
        }
        current.#running = true;
        try {
          const args = failed ? link.ebArgs : link.cbArgs;
          current.#result = args.length === 0
            ? fn(current.#result)
            : fn(current.#result, ...args);
          if (current.#result === current) {
            throw new TypeError(
              "Callback returned the Deferred it was attached to: this would wait forever",
            );
          }
        } catch (error) {
          current.#result = error instanceof Failure
            ? error
            : new Failure(error);
        } finally {
          current.#running = false;
        }
        let inner = current.#result;
        if (
          inner === null ||
          typeof inner !== "object" && typeof inner !== "function"
        ) {
          continue;
        }
        if (!(inner instanceof Deferred)) {
          if (!isThenable(inner)) continue;
          inner = Deferred.fromPromise(inner);
        }
        const d = inner as Deferred<unknown>;
        if (!d.#called || d.#paused > 0 || d.#result instanceof Deferred) {
          // No result yet: pause and wait for it.
          current.#paused++;
          current.#chainedTo = d;
          current.#result = d;
          // d has no result, so it is not running its chain: append directly.
          d.#links.push({
            cb: CONTINUE,
            cbArgs: [current],
            eb: CONTINUE,
            ebArgs: NO_ARGS,
          });
          break; // finished: current is popped, and whatever is below it resumes
        }
        // It has a result: take it over; the inner Deferred keeps nothing.
        current.#result = d.#result;
        d.#result = undefined;
        d.#forget();
      }
      if (finished) {
        if (current.#next === links.length) {
          links.length = 0;
          current.#next = 0;
        }
        if (current.#result instanceof Failure) current.#remember();
        else current.#forget();
        chain.pop();
      }
    }
  }

  /** Arms the unhandled-error report for the failure this holds now. */
  #remember(): void {
    const failure = this.#result as Failure;
    if (observedFailures.has(failure)) return this.#forget();
    if (this.#reported) unhandled.unregister(this);
    unhandled.register(
      this,
      { failure, debug: this.#debugText() || undefined },
      this,
    );
    this.#reported = true;
  }

  /** Disarms the unhandled-error report. */
  #forget(): void {
    if (this.#reported) {
      unhandled.unregister(this);
      this.#reported = false;
    }
  }
}

/**
 * A Deferred that already succeeded with `value`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { succeed } from "@twisted-deno/core/deferred";
 *
 * let out = "";
 * succeed(1).addCallback((n) => String(n)).addCallback((s) => { out = s; });
 * assert.equal(out, "1");
 * ```
 */
export function succeed<T>(value: T): Deferred<T> {
  const d = new Deferred<T>();
  d.callback(value);
  return d;
}

/**
 * A Deferred that already failed with `reason` (wrapped in a Failure).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fail } from "@twisted-deno/core/deferred";
 *
 * let message = "";
 * fail(new Error("nope")).addErrback((f) => { message = f.getErrorMessage(); });
 * assert.equal(message, "nope");
 * ```
 */
export function fail<T = never>(reason?: unknown): Deferred<T> {
  const d = new Deferred<T>();
  if (arguments.length === 0) d.errback();
  else d.errback(reason);
  return d;
}

/**
 * Calls `fn(...args)` now and returns its outcome as a Deferred: its return
 * value, or the error it threw. Unlike {@linkcode maybeDeferred}, it does
 * not adapt a returned Deferred: that fails with a TypeError.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { execute } from "@twisted-deno/core/deferred";
 *
 * let got = 0;
 * execute((a: number, b: number) => a + b, 2, 3).addCallback((n) => { got = n; });
 * assert.equal(got, 5);
 * ```
 */
export function execute<R, A extends unknown[]>(
  fn: (...args: A) => R,
  ...args: A
): Deferred<R> {
  try {
    return succeed(fn(...args));
  } catch (error) {
    return fail<R>(error);
  }
}

/**
 * Calls `fn(...args)` and always gives a Deferred: the one it returned, a
 * thenable it returned (adapted), its plain return value, or the error it
 * threw, as a failed Deferred.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { maybeDeferred } from "@twisted-deno/core/deferred";
 *
 * let message = "";
 * maybeDeferred(() => { throw new Error("sync failure"); })
 *   .addErrback((f) => { message = f.getErrorMessage(); });
 * assert.equal(message, "sync failure");
 * ```
 */
export function maybeDeferred<R, A extends unknown[]>(
  fn: (...args: A) => R,
  ...args: A
): Deferred<Awaited<R>> {
  let result: R;
  try {
    result = fn(...args);
  } catch (error) {
    return fail(error);
  }
  if (result instanceof Deferred) return result as Deferred<Awaited<R>>;
  if (result instanceof Failure) return fail(result);
  if (isThenable(result)) {
    return Deferred.fromPromise(result as PromiseLike<Awaited<R>>);
  }
  return succeed(result as Awaited<R>);
}
