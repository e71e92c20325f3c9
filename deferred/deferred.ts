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

import {
  type AnyFn,
  type Extra,
  firedAgain,
  forget,
  Link,
  newExtra,
  NO_ARGS,
  notAFunction,
  remember,
  stackHere,
} from "./_chain.ts";
import { addTimeout, deferredOf, describe, promiseOf } from "./_bridges.ts";
import { thenOf } from "./_thenable.ts";
import type { CallLaterClock, DeferredCallback } from "./deferred_types.ts";
import { CancelledError } from "./errors.ts";
import { Failure, getDebugging } from "./failure.ts";

export type { CallLaterClock, DeferredCallback } from "./deferred_types.ts";

/**
 * A result that will arrive later, with callbacks to run on it.
 *
 * - `callback(result)` / `errback(reason)` fire it, exactly once.
 * - `addCallback(fn, ...args)` runs `fn(result, ...args)` on success;
 *   `addErrback(fn, ...args)` runs `fn(failure, ...args)` on failure and
 *   recovers if `fn` returns normally; `addBoth` runs on either.
 * - Callbacks run synchronously, in order; one added to a fired Deferred
 *   runs at once. One added by a running callback goes to the end of the
 *   chain and runs after the current one returns.
 * - A callback returning a Deferred (or any thenable) pauses this chain
 *   until that one has a result, which then becomes this chain's result
 *   (the returned Deferred is left holding `undefined`).
 * - `await d` works: a success resolves, a failure rejects with
 *   `failure.value`.
 * - A Deferred garbage-collected while its chain ends in a Failure logs
 *   "Unhandled error in Deferred" with the failure's traceback.
 *
 * Two intentional differences from Twisted: `callback(aDeferred)` throws
 * a TypeError, and a callback returning the very Deferred it is attached
 * to fails the chain with a TypeError rather than warning.
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
 *
 * @example Waiting on another Deferred
 * ```ts
 * import assert from "node:assert/strict";
 * import { Deferred } from "@twisted-deno/core/deferred";
 *
 * const inner = new Deferred<string>();
 * const outer = new Deferred<number>();
 * let seen = "";
 * outer.addCallback(() => inner).addCallback((s) => { seen = s; });
 * outer.callback(1);
 * assert.equal(seen, ""); // paused until inner fires
 * inner.callback("done");
 * assert.equal(seen, "done");
 * ```
 */
export class Deferred<T = unknown> implements PromiseLike<T> {
  #links: unknown[] = [];
  /** The next link to run. */
  #next = 0;
  /** The end of the chain: links are written here, not pushed. */
  #count = 0;
  #result: unknown = undefined;
  #called = false;
  #running = false;
  #paused = 0;
  #canceller: DeferredCallback<Deferred<T>, [], void> | undefined;
  /** Rarely used state, allocated when first needed: keeps the object small. */
  #extra: Extra | null = null;

