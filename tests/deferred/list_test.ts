// Tests for DeferredList, gatherResults and race, from Twisted's
// test_defer.py (DeferredList*, gatherResults*, RaceTests).

import assert from "node:assert/strict";
import {
  CancelledError,
  Deferred,
  DeferredList,
  type DeferredListResult,
  fail,
  Failure,
  FailureGroup,
  FirstError,
  gatherResults,
  race,
  succeed,
} from "../../deferred/mod.ts";
import { captureLogs } from "../../testing/logs.ts";
import {
  assertNoResult,
  failureResultOf,
  successResultOf,
} from "../../testing/results.ts";

class GenericError extends Error {
  override readonly name = "GenericError";
}

const callbackCanceller = (d: Deferred<string>) =>
  d.callback("Callback Result");

type Equals<A, B> = (<X>() => X extends A ? 1 : 2) extends
  (<X>() => X extends B ? 1 : 2) ? true : false;

// ------------------------------------------------------------- DeferredList

Deno.test("DeferredList fires once all have fired, with [success, result] per Deferred in list order", () => {
  const d1 = new Deferred<string>();
  const d2 = new Deferred<string>();
  const d3 = new Deferred<string>();
  const dl = new DeferredList([d1, d2, d3]);
  const results: DeferredListResult<string>[][] = [];
  dl.addCallback((r) => {
    results.push(r);
  });
  d1.callback("1");
  d2.addErrback(() => undefined); // the list saw it; consume it after
  d2.errback(new GenericError("2"));
  assert.equal(results.length, 0);
  d3.callback("3");
  assert.equal(results.length, 1);
  const [first, second, third] = results[0];
  assert.deepEqual(first, [true, "1"]);
  assert.equal(second[0], false);
  assert.ok(second[1] instanceof Failure);
  assert.equal(second[1].getErrorMessage(), "2");
  assert.deepEqual(third, [true, "3"]);
});

Deno.test("an empty DeferredList fires at once with an empty list", () => {
  assert.deepEqual(successResultOf(new DeferredList([])), []);
});

Deno.test("an empty DeferredList with fireOnOneCallback never fires, even when cancelled", () => {
  const dl = new DeferredList([], { fireOnOneCallback: true });
  assertNoResult(dl);
  dl.cancel();
  assertNoResult(dl);
});

Deno.test("fireOnOneCallback fires with [result, index] at the first success", () => {
  const a = new Deferred<string>();
  const b = new Deferred<string>();
  const dl = new DeferredList([a, b], { fireOnOneCallback: true });
  const typed: Equals<typeof dl, DeferredList<string, true>> = true;
  assert.ok(typed);
  assertNoResult(dl);
  b.callback("second");
  assert.deepEqual(successResultOf(dl), ["second", 1]);
  a.callback("first"); // too late: nothing changes
  assert.equal(successResultOf(a), "first");
});

Deno.test("fireOnOneCallback still fires with the full list when every Deferred fails", () => {
  const dl = new DeferredList(
    [fail(new GenericError("a")), fail(new GenericError("b"))],
    { fireOnOneCallback: true, consumeErrors: true },
  );
  const results = successResultOf(dl) as unknown as DeferredListResult<
    never
  >[];
  assert.deepEqual(results.map(([ok]) => ok), [false, false]);
});

Deno.test("fireOnOneErrback fails with FirstError carrying the failure and its index", () => {
  const d1 = new Deferred<string>();
  const d2 = new Deferred<string>();
  const d3 = new Deferred<string>();
  const dl = new DeferredList([d1, d2, d3], { fireOnOneErrback: true });
  const seen: Failure[] = [];
  dl.addErrback((f) => {
    seen.push(f);
  });
  d2.addErrback(() => undefined);
  d1.callback("1");
  assert.equal(seen.length, 0);
  const error = new GenericError("from def2");
  d2.errback(error);
  assert.equal(seen.length, 1);
  assert.equal(seen[0].type, FirstError);
  const first = seen[0].value as FirstError;
  assert.equal(first.subFailure.type, GenericError);
  assert.equal(first.subFailure.value, error);
  assert.equal(first.index, 1);
});

Deno.test("fireOnOneErrback with a Deferred that already failed fails at once", () => {
  const d1 = fail<void>(new GenericError("Bang"));
  const d2 = new Deferred<void>();
  const dl = new DeferredList([d1, d2], { fireOnOneErrback: true });
  failureResultOf(dl, FirstError);
  d1.addErrback(() => undefined);
});

