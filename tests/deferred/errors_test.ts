// Tests for the Deferred layer's error classes.

import assert from "node:assert/strict";
import {
  AlreadyCalledError,
  CancelledError,
  Failure,
  FailureGroup,
  FirstError,
  QueueOverflow,
  QueueUnderflow,
  TimeoutError,
} from "../../deferred/mod.ts";

Deno.test("each error class is an Error with its own literal name", () => {
  const errors: [Error, string][] = [
    [new AlreadyCalledError(), "AlreadyCalledError"],
    [new CancelledError(), "CancelledError"],
    [new TimeoutError(3), "TimeoutError"],
    [new FirstError(new Failure(new Error("x")), 0), "FirstError"],
    [new FailureGroup([]), "FailureGroup"],
    [new QueueOverflow(), "QueueOverflow"],
    [new QueueUnderflow(), "QueueUnderflow"],
  ];
  for (const [error, name] of errors) {
    assert.ok(error instanceof Error, name);
    assert.equal(error.name, name);
    assert.ok(error.message.length > 0, `${name} has a message`);
  }
});

Deno.test("FirstError carries the sub-failure and index, names both in its message and chains the cause", () => {
  const sub = new Failure(new RangeError("some text"));
  const e = new FirstError(sub, 3);
  assert.equal(e.subFailure, sub);
  assert.equal(e.index, 3);
  assert.equal(e.message, "Deferred at index 3: RangeError: some text");
  assert.equal(e.cause, sub.value);
});

Deno.test("TimeoutError says how long the timeout was, when known", () => {
  assert.equal(new TimeoutError(5).timeout, 5);
  assert.equal(
    new TimeoutError(5).message,
    "Deferred timed out after 5 seconds",
  );
  assert.equal(new TimeoutError().message, "Deferred timed out");
  const cause = new CancelledError();
  assert.equal(new TimeoutError(1, { cause }).cause, cause);
});

Deno.test("FailureGroup keeps every failure in order and counts them in its message", () => {
  const failures = [new Failure(new Error("a")), new Failure(new Error("b"))];
  const e = new FailureGroup(failures);
  assert.deepEqual(e.failures, failures);
  assert.equal(e.message, "All 2 Deferreds failed");
});

Deno.test("AlreadyCalledError appends its detail on a new line", () => {
  assert.equal(
    new AlreadyCalledError().message,
    "Cannot fire Deferred: it already has a result",
  );
  assert.equal(
    new AlreadyCalledError("Created at: here").message,
    "Cannot fire Deferred: it already has a result\nCreated at: here",
  );
});
