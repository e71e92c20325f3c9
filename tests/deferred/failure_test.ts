// Tests for Failure and setDebugging.

import assert from "node:assert/strict";
import { Failure, getDebugging, setDebugging } from "../../deferred/mod.ts";

class BaseError extends Error {
  override readonly name: string = "BaseError";
}
class DerivedError extends BaseError {
  override readonly name: string = "DerivedError";
}

Deno.test("Failure keeps the thrown value itself and its class as type", () => {
  const error = new DerivedError("boom");
  const f = new Failure(error);
  assert.equal(f.value, error);
  assert.equal(f.type, DerivedError);
  assert.equal(new Failure("text").type, String);
  assert.equal(new Failure(null).type, null);
  assert.equal(new Failure(undefined).type, null);
});

Deno.test("a Failure made from a Failure copies its value, type and capture stack", () => {
  const inner = new Failure(new RangeError("inner"));
  const outer = new Failure(inner);
  assert.equal(outer.value, inner.value);
  assert.equal(outer.type, RangeError);
  assert.equal(outer.captureStack, inner.captureStack);
});

Deno.test("check() matches classes along the prototype chain, and names, returning the first match", () => {
  const f = new Failure(new DerivedError("x"));
  assert.equal(f.check(DerivedError), DerivedError);
  assert.equal(f.check(BaseError), BaseError);
  assert.equal(f.check(Error), Error);
  assert.equal(f.check(TypeError), null);
  assert.equal(f.check(TypeError, BaseError, DerivedError), BaseError);
  assert.equal(f.check("DerivedError"), "DerivedError");
  assert.equal(f.check("BaseError"), "BaseError", "a superclass's name");
  assert.equal(f.check("TypeError"), null);
  assert.equal(new Failure("a string").check(Error), null);
  assert.equal(new Failure(null).check(Error, "Object"), null);
});

Deno.test("trap() returns the matching type, or rethrows the original value", () => {
  const error = new DerivedError("trapped");
  const f = new Failure(error);
  assert.equal(f.trap(TypeError, DerivedError), DerivedError);
  assert.throws(
    () => f.trap(TypeError, RangeError),
    (e: unknown) => e === error,
  );
});

Deno.test("raiseException throws exactly the original value", () => {
  const value = { not: "an error" };
  assert.throws(() => new Failure(value).raiseException(), (e) => e === value);
});

Deno.test("getErrorMessage gives an error's message or the value as text", () => {
  assert.equal(new Failure(new Error("msg")).getErrorMessage(), "msg");
  assert.equal(new Failure("plain").getErrorMessage(), "plain");
  assert.equal(new Failure(42).getErrorMessage(), "42");
  const hostile = {
    toString(): string {
      throw new Error("no");
    },
  };
  assert.equal(new Failure(hostile).getErrorMessage(), "[object Object]");
});

Deno.test("getTraceback gives the error's stack, followed by its cause's", () => {
  const cause = new RangeError("the cause");
  const error = new TypeError("the effect", { cause });
  const text = new Failure(error).getTraceback();
  assert.ok(text.startsWith(error.stack!), text);
  assert.match(text, /Caused by: RangeError: the cause/);
  assert.equal(
    new Failure("text").getTraceback(),
    "String: text",
    "a value without a stack gets one line",
  );
});

Deno.test("toString names the type and message", () => {
  assert.equal(
    String(new Failure(new DerivedError("too big"))),
    "[Failure instance: DerivedError: too big]",
  );
  assert.equal(
    String(new Failure(7)),
    "[Failure instance: Number: 7]",
  );
});

Deno.test("with debugging on, a Failure records where it was captured and shows it in the traceback", () => {
  assert.equal(getDebugging(), false);
  setDebugging(true);
  let f: Failure;
  try {
    assert.equal(getDebugging(), true);
    f = captureHere();
  } finally {
    setDebugging(false);
  }
  assert.match(f.captureStack ?? "", /captureHere/);
  assert.match(f.getTraceback(), /\(Failure captured\)[^]*captureHere/);
  assert.equal(new Failure(new Error("quiet")).captureStack, undefined);
});

function captureHere(): Failure {
  return new Failure(new Error("debugged"));
}
