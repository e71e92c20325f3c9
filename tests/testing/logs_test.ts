// Tests for captureLogs and LogCapture.

import assert from "node:assert/strict";
import { Failure } from "../../deferred/mod.ts";
import {
  defaultLogObserver,
  globalLogPublisher,
  Logger,
  LogPublisher,
} from "../../log/mod.ts";
import { captureLogs } from "../../testing/logs.ts";

class GenericError extends Error {
  override readonly name = "GenericError";
}

Deno.test("captureLogs collects events from the global publisher, in order", () => {
  using logs = captureLogs();
  const log = new Logger("captured");
  log.info("one {n}", { n: 1 });
  log.debug("two");
  assert.deepEqual(logs.events.map((e) => e.log_format), ["one {n}", "two"]);
  assert.deepEqual(logs.messages, ["one 1", "two"]);
});

Deno.test("captureLogs silences the default stderr observer while it runs and restores it after", () => {
  assert.ok(globalLogPublisher.observers.includes(defaultLogObserver));
  const logs = captureLogs();
  assert.equal(
    globalLogPublisher.observers.includes(defaultLogObserver),
    false,
  );
  logs.stop();
  assert.ok(globalLogPublisher.observers.includes(defaultLogObserver));
});

Deno.test("captureLogs with echo keeps the default observer", () => {
  const logs = captureLogs({ echo: true });
  try {
    assert.ok(globalLogPublisher.observers.includes(defaultLogObserver));
  } finally {
    logs.stop();
  }
  assert.ok(globalLogPublisher.observers.includes(defaultLogObserver));
});

Deno.test("nested captures both collect, and the default observer comes back only once", () => {
  const outer = captureLogs();
  const inner = captureLogs();
  new Logger("nested").info("both see this");
  inner.stop();
  assert.equal(
    globalLogPublisher.observers.includes(defaultLogObserver),
    false,
  );
  outer.stop();
  assert.equal(
    globalLogPublisher.observers.filter((o) => o === defaultLogObserver).length,
    1,
  );
  assert.equal(inner.events.length, 1);
  assert.equal(outer.events.length, 1);
});

Deno.test("captureLogs can watch a private publisher, leaving the global one alone", () => {
  const publisher = new LogPublisher();
  using logs = captureLogs({ publisher });
  new Logger("private", publisher).info("mine");
  assert.deepEqual(logs.messages, ["mine"]);
  assert.ok(globalLogPublisher.observers.includes(defaultLogObserver));
});

Deno.test("stop ends the capture, and stopping twice is harmless", () => {
  const logs = captureLogs();
  logs.stop();
  logs.stop();
  new Logger("after").debug("not captured"); // below stderr's level
  assert.equal(logs.events.length, 0);
  assert.equal(
    globalLogPublisher.observers.filter((o) => o === defaultLogObserver).length,
    1,
  );
});

Deno.test("flushLoggedErrors returns logged failures of the given types and marks them expected", () => {
  using logs = captureLogs();
  const log = new Logger("errors");
  log.failure("a", new Failure(new GenericError("generic")));
  log.failure("b", new Failure(new TypeError("typed")));
  log.info("not a failure");
  assert.equal(logs.failures().length, 2);
  const generic = logs.flushLoggedErrors(GenericError);
  assert.deepEqual(generic.map((f) => f.getErrorMessage()), ["generic"]);
  assert.deepEqual(logs.failures().map((f) => f.getErrorMessage()), ["typed"]);
  assert.equal(logs.flushLoggedErrors(GenericError).length, 0, "only once");
  assert.equal(logs.flushLoggedErrors().length, 1, "no types: all the rest");
  assert.equal(logs.failures().length, 0);
});

Deno.test("assertNoFailures throws with the tracebacks of failures nobody flushed", () => {
  const logs = captureLogs();
  try {
    logs.assertNoFailures();
    new Logger("x").failure("oops", new Failure(new GenericError("unflushed")));
    assert.throws(
      () => logs.assertNoFailures(),
      /1 unexpected failure\(s\) logged:\nGenericError: unflushed/,
    );
  } finally {
    logs.stop();
  }
});

Deno.test("disposing a capture stops it, then throws if a failure was not flushed", () => {
  let escaped: unknown;
  let capture: ReturnType<typeof captureLogs> | undefined;
  try {
    using logs = captureLogs();
    capture = logs;
    new Logger("x").failure("oops", new Failure(new GenericError("left")));
  } catch (e) {
    escaped = e;
  }
  assert.ok(escaped instanceof Error);
  assert.match(escaped.message, /unexpected failure/);
  new Logger("x").debug("after disposal");
  assert.equal(capture?.events.length, 1, "stopped before throwing");
  assert.ok(globalLogPublisher.observers.includes(defaultLogObserver));
});

Deno.test("disposing a capture whose failures were all flushed does not throw", () => {
  {
    using logs = captureLogs();
    new Logger("x").failure("oops", new Failure(new GenericError("flushed")));
    logs.flushLoggedErrors(GenericError);
  }
  assert.ok(globalLogPublisher.observers.includes(defaultLogObserver));
});
