import assert from "node:assert/strict";
import { Deferred } from "../../deferred/deferred.ts";
import { fail, succeed } from "../../deferred/helpers.ts";
import { CancelledError } from "../../deferred/errors.ts";
import { DenoReactor, reactor } from "../../reactor/reactor.ts";
import { globalClock } from "../../reactor/global.ts";
import { deferLater, LoopingCall, react } from "../../reactor/task.ts";
import { Clock } from "../../testing/clock.ts";
import { captureLogs } from "../../testing/logs.ts";
import {
  assertNoResult,
  failureResultOf,
  successResultOf,
} from "../../testing/results.ts";
import { within } from "../_helpers.ts";

class TestError extends Error {}

/** A LoopingCall on `clock`, as Twisted's TestableLoopingCall. */
function loopOn(
  clock: Clock,
  // deno-lint-ignore no-explicit-any
  fn: (...args: any[]) => unknown,
  ...args: unknown[]
): LoopingCall {
  const loop = new LoopingCall(fn, ...args);
  loop.clock = clock;
  return loop;
}

// ------------------------------------------------------------ LoopingCall

Deno.test("LoopingCall's default clock is the global reactor", () => {
  const loop = new LoopingCall(() => {});
  assert.equal(loop.clock, globalClock);
  const before = reactor.getDelayedCalls().length;
  loop.start(60, false);
  assert.equal(reactor.getDelayedCalls().length, before + 1);
  loop.stop();
});

Deno.test("LoopingCall calls with its arguments every interval and stop fires start's Deferred", () => {
  const clock = new Clock();
  const calls: unknown[][] = [];
  const loop = loopOn(clock, (...args: unknown[]) => calls.push(args), "a", 2);
  const done = loop.start(0.1);
  assert.equal(loop.running, true);
  assert.equal(loop.interval, 0.1);
  clock.pump([0.05, 0.1, 0.1]); // calls at 0, 0.1, 0.2
  assert.deepEqual(calls, [["a", 2], ["a", 2], ["a", 2]]);
  assertNoResult(done);
  loop.stop();
  assert.equal(successResultOf(done), loop);
  assert.equal(loop.running, false);
  assert.deepEqual(clock.getDelayedCalls(), []);
});

Deno.test("LoopingCall started with now=false waits an interval first", () => {
  const clock = new Clock();
  const times: number[] = [];
  const loop = loopOn(clock, () => times.push(clock.seconds()));
  loop.start(0.1, false);
  assert.deepEqual(times, []);
  clock.pump([0.05, 0.1, 0.1]);
  assert.equal(times.length, 2);
  loop.stop();
  assert.deepEqual(clock.getDelayedCalls(), []);
});

Deno.test("LoopingCall.start rejects a negative or missing interval", () => {
  const loop = new LoopingCall(() => {});
  assert.throws(() => loop.start(-1), RangeError);
  assert.throws(() => loop.start(NaN), RangeError);
  assert.equal(loop.running, false);
});

Deno.test("LoopingCall.start, stop and reset check the running state", () => {
  const clock = new Clock();
  const loop = loopOn(clock, () => {});
  assert.throws(() => loop.stop(), /not running/);
  assert.throws(() => loop.reset(), /not running/);
  loop.start(1);
  assert.throws(() => loop.start(1), /already running/);
  loop.stop();
});

for (const interval of [0, 10]) {
  Deno.test(`LoopingCall stopped before its first call (interval ${interval}) never calls`, () => {
    const clock = new Clock();
    let ran = false;
    const loop = loopOn(clock, () => ran = true);
    loop.start(interval, false);
    loop.stop();
    clock.advance(20);
    assert.equal(ran, false);
    assert.deepEqual(clock.getDelayedCalls(), []);
  });
}

