// Tests for the Deferred core, written from Twisted's documented behaviour
// (src/twisted/test/test_defer.py is the map): results, order of calls,
// failure types, and what gets logged.

import assert from "node:assert/strict";
import {
  AlreadyCalledError,
  CancelledError,
  Deferred,
  execute,
  fail,
  Failure,
  gatherResults,
  maybeDeferred,
  setDebugging,
  succeed,
  TimeoutError,
} from "../../deferred/mod.ts";
import {
  formatEvent,
  formatEventAsText,
  type LogEvent,
} from "../../log/mod.ts";
import { Clock } from "../../testing/clock.ts";
import { captureLogs, type LogCapture } from "../../testing/logs.ts";
import {
  assertNoResult,
  failureResultOf,
  successResultOf,
} from "../../testing/results.ts";

class GenericError extends Error {
  override readonly name = "GenericError";
}

/** Consumes whatever failure `d` holds, so nothing is reported at GC. */
function settle(d: Deferred<unknown>): void {
  d.addErrback(() => undefined);
}

// ------------------------------------------------------------- basics

Deno.test("callback runs the callbacks synchronously, in order, with each result feeding the next", () => {
  const seen: unknown[] = [];
  const d = new Deferred<number>();
  d.addCallback((n) => {
    seen.push(["first", n]);
    return n * 2;
  }).addCallback((n) => {
    seen.push(["second", n]);
    return `${n}!`;
  });
  assert.deepEqual(seen.length, 0);
  d.callback(21);
  assert.deepEqual(seen, [["first", 21], ["second", 42]]);
  assert.equal(successResultOf(d), "42!");
});

Deno.test("a callback added to a fired Deferred runs at once", () => {
  const d = succeed("now");
  let got = "";
  d.addCallback((s) => {
    got = s;
  });
  assert.equal(got, "now");
});

Deno.test("addCallback, addErrback and addBoth pass their extra arguments after the result", () => {
  const calls: unknown[][] = [];
  succeed(1).addCallback(
    (r, a: string, b: number) => {
      calls.push([r, a, b]);
    },
    "a",
    2,
  );
  fail(new GenericError("e")).addErrback((f, x: string) => {
    calls.push([f.getErrorMessage(), x]);
  }, "x");
  succeed(3).addBoth((r, y: string) => {
    calls.push([r, y]);
  }, "y");
  assert.deepEqual(calls, [[1, "a", 2], ["e", "x"], [3, "y"]]);
});

Deno.test("addCallbacks passes callbackArgs and errbackArgs to the matching function", () => {
  const calls: unknown[][] = [];
  succeed(1).addCallbacks(
    (r: number, ...rest: unknown[]) => calls.push(["cb", r, ...rest]),
    (f: Failure, ...rest: unknown[]) => calls.push(["eb", f, ...rest]),
    { callbackArgs: ["c1", "c2"], errbackArgs: ["e1"] },
  );
  fail(new GenericError("bad")).addCallbacks(
    (r: unknown, ...rest: unknown[]) => calls.push(["cb", r, ...rest]),
    (f: Failure, ...rest: unknown[]) =>
      calls.push(["eb", f.getErrorMessage(), ...rest]),
    { callbackArgs: ["c1"], errbackArgs: ["e1", "e2"] },
  );
  assert.deepEqual(calls, [["cb", 1, "c1", "c2"], ["eb", "bad", "e1", "e2"]]);
});

Deno.test("addCallbacks with a null callback or errback passes that kind of result on unchanged", () => {
  const d1 = succeed(5).addCallbacks(null, () => "recovered");
  assert.equal(successResultOf(d1), 5);
  const d2 = fail(new GenericError("kept")).addCallbacks(() => "called", null);
  assert.equal(failureResultOf(d2, GenericError).getErrorMessage(), "kept");
  const d3 = fail(new GenericError("kept too")).addCallbacks(() => "called");
  assert.equal(failureResultOf(d3, GenericError).getErrorMessage(), "kept too");
});

Deno.test("the errback of an addCallbacks pair does not see an error its own callback throws", () => {
  const seen: string[] = [];
  const d = succeed(1).addCallbacks(
    () => {
      throw new GenericError("from callback");
    },
    () => {
      seen.push("same-level errback");
    },
  );
  d.addErrback((f) => {
    seen.push(`next errback: ${f.getErrorMessage()}`);
  });
  assert.deepEqual(seen, ["next errback: from callback"]);
});

Deno.test("adding a callback that is not a function is a TypeError and changes nothing", () => {
  const d = succeed(1);
  // @ts-expect-error: not a function
  assert.throws(() => d.addCallback("nope"), TypeError);
  // @ts-expect-error: not a function
  assert.throws(() => d.addErrback(42), TypeError);
  // @ts-expect-error: not a function
  assert.throws(() => d.addBoth(undefined), TypeError);
  // @ts-expect-error: not a function
  assert.throws(() => d.addCallbacks(1, null), TypeError);
  assert.equal(successResultOf(d), 1);
});

// ------------------------------------------------------------- failures

Deno.test("an error thrown by a callback becomes a Failure for the next errback, skipping callbacks", () => {
  const seen: string[] = [];
  const d = new Deferred<number>();
  d.addCallback(() => {
    throw new RangeError("boom");
  })
    .addCallback(() => {
      seen.push("skipped callback");
    })
    .addErrback((f) => {
      assert.ok(f instanceof Failure);
      assert.ok(f.value instanceof RangeError);
      seen.push(f.getErrorMessage());
    });
  d.callback(1);
  assert.deepEqual(seen, ["boom"]);
});

Deno.test("a callback returning a Failure fails the chain with that Failure", () => {
  const rte = new Failure(new GenericError("returned"));
  const d = succeed(6).addCallback((): number | Failure => rte);
  assert.equal(failureResultOf(d, GenericError), rte);
});

Deno.test("an errback that returns normally recovers the chain with its value", () => {
  const d = fail<number>(new GenericError("bad"))
    .addErrback(() => 7)
    .addCallback((n) => n + 1);
  assert.equal(successResultOf(d), 8);
});

