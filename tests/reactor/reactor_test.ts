import assert from "node:assert/strict";
import { DenoReactor } from "../../reactor/reactor.ts";
import {
  AlreadyCalled,
  AlreadyCancelled,
  ReactorAlreadyRunning,
  ReactorNotRestartable,
  ReactorNotRunning,
} from "../../reactor/errors.ts";
import type {
  ReactorResource,
  TriggerPhase,
} from "../../reactor/interfaces.ts";
import { Deferred } from "../../deferred/deferred.ts";
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

// ------------------------------------------- system event triggers (Twisted's
// ThreePhaseEventTests and SystemEventTests, on a fresh reactor each)

const noSignals = { installSignalHandlers: false };

Deno.test("addSystemEventTrigger rejects an unknown phase and a non-function", () => {
  const r = new DenoReactor();
  assert.throws(
    () => r.addSystemEventTrigger("xxx" as "before", "test", () => {}),
    RangeError,
  );
  assert.throws(
    () => r.addSystemEventTrigger("before", "test", 1 as unknown as () => void),
    TypeError,
  );
});

Deno.test("each phase's trigger runs only when its event fires, with its arguments", () => {
  for (const phase of ["before", "during", "after"] as const) {
    const r = new DenoReactor();
    const events: unknown[] = [];
    r.addSystemEventTrigger(
      phase,
      "test",
      (a: number, b: string) => {
        events.push([a, b]);
      },
      1,
      "x",
    );
    r.fireSystemEvent("other");
    assert.deepEqual(events, [], phase);
    r.fireSystemEvent("test");
    assert.deepEqual(events, [[1, "x"]], phase);
  }
});

/**
 * A fresh reactor for the system-event tests, the labels its triggers on
 * the event "test" recorded, and `record(phase, label)`, which adds a
 * trigger recording `label` (the phase's name by default).
 */
function triggerRecorder() {
  const r = new DenoReactor();
  const events: string[] = [];
  const record = (phase: TriggerPhase, label: string = phase) =>
    r.addSystemEventTrigger(phase, "test", () => events.push(label));
  return { r, events, record };
}

Deno.test("fireSystemEvent runs before, during and after triggers in that order", () => {
  const r = new DenoReactor();
  const events: string[] = [];
  const add = (phase: "before" | "during" | "after", name: string) =>
    r.addSystemEventTrigger(
      phase,
      "test",
      () => events.push(`${name} ${phase}`),
    );
  add("after", "first");
  add("during", "first");
  add("before", "first");
  add("before", "second");
  add("during", "second");
  add("after", "second");
  r.fireSystemEvent("test");
  assert.deepEqual(events, [
    "first before",
    "second before",
    "first during",
    "second during",
    "first after",
    "second after",
  ]);
});

Deno.test("a Deferred returned by a before trigger delays during and after", () => {
  const { r, events, record } = triggerRecorder();
  const result = new Deferred<void>();
  r.addSystemEventTrigger("before", "test", () => result);
  record("during");
  record("after");
  r.fireSystemEvent("test");
  assert.deepEqual(events, []);
  result.callback();
  assert.deepEqual(events, ["during", "after"]);
});

Deno.test("during waits for every Deferred the before triggers returned", () => {
  const { r, events, record } = triggerRecorder();
  const first = new Deferred<void>();
  const second = new Deferred<void>();
  r.addSystemEventTrigger("before", "test", () => first);
  r.addSystemEventTrigger("before", "test", () => second);
  record("during");
  r.fireSystemEvent("test");
  first.callback();
  assert.deepEqual(events, []);
  second.callback();
  assert.deepEqual(events, ["during"]);
});

Deno.test("a before trigger firing an earlier before trigger's Deferred still lets later ones run first", () => {
  const { r, events, record } = triggerRecorder();
  const first = new Deferred<void>();
  const second = new Deferred<void>();
  r.addSystemEventTrigger("before", "test", () => first);
  r.addSystemEventTrigger("before", "test", () => first.callback());
  r.addSystemEventTrigger("before", "test", () => {
    events.push("before");
    return second;
  });
  record("during");
  r.fireSystemEvent("test");
  assert.deepEqual(events, ["before"]);
  second.callback();
  assert.deepEqual(events, ["before", "during"]);
});