Deno.test("a DeferredList of Deferreds that already fired fires at once", () => {
  const d1 = fail<number>(new GenericError("Bang"));
  const d2 = succeed(2);
  const dl = new DeferredList([d1, d2]);
  const result = successResultOf(dl);
  assert.equal(result.length, 2);
  assert.deepEqual(result[1], [true, 2]);
  d1.addErrback(() => undefined);
});

Deno.test("without consumeErrors a failure goes on down its own Deferred's chain", () => {
  const d1 = new Deferred<void>();
  const dl = new DeferredList([d1]);
  const trapped: Failure[] = [];
  d1.addErrback((f) => {
    trapped.push(f);
  });
  d1.errback(new GenericError("Bang"));
  assert.equal(trapped.length, 1);
  assert.equal(trapped[0].getErrorMessage(), "Bang");
  const [[ok, f]] = successResultOf(dl);
  assert.equal(ok, false);
  assert.equal((f as Failure).getErrorMessage(), "Bang");
});

Deno.test("with consumeErrors a failure stops at the list and its Deferred goes on with undefined", () => {
  const d1 = new Deferred<void>();
  const dl = new DeferredList([d1], { consumeErrors: true });
  const trapped: Failure[] = [];
  d1.addErrback((f) => {
    trapped.push(f);
  });
  d1.errback(new GenericError("Bang"));
  assert.equal(trapped.length, 0);
  assert.equal(successResultOf(d1), undefined);
  const [[ok, f]] = successResultOf(dl);
  assert.equal(ok, false);
  assert.equal((f as Failure).getErrorMessage(), "Bang");
});

Deno.test("callbacks added to a member before the list see its result first; the list sees theirs", () => {
  const d = new Deferred<number>();
  d.addCallback((n) => n * 10);
  const dl = new DeferredList([d]);
  d.callback(4);
  assert.deepEqual(successResultOf(dl), [[true, 40]]);
});

Deno.test("DeferredList copies its input: Deferreds added to the array later are not waited on or cancelled", () => {
  const one = new Deferred<void>();
  const two = new Deferred<void>();
  const input = [one, two];
  const dl = new DeferredList(input);
  const three = new Deferred<void>();
  input.push(three);
  dl.cancel();
  failureResultOf(one, CancelledError);
  failureResultOf(two, CancelledError);
  assertNoResult(three);
  assert.equal(successResultOf(dl).length, 2);
});

Deno.test("cancelling an unfired DeferredList cancels every member, with any flags", () => {
  for (
    const options of [
      {},
      { fireOnOneCallback: true },
      { fireOnOneErrback: true },
    ]
  ) {
    const one = new Deferred<void>();
    const two = new Deferred<void>();
    const dl = new DeferredList([one, two], options);
    dl.addErrback(() => undefined);
    dl.cancel();
    failureResultOf(one, CancelledError);
    failureResultOf(two, CancelledError);
  }
});

Deno.test("a cancelled DeferredList fires with what the members' cancellers produced", () => {
  const one = new Deferred<string>(callbackCanceller);
  const two = new Deferred<string>();
  const dl = new DeferredList([one, two]);
  dl.cancel();
  failureResultOf(two, CancelledError);
  const result = successResultOf(dl);
  assert.deepEqual(result[0], [true, "Callback Result"]);
  assert.equal(result[1][0], false);
  assert.ok((result[1][1] as Failure).check(CancelledError));
});

Deno.test("a cancelled fireOnOneCallback list fires with the first canceller's success", () => {
  const one = new Deferred<string>(callbackCanceller);
  const two = new Deferred<string>();
  const dl = new DeferredList([one, two], { fireOnOneCallback: true });
  dl.cancel();
  failureResultOf(two, CancelledError);
  assert.deepEqual(successResultOf(dl), ["Callback Result", 0]);
});