Deno.test("an errback that throws or returns the failure passes a failure on", () => {
  const thrown = fail(new GenericError("a")).addErrback((f) => {
    throw new TypeError(`wrapped ${f.getErrorMessage()}`);
  });
  assert.equal(
    failureResultOf(thrown, TypeError).getErrorMessage(),
    "wrapped a",
  );
  const original = new Failure(new GenericError("b"));
  const returned = fail(original).addErrback((f) => f);
  assert.equal(failureResultOf(returned), original);
});

Deno.test("errback wraps a non-Failure reason, keeps a Failure as it is, and says so when given nothing", () => {
  const error = new GenericError("plain");
  const d1 = new Deferred();
  d1.errback(error);
  const f1 = failureResultOf(d1, GenericError);
  assert.equal(f1.value, error);

  const f = new Failure(new GenericError("same"));
  const d2 = new Deferred();
  d2.errback(f);
  assert.equal(failureResultOf(d2), f);

  const d3 = new Deferred();
  d3.errback("a string reason");
  assert.equal(failureResultOf(d3).value, "a string reason");

  const d4 = new Deferred();
  d4.errback();
  assert.match(failureResultOf(d4).getErrorMessage(), /without a reason/);
});

Deno.test("fail() gives an already failed Deferred and succeed() an already fired one", () => {
  const f = fail(new GenericError("fail"));
  assert.equal(f.called, true);
  assert.equal(failureResultOf(f, GenericError).getErrorMessage(), "fail");
  const s = succeed("success");
  assert.equal(s.called, true);
  assert.equal(successResultOf(s), "success");
});

// ------------------------------------------------------------- firing twice

Deno.test("a second callback or errback throws AlreadyCalledError, whatever the first was", () => {
  const cases: [string, (d: Deferred<string>) => void][] = [
    ["callback", (d) => d.callback("hello")],
    ["errback", (d) => d.errback(new GenericError("first"))],
  ];
  for (const [firstName, first] of cases) {
    for (const [secondName, second] of cases) {
      const d = new Deferred<string>();
      settle(d);
      first(d);
      assert.throws(
        () => second(d),
        AlreadyCalledError,
        `${firstName} then ${secondName}`,
      );
    }
  }
});

Deno.test("callback(aDeferred) is a TypeError and leaves the Deferred unfired", () => {
  const d = new Deferred<unknown>();
  assert.throws(() => d.callback(new Deferred()), TypeError);
  assert.equal(d.called, false);
  d.callback("fine");
  assert.equal(successResultOf(d), "fine");
});

Deno.test("with debugging on, AlreadyCalledError shows where the Deferred was created and first fired", () => {
  setDebugging(true);
  let error: unknown;
  try {
    const d = createForDebugging();
    fireFirst(d);
    try {
      fireSecond(d);
    } catch (e) {
      error = e;
    }
  } finally {
    setDebugging(false);
  }
  assert.ok(error instanceof AlreadyCalledError);
  const message = error.message;
  const created = message.indexOf("Created at:");
  const fired = message.indexOf("First fired at:");
  const again = message.indexOf("Fired again at:");
  assert.ok(created !== -1 && fired > created && again > fired, message);
  assert.match(message.slice(created, fired), /createForDebugging/);
  assert.doesNotMatch(message.slice(created, fired), /fireFirst|fireSecond/);
  assert.match(message.slice(fired, again), /fireFirst/);
  assert.doesNotMatch(message.slice(fired, again), /fireSecond/);
  assert.match(message.slice(again), /fireSecond/);
});

function createForDebugging(): Deferred<string> {
  return new Deferred<string>();
}
function fireFirst(d: Deferred<string>): void {
  d.callback("first");
}
function fireSecond(d: Deferred<string>): void {
  d.callback("second");
}

Deno.test("without debugging, AlreadyCalledError carries no stacks", () => {
  const d = new Deferred<number>();
  d.callback(1);
  assert.throws(
    () => d.callback(2),
    (e: unknown) =>
      e instanceof AlreadyCalledError &&
      !e.message.includes("Created at") && !e.message.includes("fired at"),
  );
});

Deno.test("turning debugging on and off between creating and firing is harmless", () => {
  setDebugging(false);
  const d = new Deferred<null>();
  d.addBoth(() => null);
  setDebugging(true);
  try {
    d.callback(null);
    setDebugging(false);
    const d2 = new Deferred<null>();
    d2.callback(null);
    setDebugging(true);
    d2.addBoth(() => null);
    assert.equal(successResultOf(d2), null);
  } finally {
    setDebugging(false);
  }
});

// ------------------------------------------------------------- re-entrancy

Deno.test("a callback added by a running callback goes to the end of the chain", () => {
  const called: number[] = [];
  const d = new Deferred<void>();
  d.addCallback(() => {
    called.push(1);
    d.addCallback(() => {
      called.push(3);
    });
  });
  d.addCallback(() => {
    called.push(2);
  });
  d.callback();
  assert.deepEqual(called, [1, 2, 3]);
});

Deno.test("a callback added by a running callback does not run until that callback returns", () => {
  const called: number[] = [];
  let whenAdded: number[] = [];
  const d = new Deferred<void>();
  d.addCallback(() => {
    called.push(1);
    d.addCallback(() => {
      called.push(2);
    });
    whenAdded = [...called];
  });
  d.callback();
  assert.deepEqual(whenAdded, [1], "not run while the adding callback runs");
  assert.deepEqual(called, [1, 2]);
});

Deno.test("a callback on a fired Deferred that adds callbacks to it runs them right after, in order", () => {
  const called: number[] = [];
  const d = succeed(0);
  d.addCallback((n) => {
    called.push(1);
    d.addCallback((m) => {
      called.push(3);
      return m;
    });
    assert.deepEqual(called, [1], "not before the running one returns");
    return n + 1;
  });
  d.addCallback((n) => {
    called.push(n === 1 ? 2 : -1);
  });
  assert.deepEqual(called, [1, 3, 2]);
});

Deno.test("a callback on a fired Deferred may return a Deferred, a Failure or throw, like any other", () => {
  const inner = new Deferred<string>();
  const d = succeed(1);
  d.addCallback(() => inner);
  assertNoResult(d);
  inner.callback("inner");
  assert.equal(successResultOf(d), "inner");
  const e = succeed(1);
  e.addCallback(() => new Failure(new GenericError("returned")));
  failureResultOf(e, GenericError);
  const f = succeed(1);
  f.addCallback(() => {
    throw new GenericError("thrown");
  });
  failureResultOf(f, GenericError);
});