Deno.test("LoopingCall skips to the next future interval when a call runs long", () => {
  const clock = new Clock();
  const times: number[] = [];
  let callDuration = 2;
  const loop = loopOn(clock, () => {
    times.push(clock.seconds());
    clock.advance(callDuration);
  });
  loop.start(0.5);
  assert.deepEqual(times, [0]);
  assert.equal(clock.seconds(), 2);
  // The call due at 2 is the present, not the future: skipped.
  clock.advance(0);
  assert.deepEqual(times, [0]);
  callDuration = 1;
  clock.advance(0.5);
  assert.deepEqual(times, [0, 2.5]);
  assert.equal(clock.seconds(), 3.5);
  clock.advance(0);
  assert.deepEqual(times, [0, 2.5]);
  callDuration = 0;
  clock.advance(0.5);
  assert.deepEqual(times, [0, 2.5, 4]);
  loop.stop();
});

Deno.test("LoopingCall skips to the next future interval when the clock jumps", () => {
  const clock = new Clock();
  const times: number[] = [];
  const loop = loopOn(clock, () => times.push(clock.seconds()));
  loop.start(0.5);
  clock.advance(2);
  assert.deepEqual(times, [0, 2]);
  clock.advance(1);
  assert.deepEqual(times, [0, 2, 3]);
  clock.advance(0);
  assert.deepEqual(times, [0, 2, 3]);
  loop.stop();
});

/**
 * A `LoopingCall.withCount` on a fresh Clock that records each call's
 * time and count in `seen`.
 */
function countingLoop() {
  const clock = new Clock();
  const seen: [number, number][] = [];
  const loop = LoopingCall.withCount((n) => seen.push([clock.seconds(), n]));
  loop.clock = clock;
  return { clock, seen, loop };
}

/** The interval and lateness of the withCount tests (Twisted's). */
const INTERVAL = 0.5;
const DELAY = 0.01;

Deno.test("LoopingCall.withCount passes the number of intervals elapsed", () => {
  const { clock, seen, loop } = countingLoop();
  loop.start(INTERVAL);
  assert.deepEqual(seen, [[0, 1]]);
  clock.advance(INTERVAL + DELAY);
  assert.deepEqual(seen, [[0, 1], [INTERVAL + DELAY, 1]]);
  clock.advance(3 * INTERVAL + DELAY);
  const expected: [number, number][] = [
    [0, 1],
    [INTERVAL + DELAY, 1],
    [4 * INTERVAL + 2 * DELAY, 3],
  ];
  assert.deepEqual(seen, expected);
  clock.advance(0);
  assert.deepEqual(seen, expected);
  loop.stop();
});

Deno.test("LoopingCall.withCount counts only whole intervals missed", () => {
  const { clock, seen, loop } = countingLoop();
  loop.start(INTERVAL);
  assert.deepEqual(seen.pop(), [0, 1]);
  clock.advance(INTERVAL + DELAY);
  assert.deepEqual(seen.pop(), [INTERVAL + DELAY, 1]);
  clock.advance(INTERVAL * 1.75);
  assert.deepEqual(seen.pop(), [2.75 * INTERVAL + DELAY, 1]);
  clock.advance(INTERVAL * 0.25);
  assert.deepEqual(seen.pop(), [3 * INTERVAL + DELAY, 1]);
  loop.stop();
});

Deno.test("LoopingCall.withCount never passes 0 and sums to the intervals elapsed with inexact floats", () => {
  const clock = new Clock();
  const counts: number[] = [];
  const loop = LoopingCall.withCount((n) => counts.push(n));
  loop.clock = clock;
  const count = 10;
  const timespan = 1.0;
  const interval = timespan / count;
  loop.start(interval, false);
  for (let i = 0; i < count; i++) clock.advance(interval);
  let total = 0;
  for (let i = 0; i < count; i++) total += interval;
  const epsilon = timespan - total;
  clock.advance(epsilon);
  assert.ok(Math.abs(epsilon) > 0, "the case must involve float error");
  assert.ok(clock.seconds() >= timespan);
  assert.equal(counts.reduce((a, b) => a + b, 0), count);
  assert.ok(!counts.includes(0));
  loop.stop();
});

Deno.test("LoopingCall.withCount with interval 0 always passes 1", () => {
  const clock = new Clock();
  const counts: number[] = [];
  const loop: LoopingCall = LoopingCall.withCount((n) => {
    counts.push(n);
    if (counts.length > 4) loop.stop();
  });
  loop.clock = clock;
  const done = loop.start(0, false);
  clock.pump([0, 0, 0, 0, 0]);
  successResultOf(done);
  assert.deepEqual(counts, [1, 1, 1, 1, 1]);
});

