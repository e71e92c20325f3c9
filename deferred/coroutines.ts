/**
 * Bridges between Deferreds and sequential-looking code:
 * {@linkcode inlineCallbacks} runs a generator that `yield`s Deferreds (or
 * Promises) and is resumed with their results, as Twisted's decorator of
 * the same name does; {@linkcode ensureDeferred} turns a Promise, a
 * thenable or such a generator into a Deferred.
 *
 * The generator is driven by a loop, not by recursion: yielding 10 000
 * Deferreds that already have results does not grow the stack.
 *
 * @module
 */

import { Deferred } from "./deferred.ts";
import { Failure } from "./failure.ts";

/**
 * A generator as {@linkcode inlineCallbacks} runs it: it yields Deferreds,
 * thenables, nested generators or plain values, is sent their results, and
 * returns `R`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ensureDeferred, type InlineGenerator, succeed } from "@twisted-deno/core/deferred";
 *
 * function* double(): InlineGenerator<number> {
 *   const n: number = yield succeed(21);
 *   return n * 2;
 * }
 * let got = 0;
 * ensureDeferred(double()).addCallback((n) => { got = n; });
 * assert.equal(got, 42);
 * ```
 */
// deno-lint-ignore no-explicit-any
export type InlineGenerator<R = unknown> = Generator<unknown, R, any>;

/** What a running generator is doing, for cancellation. */
interface Status {
  /** The Deferred the generator fires when it finishes. */
  target: Deferred<unknown>;
  /** The Deferred it is waiting on, if any. */
  waitingOn: Deferred<unknown> | null;
}

function isGenerator(value: unknown): value is InlineGenerator {
  return value !== null && typeof value === "object" &&
    Object.prototype.toString.call(value) === "[object Generator]";
}

/**
 * The Deferred to wait on for a yielded (or returned) value, or null for a
 * plain value, which is sent straight back.
 */
function awaitable(value: unknown): Deferred<unknown> | null {
  if (value instanceof Deferred) return value;
  if (value === null) return null;
  if (typeof value !== "object" && typeof value !== "function") return null;
  if (isGenerator(value)) return runGenerator(value);
  let then: unknown;
  try {
    then = (value as { then?: unknown }).then;
  } catch (error) {
    return failed(error);
  }
  if (typeof then !== "function") return null;
  return Deferred.fromPromise(value as PromiseLike<unknown>);
}

function failed(error: unknown): Deferred<unknown> {
  const d = new Deferred<unknown>();
  d.errback(error);
  return d;
}

function fire(d: Deferred<unknown>, result: unknown): void {
  if (result instanceof Failure) d.errback(result);
  else d.callback(result);
}

/**
 * The Deferred a generator fires when it finishes. Cancelling it cancels
 * what the generator waits on, and CancelledError is thrown into the
 * generator at its `yield`; the generator may catch it and go on, so the
 * Deferred is not failed on the spot: it switches to waiting on a fresh
 * target that the generator fires when it does finish (as in Twisted).
 */
function newTarget(status: Status): Deferred<unknown> {
  let replacement: Deferred<unknown> | undefined;
  const target = new Deferred<unknown>(() => {
    replacement = newTarget(status);
    status.target = replacement;
    target.callback(undefined); // its first link now returns `replacement`
    status.waitingOn?.cancel();
  });
  target.addCallback((result) => replacement ?? result);
  return target;
}

function runGenerator<R>(gen: InlineGenerator<R>): Deferred<Awaited<R>> {
  const status: Status = { target: null!, waitingOn: null };
  const target = newTarget(status);
  status.target = target;
  step(gen, status, undefined);
  return target as Deferred<Awaited<R>>;
}

/**
 * Runs the generator from `input` until it waits on a Deferred without a
 * result, or finishes. Results that are already there are sent in by this
 * loop, never by a nested call.
 */
function step(gen: InlineGenerator, status: Status, input: unknown): void {
  for (;;) {
    let next: IteratorResult<unknown, unknown>;
    try {
      next = input instanceof Failure
        ? gen.throw(input.value)
        : gen.next(input);
    } catch (error) {
      status.waitingOn = null;
      // The failure thrown in and not caught keeps its identity.
      status.target.errback(
        input instanceof Failure && error === input.value ? input : error,
      );
      return;
    }
    const awaited = awaitable(next.value);
    if (next.done) {
      if (awaited === null) {
        status.waitingOn = null;
        status.target.callback(next.value);
        return;
      }
      // Returning a Deferred or Promise: finish with its result, as an
      // async function does.
      status.waitingOn = awaited;
      awaited.addBoth((result) => {
        status.waitingOn = null;
        fire(status.target, result);
      });
      return;
    }
    if (awaited === null) {
      input = next.value;
      continue;
    }
    let waiting = true;
    let ready = false;
    let early: unknown;
    awaited.addBoth((result) => {
      if (waiting) {
        // Fired while we add this: the loop below sends it in.
        ready = true;
        early = result;
      } else {
        status.waitingOn = null;
        step(gen, status, result);
      }
      // The generator has the result (a failure was thrown into it): the
      // awaited Deferred keeps nothing, so reports nothing.
      return undefined;
    });
    waiting = false;
    if (!ready) {
      status.waitingOn = awaited;
      return;
    }
    input = early;
  }
}