Deno.test("an error thrown by a callback added during the chain reaches the next errback", () => {
  const d = new Deferred<void>();
  d.addCallback(() => {
    d.addCallback(() => {
      throw new GenericError("callback raised exception");
    });
  });
  d.callback();
  assert.equal(
    failureResultOf(d, GenericError).getErrorMessage(),
    "callback raised exception",
  );
});

// ------------------------------------------------------------- chaining

Deno.test("a callback returning an unfired Deferred pauses the chain until it fires, then continues with its result", () => {
  const d1 = new Deferred<number>();
  const d2 = new Deferred<number>();
  d2.pause();
  const seen: number[] = [];
  d1.addCallback(() => d2).addCallback((n) => {
    seen.push(n);
  });
  d1.callback(1);
  assert.deepEqual(seen.length, 0, "not before d2 fires");
  d2.callback(2);
  assert.deepEqual(seen.length, 0, "not while d2 is paused");
  d2.unpause();
  assert.deepEqual(seen, [2]);
});

Deno.test("an errback may return a Deferred just as a callback can", () => {
  const d = new Deferred<number>();
  const d2 = new Deferred<string>();
  const seen: unknown[] = [];
  d.addErrback(() => d2).addCallback((r) => {
    seen.push(r);
  });
  d.errback(new GenericError());
  assertNoResult(d);
  d2.callback("result");
  assert.deepEqual(seen, ["result"]);
});

Deno.test("a fired Deferred returned from a callback gives its result to the chain and is left holding undefined", () => {
  const result = { token: 1 };
  const first = succeed(result);
  const second = new Deferred<void>();
  second.addCallback(() => first);
  second.callback();
  const firstResults: unknown[] = [];
  first.addCallback((r) => {
    firstResults.push(r);
  });
  assert.deepEqual(firstResults, [undefined]);
  assert.equal(successResultOf(second), result);
});

Deno.test("an unfired Deferred returned from a callback hands over its result when it fires", () => {
  const first = new Deferred<object>();
  const second = new Deferred<void>();
  second.addCallback(() => first);
  second.callback();
  const firstResult: unknown[] = [];
  first.addCallback((r) => {
    firstResult.push(r);
  });
  const secondResult: unknown[] = [];
  second.addCallback((r) => {
    secondResult.push(r);
  });
  assert.equal(firstResult.length + secondResult.length, 0);
  const result = { token: 2 };
  first.callback(result);
  assert.deepEqual(firstResult, [undefined]);
  assert.deepEqual(secondResult, [result]);
});

Deno.test("a failed Deferred returned from a callback hands its failure over and keeps nothing", () => {
  const first = fail<void>(new GenericError("First Deferred's Failure"));
  const second = new Deferred<void>();
  second.addCallback(() => first);
  second.callback();
  const firstResult: unknown[] = [];
  first.addCallback((r) => {
    firstResult.push(r);
  });
  assert.deepEqual(firstResult, [undefined]);
  failureResultOf(second, GenericError);
});

Deno.test("an unfired Deferred returned from a callback hands its later failure over and keeps nothing", () => {
  const first = new Deferred<void>();
  const second = new Deferred<void>();
  second.addCallback(() => first);
  second.callback();
  const secondError: Failure[] = [];
  second.addErrback((f) => {
    secondError.push(f);
  });
  const firstResult: unknown[] = [];
  first.addCallback((r) => {
    firstResult.push(r);
  });
  const secondResult: unknown[] = [];
  second.addCallback((r) => {
    secondResult.push(r);
  });
  first.errback(new GenericError("First Deferred's Failure"));
  assert.ok(secondError[0].check(GenericError));
  assert.deepEqual(firstResult, [undefined]);
  assert.equal(secondResult.length, 1);
});

Deno.test("chaining is transitive: C returned to B returned to A fires A", () => {
  const first = new Deferred<object>();
  const second = new Deferred<void>();
  second.addCallback(() => first);
  const third = new Deferred<void>();
  third.addCallback(() => second);
  const thirdResult: unknown[] = [];
  third.addCallback((r) => {
    thirdResult.push(r);
  });
  const result = { token: 3 };
  second.callback();
  third.callback();
  assert.equal(thirdResult.length, 0);
  first.callback(result);
  assert.deepEqual(thirdResult, [result]);
});

Deno.test("a paused Deferred with a result, returned from a callback, makes the chain wait for its unpause", () => {
  const expected = { token: 4 };
  const paused = succeed(expected);
  paused.pause();
  const chained = new Deferred<void>();
  chained.addCallback(() => paused);
  chained.callback();
  const result: unknown[] = [];
  chained.addCallback((r) => {
    result.push(r);
  });
  assert.equal(result.length, 0);
  paused.unpause();
  assert.deepEqual(result, [expected]);
});

Deno.test("a paused Deferred waiting in a chain does not stop the Deferred it waits on from running its own callbacks", () => {
  const first = new Deferred<void>();
  const second = new Deferred<void>();
  first.addCallback(() => second);
  first.callback();
  first.pause();
  second.callback();
  const result: unknown[] = [];
  second.addCallback((r) => {
    result.push(r);
  });
  assert.deepEqual(result, [undefined]);
});

Deno.test("nested Deferreds fired out of order run each chain's callbacks in the documented order", () => {
  const results: unknown[] = [];
  const failures: Failure[] = [];
  const inner = new Deferred<string>();
  const cb = (result: string) => {
    results.push(["start-of-cb", result]);
    return succeed("inner")
      .addCallback(() => {
        results.push(["firstCallback", "inner"]);
        return inner;
      })
      .addCallback((r) => {
        results.push(["secondCallback", r]);
        return r + r;
      })
      .addErrback((f) => {
        failures.push(f);
      });
  };
  const outer = succeed("outer").addCallback(cb).addCallback((r) => {
    results.push(r);
  });
  assert.deepEqual(results, [["start-of-cb", "outer"], [
    "firstCallback",
    "inner",
  ]]);
  inner.callback("orange");
  inner.addErrback((f) => {
    failures.push(f);
  });
  outer.addErrback((f) => {
    failures.push(f);
  });
  assert.deepEqual(failures, []);
  assert.deepEqual(results, [
    ["start-of-cb", "outer"],
    ["firstCallback", "inner"],
    ["secondCallback", "orange"],
    "orangeorange",
  ]);
});