Deno.test("LoopingCall.withCount with interval 0 waits on a returned Deferred and still passes 1", () => {
  const clock = new Clock();
  const gate = new Deferred<void>();
  const counts: number[] = [];
  const loop: LoopingCall = LoopingCall.withCount((n) => {
    counts.push(n);
    if (counts.length === 2) return gate;
    if (counts.length > 4) loop.stop();
  });
  loop.clock = clock;
  loop.start(0, false);
  clock.pump([0, 0]);
  assert.deepEqual(counts, [1, 1]);
  clock.pump([1, 1]);
  assert.deepEqual(counts, [1, 1]);
  gate.callback();
  clock.pump([0, 0, 0, 0]);
  assert.deepEqual(counts, [1, 1, 1, 1, 1]);
});

Deno.test("LoopingCall.withCount keeps its last time when the interval changes from 0", () => {
  const clock = new Clock();
  const gate = new Deferred<void>();
  const counts: number[] = [];
  const loop = LoopingCall.withCount((n) => {
    counts.push(n);
    if (counts.length === 2) return gate;
  });
  loop.clock = clock;
  loop.start(0, false);
  clock.pump([1, 1, 1, 1, 1, 1, 1]);
  assert.deepEqual(counts, [1, 1]);
  loop.interval = 2;
  gate.callback();
  clock.advance(9);
  // Twisted's figure, including its +1 for the second call's early time
  // (Twisted ticket #5962): (5 + 9) // 2 + 1.
  assert.deepEqual(counts, [1, 1, 8]);
  clock.advance(2);
  assert.deepEqual(counts, [1, 1, 8, 1]);
  clock.advance(4);
  assert.deepEqual(counts, [1, 1, 8, 1, 2]);
  loop.stop();
});

Deno.test("LoopingCall.reset skips the pending call and restarts the interval", () => {
  const clock = new Clock();
  let ran = 0;
  const loop = loopOn(clock, () => ran++);
  loop.start(2, false);
  clock.advance(1);
  loop.reset();
  clock.advance(1);
  assert.equal(ran, 0);
  clock.advance(1);
  assert.equal(ran, 1);
  loop.stop();
});

Deno.test("LoopingCall's string names its interval and function", () => {
  function poll() {}
  const loop = new LoopingCall(poll);
  assert.equal(String(loop), "LoopingCall<undefined>(poll)");
});

Deno.test("a LoopingCall whose function throws fails start's Deferred and stops", () => {
  const clock = new Clock();
  const loop = loopOn(clock, (x: string) => {
    throw new TestError(x);
  }, "bar");
  const done = loop.start(0.1);
  assert.equal(failureResultOf(done, TestError).getErrorMessage(), "bar");
  assert.equal(loop.running, false);
  assert.deepEqual(clock.getDelayedCalls(), []);
});

Deno.test("a LoopingCall that stops itself and then throws still fails start's Deferred", () => {
  const clock = new Clock();
  const loop: LoopingCall = loopOn(clock, () => {
    loop.stop();
    throw new TestError("after stop");
  });
  failureResultOf(loop.start(0.1), TestError);
});

Deno.test("LoopingCall with interval 0 runs once per clock turn until stopped", () => {
  const clock = new Clock();
  let ran = 0;
  const loop: LoopingCall = loopOn(clock, () => {
    if (++ran > 5) loop.stop();
  });
  const done = loop.start(0);
  for (let i = 0; i < 10 && loop.running; i++) clock.advance(0);
  successResultOf(done);
  assert.equal(ran, 6);
});

Deno.test("LoopingCall waits for a returned Deferred before scheduling the next call", () => {
  const clock = new Clock();
  let calls = 0;
  const loop: LoopingCall = loopOn(clock, () => {
    calls++;
    const d = new Deferred<void>();
    d.addCallback(() => loop.stop());
    clock.callLater(1, () => d.callback());
    return d;
  });
  const done = loop.start(0.2);
  clock.pump([0.2, 0.8]);
  assert.equal(calls, 1);
  successResultOf(done);
  assert.deepEqual(clock.getDelayedCalls(), []);
});

