import assert from "node:assert/strict";
import { Clock } from "../../testing/clock.ts";
import { AlreadyCalled, AlreadyCancelled } from "../../reactor/errors.ts";
import type { IReactorTime } from "../../reactor/interfaces.ts";

Deno.test("Clock.seconds starts at zero", () => {
  assert.equal(new Clock().seconds(), 0);
});

Deno.test("Clock.callLater returns an active call due after the delay", () => {
  const clock: IReactorTime = new Clock();
  const call = clock.callLater(1, (_a: number, _b: number) => {}, 1, 2);
  assert.equal(call.getTime(), 1);
  assert.equal(call.active(), true);
});

Deno.test("a cancelled Clock call is inactive and never runs", () => {
  const clock = new Clock();
  let ran = false;
  const call = clock.callLater(1, () => {
    ran = true;
  });
  call.cancel();
  assert.equal(call.active(), false);
  clock.advance(5);
  assert.equal(ran, false);
  assert.throws(() => call.cancel(), AlreadyCancelled);
});

Deno.test("each Clock.callLater returns a new call", () => {
  const clock = new Clock();
  const a = clock.callLater(10, () => {});
  const b = clock.callLater(1, () => {});
  assert.notEqual(a, b);
});

Deno.test("Clock.advance runs the calls that become due, with their arguments", () => {
  const events: [string, number][] = [];
  const clock = new Clock();
  const call = clock.callLater(
    2,
    (what: string, n: number) => events.push([what, n]),
    "x",
    7,
  );
  clock.advance(1);
  assert.deepEqual(events, []);
  clock.advance(1);
  assert.deepEqual(events, [["x", 7]]);
  assert.equal(call.active(), false);
});

Deno.test("a call cancelling itself while it runs gets AlreadyCalled", () => {
  const clock = new Clock();
  let error: unknown;
  const call = clock.callLater(1, () => {
    try {
      call.cancel();
    } catch (e) {
      error = e;
    }
  });
  clock.advance(1);
  assert.ok(error instanceof AlreadyCalled);
});

Deno.test("a delayed Clock call runs later", () => {
  const events: number[] = [];
  const clock = new Clock();
  const call = clock.callLater(1, () => events.push(1));
  call.delay(1);
  assert.equal(call.getTime(), 2);
  clock.advance(1.5);
  assert.deepEqual(events, []);
  clock.advance(1);
  assert.deepEqual(events, [1]);
});

Deno.test("a Clock call reset to a later time runs then", () => {
  const events: number[] = [];
  const clock = new Clock();
  const call = clock.callLater(2, () => events.push(clock.seconds()));
  clock.advance(1);
  call.reset(3);
  assert.equal(call.getTime(), 4);
  clock.advance(2);
  assert.deepEqual(events, []);
  clock.advance(1);
  assert.deepEqual(events, [4]);
});

Deno.test("a Clock call reset to a sooner time runs then", () => {
  const events: number[] = [];
  const clock = new Clock();
  const call = clock.callLater(4, () => events.push(clock.seconds()));
  call.reset(3);
  assert.equal(call.getTime(), 3);
  clock.advance(3);
  assert.deepEqual(events, [3]);
});

Deno.test("Clock.getDelayedCalls lists the pending calls only", () => {
  const clock = new Clock();
  assert.deepEqual(clock.getDelayedCalls(), []);
  const a = clock.callLater(1, () => {});
  const b = clock.callLater(2, () => {});
  const c = clock.callLater(3, () => {});
  c.cancel();
  assert.deepEqual(new Set(clock.getDelayedCalls()), new Set([a, b]));
  clock.advance(1);
  assert.deepEqual(clock.getDelayedCalls(), [b]);
  clock.getDelayedCalls().pop();
  assert.equal(clock.calls.length, 1, "the list returned is a copy");
});

