/**
 * Peeking at a Deferred's result synchronously, as Twisted's
 * `SynchronousTestCase` does: {@linkcode successResultOf},
 * {@linkcode failureResultOf} and {@linkcode assertNoResult}.
 *
 * @module
 */

import { AssertionError } from "node:assert";
import type { Deferred } from "../deferred/deferred.ts";
import { Failure, type FailureType } from "../deferred/failure.ts";

const NO_RESULT = Symbol("no result");

function peek<T>(d: Deferred<T>): T | Failure | typeof NO_RESULT {
  let result: T | Failure | typeof NO_RESULT = NO_RESULT;
  d.addBoth((r) => {
    result = r;
    return r;
  });
  return result;
}

/**
 * The result a Deferred already has (left in place). A failure found
 * instead is consumed, as the assertion error reports it.
 *
 * @param d The Deferred.
 * @returns Its result.
 * @throws {AssertionError} When it has no result yet (or is waiting on
 *   another Deferred), or has failed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { succeed } from "@twisted-deno/core/deferred";
 * import { successResultOf } from "@twisted-deno/core/testing";
 *
 * assert.equal(successResultOf(succeed(3)), 3);
 * ```
 */
export function successResultOf<T>(d: Deferred<T>): T {
  const result = peek(d);
  if (result === NO_RESULT) {
    throw new AssertionError({
      message: `Success result expected on ${d}, found no result instead`,
    });
  }
  if (result instanceof Failure) {
    const message =
      `Success result expected on ${d}, found failure result instead:\n${result.getTraceback()}`;
    d.addErrback(() => undefined); // reported here: do not report it again
    throw new AssertionError({ message });
  }
  return result;
}

/**
 * The Failure a Deferred already has, which the Deferred then no longer
 * holds (its result becomes `undefined`, so it is not reported as
 * unhandled). With `types`, the failure must be of one of them.
 *
 * @param d The Deferred.
 * @param types Error classes or names the failure may have.
 * @returns The Failure.
 * @throws {AssertionError} When it has no result, succeeded, or failed with
 *   another type.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fail } from "@twisted-deno/core/deferred";
 * import { failureResultOf } from "@twisted-deno/core/testing";
 *
 * const f = failureResultOf(fail(new RangeError("x")), RangeError);
 * assert.equal(f.getErrorMessage(), "x");
 * ```
 */
export function failureResultOf<T>(
  d: Deferred<T>,
  ...types: FailureType[]
): Failure {
  const result = peek(d);
  if (result === NO_RESULT) {
    throw new AssertionError({
      message: `Failure result expected on ${d}, found no result instead`,
    });
  }
  if (!(result instanceof Failure)) {
    throw new AssertionError({
      message: `Failure result expected on ${d}, found success result (${
        String(result)
      }) instead`,
    });
  }
  if (types.length > 0 && result.check(...types) === null) {
    const expected = types.map((t) => typeof t === "string" ? t : t.name).join(
      " or ",
    );
    const message =
      `Failure of type (${expected}) expected on ${d}, found type ${result.type?.name} instead:\n${result.getTraceback()}`;
    d.addErrback(() => undefined);
    throw new AssertionError({ message });
  }
  d.addErrback(() => undefined);
  return result;
}

/**
 * Asserts that a Deferred has no result yet: it was never fired, or it is
 * waiting on another Deferred, or it is paused. Its chain is left as it was.
 *
 * @param d The Deferred.
 * @throws {AssertionError} When it has one (a failure is then consumed).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Deferred, succeed } from "@twisted-deno/core/deferred";
 * import { assertNoResult } from "@twisted-deno/core/testing";
 *
 * assertNoResult(new Deferred());
 * assert.throws(() => assertNoResult(succeed(1)), /No result expected/);
 * ```
 */
export function assertNoResult<T>(d: Deferred<T>): void {
  const result = peek(d);
  if (result === NO_RESULT) return;
  const message = `No result expected on ${d}, found ${
    result instanceof Failure ? result.toString() : String(result)
  } instead`;
  if (result instanceof Failure) d.addErrback(() => undefined);
  throw new AssertionError({ message });
}