Deno.test("callbacks added to an inner Deferred before it is returned change what the outer chain sees", () => {
  const results: unknown[] = [];
  const inner = new Deferred<string>();
  const outer = succeed("outer");
  outer.addCallback((r) => {
    results.push(["start-of-cb", r]);
    return succeed("inner")
      .addCallback((r2) => {
        results.push(["firstCallback", r2]);
        return inner.addCallback((x) => [x]);
      })
      .addCallback((list) => {
        results.push(["secondCallback", list]);
        return [...list, ...list];
      });
  });
  outer.addCallback((r) => {
    results.push(r);
  });
  inner.callback("withers");
  assert.deepEqual(results, [
    ["start-of-cb", "outer"],
    ["firstCallback", "inner"],
    ["secondCallback", ["withers"]],
    ["withers", "withers"],
  ]);
});

Deno.test("a callback added after a chained Deferred waits for the whole inner chain, in order", () => {
  const results: unknown[] = [];
  const a = new Deferred<string>();
  const cb = (result: string) => {
    results.push(["cb", result]);
    const d = new Deferred<void>();
    const returner = d
      .addCallback(() => {
        results.push(["firstCallback", undefined]);
        return gatherResults([a]);
      })
      .addCallback((r) => {
        results.push(["secondCallback", r]);
      });
    d.callback();
    return returner;
  };
  const outer = new Deferred<string>();
  outer.addCallback(cb);
  outer.addCallback(() => {
    results.push(["final", undefined]);
  });
  outer.callback("outer");
  assert.deepEqual(results, [["cb", "outer"], ["firstCallback", undefined]]);
  a.callback("withers");
  assert.deepEqual(results, [
    ["cb", "outer"],
    ["firstCallback", undefined],
    ["secondCallback", ["withers"]],
    ["final", undefined],
  ]);
});

Deno.test("callbacks added to the middle of three chained Deferreds run once the last one fires", () => {
  const first = new Deferred<void>();
  const second = new Deferred<void>();
  const third = new Deferred<void>();
  first.addCallback(() => second);
  second.addCallback(() => third);
  second.callback();
  first.callback();
  third.callback();
  const results: unknown[] = [];
  second.addCallback((r) => {
    results.push(r);
  });
  assert.deepEqual(results, [undefined]);
});

Deno.test("a callback returning the Deferred it is attached to fails the chain with a TypeError", () => {
  const d = new Deferred<string>();
  d.addCallback(() => d as unknown as string);
  d.callback("foo");
  const f = failureResultOf(d, TypeError);
  assert.match(f.getErrorMessage(), /returned the Deferred it was attached to/);
});

Deno.test("a callback returning a Promise pauses the chain until it resolves", async () => {
  const seen: unknown[] = [];
  const { promise, resolve } = Promise.withResolvers<number>();
  const d = succeed(1).addCallback(() => promise).addCallback((n) => {
    seen.push(n);
    return n;
  });
  assertNoResult(d);
  resolve(5);
  await promise;
  await Promise.resolve(); // the hand-over to the Deferred is one more turn
  assert.deepEqual(seen, [5]);
  assert.equal(successResultOf(d), 5);
});

Deno.test("a callback returning a rejected Promise fails the chain with its reason", async () => {
  const reason = new GenericError("rejected");
  const d = succeed(1).addCallback(() => Promise.reject(reason));
  assert.equal(await d.then(() => "resolved", (e) => e), reason);
});

Deno.test("a callback returning any thenable pauses the chain like a Deferred", () => {
  let fulfil: ((v: string) => void) | undefined;
  const thenable = {
    then(onFulfilled: (v: string) => void) {
      fulfil = onFulfilled;
    },
  };
  const d = succeed(0).addCallback(() => thenable as PromiseLike<string>);
  assertNoResult(d);
  fulfil!("from thenable");
  assert.equal(successResultOf(d), "from thenable");
});

Deno.test("a result whose then getter throws fails the chain with that error", () => {
  const tricky = {
    get then(): never {
      throw new GenericError("then getter");
    },
  };
  const d = succeed(0).addCallback(() => tricky);
  assert.equal(
    failureResultOf(d, GenericError).getErrorMessage(),
    "then getter",
  );
});

Deno.test("objects, functions and objects with a non-function then are passed on as plain results", () => {
  const obj = { a: 1 };
  const fn = () => 1;
  const notThenable = { then: 42 };
  const seen: unknown[] = [];
  const d = succeed<unknown>(0)
    .addCallback(() => obj)
    .addCallback((r) => {
      seen.push(r);
      return fn;
    })
    .addCallback((r) => {
      seen.push(r);
      return notThenable;
    })
    .addCallback((r) => {
      seen.push(r);
      return null;
    });
  assert.deepEqual(seen, [obj, fn, notThenable]);
  assert.equal(successResultOf(d), null);
  // And callbacks added to a Deferred already holding an object still run.
  const later = succeed(obj).addCallback((o) => o.a + 1);
  assert.equal(successResultOf(later), 2);
});

Deno.test("a mixed chain of plain callbacks, errbacks and extra arguments runs in order", () => {
  const order: string[] = [];
  const d = new Deferred<number>();
  d.addCallback((n) => {
    order.push(`cb ${n}`);
    return n + 1;
  })
    .addErrback(() => {
      order.push("skipped errback");
      return 0;
    })
    .addCallback((n, k: number) => {
      order.push(`cb ${n} ${k}`);
      throw new GenericError(`at ${n}`);
    }, 7)
    .addCallback(() => {
      order.push("skipped callback");
    })
    .addErrback((f) => {
      order.push(`eb ${f.getErrorMessage()}`);
      return 10;
    })
    .addCallback((n) => {
      order.push(`cb ${n}`);
      return n;
    });
  d.callback(1);
  assert.deepEqual(order, ["cb 1", "cb 2 7", "eb at 2", "cb 10"]);
  assert.equal(successResultOf(d), 10);
});

// ------------------------------------------------------------- stack depth

Deno.test("100 000 chained callbacks run without overflowing the stack", () => {
  const d = new Deferred<number>();
  for (let i = 0; i < 100_000; i++) d.addCallback((n) => n + 1);
  d.callback(0);
  assert.equal(successResultOf(d), 100_000);
});