Deno.test("a failure of a returned Deferred fails start's Deferred", () => {
  const clock = new Clock();
  const loop = loopOn(clock, () => {
    const d = new Deferred<void>();
    clock.callLater(0.3, () => d.errback(new TestError("later")));
    return d;
  });
  const done = loop.start(1);
  clock.advance(0.3);
  failureResultOf(done, TestError);
  assert.deepEqual(clock.getDelayedCalls(), []);
});

Deno.test("stop during a call's pending Deferred fires start's Deferred once it settles", () => {
  const clock = new Clock();
  const gate = new Deferred<void>();
  const loop = loopOn(clock, () => gate);
  const done = loop.start(1);
  loop.stop();
  assertNoResult(done);
  gate.callback();
  assert.equal(successResultOf(done), loop);
  assert.deepEqual(clock.getDelayedCalls(), []);
});

Deno.test("LoopingCall.withCount counts intervals missed while a Deferred was pending", () => {
  const clock = new Clock();
  const gate = new Deferred<void>();
  const counts: number[] = [];
  const loop = LoopingCall.withCount((n) => {
    counts.push(n);
    return counts.length === 1 ? gate : undefined;
  });
  loop.clock = clock;
  loop.start(0.2, false);
  assert.deepEqual(counts, []);
  clock.pump([0.2, 0.4]);
  assert.equal(counts.length, 1);
  gate.callback();
  clock.pump([0.2]);
  assert.deepEqual(counts, [1, 3]);
  loop.stop();
});

Deno.test("LoopingCall waits for a returned Promise", async () => {
  const clock = new Clock();
  const gate = Promise.withResolvers<void>();
  let calls = 0;
  const loop = loopOn(clock, () => {
    calls++;
    return gate.promise;
  });
  loop.start(1);
  clock.advance(5);
  assert.equal(calls, 1, "no call while the Promise is pending");
  gate.resolve();
  await gate.promise;
  await null; // the Deferred bridging the Promise settles a tick later
  clock.advance(1);
  assert.equal(calls, 2);
  loop.stop();
});

Deno.test("a LoopingCall on the real reactor runs and stops", async () => {
  let calls = 0;
  const loop: LoopingCall = new LoopingCall(() => {
    if (++calls === 3) loop.stop();
  });
  const done = loop.start(0.001);
  assert.equal(await within(2_000, "the loop", done.asPromise()), loop);
  assert.equal(calls, 3);
});

// ------------------------------------------------------------- deferLater

Deno.test("deferLater fires after the delay with the function's result", () => {
  const clock = new Clock();
  const calls: unknown[][] = [];
  const flag = {};
  const d = deferLater(
    clock,
    3,
    (foo: string, bar: string) => {
      calls.push([foo, bar]);
      return flag;
    },
    "foo",
    "bar",
  );
  clock.advance(2);
  assert.deepEqual(calls, []);
  assertNoResult(d);
  clock.advance(1);
  assert.deepEqual(calls, [["foo", "bar"]]);
  assert.equal(successResultOf(d), flag);
});

Deno.test("deferLater fails with the error the function throws", () => {
  const clock = new Clock();
  const d = deferLater(clock, 1, () => {
    throw new TestError("in deferLater");
  });
  clock.advance(1);
  failureResultOf(d, TestError);
});

Deno.test("cancelling deferLater's Deferred cancels the call", () => {
  const clock = new Clock();
  const called: unknown[] = [];
  const d = deferLater(clock, 1, (x: unknown) => called.push(x), null);
  d.cancel();
  failureResultOf(d, CancelledError);
  assert.deepEqual(clock.getDelayedCalls(), []);
  clock.advance(2);
  assert.deepEqual(called, []);
});

Deno.test("deferLater without a function fires with undefined", () => {
  const clock = new Clock();
  const d = deferLater(clock, 2);
  assertNoResult(d);
  clock.advance(2);
  assert.equal(successResultOf(d), undefined);
});

Deno.test("deferLater waits on a Deferred the function returns", () => {
  const clock = new Clock();
  const inner = new Deferred<string>();
  const d = deferLater(clock, 1, () => inner);
  clock.advance(1);
  assertNoResult(d);
  inner.callback("inner");
  assert.equal(successResultOf(d), "inner");
});