Deno.test("a Promise returned by a before trigger delays during", async () => {
  const r = new DenoReactor();
  const events: string[] = [];
  const gate = Promise.withResolvers<void>();
  const duringRan = Promise.withResolvers<void>();
  r.addSystemEventTrigger("before", "test", () => gate.promise);
  r.addSystemEventTrigger("during", "test", () => {
    events.push("during");
    duringRan.resolve();
  });
  r.fireSystemEvent("test");
  await null;
  assert.deepEqual(events, []);
  gate.resolve();
  await within(2_000, "the during trigger", duringRan.promise);
  assert.deepEqual(events, ["during"]);
});

Deno.test("an error thrown by a before or during trigger is logged and the others run", () => {
  using logs = captureLogs();
  class DummyError extends Error {}
  for (const phase of ["before", "during"] as const) {
    const r = new DenoReactor();
    const events: string[] = [];
    r.addSystemEventTrigger(phase, "test", () => {
      throw new DummyError(phase);
    });
    r.addSystemEventTrigger(phase, "test", () => events.push(phase));
    r.addSystemEventTrigger("after", "test", () => events.push("after"));
    r.fireSystemEvent("test");
    assert.deepEqual(events, [phase, "after"]);
    const errors = logs.flushLoggedErrors(DummyError);
    assert.equal(errors.length, 1, phase);
    assert.equal(errors[0].getErrorMessage(), phase);
  }
});

Deno.test("a failed Deferred from a before trigger is logged and during still runs", () => {
  using logs = captureLogs();
  const { r, events, record } = triggerRecorder();
  const result = new Deferred<void>();
  r.addSystemEventTrigger("before", "test", () => result);
  record("during");
  r.fireSystemEvent("test");
  result.errback(new RangeError("before failed"));
  assert.deepEqual(events, ["during"]);
  assert.equal(logs.flushLoggedErrors(RangeError).length, 1);
});

Deno.test("a removed trigger does not run, and removing it again throws RangeError", () => {
  const { r, events, record } = triggerRecorder();
  record("before", "first");
  const second = record("before", "second");
  r.removeSystemEventTrigger(second);
  assert.throws(() => r.removeSystemEventTrigger(second), RangeError);
  r.fireSystemEvent("test");
  assert.deepEqual(events, ["first"]);
});

Deno.test("removeSystemEventTrigger rejects ids it did not hand out", () => {
  const r = new DenoReactor();
  const other = new DenoReactor();
  const foreign = other.addSystemEventTrigger("during", "test", () => {});
  assert.throws(
    () => r.removeSystemEventTrigger(null as unknown as typeof foreign),
    TypeError,
  );
  assert.throws(
    () => r.removeSystemEventTrigger({ phase: "during", event: "test" }),
    TypeError,
  );
  assert.throws(() => r.removeSystemEventTrigger(foreign), TypeError);
  other.removeSystemEventTrigger(foreign);
});

Deno.test("removing a trigger that already ran throws RangeError", () => {
  const r = new DenoReactor();
  const id = r.addSystemEventTrigger("during", "test", () => {});
  r.fireSystemEvent("test");
  assert.throws(() => r.removeSystemEventTrigger(id), /already run/);
});

Deno.test("a before trigger removing a pending before trigger stops it running", () => {
  const { r, events, record } = triggerRecorder();
  r.addSystemEventTrigger(
    "before",
    "test",
    () => r.removeSystemEventTrigger(target),
  );
  const target = record("before", "first");
  record("before", "second");
  r.fireSystemEvent("test");
  assert.deepEqual(events, ["second"]);
});

Deno.test("a before trigger removing a during trigger stops it running", () => {
  const { r, events, record } = triggerRecorder();
  r.addSystemEventTrigger(
    "before",
    "test",
    () => r.removeSystemEventTrigger(during),
  );
  const during = record("during");
  record("after");
  r.fireSystemEvent("test");
  assert.deepEqual(events, ["after"]);
});

Deno.test("a during trigger removed while before Deferreds are pending does not run", () => {
  const { r, events, record } = triggerRecorder();
  const result = new Deferred<void>();
  r.addSystemEventTrigger("before", "test", () => result);
  const during = record("during");
  record("after");
  r.fireSystemEvent("test");
  r.removeSystemEventTrigger(during);
  result.callback();
  assert.deepEqual(events, ["after"]);
});