Deno.test("10 000 nested Deferreds, each waiting on the next, fire without overflowing the stack", () => {
  const depth = 10_000;
  const ds = Array.from({ length: depth }, () => new Deferred<number>());
  for (let i = 0; i < depth - 1; i++) {
    const next = ds[i + 1];
    ds[i].addCallback(() => next);
  }
  for (let i = 0; i < depth - 1; i++) ds[i].callback(0);
  const top = ds[0].addCallback((n) => n + 1);
  assertNoResult(top);
  ds[depth - 1].callback(41);
  assert.equal(successResultOf(top), 42);
});

Deno.test("10 000 Deferreds returning already fired Deferreds chain without overflowing the stack", () => {
  let d = succeed(0);
  for (let i = 0; i < 10_000; i++) {
    const prev = d;
    d = succeed(0).addCallback(() => prev.addCallback((n) => n + 1));
  }
  assert.equal(successResultOf(d), 10_000);
});

Deno.test("the stack depth at which a chained callback runs does not grow with the number of chained Deferreds", () => {
  const depthFor = (howMany: number): number => {
    const depths: number[] = [];
    const top = new Deferred<void>();
    const inners = Array.from({ length: howMany }, () => new Deferred<void>());
    const last = new Deferred<void>();
    top.addCallback(() => inners[0]);
    top.addCallback(() => {
      depths.push(stackDepth());
    });
    for (let i = 0; i < howMany - 1; i++) {
      const next = inners[i + 1];
      inners[i].addCallback(() => next);
    }
    inners[howMany - 1].addCallback(() => last);
    top.callback();
    for (const inner of inners) inner.callback();
    assert.deepEqual(depths, [], "not before the last one fires");
    last.callback();
    return depths[0];
  };
  const one = depthFor(1);
  assert.equal(depthFor(2), one);
  assert.equal(depthFor(500), one);
});

function stackDepth(): number {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = Infinity;
  try {
    return (new Error().stack ?? "").split("\n").length;
  } finally {
    Error.stackTraceLimit = limit;
  }
}

// ------------------------------------------------------------- pause

Deno.test("pause holds a failure back from new errbacks until unpause", () => {
  const seen: string[] = [];
  const d = fail(new GenericError("fail"));
  d.pause();
  d.addErrback((f) => {
    seen.push(f.getErrorMessage());
  });
  assert.deepEqual(seen.length, 0);
  assert.equal(d.paused, 1);
  d.unpause();
  assert.deepEqual(seen, ["fail"]);
  assert.equal(d.paused, 0);
});

Deno.test("a result arriving while paused runs the chain only after the last unpause", () => {
  const seen: number[] = [];
  const d = new Deferred<number>();
  d.pause();
  d.pause();
  d.addCallback((n) => {
    seen.push(n);
  });
  d.callback(1);
  d.unpause();
  assert.deepEqual(seen.length, 0);
  d.unpause();
  assert.deepEqual(seen, [1]);
});

Deno.test("unpausing before a result arrives lets the result run the chain", () => {
  const seen: number[] = [];
  const d = new Deferred<number>();
  d.pause();
  d.addCallback((n) => {
    seen.push(n);
  });
  d.unpause();
  d.callback(3);
  assert.deepEqual(seen, [3]);
});

Deno.test("unpause without a matching pause is a RangeError", () => {
  const d = new Deferred();
  assert.throws(() => d.unpause(), RangeError);
  assert.equal(d.paused, 0);
});

// ------------------------------------------------------------- chainDeferred

Deno.test("chainDeferred fires the target with the result and leaves undefined behind", () => {
  const source = new Deferred<number>();
  const target = new Deferred<number>();
  source.chainDeferred(target);
  source.callback(9);
  assert.equal(successResultOf(target), 9);
  assert.equal(successResultOf(source), undefined);
});

Deno.test("chainDeferred hands a failure to the target and the source no longer holds it", () => {
  const source = new Deferred<number>();
  const target = new Deferred<number>();
  source.chainDeferred(target);
  source.errback(new GenericError("chained"));
  assert.equal(
    failureResultOf(target, GenericError).getErrorMessage(),
    "chained",
  );
  assert.equal(successResultOf(source), undefined);
});

Deno.test("chainDeferred with something other than a Deferred is a TypeError", () => {
  const source = new Deferred<number>();
  // @ts-expect-error: not a Deferred
  assert.throws(() => source.chainDeferred({}), TypeError);
});

Deno.test("toString says whether a Deferred has a result, and which, or is waiting", () => {
  const d = new Deferred<string>();
  assert.equal(String(d), "Deferred { no result }");
  d.callback("orange");
  assert.equal(String(d), "Deferred { current result: orange }");
  const a = new Deferred<void>();
  const b = new Deferred<void>();
  b.chainDeferred(a);
  assert.equal(String(a), "Deferred { waiting on a Deferred }");
  const waiting = succeed(0).addCallback(() => new Deferred());
  assert.equal(String(waiting), "Deferred { waiting on a Deferred }");
});

// ------------------------------------------------------------- cancel

Deno.test("cancel without a canceller fails with CancelledError and runs no callback", () => {
  const seen: string[] = [];
  const d = new Deferred<void>();
  d.addCallbacks(() => {
    seen.push("callback");
  }, (f) => {
    seen.push(f.type === CancelledError ? "cancelled" : "other");
  });
  d.cancel();
  assert.deepEqual(seen, ["cancelled"]);
});

Deno.test("after cancel without a canceller exactly one later callback is swallowed", () => {
  const d = new Deferred<void>();
  settle(d);
  d.cancel();
  d.callback();
  assert.throws(() => d.callback(), AlreadyCalledError);
  assert.throws(() => d.errback(new GenericError()), AlreadyCalledError);
});

Deno.test("after cancel without a canceller exactly one later errback is swallowed", () => {
  const seen: Failure[] = [];
  const d = new Deferred<void>();
  d.addErrback((f) => {
    seen.push(f);
  });
  d.cancel();
  d.errback(new GenericError());
  assert.equal(seen.length, 1);
  assert.equal(seen[0].type, CancelledError);
  assert.throws(() => d.callback(), AlreadyCalledError);
});