// ------------------------------------------------------------------ react

/** Runs react on a fresh reactor, resolving with the exit code. */
function reactOn(
  // deno-lint-ignore no-explicit-any
  main: (r: DenoReactor, ...argv: any[]) => unknown,
  argv?: unknown[],
): { reactor: DenoReactor; code: Promise<number> } {
  const r = new DenoReactor();
  const exited = Promise.withResolvers<number>();
  react(main, argv, { reactor: r, exit: exited.resolve });
  return { reactor: r, code: within(5_000, "react to exit", exited.promise) };
}

Deno.test("react runs the reactor until main's Deferred fires, then exits 0", async () => {
  const timePassed: boolean[] = [];
  const { reactor: r, code } = reactOn((r) => {
    const finished = new Deferred<void>();
    r.callLater(0.001, () => timePassed.push(true));
    r.callLater(0.002, () => finished.callback());
    return finished;
  });
  assert.equal(await code, 0);
  assert.deepEqual(timePassed, [true]);
  assert.equal(r.running, false);
});

Deno.test("react exits 0 at once when main's Deferred has already fired", async () => {
  const { code } = reactOn(() => succeed(undefined));
  assert.equal(await code, 0);
});

Deno.test("react accepts a Promise from main", async () => {
  const { code } = reactOn(async (r) => {
    await deferLater(r, 0);
    return "done";
  });
  assert.equal(await code, 0);
});

Deno.test("react exits 1 and logs when main's Deferred fails later", async () => {
  using logs = captureLogs();
  const { code } = reactOn((r) => {
    const finished = new Deferred<void>();
    r.callLater(0.001, () => finished.errback(new TestError("late")));
    return finished;
  });
  assert.equal(await code, 1);
  assert.equal(logs.flushLoggedErrors(TestError).length, 1);
});

Deno.test("react exits 1 and logs when main fails at once or throws", async () => {
  using logs = captureLogs();
  assert.equal(await reactOn(() => fail(new TestError("now"))).code, 1);
  assert.equal(
    await reactOn(() => {
      throw new TestError("thrown");
    }).code,
    1,
  );
  assert.equal(logs.flushLoggedErrors(TestError).length, 2);
});

Deno.test("react does not stop the reactor twice when main fires during shutdown", async () => {
  using logs = captureLogs();
  const { code } = reactOn((r) => {
    r.callLater(0.001, () => r.stop());
    const finished = new Deferred<void>();
    r.addSystemEventTrigger("during", "shutdown", () => finished.callback());
    return finished;
  });
  assert.equal(await code, 0);
  assert.deepEqual(logs.failures(), []);
});

Deno.test("react exits 1 when main fails during shutdown", async () => {
  using logs = captureLogs();
  const { code } = reactOn((r) => {
    r.callLater(0.001, () => r.stop());
    const finished = new Deferred<void>();
    r.addSystemEventTrigger(
      "during",
      "shutdown",
      () => finished.errback(new TestError("during shutdown")),
    );
    return finished;
  });
  assert.equal(await code, 1);
  assert.equal(logs.flushLoggedErrors(TestError).length, 1);
});

Deno.test("react passes argv to main after the reactor", async () => {
  const args: unknown[] = [];
  let given: DenoReactor | undefined;
  const { reactor: r, code } = reactOn((r, x, y, z) => {
    given = r;
    args.push(x, y, z);
    return succeed(undefined);
  }, [1, 2, 3]);
  assert.equal(await code, 0);
  assert.deepEqual(args, [1, 2, 3]);
  assert.equal(given, r);
});

Deno.test("react handles main stopping the reactor just before its Deferred fires", async () => {
  using logs = captureLogs();
  const { code } = reactOn((r) => {
    const d = new Deferred<void>();
    r.callWhenRunning(() => {
      r.stop();
      d.callback();
    });
    return d;
  });
  assert.equal(await code, 0);
  assert.deepEqual(logs.failures(), []);
});

Deno.test("react exits 0 when the reactor stops and main never finishes", async () => {
  const { code } = reactOn((r) => {
    r.callLater(0.001, () => r.stop());
    return new Deferred<void>();
  });
  assert.equal(await code, 0);
});
