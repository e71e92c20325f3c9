// Tests for successResultOf, failureResultOf and assertNoResult, from the
// behaviour of Twisted's SynchronousTestCase helpers.

import assert from "node:assert/strict";
import { AssertionError } from "node:assert";
import { Deferred, fail, Failure, succeed } from "../../deferred/mod.ts";
import {
  assertNoResult,
  failureResultOf,
  successResultOf,
} from "../../testing/results.ts";

class GenericError extends Error {
  override readonly name = "GenericError";
}

Deno.test("successResultOf returns a fired Deferred's result and leaves it in place", () => {
  const d = succeed({ token: 1 });
  const result = successResultOf(d);
  assert.deepEqual(result, { token: 1 });
  assert.equal(successResultOf(d), result);
});

Deno.test("successResultOf fails when there is no result yet", () => {
  assert.throws(
    () => successResultOf(new Deferred()),
    (e: unknown) =>
      e instanceof AssertionError && /found no result/.test(e.message),
  );
});

Deno.test("successResultOf fails on a Deferred waiting on another, or paused", () => {
  const waiting = succeed(1).addCallback(() => new Deferred<number>());
  assert.throws(() => successResultOf(waiting), AssertionError);
  const paused = succeed(1);
  paused.pause();
  assert.throws(() => successResultOf(paused), AssertionError);
});

Deno.test("successResultOf fails on a failure, showing its traceback, and consumes it", () => {
  const d = fail(new GenericError("the failure"));
  assert.throws(
    () => successResultOf(d),
    (e: unknown) =>
      e instanceof AssertionError &&
      /found failure result/.test(e.message) &&
      /current result: \[Failure instance: GenericError: the failure\]/.test(
        e.message,
      ) &&
      /GenericError: the failure/.test(e.message),
  );
  assert.equal(successResultOf(d), undefined, "the failure was consumed");
});

Deno.test("failureResultOf returns the Failure and leaves undefined behind", () => {
  const f = new Failure(new GenericError("x"));
  const d = fail(f);
  assert.equal(failureResultOf(d), f);
  assert.equal(successResultOf(d), undefined);
});

Deno.test("failureResultOf checks the failure's type against the given classes or names", () => {
  assert.equal(
    failureResultOf(fail(new GenericError("x")), TypeError, GenericError)
      .getErrorMessage(),
    "x",
  );
  failureResultOf(fail(new GenericError("y")), "GenericError");
  assert.throws(
    () => failureResultOf(fail(new GenericError("z")), TypeError, "RangeError"),
    (e: unknown) =>
      e instanceof AssertionError &&
      /\(TypeError or RangeError\) expected/.test(e.message) &&
      /current result: \[Failure instance: GenericError: z\]/.test(e.message) &&
      /found type GenericError/.test(e.message),
  );
});

Deno.test("failureResultOf fails on no result and on a success", () => {
  assert.throws(
    () => failureResultOf(new Deferred()),
    (e: unknown) => e instanceof AssertionError && /no result/.test(e.message),
  );
  assert.throws(
    () => failureResultOf(succeed("fine")),
    (e: unknown) =>
      e instanceof AssertionError &&
      /found success result \(fine\)/.test(e.message),
  );
});

Deno.test("assertNoResult passes on an unfired, waiting or paused Deferred and changes nothing", () => {
  const d = new Deferred<number>();
  assertNoResult(d);
  d.callback(3);
  assert.equal(successResultOf(d), 3, "the peek left no trace");
  const paused = succeed(2);
  paused.pause();
  assertNoResult(paused);
  paused.unpause();
  assert.equal(successResultOf(paused), 2);
  assertNoResult(succeed(0).addCallback(() => new Deferred()));
});

Deno.test("assertNoResult fails on a result, and consumes a failure it reports", () => {
  assert.throws(
    () => assertNoResult(succeed("there")),
    (e: unknown) =>
      e instanceof AssertionError && /found there instead/.test(e.message),
  );
  const d = fail(new GenericError("reported"));
  assert.throws(
    () => assertNoResult(d),
    (e: unknown) =>
      e instanceof AssertionError &&
      /current result: \[Failure instance: GenericError: reported\]/.test(
        e.message,
      ),
  );
  assert.equal(successResultOf(d), undefined);
});