  /**
   * Makes a Deferred without a result.
   *
   * @param canceller Called by `cancel()` before the Deferred has a
   *   result; it should stop the work and may fire the Deferred itself.
   */
  constructor(canceller?: DeferredCallback<Deferred<T>, [], void>) {
    this.#canceller = canceller;
    if (getDebugging()) this.#more().created = stackHere("created");
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
   * @param result The result.
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
   * wrapped in one; with no reason at all, the Failure wraps an Error
   * saying so.
   *
   * @param reason The error (or Failure).
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

  /** Appends a link, and runs it now if the result is already there. */
  #push(entry: unknown): void {
    this.#links[this.#count++] = entry;
    if (this.#called) this.#runCallbacks();
  }

  #start(result: unknown): void {
    if (this.#called) return firedAgain(this.#extra); // or dropped once
    if (this.#extra !== null || getDebugging()) this.#noteFiring();
    this.#called = true;
    this.#canceller = undefined; // never called after firing: drop the reference
    this.#result = result;
    this.#runCallbacks();
  }

  /** Firing: an explicit chain is resolved; debugging records the stack. */
  #noteFiring(): void {
    if (this.#extra !== null) this.#extra.chainedTo = null;
    if (getDebugging()) this.#more().fired = stackHere("fired");
  }

  /**
   * Adds a callback and an errback at the same position in the chain: the
   * errback does not see an error the callback throws.
   *
   * @param callback Called with the result and `callbackArgs` on success;
   *   results pass through unchanged when null.
   * @param errback Called with the failure and `errbackArgs` on failure;
   *   failures pass through unchanged when omitted.
   * @param options Extra arguments for each.
   * @returns This Deferred, retyped for the new result.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { fail } from "@twisted-deno/core/deferred";
   *
   * let got = "";
   * fail(new Error("x")).addCallbacks(
   *   () => "ok",
   *   (f, tag: string) => `${tag}: ${f.getErrorMessage()}`,
   *   { errbackArgs: ["recovered"] },
   * ).addCallback((s) => { got = s; });
   * assert.equal(got, "recovered: x");
   * ```
   */
  addCallbacks<R1, R2 = never>(
    callback: DeferredCallback<T, never[], R1> | null,
    errback?: DeferredCallback<Failure, never[], R2> | null,
    options?: { callbackArgs?: unknown[]; errbackArgs?: unknown[] },
  ): Deferred<Awaited<R1> | Exclude<Awaited<R2>, Failure>> {
    if (callback !== null && typeof callback !== "function") {
      throw new TypeError(
        `Cannot add callbacks: callback ${String(callback)} is not a function`,
      );
    }
    if (
      errback !== null && errback !== undefined && typeof errback !== "function"
    ) {
      throw new TypeError(
        `Cannot add callbacks: errback ${String(errback)} is not a function`,
      );
    }
    this.#push(
      new Link(
        callback,
        errback ?? null,
        options?.callbackArgs ?? NO_ARGS,
        options?.errbackArgs ?? NO_ARGS,
      ),
    );
    return this as unknown as Deferred<
      Awaited<R1> | Exclude<Awaited<R2>, Failure>
    >;
  }

  /**
   * Adds `fn(result, ...args)` for success; failures pass it by.
   *
   * @param fn The callback.
   * @param args Extra arguments after the result.
   * @returns This Deferred, whose result becomes what `fn` returns (awaited
   *   when it is a Deferred or thenable).
   */
  addCallback<R, A extends unknown[]>(
    fn: DeferredCallback<T, A, R>,
    ...args: A
  ): Deferred<Awaited<R>> {
    if (typeof fn !== "function") notAFunction("addCallback", fn);
    if (!this.#called) {
      // No result yet, the usual case: just append.
      this.#links[this.#count++] = args.length === 0
        ? fn
        : new Link(fn as AnyFn, null, args, NO_ARGS);
    } else if (args.length === 0 && this.#next === this.#count) {
      this.#runNow(fn as AnyFn);
    } else {
      this.#push(
        args.length === 0 ? fn : new Link(fn as AnyFn, null, args, NO_ARGS),
      );
    }
    return this as unknown as Deferred<Awaited<R>>;
  }

