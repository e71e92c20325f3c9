import assert from "node:assert/strict";
import { DenoReactor } from "../../reactor/reactor.ts";
import { AlreadyCalled, AlreadyCancelled } from "../../reactor/errors.ts";
import { DelayedCall } from "../../reactor/delayed_call.ts";
import { TimerHeap } from "../../reactor/_timer_heap.ts";
import { captureLogs } from "../../testing/logs.ts";
import { within } from "../_helpers.ts";

// ------------------------------------------------------------------ heap

/** A deterministic PRNG (mulberry32), so the randomised test replays. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const inertOwner = {
  seconds: () => 0,
  callCancelled: () => {},
  callRescheduled: () => {},
};

function heapCall(time: number, seq: number): DelayedCall {
  return new DelayedCall(time, () => {}, [], seq, inertOwner);
}

Deno.test("TimerHeap pops calls by time, then by scheduling order", () => {
  const heap = new TimerHeap();
  const times = [5, 1, 3, 1, 5, 0, 3, 1];
  times.forEach((t, seq) => heap.push(heapCall(t, seq)));
  const popped: string[] = [];
  for (let c = heap.pop(); c !== undefined; c = heap.pop()) {
    popped.push(`${c.time}/${c.seq}`);
    assert.equal(c.index, -1);
  }
  assert.deepEqual(popped, [
    "0/5",
    "1/1",
    "1/3",
    "1/7",
    "3/2",
    "3/6",
    "5/0",
    "5/4",
  ]);
});

Deno.test("TimerHeap stays ordered through random removals and re-keys", () => {
  const random = prng(42);
  for (let round = 0; round < 20; round++) {
    const heap = new TimerHeap();
    const live = new Set<DelayedCall>();
    let seq = 0;
    for (let op = 0; op < 400; op++) {
      const r = random();
      const all = [...live];
      if (r < 0.5 || all.length === 0) {
        const call = heapCall(Math.floor(random() * 50), seq++);
        heap.push(call);
        live.add(call);
      } else if (r < 0.7) {
        const call = all[Math.floor(random() * all.length)];
        heap.remove(call);
        assert.equal(call.index, -1);
        live.delete(call);
      } else {
        const call = all[Math.floor(random() * all.length)];
        call.time = Math.floor(random() * 50);
        heap.update(call);
      }
      for (const [i, c] of heap.items.entries()) {
        assert.equal(c.index, i, `slot ${i} of round ${round}`);
      }
    }
    const expected = [...live].sort((a, b) => a.time - b.time || a.seq - b.seq);
    const popped: DelayedCall[] = [];
    for (let c = heap.pop(); c !== undefined; c = heap.pop()) popped.push(c);
    assert.deepEqual(popped, expected, `round ${round}`);
  }
});

// ------------------------------------------------------------------ time

Deno.test("DenoReactor.seconds is wall-clock seconds and never goes back", () => {
  const r = new DenoReactor();
  const first = r.seconds();
  assert.ok(Math.abs(first - Date.now() / 1000) < 1, `${first}`);
  let last = first;
  for (let i = 0; i < 1000; i++) {
    const now = r.seconds();
    assert.ok(now >= last);
    last = now;
  }
});

Deno.test("callLater runs calls in time order with their arguments", async () => {
  const r = new DenoReactor();
  const order: string[] = [];
  const done = Promise.withResolvers<void>();
  const record = (what: string) => order.push(what);
  r.callLater(0.03, (what: string) => {
    order.push(what);
    done.resolve();
  }, "third");
  r.callLater(0.01, record, "first");
  r.callLater(0.02, record, "second");
  await within(2_000, "the last call", done.promise);
  assert.deepEqual(order, ["first", "second", "third"]);
  assert.deepEqual(r.getDelayedCalls(), []);
});

Deno.test("callLater runs calls due at the same time in scheduling order", async () => {
  // A reactor whose clock stands still: every call gets the same time.
  class Frozen extends DenoReactor {
    override seconds(): number {
      return 1000;
    }
  }
  const r = new Frozen();
  const order: number[] = [];
  const done = Promise.withResolvers<void>();
  for (let i = 0; i < 10; i++) r.callLater(0, (n: number) => order.push(n), i);
  r.callLater(0, () => done.resolve());
  await within(2_000, "the calls", done.promise);
  assert.deepEqual(order, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

Deno.test("getDelayedCalls lists exactly the active calls", () => {
  const r = new DenoReactor();
  const a = r.callLater(10, () => {});
  const b = r.callLater(20, () => {});
  const c = r.callLater(5, () => {});
  assert.deepEqual(new Set(r.getDelayedCalls()), new Set([a, b, c]));
  b.cancel();
  assert.deepEqual(new Set(r.getDelayedCalls()), new Set([a, c]));
  a.cancel();
  c.cancel();
  assert.deepEqual(r.getDelayedCalls(), []);
});

Deno.test("a cancelled call does not run, and the others do", async () => {
  const r = new DenoReactor();
  const ran: string[] = [];
  const done = Promise.withResolvers<void>();
  const early = r.callLater(0, () => ran.push("early"));
  r.callLater(0.01, () => {
    ran.push("late");
    done.resolve();
  });
  early.cancel();
  await within(2_000, "the remaining call", done.promise);
  assert.deepEqual(ran, ["late"]);
});

Deno.test("cancel, delay and reset of a finished call throw AlreadyCalled or AlreadyCancelled", async () => {
  const r = new DenoReactor();
  const cancelled = r.callLater(1, () => {});
  cancelled.cancel();
  assert.equal(cancelled.active(), false);
  assert.throws(() => cancelled.cancel(), AlreadyCancelled);
  assert.throws(() => cancelled.delay(1), AlreadyCancelled);
  assert.throws(() => cancelled.reset(1), AlreadyCancelled);

  const done = Promise.withResolvers<void>();
  const called = r.callLater(0, () => done.resolve());
  assert.equal(called.active(), true);
  await within(2_000, "the call", done.promise);
  assert.equal(called.active(), false);
  assert.throws(() => called.cancel(), AlreadyCalled);
  assert.throws(() => called.delay(1), AlreadyCalled);
  assert.throws(() => called.reset(1), AlreadyCalled);
});

Deno.test("reset and delay move a call and re-order it", async () => {
  const r = new DenoReactor();
  const order: string[] = [];
  const done = Promise.withResolvers<void>();
  const a = r.callLater(60, () => order.push("a"));
  r.callLater(0.02, () => {
    order.push("b");
    done.resolve();
  });
  const before = r.seconds();
  a.reset(0.01);
  assert.ok(a.getTime() >= before + 0.01 && a.getTime() < before + 1);
  const c = r.callLater(0, () => order.push("c"));
  c.delay(120);
  assert.ok(c.getTime() > r.seconds() + 100);
  await within(2_000, "the calls", done.promise);
  assert.deepEqual(order, ["a", "b"]);
  assert.deepEqual(r.getDelayedCalls(), [c]);
  c.cancel();
});

Deno.test("an error thrown by a delayed call is logged and later calls still run", async () => {
  using logs = captureLogs();
  const r = new DenoReactor();
  const ran: string[] = [];
  const done = Promise.withResolvers<void>();
  r.callLater(0, () => {
    throw new RangeError("boom");
  });
  r.callLater(0, () => ran.push("same turn"));
  r.callLater(0.01, () => {
    ran.push("next");
    done.resolve();
  });
  await within(2_000, "the calls", done.promise);
  assert.deepEqual(ran, ["same turn", "next"]);
  const errors = logs.flushLoggedErrors(RangeError);
  assert.equal(errors.length, 1);
  assert.equal(errors[0].getErrorMessage(), "boom");
});

Deno.test("a Promise rejected by a delayed call is logged", async () => {
  using logs = captureLogs();
  const r = new DenoReactor();
  const done = Promise.withResolvers<void>();
  r.callLater(0, async () => {
    await null;
    throw new TypeError("async boom");
  });
  r.callLater(0.01, () => done.resolve());
  await within(2_000, "the calls", done.promise);
  assert.equal(logs.flushLoggedErrors(TypeError).length, 1);
});

Deno.test("a call scheduled by a running call waits for the next turn", async () => {
  const r = new DenoReactor();
  const order: string[] = [];
  const done = Promise.withResolvers<void>();
  r.callLater(0, () => {
    order.push("first");
    r.callLater(0, () => {
      order.push("scheduled by first");
      done.resolve();
    });
  });
  r.callLater(0, () => order.push("second"));
  await within(2_000, "the calls", done.promise);
  assert.deepEqual(order, ["first", "second", "scheduled by first"]);
});

Deno.test("callLater rejects a negative delay and a non-function", () => {
  const r = new DenoReactor();
  assert.throws(() => r.callLater(-1, () => {}), RangeError);
  assert.throws(() => r.callLater(NaN, () => {}), RangeError);
  assert.throws(
    () => r.callLater(1, "nope" as unknown as () => void),
    TypeError,
  );
  assert.deepEqual(r.getDelayedCalls(), []);
});

Deno.test("cancelling the earliest of many calls leaves the rest on time", async () => {
  const r = new DenoReactor();
  const calls = [];
  for (let i = 0; i < 1000; i++) calls.push(r.callLater(30 + i, () => {}));
  const done = Promise.withResolvers<void>();
  r.callLater(0.01, () => done.resolve());
  calls[0].cancel();
  calls[500].reset(0.005);
  calls[700].cancel();
  calls[999].cancel();
  await within(2_000, "the early call", done.promise);
  assert.equal(calls[500].active(), false, "the reset call ran");
  assert.equal(r.getDelayedCalls().length, 996);
  for (const c of calls) if (c.active()) c.cancel();
  assert.deepEqual(r.getDelayedCalls(), []);
});