Deno.test("cancelling more than once changes nothing after the first time", () => {
  let cancellerCalls = 0;
  const seen: Failure[] = [];
  for (const canceller of [undefined, () => void cancellerCalls++]) {
    const d = new Deferred<void>(canceller);
    d.addErrback((f) => {
      seen.push(f);
    });
    d.cancel();
    d.cancel();
    d.cancel();
  }
  assert.equal(cancellerCalls, 1);
  assert.equal(seen.length, 2);
  assert.ok(seen.every((f) => f.type === CancelledError));
});

Deno.test("a canceller is called with the Deferred, and later fires are not swallowed", () => {
  const args: unknown[] = [];
  const d = new Deferred<void>((self) => {
    args.push(self);
  });
  d.cancel();
  assert.deepEqual(args, [d]);
  failureResultOf(d, CancelledError);
  assert.throws(() => d.callback(), AlreadyCalledError);
  assert.throws(() => d.errback(new GenericError()), AlreadyCalledError);
});

Deno.test("a canceller that fires the Deferred decides its result", () => {
  const called = new Deferred<string>((d) => d.callback("hello!"));
  called.cancel();
  assert.equal(successResultOf(called), "hello!");
  const errbacked = new Deferred<string>((d) => d.errback(new GenericError()));
  errbacked.cancel();
  failureResultOf(errbacked, GenericError);
});

Deno.test("cancel after the result arrived does nothing and does not call the canceller", () => {
  let calls = 0;
  const ok = new Deferred<string>(() => void calls++);
  ok.callback("biff!");
  ok.cancel();
  assert.equal(successResultOf(ok), "biff!");
  const bad = new Deferred<string>(() => void calls++);
  bad.errback(new GenericError());
  bad.cancel();
  failureResultOf(bad, GenericError);
  assert.equal(calls, 0);
});

Deno.test("cancelling a Deferred waiting on one a callback returned cancels that one instead", () => {
  let innerCancels = 0;
  const b = new Deferred<void>(() => void innerCancels++);
  const a = new Deferred<void>(() => assert.fail("a's canceller ran"));
  a.callback();
  a.addCallback(() => b);
  a.cancel();
  assert.equal(innerCancels, 1);
  failureResultOf(a, CancelledError);
});

Deno.test("cancelling a Deferred waiting on a Promise fails it at once and ignores the Promise", async () => {
  const { promise, resolve } = Promise.withResolvers<string>();
  const d = succeed(0).addCallback(() => promise);
  d.cancel();
  failureResultOf(d, CancelledError);
  resolve("too late");
  await promise;
  await Promise.resolve();
});

Deno.test("an error thrown by a canceller propagates from cancel and leaves the Deferred unfired", () => {
  const d = new Deferred<void>(() => {
    throw new GenericError("canceller broke");
  });
  assert.throws(() => d.cancel(), GenericError);
  assertNoResult(d);
  d.callback();
  assert.equal(successResultOf(d), undefined);
});

Deno.test("cancelling a fired target of chainDeferred does not cancel its source", () => {
  const source = new Deferred<number>();
  const target = new Deferred<number>();
  target.callback(1);
  source.chainDeferred(target);
  target.cancel();
  assertNoResult(source);
  assert.equal(successResultOf(target), 1);
});

// ------------------------------------------------------------- addTimeout

const OVERRIDDEN = "OVERRIDDEN";
const override = () => OVERRIDDEN;

Deno.test("addTimeout returns the Deferred itself, so it chains", () => {
  const d = new Deferred<void>();
  const r = d.addTimeout(5, new Clock());
  assert.equal(r, d);
  d.addCallback(() => "done");
  d.callback();
  assert.equal(successResultOf(d), "done");
});

Deno.test("addTimeout fails with TimeoutError once the time passes without a result", () => {
  const clock = new Clock();
  const d = new Deferred<void>();
  d.addTimeout(10, clock);
  clock.advance(9);
  assertNoResult(d);
  clock.advance(1);
  const f = failureResultOf(d, TimeoutError);
  assert.equal((f.value as TimeoutError).timeout, 10);
  assert.ok((f.value as Error).cause instanceof CancelledError);
});

Deno.test("addTimeout with onTimeoutCancel gives that function's result after a timeout", () => {
  const clock = new Clock();
  const got: unknown[] = [];
  const d = new Deferred<void>();
  d.addTimeout(10, clock, (result, timeout) => {
    got.push(result instanceof Failure ? result.type : result, timeout);
    return OVERRIDDEN;
  });
  clock.advance(15);
  assert.deepEqual(got, [CancelledError, 10]);
  assert.equal(successResultOf(d), OVERRIDDEN);
});

Deno.test("a result before the timeout cancels the timer and nothing is cancelled later", () => {
  for (const onTimeout of [undefined, override]) {
    const clock = new Clock();
    const d = new Deferred<string>();
    d.addTimeout(10, clock, onTimeout);
    const inner = new Deferred<void>();
    let got: string | undefined;
    d.addCallback((r) => {
      got = r;
      return inner;
    });
    d.callback("results");
    assert.equal(got, "results");
    assert.equal(clock.getDelayedCalls().length, 0, "timer cancelled");
    clock.advance(15);
    assertNoResult(inner);
  }
});

Deno.test("a failure before the timeout passes through and nothing is cancelled later", () => {
  for (const onTimeout of [undefined, override]) {
    const clock = new Clock();
    const d = new Deferred<void>();
    d.addTimeout(10, clock, onTimeout);
    const inner = new Deferred<void>();
    const error = new GenericError("fail");
    let got: Failure | undefined;
    d.addErrback((f) => {
      got = f;
      return inner;
    });
    d.errback(error);
    assert.equal(got?.value, error);
    assert.equal(clock.getDelayedCalls().length, 0);
    clock.advance(15);
    assertNoResult(inner);
  }
});

Deno.test("a cancel before the timeout keeps its CancelledError and the timer is dropped", () => {
  for (const onTimeout of [undefined, override]) {
    const clock = new Clock();
    const d = new Deferred<void>();
    d.addTimeout(10, clock, onTimeout);
    const inner = new Deferred<void>();
    let got: Failure | undefined;
    d.addErrback((f) => {
      got = f;
      return inner;
    });
    d.cancel();
    assert.equal(got?.type, CancelledError);
    clock.advance(15);
    assertNoResult(inner);
  }
});