Deno.test("a during trigger removing a pending during trigger stops it running", () => {
  const { r, events, record } = triggerRecorder();
  r.addSystemEventTrigger(
    "during",
    "test",
    () => r.removeSystemEventTrigger(target),
  );
  const target = record("during", "first");
  record("during", "second");
  r.fireSystemEvent("test");
  assert.deepEqual(events, ["second"]);
});

Deno.test("a before trigger identical to a removed during trigger still runs once", () => {
  const r = new DenoReactor();
  const events: string[] = [];
  const trigger = () => events.push("trigger");
  r.addSystemEventTrigger("before", "test", trigger);
  r.addSystemEventTrigger(
    "before",
    "test",
    () => r.removeSystemEventTrigger(during),
  );
  const during = r.addSystemEventTrigger("during", "test", trigger);
  r.fireSystemEvent("test");
  assert.deepEqual(events, ["trigger"]);
});

Deno.test("triggers run once: firing again runs only triggers added since", () => {
  const { r, events, record } = triggerRecorder();
  record("before");
  record("during");
  record("after");
  r.fireSystemEvent("test");
  r.fireSystemEvent("test");
  assert.deepEqual(events, ["before", "during", "after"]);
  record("during", "new");
  r.fireSystemEvent("test");
  assert.deepEqual(events, ["before", "during", "after", "new"]);
});

Deno.test("a trigger added to the phase being run runs in the same firing", () => {
  const { r, events, record } = triggerRecorder();
  r.addSystemEventTrigger("during", "test", () => {
    events.push("during");
    record("during", "added during");
  });
  record("after");
  r.fireSystemEvent("test");
  assert.deepEqual(events, ["during", "added during", "after"]);
});

Deno.test("different events waiting on before Deferreds do not affect each other", () => {
  const r = new DenoReactor();
  const events: string[] = [];
  const first = new Deferred<void>();
  const second = new Deferred<void>();
  r.addSystemEventTrigger("before", "first", () => {
    events.push("before first");
    return first;
  });
  r.addSystemEventTrigger("after", "first", () => events.push("after first"));
  r.addSystemEventTrigger("before", "second", () => {
    events.push("before second");
    return second;
  });
  r.addSystemEventTrigger("after", "second", () => events.push("after second"));
  r.fireSystemEvent("first");
  r.fireSystemEvent("second");
  assert.deepEqual(events, ["before first", "before second"]);
  first.callback();
  assert.deepEqual(events, ["before first", "before second", "after first"]);
  second.callback();
  assert.deepEqual(events, [
    "before first",
    "before second",
    "after first",
    "after second",
  ]);
});

// ------------------------------------------------------------ life cycle

/** A resource that records its shutdown and finishes when told. */
class Resource implements ReactorResource {
  finished = Promise.withResolvers<void>();
  shutdownCalls = 0;
  constructor(readonly name: string, readonly events: string[]) {}
  shutdown(): Promise<void> {
    this.shutdownCalls++;
    this.events.push(`${this.name} closing`);
    return this.finished.promise.then(() => {
      this.events.push(`${this.name} closed`);
    });
  }
}

Deno.test("run fires startup in order and callWhenRunning hooks see the reactor running", async () => {
  const r = new DenoReactor();
  const events: string[] = [];
  r.callWhenRunning(() => events.push(`hook running=${r.running}`));
  r.addSystemEventTrigger(
    "before",
    "startup",
    () => events.push(`before running=${r.running}`),
  );
  r.addSystemEventTrigger(
    "during",
    "startup",
    () => events.push(`during running=${r.running}`),
  );
  r.addSystemEventTrigger(
    "after",
    "startup",
    () => events.push(`after running=${r.running}`),
  );
  const done = r.run(noSignals);
  // Startup ran synchronously inside run().
  assert.deepEqual(events, [
    "before running=false",
    "during running=true",
    "hook running=true",
    "after running=true",
  ]);
  assert.equal(r.running, true);
  r.stop();
  await within(2_000, "shutdown", done);
  assert.equal(r.running, false);
});