Deno.test("Clock keeps order when a call is reset past a newer one", () => {
  const result: [string, number][] = [];
  const clock = new Clock();
  const log = (n: string) => result.push([n, clock.seconds()]);
  const a = clock.callLater(1, log, "a");
  a.reset(3);
  clock.callLater(2, log, "b");
  clock.pump([1, 1, 1]);
  assert.deepEqual(result, [["b", 2], ["a", 3]]);
});

Deno.test("Clock keeps order when a call is reset after a newer one was added", () => {
  const result: [string, number][] = [];
  const clock = new Clock();
  const log = (n: string) => result.push([n, clock.seconds()]);
  const a = clock.callLater(1, log, "a");
  clock.callLater(2, log, "b");
  a.reset(3);
  clock.pump([1, 1, 1]);
  assert.deepEqual(result, [["b", 2], ["a", 3]]);
});

Deno.test("Clock keeps order when a call is reset from inside another call", () => {
  const result: [string, number][] = [];
  const clock = new Clock();
  const log = (n: string) => result.push([n, clock.seconds()]);
  const b = clock.callLater(2, log, "b");
  clock.callLater(1, () => b.reset(3));
  clock.callLater(3, log, "c");
  clock.pump(Array(10).fill(0.5));
  assert.deepEqual(result, [["c", 3], ["b", 4]]);
});

Deno.test("Clock runs calls due at the same time in the order they were scheduled", () => {
  const order: number[] = [];
  const clock = new Clock();
  for (let i = 0; i < 20; i++) clock.callLater(5, () => order.push(i));
  clock.advance(5);
  assert.deepEqual(order, [...Array(20).keys()]);
});

Deno.test("one advance runs every due call in time order; calls they schedule count from the new time", () => {
  const order: string[] = [];
  const clock = new Clock();
  clock.callLater(3, () => order.push("3"));
  clock.callLater(1, () => {
    order.push("1");
    clock.callLater(0, () => order.push("1+0"));
    clock.callLater(5, () => order.push("6"));
  });
  clock.callLater(2, () => order.push("2"));
  clock.advance(4);
  // As in Twisted: time jumps to 4 first, so "1+0" is due at 4, after "3".
  assert.deepEqual(order, ["1", "2", "3", "1+0"]);
  assert.deepEqual(clock.getDelayedCalls().map((c) => c.getTime()), [9]);
});

Deno.test("Clock.advance(0) runs calls due now", () => {
  const clock = new Clock();
  let ran = false;
  clock.callLater(0, () => {
    ran = true;
  });
  assert.equal(ran, false, "not before the clock is advanced");
  clock.advance(0);
  assert.equal(ran, true);
});

Deno.test("an error thrown by a Clock call propagates and later calls still wait", () => {
  const clock = new Clock();
  const order: string[] = [];
  clock.callLater(1, () => {
    throw new Error("boom");
  });
  clock.callLater(1, () => order.push("second"));
  assert.throws(() => clock.advance(1), /boom/);
  assert.deepEqual(order, []);
  clock.advance(0);
  assert.deepEqual(order, ["second"]);
});

Deno.test("Clock refuses to go back in time or schedule in the past", () => {
  const clock = new Clock();
  assert.throws(() => clock.advance(-1), RangeError);
  assert.throws(() => clock.advance(NaN), RangeError);
  assert.throws(() => clock.callLater(-1, () => {}), RangeError);
  assert.throws(() => clock.callLater(NaN, () => {}), RangeError);
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => clock.callLater(1, "nope" as any),
    TypeError,
  );
  assert.equal(clock.seconds(), 0);
  assert.equal(clock.calls.length, 0);
});

Deno.test("Clock.pump advances by each amount in turn", () => {
  const clock = new Clock();
  const seen: number[] = [];
  clock.callLater(1.5, () => seen.push(clock.seconds()));
  clock.callLater(2.5, () => seen.push(clock.seconds()));
  clock.pump([1, 1, 1]);
  assert.deepEqual(seen, [2, 3]);
  assert.equal(clock.seconds(), 3);
});
