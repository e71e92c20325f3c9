/**
 * Ways to get a {@linkcode Deferred} from a value or a call:
 * {@linkcode succeed}, {@linkcode fail}, {@linkcode execute} and
 * {@linkcode maybeDeferred}. Re-exported by `deferred.ts`.
 *
 * @module
 */

import { Deferred } from "./deferred.ts";
import { thenOf } from "./_thenable.ts";
import { Failure } from "./failure.ts";

/**
 * A Deferred that already succeeded with `value`.
 *
 * @param value The result.
 * @returns The fired Deferred.
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
 * @param reason The error, or a Failure.
 * @returns The failed Deferred.
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
 * @param fn The function.
 * @param args Its arguments.
 * @returns A fired Deferred.
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
  let result: R;
  try {
    result = fn(...args);
  } catch (error) {
    return fail<R>(error);
  }
  if (result instanceof Deferred) {
    return fail<R>(
      new TypeError(
        "execute() cannot take a Deferred result: use maybeDeferred() instead",
      ),
    );
  }
  return succeed(result);
}

/**
 * Calls `fn(...args)` and always gives a Deferred: the one it returned, a
 * thenable it returned (adapted), its plain return value, a Failure it
 * returned, or the error it threw, as a failed Deferred.
 *
 * @param fn The function.
 * @param args Its arguments.
 * @returns The Deferred.
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
  if (
    result !== null && typeof result === "object" ||
    typeof result === "function"
  ) {
    const then = thenOf(result as object);
    if (then instanceof Failure) return fail(then);
    if (then !== undefined) {
      return Deferred.fromPromise(
        result as unknown as PromiseLike<Awaited<R>>,
      );
    }
  }
  return succeed(result as Awaited<R>);
}