Deno.test("callWhenRunning on a running reactor calls at once and returns undefined", async () => {
  const r = new DenoReactor();
  const done = r.run(noSignals);
  let called = false;
  assert.equal(r.callWhenRunning(() => called = true), undefined);
  assert.equal(called, true);
  r.stop();
  await within(2_000, "shutdown", done);
});

Deno.test("shutdown runs before, during, closes resources, after, then resolves run", async () => {
  const r = new DenoReactor();
  const events: string[] = [];
  const gate = new Deferred<void>();
  const a = new Resource("a", events);
  const b = new Resource("b", events);
  const forgotten = new Resource("forgotten", events);
  r.trackResource(a);
  r.trackResource(b);
  r.trackResource(forgotten);
  r.untrackResource(forgotten);
  r.addSystemEventTrigger("before", "shutdown", () => {
    events.push(`before running=${r.running}`);
    return gate;
  });
  r.addSystemEventTrigger(
    "during",
    "shutdown",
    () => events.push(`during running=${r.running}`),
  );
  r.addSystemEventTrigger("after", "shutdown", () => events.push("after"));
  let resolved = false;
  const done = r.run(noSignals).then(() => resolved = true);
  r.stop();
  events.push("stop returned");
  await r.iterate();
  assert.deepEqual(events, ["stop returned", "before running=true"]);
  gate.callback();
  assert.deepEqual(events.slice(2), [
    "during running=false",
    "a closing",
    "b closing",
  ]);
  a.finished.resolve();
  await r.iterate();
  assert.equal(resolved, false, "run waits for every resource");
  b.finished.resolve();
  await within(2_000, "shutdown", done);
  assert.deepEqual(events.slice(5), ["a closed", "b closed", "after"]);
  assert.equal(forgotten.shutdownCalls, 0);
  assert.equal(a.shutdownCalls, 1);
});

Deno.test("a resource failing to close is logged and shutdown completes", async () => {
  using logs = captureLogs();
  const r = new DenoReactor();
  const events: string[] = [];
  const good = new Resource("good", events);
  good.finished.resolve();
  r.trackResource({
    shutdown() {
      throw new RangeError("cannot close");
    },
  });
  r.trackResource({
    shutdown: () => Promise.reject(new TypeError("cannot close either")),
  });
  r.trackResource(good);
  r.callWhenRunning(() => r.stop());
  await within(2_000, "shutdown", r.run(noSignals));
  assert.deepEqual(events, ["good closing", "good closed"]);
  assert.equal(logs.flushLoggedErrors(RangeError, TypeError).length, 2);
});

Deno.test("a resource tracked while shutdown closes resources is closed too", async () => {
  const r = new DenoReactor();
  const events: string[] = [];
  const late = new Resource("late", events);
  late.finished.resolve();
  r.trackResource({
    shutdown() {
      events.push("first closing");
      r.trackResource(late);
    },
  });
  r.callWhenRunning(() => r.stop());
  await within(2_000, "shutdown", r.run(noSignals));
  assert.deepEqual(events, ["first closing", "late closing", "late closed"]);
});

Deno.test("stop on a reactor that is not running, or already stopping, throws ReactorNotRunning", async () => {
  const r = new DenoReactor();
  assert.throws(() => r.stop(), ReactorNotRunning);
  const done = r.run(noSignals);
  r.stop();
  assert.throws(() => r.stop(), ReactorNotRunning);
  await within(2_000, "shutdown", done);
  assert.throws(() => r.stop(), ReactorNotRunning);
});

Deno.test("run on a running reactor rejects with ReactorAlreadyRunning", async () => {
  const r = new DenoReactor();
  const done = r.run(noSignals);
  await assert.rejects(r.run(noSignals), ReactorAlreadyRunning);
  r.stop();
  await within(2_000, "shutdown", done);
});

Deno.test("run after a stop rejects with ReactorNotRestartable", async () => {
  const r = new DenoReactor();
  r.callWhenRunning(() => r.stop());
  await within(2_000, "shutdown", r.run(noSignals));
  await assert.rejects(r.run(noSignals), ReactorNotRestartable);
});

