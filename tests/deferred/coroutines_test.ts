// Tests for inlineCallbacks and ensureDeferred, from Twisted's
// test_inlinecb.py (basics, stack use, cancellation) and test_defer.py
// (EnsureDeferredTests).

import assert from "node:assert/strict";
import {
  CancelledError,
  Deferred,
  ensureDeferred,
  fail,
  Failure,
  inlineCallbacks,
  type InlineGenerator,
  succeed,
} from "../../deferred/mod.ts";
import {
  assertNoResult,
  failureResultOf,
  successResultOf,
} from "../../testing/results.ts";

class GenericError extends Error {
  override readonly name: string = "GenericError";
}
class UntranslatedError extends GenericError {
  override readonly name = "UntranslatedError";
}
class TranslatedError extends GenericError {
  override readonly name = "TranslatedError";
}
class DontFail extends GenericError {
  override readonly name = "DontFail";
  constructor(readonly actualValue: number) {
    super("don't fail");
  }
}

type Equals<A, B> = (<X>() => X extends A ? 1 : 2) extends
  (<X>() => X extends B ? 1 : 2) ? true : false;

// ------------------------------------------------------------- basics

Deno.test("inlineCallbacks sends each yielded Deferred's result back in and fires with the return value", () => {
  const later = new Deferred<number>();
  const seen: unknown[] = [];
  const f = inlineCallbacks(function* (a: number) {
    const b: number = yield succeed(2);
    seen.push(b);
    const c: number = yield later;
    seen.push(c);
    return a + b + c;
  });
  const d = f(1);
  assert.deepEqual(seen, [2]);
  assertNoResult(d);
  later.callback(3);
  assert.deepEqual(seen, [2, 3]);
  assert.equal(successResultOf(d), 6);
});

Deno.test("the wrapped function keeps its parameters and its return type", () => {
  const f = inlineCallbacks(function* (a: number, b: string) {
    yield succeed(0);
    return `${b}${a}`;
  });
  const typed: Equals<typeof f, (a: number, b: string) => Deferred<string>> =
    true;
  assert.ok(typed);
  assert.equal(successResultOf(f(1, "x")), "x1");
});

Deno.test("a generator runs synchronously up to its first wait", () => {
  const order: string[] = [];
  const f = inlineCallbacks(function* () {
    order.push("started");
    yield new Deferred();
  });
  f();
  order.push("returned");
  assert.deepEqual(order, ["started", "returned"]);
});

Deno.test("yielding a plain value gives it straight back", () => {
  const f = inlineCallbacks(function* () {
    const x: number = yield 5;
    const o = { token: 1 };
    const y: unknown = yield o;
    return [x, y === o];
  });
  assert.deepEqual(successResultOf(f()), [5, true]);
});

Deno.test("a generator without a return value fires with undefined", () => {
  const f = inlineCallbacks(function* () {
    yield succeed(1);
  });
  assert.equal(successResultOf(f()), undefined);
});

Deno.test("an error thrown by the generator fails the returned Deferred", () => {
  const f = inlineCallbacks(function* () {
    yield succeed(1);
    throw new GenericError("thrown");
  });
  assert.equal(failureResultOf(f(), GenericError).getErrorMessage(), "thrown");
  // deno-lint-ignore require-yield -- finishing without a yield is tested
  const g = inlineCallbacks(function* () {
    throw new GenericError("before any yield");
  });
  failureResultOf(g(), GenericError);
});

Deno.test("a failed Deferred throws its error at the yield, where it can be caught", () => {
  const error = new GenericError("handled");
  const f = inlineCallbacks(function* () {
    try {
      yield fail(error);
    } catch (e) {
      return e;
    }
  });
  assert.equal(successResultOf(f()), error);
});

Deno.test("a failure arriving later is thrown at the yield too", () => {
  const later = new Deferred<number>();
  const f = inlineCallbacks(function* () {
    try {
      yield later;
      return "no";
    } catch (e) {
      return (e as Error).message;
    }
  });
  const d = f();
  later.errback(new GenericError("async failure"));
  assert.equal(successResultOf(d), "async failure");
});

Deno.test("an uncaught failure from a yielded Deferred fails the returned Deferred with the same Failure", () => {
  const failure = new Failure(new GenericError("passed through"));
  const f = inlineCallbacks(function* () {
    yield fail(failure);
  });
  assert.equal(failureResultOf(f(), GenericError), failure);
});

Deno.test("the yielded Deferred keeps nothing after the generator takes its result", () => {
  const yielded = fail<number>(new GenericError("taken"));
  const f = inlineCallbacks(function* () {
    try {
      yield yielded;
    } catch {
      // handled here
    }
  });
  successResultOf(f());
  assert.equal(successResultOf(yielded), undefined);
});