Deno.test("a cancelled fireOnOneErrback list fails with FirstError of CancelledError, or succeeds if every canceller succeeded", () => {
  const dl1 = new DeferredList([new Deferred(), new Deferred()], {
    fireOnOneErrback: true,
    consumeErrors: true,
  });
  dl1.cancel();
  const first = failureResultOf(dl1, FirstError).value as FirstError;
  assert.ok(first.subFailure.check(CancelledError));

  const dl2 = new DeferredList([
    new Deferred<string>(callbackCanceller),
    new Deferred<string>(callbackCanceller),
  ], { fireOnOneErrback: true });
  dl2.cancel();
  assert.deepEqual(successResultOf(dl2), [
    [true, "Callback Result"],
    [true, "Callback Result"],
  ]);
});

Deno.test("an error thrown by a member's canceller is logged and the other members are still cancelled", () => {
  using logs = captureLogs();
  const one = new Deferred<void>(() => {
    throw new GenericError("canceller broke");
  });
  const two = new Deferred<void>();
  const dl = new DeferredList([one, two]);
  dl.cancel();
  failureResultOf(two, CancelledError);
  const logged = logs.flushLoggedErrors(GenericError);
  assert.equal(logged.length, 1);
  assert.match(logs.messages.join("\n"), /user supplied canceller/);
  assertNoResult(dl);
  one.callback(); // the member can still finish; then the list fires
  assert.equal(successResultOf(dl).length, 2);
});

Deno.test("cancelling a DeferredList that already fired leaves the other members alone", () => {
  const one = new Deferred<void>();
  const two = new Deferred<void>();
  const dl = new DeferredList([one, two], { fireOnOneCallback: true });
  one.callback();
  dl.cancel();
  assertNoResult(two);

  const a = new Deferred<void>();
  const b = new Deferred<void>();
  const el = new DeferredList([a, b], { fireOnOneErrback: true });
  a.errback(new GenericError("test"));
  el.cancel();
  assertNoResult(b);
  failureResultOf(a, GenericError);
  failureResultOf(el, FirstError);
});

Deno.test("DeferredList refuses items that are not Deferreds with a TypeError naming the index", () => {
  assert.throws(
    // @ts-expect-error: not Deferreds
    () => new DeferredList([succeed(1), 2]),
    /index 1/,
  );
  // @ts-expect-error: not iterable
  assert.throws(() => new DeferredList(5), TypeError);
});

// ------------------------------------------------------------- gatherResults

Deno.test("gatherResults gives every result in order", () => {
  const d = gatherResults([succeed(1), succeed(2)]);
  assert.deepEqual(successResultOf(d), [1, 2]);
});

Deno.test("gatherResults types a tuple of Deferreds as a tuple of results", () => {
  const d = gatherResults([succeed(1), succeed("two"), succeed(true)]);
  const typed: Equals<typeof d, Deferred<[number, string, boolean]>> = true;
  const list: Deferred<number>[] = [succeed(1)];
  const fromArray = gatherResults(list);
  const typedArray: Equals<typeof fromArray, Deferred<number[]>> = true;
  const fromSet = gatherResults(new Set([succeed("s")]));
  const typedSet: Equals<typeof fromSet, Deferred<string[]>> = true;
  assert.ok(typed && typedArray && typedSet);
  assert.deepEqual(successResultOf(d), [1, "two", true]);
  assert.deepEqual(successResultOf(fromSet), ["s"]);
});

Deno.test("gatherResults fails with FirstError at the first failure", () => {
  const bad = fail<number>(new GenericError("bad"));
  const d = gatherResults([succeed(1), bad]);
  const f = failureResultOf(d, FirstError);
  const first = f.value as FirstError;
  assert.equal(first.index, 1);
  assert.equal(first.subFailure.getErrorMessage(), "bad");
  bad.addErrback(() => undefined);
});

Deno.test("gatherResults with consumeErrors leaves undefined in the failed Deferred", () => {
  const good = succeed(1);
  const bad = fail<number>(new GenericError("oh noes"));
  const d = gatherResults([good, bad], { consumeErrors: true });
  const unconsumed: Failure[] = [];
  bad.addErrback((f) => {
    unconsumed.push(f);
  });
  assert.equal(unconsumed.length, 0);
  const first = failureResultOf(d, FirstError).value as FirstError;
  assert.ok(first.subFailure.value instanceof GenericError);
});

Deno.test("cancelling gatherResults cancels every Deferred and fails with FirstError of CancelledError", () => {
  const one = new Deferred<void>();
  const two = new Deferred<void>();
  const d = gatherResults([one, two]);
  d.cancel();
  failureResultOf(one, CancelledError);
  failureResultOf(two, CancelledError);
  const first = failureResultOf(d, FirstError).value as FirstError;
  assert.ok(first.subFailure.check(CancelledError));
});