Deno.test("when a timeout runs the canceller, its own result is kept", () => {
  const clock = new Clock();
  const ok = new Deferred<string>((c) => c.callback("I was cancelled!"));
  ok.addTimeout(10, clock);
  const error = new GenericError("what!");
  const bad = new Deferred<string>((c) => c.errback(error));
  bad.addTimeout(10, clock);
  const custom = new Deferred<string>((c) => c.errback(new GenericError()));
  custom.addTimeout(10, clock, override);
  clock.advance(15);
  assert.equal(successResultOf(ok), "I was cancelled!");
  assert.equal(failureResultOf(bad, GenericError).value, error);
  assert.equal(successResultOf(custom), OVERRIDDEN);
});

Deno.test("an errback added before addTimeout sees CancelledError, which then becomes TimeoutError", () => {
  const clock = new Clock();
  const d = new Deferred<void>();
  let seen: unknown;
  d.addErrback((f) => {
    seen = f.value;
    return f;
  });
  d.addTimeout(10, clock);
  clock.advance(15);
  assert.ok(seen instanceof CancelledError);
  failureResultOf(d, TimeoutError);
});

Deno.test("an errback added before addTimeout may suppress the cancellation", () => {
  const clock = new Clock();
  const d = new Deferred<void>();
  let seen: unknown;
  d.addErrback((f) => {
    seen = f.value;
    f.trap(CancelledError);
  });
  d.addTimeout(10, clock);
  clock.advance(15);
  assert.ok(seen instanceof CancelledError);
  assert.equal(successResultOf(d), undefined);
});

Deno.test("with onTimeoutCancel, an errback added before sees CancelledError and the function still decides", () => {
  for (const suppress of [false, true]) {
    const clock = new Clock();
    const d = new Deferred<void>();
    let seen: unknown;
    d.addErrback((f) => {
      seen = f.value;
      return suppress ? undefined : f;
    });
    d.addTimeout(10, clock, override);
    clock.advance(15);
    assert.ok(seen instanceof CancelledError);
    assert.equal(successResultOf(d), OVERRIDDEN);
  }
});

Deno.test("addTimeout cancels the Deferred a callback added before it is waiting on", () => {
  const clock = new Clock();
  let innerCancelled = 0;
  const inner = new Deferred<string>(() => void innerCancelled++);
  const d = succeed(0).addCallback(() => inner);
  d.addTimeout(10, clock);
  clock.advance(10);
  assert.equal(innerCancelled, 1);
  failureResultOf(d, TimeoutError);
});

// ------------------------------------------------------------- Promises

Deno.test("await on a Deferred gives its result, and rejects with failure.value on failure", async () => {
  assert.equal(await succeed(3), 3);
  const error = new GenericError("awaited");
  await assert.rejects(async () => {
    await fail(error);
  }, (e: unknown) => e === error);
});

Deno.test("await on an unfired Deferred resumes when it fires", async () => {
  const d = new Deferred<string>();
  const awaited = (async () => await d)();
  d.callback("later");
  assert.equal(await awaited, "later");
});

Deno.test("asPromise leaves the chain's result as it was", async () => {
  const d = succeed(1);
  const p = d.asPromise();
  d.addCallback((n) => n + 1);
  assert.equal(await p, 1);
  assert.equal(successResultOf(d), 2);
  const f = fail(new GenericError("still here"));
  await assert.rejects(f.asPromise(), GenericError);
  assert.equal(
    failureResultOf(f, GenericError).getErrorMessage(),
    "still here",
  );
});

Deno.test("then() passes the result or the failure's value to the given handlers", async () => {
  assert.equal(await succeed(2).then((n) => n * 10), 20);
  assert.equal(
    await fail(new GenericError("x")).then(
      () => "no",
      (e) => (e as Error).message,
    ),
    "x",
  );
});

Deno.test("Deferred.fromPromise fires with the value or a Failure of the rejection", async () => {
  const ok = Deferred.fromPromise(Promise.resolve("value"));
  assertNoResult(ok);
  assert.equal(await ok, "value");
  const reason = new GenericError("rejected");
  const bad = Deferred.fromPromise(Promise.reject(reason));
  await bad.then(() => undefined, () => undefined);
  assert.equal(failureResultOf(bad, GenericError).value, reason);
});

Deno.test("cancelling fromPromise's Deferred fails it with CancelledError and ignores the settlement", async () => {
  const { promise, resolve } = Promise.withResolvers<number>();
  const d = Deferred.fromPromise(promise);
  d.cancel();
  failureResultOf(d, CancelledError);
  resolve(1);
  await promise;
  await Promise.resolve();
});

// ------------------------------------------------------------- helpers

Deno.test("maybeDeferred gives the function's plain result as a fired Deferred, passing the arguments", () => {
  const obj = { token: 5 };
  assert.equal(successResultOf(maybeDeferred(() => obj)), obj);
  const d = maybeDeferred((x: number) => x + 5, 10);
  const typed: Deferred<number> = d;
  assert.equal(successResultOf(typed), 15);
});

Deno.test("maybeDeferred turns a thrown error or a returned Failure into a failed Deferred", () => {
  const expected = new GenericError("that value is unacceptable");
  const thrown = maybeDeferred(() => {
    throw expected;
  });
  assert.equal(failureResultOf(thrown, GenericError).value, expected);
  const f = new Failure(new TypeError("returned"));
  assert.equal(failureResultOf(maybeDeferred(() => f)), f);
});

Deno.test("maybeDeferred returns a Deferred the function returned, and adapts a Promise", async () => {
  const d1 = new Deferred<string>();
  const d2 = maybeDeferred(() => d1);
  assert.equal(d2, d1);
  d1.callback("Success");
  assert.equal(successResultOf(d2), "Success");
  // deno-lint-ignore require-await -- an async function is what is tested
  const fromAsync = maybeDeferred(async () => 7);
  const typed: Deferred<number> = fromAsync;
  assert.equal(await typed, 7);
  // deno-lint-ignore require-await -- an async function is what is tested
  const failing = maybeDeferred(async () => {
    throw new GenericError("async");
  });
  await assert.rejects(failing.asPromise(), GenericError);
  failureResultOf(failing, GenericError);
});