Deno.test("yielding a Promise waits for it, and a rejection is thrown at the yield", async () => {
  const f = inlineCallbacks(function* () {
    const x: number = yield Promise.resolve(20);
    try {
      yield Promise.reject(new GenericError("rejected"));
    } catch (e) {
      return `${x} ${(e as Error).message}`;
    }
  });
  assert.equal(await f(), "20 rejected");
});

Deno.test("yielding a generator runs it as a nested inlineCallbacks and gives its result", () => {
  const inner = new Deferred<number>();
  function* child(): InlineGenerator<number> {
    const n: number = yield inner;
    return n * 2;
  }
  const f = inlineCallbacks(function* () {
    const doubled: number = yield child();
    return doubled + 1;
  });
  const d = f();
  inner.callback(20);
  assert.equal(successResultOf(d), 41);
});

Deno.test("returning a Deferred or Promise from the generator fires with its result", async () => {
  const later = new Deferred<string>();
  const f = inlineCallbacks(function* () {
    yield succeed(0);
    return later;
  });
  const d = f();
  const typed: Equals<typeof d, Deferred<string>> = true;
  assert.ok(typed);
  assertNoResult(d);
  later.callback("adopted");
  assert.equal(successResultOf(d), "adopted");
  // deno-lint-ignore require-yield -- finishing without a yield is tested
  const g = inlineCallbacks(function* () {
    return Promise.resolve(9);
  });
  assert.equal(await g(), 9);
});

Deno.test("the wrapped function passes its this through", () => {
  class Counter {
    count = 1;
    bump = inlineCallbacks(function* (this: Counter, by: number) {
      yield succeed(0);
      this.count += by;
      return this.count;
    });
  }
  const c = new Counter();
  assert.equal(successResultOf(c.bump(2)), 3);
});

Deno.test("inlineCallbacks refuses a non-function, and the wrapper a function that returns no generator", () => {
  // @ts-expect-error: not a function
  assert.throws(() => inlineCallbacks(3), TypeError);
  // @ts-expect-error: not a generator function
  const wrapped = inlineCallbacks(() => 1);
  assert.throws(() => wrapped(), /needs a generator function/);
});

Deno.test("a generator yielding 10 000 Deferreds that already fired does not overflow the stack", () => {
  const f = inlineCallbacks(function* () {
    let total = 0;
    for (let i = 0; i < 10_000; i++) total += (yield succeed(1)) as number;
    for (let i = 0; i < 10_000; i++) total += (yield 1) as number;
    return total;
  });
  assert.equal(successResultOf(f()), 20_000);
});

Deno.test("a generator resumed by 10 000 Deferreds fired one after another does not overflow the stack", () => {
  const ds = Array.from({ length: 10_000 }, () => new Deferred<number>());
  const f = inlineCallbacks(function* () {
    let total = 0;
    for (const d of ds) total += (yield d) as number;
    return total;
  });
  const result = f();
  for (const d of ds) d.callback(1);
  assert.equal(successResultOf(result), 10_000);
});

// ------------------------------------------------------------- cancellation

type Stacking = "not stacked" | "stacked" | "stacked, second yield";

/**
 * Twisted's sampleInlineCB: waits on `getChild()` (directly, or through a
 * nested generator), translating UntranslatedError and DontFail.
 */
function sample(
  stacking: Stacking,
  getChild: () => Deferred<number>,
  first?: Deferred<number>,
): Deferred<number> {
  function* nested(): InlineGenerator<number> {
    const x: number = yield getChild();
    return x;
  }
  return inlineCallbacks(function* () {
    let x: number;
    try {
      if (stacking === "not stacked") {
        x = yield getChild();
      } else {
        if (first) yield first;
        x = yield nested();
      }
    } catch (e) {
      if (e instanceof UntranslatedError) throw new TranslatedError();
      if (e instanceof DontFail) x = e.actualValue - 2;
      else throw e;
    }
    return x + 1;
  })();
}

const stackings: Stacking[] = [
  "not stacked",
  "stacked",
  "stacked, second yield",
];

function run(
  stacking: Stacking,
  getChild: () => Deferred<number>,
): Deferred<number> {
  const first = stacking === "stacked, second yield"
    ? new Deferred<number>()
    : undefined;
  const d = sample(stacking, getChild, first);
  first?.callback(1);
  return d;
}

Deno.test("cancelling the returned Deferred cancels the Deferred the generator waits on", () => {
  for (const stacking of stackings) {
    let childSaw: unknown = "nothing";
    const d = run(stacking, () => {
      const child = new Deferred<number>();
      child.addErrback((f) => {
        childSaw = f.type;
        return f;
      });
      return child;
    });
    d.addErrback(() => undefined);
    d.cancel();
    assert.equal(childSaw, CancelledError, stacking);
  }
});