Deno.test("crash ends run at once without shutdown, and the reactor can run again", async () => {
  const r = new DenoReactor();
  const events: string[] = [];
  r.addSystemEventTrigger("before", "shutdown", () => events.push("shutdown"));
  r.callWhenRunning(() => r.crash());
  await within(2_000, "the crash", r.run(noSignals));
  assert.equal(r.running, false);
  assert.deepEqual(events, []);
  r.crash(); // not running: nothing to do
  r.callWhenRunning(() => r.stop());
  await within(2_000, "the second run", r.run(noSignals));
  assert.deepEqual(events, ["shutdown"]);
});

Deno.test("crash during a shutdown waiting on a Deferred resolves run at once", async () => {
  const r = new DenoReactor();
  const events: string[] = [];
  const gate = new Deferred<void>();
  r.addSystemEventTrigger("before", "shutdown", () => gate);
  r.addSystemEventTrigger("after", "shutdown", () => events.push("after"));
  const done = r.run(noSignals);
  r.stop();
  await r.iterate();
  r.crash();
  await within(2_000, "the crash", done);
  assert.equal(r.running, false);
  gate.callback(); // the rest of the shutdown event still runs its triggers
  await r.iterate();
  assert.deepEqual(events, ["after"]);
});

Deno.test("stop during a startup waiting on a Deferred shuts down once startup completes", async () => {
  const r = new DenoReactor();
  const events: string[] = [];
  const gate = new Deferred<void>();
  r.addSystemEventTrigger("before", "startup", () => gate);
  r.callWhenRunning(() => events.push("running"));
  r.addSystemEventTrigger("before", "shutdown", () => events.push("shutdown"));
  const done = r.run(noSignals);
  r.stop();
  await r.iterate();
  assert.deepEqual(events, []);
  gate.callback();
  await within(2_000, "shutdown", done);
  assert.deepEqual(events, ["running", "shutdown"]);
});

Deno.test("iterate returns once due delayed calls have run, or after its delay", async () => {
  const r = new DenoReactor();
  let ran = false;
  r.callLater(0, () => ran = true);
  await within(2_000, "iterate(30)", r.iterate(30));
  assert.equal(ran, true);
  await within(2_000, "iterate()", r.iterate());
  await within(2_000, "iterate(0.001)", r.iterate(0.001));
  await assert.rejects(r.iterate(-1), RangeError);
});

// ---------------------------------------------- processes: signals, timers

const childEnv = { NO_COLOR: "1" };

async function* lines(stream: ReadableStream<Uint8Array>) {
  let buffered = "";
  for await (const text of stream.pipeThrough(new TextDecoderStream())) {
    buffered += text;
    let nl;
    while ((nl = buffered.indexOf("\n")) !== -1) {
      yield buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
    }
  }
  if (buffered) yield buffered;
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.test({
    name:
      `${signal} shuts the running global reactor down and the process exits by itself`,
    ignore: Deno.build.os === "windows",
    async fn() {
      const child = new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "--quiet",
          new URL("./_signal_child.ts", import.meta.url).pathname,
        ],
        env: childEnv,
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const stderr = new Response(child.stderr).text();
      const out = lines(child.stdout);
      const seen: string[] = [];
      try {
        const first = await within(30_000, "the child to be ready", out.next());
        assert.equal(first.value, "ready");
        child.kill(signal);
        const rest = (async () => {
          for await (const line of out) seen.push(line);
        })();
        const status = await within(10_000, "the child to exit", child.status);
        await rest;
        assert.deepEqual(seen, [
          "before shutdown",
          "before shutdown finished",
          "during shutdown",
          "after shutdown",
          "run resolved",
        ], await stderr);
        assert.equal(status.code, 0, await stderr);
        assert.equal(status.signal, null);
      } finally {
        try {
          child.kill("SIGKILL");
        } catch { /* it has exited, as it should */ }
        await child.status;
        await stderr;
      }
    },
  });
}

Deno.test("a delayed call made without run() keeps the process alive and runs", async () => {
  const output = await within(
    30_000,
    "the child",
    new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--quiet",
        new URL("./_timer_child.ts", import.meta.url).pathname,
      ],
      env: childEnv,
      stdin: "null",
    }).output(),
  );
  const stderr = new TextDecoder().decode(output.stderr);
  assert.equal(output.code, 0, stderr);
  assert.equal(
    new TextDecoder().decode(output.stdout),
    "fired without run()\n",
  );
});