Deno.test("execute calls the function now and gives its result or its error", () => {
  assert.equal(
    successResultOf(execute((a: number, b: number) => a * b, 6, 7)),
    42,
  );
  const bad = execute(() => {
    throw new GenericError("executed");
  });
  assert.equal(
    failureResultOf(bad, GenericError).getErrorMessage(),
    "executed",
  );
  const returnsDeferred = execute(() => new Deferred());
  failureResultOf(returnsDeferred, TypeError);
});

// ------------------------------------------------------------- types

type Equals<A, B> = (<X>() => X extends A ? 1 : 2) extends
  (<X>() => X extends B ? 1 : 2) ? true : false;

Deno.test("result types flow through the chain (checked at compile time)", () => {
  const d = succeed(1).addCallback((n) => String(n));
  const isString: Equals<typeof d, Deferred<string>> = true;
  const awaited = succeed(1).addCallback(() => succeed("inner"));
  const isInner: Equals<typeof awaited, Deferred<string>> = true;
  // deno-lint-ignore require-await -- an async function is what is tested
  const fromPromise = succeed(1).addCallback(async () => true);
  const isBool: Equals<typeof fromPromise, Deferred<boolean>> = true;
  const recovered = succeed(1).addErrback(() => "fallback");
  const isUnion: Equals<typeof recovered, Deferred<number | string>> = true;
  const chained = new Deferred<number>().chainDeferred(new Deferred<number>());
  const isUndefined: Equals<typeof chained, Deferred<undefined>> = true;
  // A Deferred<number> is usable where a Deferred<unknown> is expected.
  const widened: Deferred<unknown> = succeed(1);
  assert.ok(isString && isInner && isBool && isUnion && isUndefined);
  assert.equal(successResultOf(d), "1");
  assert.equal(successResultOf(awaited), "inner");
  assert.equal(successResultOf(widened), 1);
  settle(fromPromise);
});

// ------------------------------------------------------------- unhandled

const gc = (globalThis as { gc?: () => void }).gc;
const noGc = typeof gc !== "function";
if (noGc) {
  console.log(
    "skipping the garbage-collection tests: run with --v8-flags=--expose-gc",
  );
}

/** Forces collections until `done()` or `rounds` turns have passed. */
async function collectUntil(
  done: () => boolean,
  rounds = 20,
): Promise<boolean> {
  for (let i = 0; i < rounds && !done(); i++) {
    gc!();
    // FinalizationRegistry callbacks run as tasks after the collection.
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  return done();
}

function reportsOf(logs: LogCapture, marker: string): LogEvent[] {
  return logs.events.filter((e) => {
    const value = e.log_failure?.value;
    return value instanceof Error && value.message === marker;
  });
}

// Each helper makes its Deferred in its own frame, so nothing on the test's
// stack keeps it alive.
function throwingCallback(marker: string): void {
  const d = new Deferred<void>();
  d.addCallback(function raiseMarker() {
    throw new GenericError(marker);
  });
  d.callback();
}
function recoveredFailure(marker: string): void {
  fail(new GenericError(marker)).addErrback(() => "recovered");
}
function takenOverFailure(marker: string): void {
  const d = new Deferred<void>();
  d.addCallback(() => fail(new GenericError(marker)));
  d.callback();
  d.addErrback(() => undefined);
}
function clearedByChaining(marker: string): void {
  fail(new GenericError(marker)).addErrback(() => new Deferred());
}
function awaitedFailure(marker: string): void {
  fail(new GenericError(marker)).asPromise().catch(() => undefined);
}

Deno.test({
  name:
    "a Deferred collected while holding a failure logs 'Unhandled error in Deferred' with its traceback",
  ignore: noGc,
  async fn() {
    using logs = captureLogs();
    const marker = `unhandled ${crypto.randomUUID()}`;
    throwingCallback(marker);
    assert.ok(await collectUntil(() => reportsOf(logs, marker).length > 0));
    const [event] = reportsOf(logs, marker);
    assert.equal(reportsOf(logs, marker).length, 1);
    assert.equal(event.log_level, "critical");
    assert.equal(event.log_namespace, "deferred");
    assert.match(formatEvent(event), /^Unhandled error in Deferred/);
    const text = formatEventAsText(event);
    assert.match(text, /Unhandled error in Deferred/);
    assert.match(text, new RegExp(`GenericError: ${marker}`));
    assert.match(text, /raiseMarker/, "the traceback names the callback");
    logs.flushLoggedErrors();
  },
});

Deno.test({
  name:
    "a failure that was recovered, taken over, cleared by chaining or awaited is not reported when collected",
  ignore: noGc,
  async fn() {
    using logs = captureLogs();
    const id = crypto.randomUUID();
    const control = `control ${id}`;
    const quiet = ["recovered", "taken over", "chained", "awaited"].map(
      (what) => `${what} ${id}`,
    );
    recoveredFailure(quiet[0]);
    takenOverFailure(quiet[1]);
    clearedByChaining(quiet[2]);
    awaitedFailure(quiet[3]);
    throwingCallback(control);
    await Promise.resolve(); // the awaited failure's rejection is handled
    assert.ok(await collectUntil(() => reportsOf(logs, control).length > 0));
    await collectUntil(() => false, 3); // a few more rounds for stragglers
    for (const marker of quiet) {
      assert.deepEqual(reportsOf(logs, marker), [], marker);
    }
    logs.flushLoggedErrors();
  },
});

function debuggedFailure(marker: string): void {
  setDebugging(true);
  try {
    const d = new Deferred<void>();
    d.addCallback(() => {
      throw new GenericError(marker);
    });
    d.callback();
  } finally {
    setDebugging(false);
  }
}

Deno.test({
  name:
    "with debugging on, the unhandled-error report says where the Deferred was created and fired",
  ignore: noGc,
  async fn() {
    using logs = captureLogs();
    const marker = `debugged ${crypto.randomUUID()}`;
    debuggedFailure(marker);
    assert.ok(await collectUntil(() => reportsOf(logs, marker).length > 0));
    const text = formatEvent(reportsOf(logs, marker)[0]);
    assert.match(text, /Created at:[^]*debuggedFailure/);
    assert.match(text, /First fired at:[^]*debuggedFailure/);
    logs.flushLoggedErrors();
  },
});