Deno.test("cancelling gatherResults whose members' cancellers succeed gives their results", () => {
  const d = gatherResults([
    new Deferred<string>(callbackCanceller),
    new Deferred<string>(callbackCanceller),
  ]);
  d.cancel();
  assert.deepEqual(successResultOf(d), ["Callback Result", "Callback Result"]);
});

Deno.test("cancelling gatherResults after it fired cancels what a later callback waits on", () => {
  let cancelled = 0;
  const inner = new Deferred<string>(() => void cancelled++);
  const d = gatherResults([succeed(1)]).addCallback(() => inner);
  d.cancel();
  assert.equal(cancelled, 1);
  failureResultOf(d, CancelledError);
});

Deno.test("gatherResults of 1 000 Deferreds fired in reverse keeps list order", () => {
  const ds = Array.from({ length: 1000 }, () => new Deferred<number>());
  const d = gatherResults(ds);
  for (let i = ds.length - 1; i >= 0; i--) ds[i].callback(i);
  const result = successResultOf(d);
  assert.equal(result.length, 1000);
  assert.ok(result.every((v, i) => v === i));
});

// ------------------------------------------------------------- race

function raceState(n: number): [number[], Deferred<unknown>[]] {
  const cancelled = new Array<number>(n).fill(0);
  const ds = Array.from(
    { length: n },
    (_, i) => new Deferred<unknown>(() => void cancelled[i]++),
  );
  return [cancelled, ds];
}

Deno.test("race fires with [index, result] of the first success and cancels every other Deferred once", () => {
  for (let before = 0; before <= 3; before++) {
    for (let after = 0; after <= 3; after++) {
      const [cancelled, ds] = raceState(before + 1 + after);
      for (const d of ds) d.addErrback(() => undefined);
      const result = race(ds);
      const expected = { token: before };
      ds[before].callback(expected);
      assert.deepEqual(successResultOf(result), [before, expected]);
      const want = [
        ...new Array(before).fill(1),
        0,
        ...new Array(after).fill(1),
      ];
      assert.deepEqual(cancelled, want, `${before} before, ${after} after`);
    }
  }
});

Deno.test("race fails with FailureGroup of every failure, in list order, when all fail", () => {
  for (let n = 1; n <= 4; n++) {
    const [cancelled, ds] = raceState(n);
    const failures = ds.map((_, i) => new Failure(new GenericError(`${i}`)));
    const result = race(ds);
    for (let i = n - 1; i >= 0; i--) ds[i].errback(failures[i]);
    const group = failureResultOf(result, FailureGroup).value as FailureGroup;
    assert.deepEqual(group.failures, failures);
    assert.deepEqual(cancelled, new Array(n).fill(0));
  }
});

Deno.test("results arriving after the winner go nowhere and log nothing", () => {
  using logs = captureLogs();
  const ds = [new Deferred<void>(), new Deferred<void>(), new Deferred<void>()];
  const result = race(ds);
  ds[0].callback();
  ds[1].callback(); // swallowed once after its cancel without a canceller
  assert.deepEqual(successResultOf(result), [0, undefined]);
  assert.equal(
    successResultOf(ds[2]),
    undefined,
    "its CancelledError consumed",
  );
  assert.deepEqual(logs.events, []);
});

Deno.test("a loser whose canceller succeeds does not change the winner", () => {
  const winner = new Deferred<unknown>();
  const other = new Deferred<unknown>((d) => d.callback("from cancel"));
  const result = race([winner, other]);
  const expected = { token: "winner" };
  winner.callback(expected);
  assert.deepEqual(successResultOf(result), [0, expected]);
});

Deno.test("cancelling race cancels every Deferred and fails with FailureGroup", () => {
  for (let n = 1; n <= 3; n++) {
    const [cancelled, ds] = raceState(n);
    const result = race(ds);
    result.cancel();
    assert.deepEqual(cancelled, new Array(n).fill(1));
    failureResultOf(result, FailureGroup);
  }
});

Deno.test("race of an empty list never fires", () => {
  assertNoResult(race([]));
});

Deno.test("race refuses items that are not Deferreds", () => {
  // @ts-expect-error: not Deferreds
  assert.throws(() => race([Promise.resolve(1)]), TypeError);
});