Deno.test("an uncaught CancelledError from the awaited Deferred fails the returned one", () => {
  for (const stacking of stackings) {
    const d = run(stacking, () => new Deferred<number>());
    d.cancel();
    failureResultOf(d, CancelledError);
  }
});

Deno.test("the generator may turn the cancellation error into another error", () => {
  for (const stacking of stackings) {
    const child = new Deferred<number>((c) =>
      c.errback(new UntranslatedError())
    );
    const d = run(stacking, () => child);
    d.cancel();
    failureResultOf(d, TranslatedError);
  }
});

Deno.test("the generator may turn the cancellation error into a result", () => {
  for (const stacking of stackings) {
    const child = new Deferred<number>((c) => c.errback(new DontFail(4321)));
    const d = run(stacking, () => child);
    const results: number[] = [];
    d.addCallback((r) => {
      results.push(r);
    });
    d.cancel();
    assert.deepEqual(results, [4320], stacking);
  }
});

Deno.test("after cancel the returned Deferred waits until the generator really finishes", () => {
  for (const stacking of stackings) {
    const more = new Deferred<number>();
    const d = run(stacking, () => {
      const child = new Deferred<number>();
      child.addErrback((f) => {
        f.trap(CancelledError);
        return more;
      });
      return child;
    });
    d.cancel();
    assertNoResult(d);
    more.callback(6543);
    assert.equal(successResultOf(d), 6544, stacking);
  }
});

Deno.test("a generator that catches the CancelledError goes on, and a second cancel cancels its next wait", () => {
  const canceller1: unknown[] = [];
  const canceller2: unknown[] = [];
  const d1 = new Deferred<unknown>((d) => void canceller1.push(d));
  const d2 = new Deferred<unknown>((d) => void canceller2.push(d));
  const f = inlineCallbacks(function* () {
    try {
      yield d1;
    } catch {
      // carry on
    }
    yield d2;
  });
  const funcD = f();
  assertNoResult(d1);
  assertNoResult(d2);
  assertNoResult(funcD);
  funcD.cancel();
  assert.deepEqual(canceller1, [d1]);
  assert.deepEqual(canceller2, []);
  assertNoResult(funcD);
  funcD.cancel();
  assert.equal(failureResultOf(funcD).type, CancelledError);
  assert.deepEqual(canceller2, [d2]);
});

Deno.test("cancelling after the generator finished changes nothing", () => {
  const f = inlineCallbacks(function* () {
    return yield succeed("done");
  });
  const d = f();
  d.cancel();
  assert.equal(successResultOf(d), "done");
});

Deno.test("cancelling while the generator waits on a Promise fails the wait with CancelledError", async () => {
  const { promise, resolve } = Promise.withResolvers<number>();
  const f = inlineCallbacks(function* () {
    try {
      yield promise;
      return "resolved";
    } catch (e) {
      return (e as Error).name;
    }
  });
  const d = f();
  d.cancel();
  assert.equal(successResultOf(d), "CancelledError");
  resolve(1);
  await promise;
});

// ------------------------------------------------------------- ensureDeferred

Deno.test("ensureDeferred returns a Deferred it is given as it is", () => {
  const d = new Deferred<number>();
  assert.equal(ensureDeferred(d), d);
});

Deno.test("ensureDeferred fires with a Promise's value, or fails with its rejection", async () => {
  // deno-lint-ignore require-await -- an async function is what is tested
  const d = ensureDeferred((async () => 42)());
  const typed: Equals<typeof d, Deferred<number>> = true;
  assert.ok(typed);
  assertNoResult(d);
  assert.equal(await d, 42);
  const bad = ensureDeferred(Promise.reject(new GenericError("async")));
  await bad.then(() => undefined, () => undefined);
  failureResultOf(bad, GenericError);
});

Deno.test("ensureDeferred runs a generator object", () => {
  function* gen(): InlineGenerator<string> {
    const x: string = yield succeed("gen");
    return x + "!";
  }
  const d = ensureDeferred(gen());
  const typed: Equals<typeof d, Deferred<string>> = true;
  assert.ok(typed);
  assert.equal(successResultOf(d), "gen!");
});

Deno.test("cancelling ensureDeferred of a Promise fails at once and ignores the settlement", async () => {
  const { promise, resolve } = Promise.withResolvers<string>();
  const d = ensureDeferred(promise);
  d.cancel();
  failureResultOf(d, CancelledError);
  resolve("late");
  await promise;
  await Promise.resolve();
});

Deno.test("ensureDeferred refuses anything else with a TypeError", () => {
  for (const bad of [1, "x", null, undefined, {}, () => 1]) {
    // @ts-expect-error: not a Deferred, Promise or generator
    assert.throws(() => ensureDeferred(bad), TypeError, String(bad));
  }
});