  /**
   * addCallback() on a Deferred that has a result and nothing left to run:
   * calls `fn` at once without storing it, the usual way of reading a
   * result. Falls back to the chain for anything unusual.
   */
  #runNow(fn: AnyFn): void {
    let result = this.#result;
    if (this.#running || this.#paused > 0 || result instanceof Failure) {
      return this.#push(fn);
    }
    this.#running = true;
    try {
      result = fn(result);
    } catch (error) {
      result = error instanceof Failure ? error : new Failure(error);
    }
    this.#running = false;
    this.#result = result;
    if (
      (typeof result === "object" && result !== null) ||
      typeof result === "function"
    ) {
      this.#runChain(true); // maybe a Deferred, a thenable or a Failure
    } else if (this.#next < this.#count) {
      this.#runCallbacks(); // fn added callbacks: run them now
    } else if (this.#extra !== null) {
      this.#forget();
    }
  }

  /**
   * Adds `fn(failure, ...args)` for failure; results pass it by. If `fn`
   * returns normally the chain recovers with its return value; to pass the
   * failure on, throw (or `failure.trap(...)`) or return the failure.
   *
   * @param fn The errback.
   * @param args Extra arguments after the failure.
   * @returns This Deferred.
   *
   * @example Handle one kind of error, pass the others on
   * ```ts
   * import assert from "node:assert/strict";
   * import { fail } from "@twisted-deno/core/deferred";
   *
   * let value: unknown;
   * fail(new RangeError("too far"))
   *   .addErrback((f) => { f.trap(TypeError); return "typed"; })
   *   .addErrback((f) => { f.trap(RangeError); return "ranged"; })
   *   .addCallback((v) => { value = v; });
   * assert.equal(value, "ranged");
   * ```
   */
  addErrback<R, A extends unknown[]>(
    fn: (failure: Failure, ...args: A) => R,
    ...args: A
  ): Deferred<T | Exclude<Awaited<R>, Failure>> {
    if (typeof fn !== "function") notAFunction("addErrback", fn);
    this.#push(
      new Link(null, fn as AnyFn, NO_ARGS, args.length === 0 ? NO_ARGS : args),
    );
    return this as unknown as Deferred<T | Exclude<Awaited<R>, Failure>>;
  }

  /**
   * Adds `fn(resultOrFailure, ...args)` for both success and failure.
   *
   * @param fn Called with the result or the Failure.
   * @param args Extra arguments.
   * @returns This Deferred.
   */
  addBoth<R, A extends unknown[]>(
    fn: DeferredCallback<T | Failure, A, R>,
    ...args: A
  ): Deferred<Exclude<Awaited<R>, Failure>> {
    if (typeof fn !== "function") notAFunction("addBoth", fn);
    const a = args.length === 0 ? NO_ARGS : args;
    this.#push(new Link(fn as AnyFn, fn as AnyFn, a, a));
    return this as unknown as Deferred<Exclude<Awaited<R>, Failure>>;
  }

  /**
   * Fails this Deferred with {@linkcode TimeoutError} if it has no result
   * after `seconds`, by cancelling it: its canceller runs, and the
   * callbacks added before this call see a `CancelledError`, which is
   * turned into the `TimeoutError` at this point of the chain. If the
   * result arrives first, the timer is cancelled.
   *
   * @param seconds The timeout.
   * @param clock Where to schedule it: the reactor, or a test `Clock`.
   * @param onTimeoutCancel Replaces the conversion: called with the result
   *   at this point after a timeout, and `seconds`; its return value (or
   *   throw) is the result.
   * @returns This Deferred.
   *
   * @example With a test clock
   * ```ts
   * import assert from "node:assert/strict";
   * import { Deferred, TimeoutError } from "@twisted-deno/core/deferred";
   * import { Clock } from "@twisted-deno/core/testing";
   *
   * const clock = new Clock();
   * let reason: unknown;
   * new Deferred().addTimeout(10, clock).addErrback((f) => { reason = f.value; });
   * clock.advance(10);
   * assert.ok(reason instanceof TimeoutError);
   * ```
   */
  addTimeout(
    seconds: number,
    clock: CallLaterClock,
    onTimeoutCancel?: (result: unknown, timeout: number) => unknown,
  ): Deferred<T> {
    return addTimeout(this, seconds, clock, onTimeoutCancel);
  }

  /**
   * Makes `d` fire with this Deferred's result at this point in the chain:
   * shorthand for `addCallbacks((r) => d.callback(r), (f) => d.errback(f))`.
   * This chain's result then becomes `undefined` (a failure is handed on to
   * `d`, not kept here); firing `d` does not affect this Deferred.
   *
   * @param d The Deferred to fire.
   * @returns This Deferred, whose result is now `undefined`.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Deferred } from "@twisted-deno/core/deferred";
   *
   * const source = new Deferred<number>();
   * const target = new Deferred<number>();
   * let got = 0;
   * target.addCallback((n) => { got = n; });
   * source.chainDeferred(target);
   * source.callback(7);
   * assert.equal(got, 7);
   * ```
   */
  chainDeferred(d: Deferred<T>): Deferred<undefined> {
    if (!(d instanceof Deferred)) {
      throw new TypeError(
        `Cannot chain: ${String(d)} is not a Deferred`,
      );
    }
    d.#more().chainedTo = this as Deferred<unknown>;
    return this.addCallbacks(
      (result: T) => d.callback(result),
      (failure: Failure) => d.errback(failure),
    ) as Deferred<undefined>;
  }

  /**
   * Cancels the work behind this Deferred. Before it has a result: calls
   * the canceller, then fails with `CancelledError` if the canceller did not
   * fire it (with no canceller, one later `callback`/`errback` is silently
   * ignored). While waiting on a Deferred a callback returned: cancels that
   * one. After it has a result: does nothing.
   *
   * @throws What the canceller throws (the Deferred is then left unfired).
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { CancelledError, Deferred } from "@twisted-deno/core/deferred";
   *
   * const d = new Deferred<string>();
   * let reason: unknown;
   * d.addErrback((f) => { reason = f.value; });
   * d.cancel();
   * d.callback("late"); // the work finishing later is ignored, once
   * assert.ok(reason instanceof CancelledError);
   * ```
   */
  cancel(): void {
    if (!this.#called) {
      const canceller = this.#canceller;
      if (canceller) canceller(this);
      else this.#more().suppressAlreadyCalled = true;
      if (!this.#called) this.errback(new Failure(new CancelledError()));
    } else if (this.#result instanceof Deferred) {
      // Waiting on a Deferred a callback returned: the work is over there.
      this.#result.cancel();
    }
  }

  /**
   * Stops the chain from running until a matching `unpause()`. A result
   * that arrives meanwhile is kept.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { succeed } from "@twisted-deno/core/deferred";
   *
   * const d = succeed(1);
   * let seen = 0;
   * d.pause();
   * d.addCallback((n) => { seen = n; });
   * assert.equal(seen, 0);
   * d.unpause();
   * assert.equal(seen, 1);
   * ```
   */
  pause(): void {
    this.#paused++;
  }

  /**
   * Undoes one `pause()`; the chain runs on once none is left. (A wait on
   * a Deferred a callback returned counts as a pause too, as in Twisted:
   * only undo pauses you made.)
   *
   * @throws {RangeError} When the Deferred is not paused.
   */
  unpause(): void {
    if (this.#paused === 0) {
      throw new RangeError("Cannot unpause Deferred: it is not paused");
    }
    this.#paused--;
    if (this.#paused > 0) return;
    if (this.#called) this.#runCallbacks();
  }

  /**
   * Bridges to `await`: a Promise of the result at this point in the
   * chain. The chain goes on unchanged, except that a failure handed to the
   * Promise is no longer reported as unhandled (the Promise now carries it).
   *
   * @param onFulfilled Called with the result.
   * @param onRejected Called with `failure.value`.
   * @returns A Promise, as `Promise.prototype.then` returns.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { succeed } from "@twisted-deno/core/deferred";
   *
   * assert.equal(await succeed(2).addCallback((n) => n * 2), 4);
   * ```
   */
  then<R1 = T, R2 = never>(
    onFulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.asPromise().then(onFulfilled, onRejected);
  }

  /**
   * A Promise that settles with this Deferred's result at this point in
   * the chain: fulfilled with the result, or rejected with `failure.value`.
   * The chain goes on unchanged.
   *
   * @returns The Promise.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { fail } from "@twisted-deno/core/deferred";
   *
   * await assert.rejects(fail(new TypeError("no")).asPromise(), TypeError);
   * ```
   */
  asPromise(): Promise<T> {
    return promiseOf(this);
  }

  /**
   * A Deferred that fires when `promise` settles: with its value, or with a
   * Failure of its rejection reason. Cancelling it fails it with
   * `CancelledError` at once (a Promise cannot be stopped) and ignores the
   * Promise's outcome.
   *
   * @param promise The Promise or thenable.
   * @returns The Deferred.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { Deferred } from "@twisted-deno/core/deferred";
   *
   * const d = Deferred.fromPromise(Promise.resolve(5));
   * assert.equal(await d, 5);
   * ```
   */
  static fromPromise<T>(promise: PromiseLike<T>): Deferred<T> {
    return deferredOf(Deferred, promise);
  }

  /**
   * A description for debugging: `Deferred { current result: 3 }`.
   *
   * @returns The description.
   */
  toString(): string {
    return describe(Deferred, this.#result, this.#called, this.#extra);
  }

  /**
   * Runs as much of the chain as can run now: Twisted's `_runCallbacks`.
   *
   * This first part is the fast path, kept small so that V8 inlines it into
   * `callback()` and `addCallback()`: plain callbacks (no extra arguments)
   * called on plain values. Anything else (a Failure, a Link, a waiting
   * Deferred, a callback returning an object that may be a Deferred or a
   * thenable) goes on in
   * {@linkcode Deferred.#runChain} from where this stopped.
   */
  #runCallbacks(): void {
    if (this.#running) return; // running above us: the loop sees new links
    if (this.#paused > 0) return; // waiting: whoever unpauses resumes
    let result = this.#result;
    if (result instanceof Failure) return this.#runChain(false);
    const links = this.#links;
    let i = this.#next;
    let fresh = false;
    // A callback that adds callbacks to this Deferred must not run them
    // itself: they go to the end of the chain, where this loop sees them.
    this.#running = true;
    while (i < this.#count) {
      const fn = links[i];
      // A Link (an errback, extra arguments) or a waiting Deferred: the
      // general loop takes over from here.
      if (typeof fn !== "function") break;
      // Drop each link as it runs: a long-lived Deferred should not keep
      // closures it has already run alive.
      links[i++] = undefined;
      try {
        result = fn(result);
      } catch (error) {
        result = error instanceof Failure ? error : new Failure(error);
      }
      if (
        (typeof result === "object" && result !== null) ||
        typeof result === "function"
      ) {
        fresh = true; // maybe a Deferred, a thenable or a Failure
        break;
      }
    }
    this.#running = false;
    this.#result = result;
    this.#next = i;
    if (fresh) {
      if (
        result instanceof Deferred && result !== this &&
        (!result.#called || result.#paused > 0)
      ) {
        // The usual way to chain: a callback returned a Deferred that has
        // no result yet. Wait for it (its link to us hands the result over).
        this.#paused++;
        result.#links[result.#count++] = this;
      } else {
        return this.#runChain(true);
      }
    } else if (i < this.#count) {
      return this.#runChain(false);
    }
    if (i === this.#count) {
      this.#next = this.#count = 0;
      if (links.length > 64) links.length = 0; // a long chain's storage
    }
    if (this.#extra !== null) this.#forget();
  }

  /**
   * The general loop. When the chain reaches a waiting Deferred's link, the
   * result is handed over and the waiting one is run next, by this loop
   * rather than by recursion. If links follow the hand-over, this Deferred
   * goes on `chain` and resumes once the waiting one is done; if not (the
   * usual case), there is nothing to come back to, so the stack does not
   * grow at all. The stack is only allocated when first needed.
   *
   * @param fresh Whether this Deferred's result was just returned by a
   *   callback, so may be a Deferred or thenable to wait on.
   */
  #runChain(fresh: boolean): void {
    let chain: Deferred<unknown>[] | null = null;
    let current = this as Deferred<unknown>;
    let check = fresh; // `result` came from a callback: look at it first
    outer: for (;;) {
      if (current.#paused > 0) return; // waiting: whoever unpauses resumes
      const links = current.#links;
      let i = current.#next;
      let result = current.#result;
      let failed = result instanceof Failure;
      current.#running = true;
      for (;;) {
        if (check) {
          check = false;
          // What the last callback returned: a Deferred or thenable is
          // waited on; anything else is the next input as it is.
          if (
            result !== null &&
            (typeof result === "object" || typeof result === "function") &&
            !failed
          ) {
            let inner: Deferred<unknown> | null = null;
            if (result instanceof Deferred) {
              if (result === current) {
                result = new Failure(
                  new TypeError(
                    "Callback returned the Deferred it was attached to: it would wait on itself forever",
                  ),
                );
                failed = true;
              } else {
                inner = result;
              }
            } else {
              const then = thenOf(result);
              if (then instanceof Failure) {
                result = then;
                failed = true;
              } else if (then !== undefined) {
                inner = Deferred.fromPromise(result as PromiseLike<unknown>);
              }
            }
            if (inner !== null) {
              if (
                !inner.#called || inner.#paused > 0 ||
                inner.#result instanceof Deferred
              ) {
                // No result yet: wait for it. inner is not running its
                // chain (it has no result to run it with), so its links can
                // take ours now.
                current.#paused++;
                result = inner;
                inner.#links[inner.#count++] = current;
                break;
              }
              // It has a result: take it over; inner keeps nothing.
              result = inner.#result;
              failed = result instanceof Failure;
              inner.#result = undefined;
              inner.#forget();
            }
          }
        }
        if (i >= current.#count) break;
        const entry = links[i];
        links[i++] = undefined;
        let fn: AnyFn | null;
        let args: readonly unknown[];
        if (typeof entry === "function") {
          if (failed) continue;
          fn = entry as AnyFn;
          args = NO_ARGS;
        } else if (entry instanceof Link) {
          if (failed) {
            fn = entry.eb;
            args = entry.ebArgs;
          } else {
            fn = entry.cb;
            args = entry.cbArgs;
          }
          if (fn === null) continue;
        } else {
          // A Deferred waiting on this one: hand it our result, and run it
          // next. We keep nothing.
          const chainee = entry as Deferred<unknown>;
          chainee.#result = result;
          chainee.#paused--;
          current.#result = undefined;
          current.#next = i;
          current.#running = false;
          current.#forget();
          if (i < current.#count) {
            // Links after this one: come back to them afterwards.
            if (chain === null) chain = [current];
            chain.push(chainee);
          } else {
            current.#finish(links);
            if (chain !== null) chain[chain.length - 1] = chainee;
          }
          current = chainee;
          continue outer;
        }
        try {
          result = args.length === 0 ? fn(result) : fn(result, ...args);
          failed = false;
          check = true;
        } catch (error) {
          result = error instanceof Failure ? error : new Failure(error);
          failed = true;
        }
        if (result instanceof Failure) failed = true;
      }
      current.#running = false;
      current.#result = result;
      current.#next = i;
      current.#finish(links);
      if (chain === null) return;
      chain.pop();
      if (chain.length === 0) return;
      current = chain[chain.length - 1];
    }
  }

  /** Bookkeeping once the chain has run as far as it can for now. */
  #finish(links: unknown[]): void {
    if (this.#next === this.#count) {
      // All run: start again at the front, keeping the array's storage for
      // the next links unless a long chain made it big.
      this.#next = this.#count = 0;
      if (links.length > 64) links.length = 0;
    }
    if (this.#result instanceof Failure) this.#remember();
    else if (this.#extra !== null) this.#forget();
  }

  #more(): Extra {
    return this.#extra ??= newExtra();
  }

  /** Arms the unhandled-error report for the failure this holds now. */
  #remember(): void {
    remember(this, this.#more(), this.#result as Failure);
  }

  /** Disarms the unhandled-error report. */
  #forget(): void {
    if (this.#extra !== null) forget(this, this.#extra);
  }
}