/**
 * Wraps a generator function so that calling it runs the generator and
 * returns a Deferred of what it returns. Inside, `yield d` waits for the
 * Deferred `d` (or a Promise, a thenable, or a nested generator) and
 * evaluates to its result; a failure is thrown at the `yield`, where
 * `try`/`catch` can handle it. Yielding any other value gives it straight
 * back. An error the generator throws fails the Deferred.
 *
 * Cancelling the returned Deferred cancels the Deferred the generator is
 * waiting on; the resulting `CancelledError` is thrown at the `yield`. If
 * the generator catches it and carries on, the returned Deferred fires when
 * the generator finishes.
 *
 * @param fn A generator function.
 * @returns A function with the same parameters returning a Deferred.
 * @throws {TypeError} When `fn` is not a function; the returned function
 *   throws one when `fn` does not return a generator.
 *
 * @example Sequential-looking code over Deferreds
 * ```ts
 * import assert from "node:assert/strict";
 * import { Deferred, inlineCallbacks, succeed } from "@twisted-deno/core/deferred";
 *
 * const later = new Deferred<number>();
 * const addLater = inlineCallbacks(function* (a: number) {
 *   const b: number = yield succeed(2);
 *   const c: number = yield later;
 *   return a + b + c;
 * });
 * let total = 0;
 * addLater(1).addCallback((n) => { total = n; });
 * later.callback(3);
 * assert.equal(total, 6);
 * ```
 *
 * @example A failure is thrown at the yield
 * ```ts
 * import assert from "node:assert/strict";
 * import { fail, inlineCallbacks } from "@twisted-deno/core/deferred";
 *
 * const safe = inlineCallbacks(function* () {
 *   try {
 *     yield fail(new RangeError("out"));
 *     return "unreachable";
 *   } catch (e) {
 *     return (e as Error).message;
 *   }
 * });
 * let got = "";
 * safe().addCallback((s) => { got = s; });
 * assert.equal(got, "out");
 * ```
 */
export function inlineCallbacks<A extends unknown[], R, This = unknown>(
  fn: (this: This, ...args: A) => InlineGenerator<R>,
): (this: This, ...args: A) => Deferred<Awaited<R>> {
  if (typeof fn !== "function") {
    throw new TypeError(
      `inlineCallbacks needs a generator function, not ${String(fn)}`,
    );
  }
  return function (this: This, ...args: A): Deferred<Awaited<R>> {
    const gen = fn.apply(this, args);
    if (!isGenerator(gen)) {
      throw new TypeError(
        `inlineCallbacks needs a generator function: ${
          fn.name || "the function"
        } returned ${String(gen)}`,
      );
    }
    return runGenerator(gen);
  };
}

/**
 * A Deferred for a Deferred (returned as it is), a Promise or other
 * thenable (which fires when it settles; cancelling fails the Deferred with
 * `CancelledError` at once and ignores the Promise's outcome), or a
 * generator object (run as {@linkcode inlineCallbacks} runs it).
 *
 * @param value What to wrap.
 * @returns The Deferred.
 * @throws {TypeError} For anything else.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ensureDeferred } from "@twisted-deno/core/deferred";
 *
 * async function fetchNumber(): Promise<number> {
 *   return 42;
 * }
 * const d = ensureDeferred(fetchNumber());
 * assert.equal(await d.addCallback((n) => n + 1), 43);
 * ```
 */
export function ensureDeferred<T>(value: Deferred<T>): Deferred<T>;
/**
 * A Deferred for a Promise or other thenable.
 *
 * @param value The Promise.
 * @returns A Deferred that fires when it settles.
 */
export function ensureDeferred<T>(value: PromiseLike<T>): Deferred<T>;
/**
 * A Deferred for a generator, run as {@linkcode inlineCallbacks} runs it.
 *
 * @param value The generator object.
 * @returns A Deferred of what it returns.
 */
export function ensureDeferred<R>(
  value: InlineGenerator<R>,
): Deferred<Awaited<R>>;
export function ensureDeferred(value: unknown): Deferred<unknown> {
  if (value instanceof Deferred) return value;
  if (isGenerator(value)) return runGenerator(value);
  if (
    value !== null &&
    (typeof value === "object" || typeof value === "function") &&
    typeof (value as { then?: unknown }).then === "function"
  ) {
    return Deferred.fromPromise(value as PromiseLike<unknown>);
  }
  throw new TypeError(
    `ensureDeferred needs a Deferred, a Promise or a generator, not ${
      String(value)
    }`,
  );
}
