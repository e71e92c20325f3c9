import assert from "node:assert/strict";
import "../../reactor/reactor.ts"; // installs the global reactor the defaults use
import { Deferred } from "../../deferred/deferred.ts";
import { fail } from "../../deferred/helpers.ts";
import type { Failure } from "../../deferred/failure.ts";
import {
  coiterate,
  cooperate,
  Cooperator,
  NotPaused,
  SchedulerStopped,
  TaskDone,
  TaskFailed,
  TaskStopped,
} from "../../reactor/cooperator.ts";
import { Clock } from "../../testing/clock.ts";
import { captureLogs } from "../../testing/logs.ts";
import {
  assertNoResult,
  failureResultOf,
  successResultOf,
} from "../../testing/results.ts";
import { within } from "../_helpers.ts";

class TestError extends Error {}

/** Twisted's FakeScheduler: runs queued slices only when pumped. */
class FakeScheduler {
  work: { fn: () => void; cancelled: boolean; cancel(): void }[] = [];
  schedule = (fn: () => void) => {
    const unit = {
      fn,
      cancelled: false,
      cancel() {
        this.cancelled = true;
      },
    };
    this.work.push(unit);
    return unit;
  };
  pump(): void {
    const work = this.work;
    this.work = [];
    for (const unit of work) if (!unit.cancelled) unit.fn();
  }
}

/** A Cooperator on `clock`, one slice per `advance(0)`. */
function clockCooperator(clock: Clock, stepsPerSlice = Infinity): Cooperator {
  return new Cooperator({
    scheduler: (fn) => clock.callLater(1, fn),
    terminationPredicateFactory: () => {
      let steps = 0;
      return () => ++steps >= stepsPerSlice;
    },
  });
}

Deno.test("a stopped Cooperator fails new tasks with SchedulerStopped", () => {
  const coop = new Cooperator({ scheduler: new FakeScheduler().schedule });
  coop.stop();
  failureResultOf(coop.coiterate([][Symbol.iterator]()), SchedulerStopped);
});

Deno.test("stopping a Cooperator stops a running task before it completes", () => {
  const scheduler = new FakeScheduler();
  const coop = new Cooperator({ scheduler: scheduler.schedule });
  let value = -1;
  function* steps() {
    for (value = 0; value < 3; value++) yield value;
  }
  const d = coop.coiterate(steps());
  coop.stop();
  scheduler.pump();
  failureResultOf(d, SchedulerStopped);
  assert.equal(value, -1);
});

Deno.test("stopping a Cooperator fails a task waiting on a yielded Deferred", () => {
  const scheduler = new FakeScheduler();
  const coop = new Cooperator({ scheduler: scheduler.schedule });
  const outstanding = new Deferred<string>();
  let resumed = false;
  const d = coop.coiterate((function* () {
    yield outstanding;
    resumed = true;
  })());
  scheduler.pump();
  coop.stop();
  outstanding.callback("arglebargle");
  scheduler.pump();
  failureResultOf(d, SchedulerStopped);
  assert.equal(resumed, false);
});

Deno.test("an error thrown by the iterator fails the task", () => {
  const clock = new Clock();
  const coop = clockCooperator(clock);
  const throwing: Iterator<never> = {
    next() {
      throw new TestError("from the iterator");
    },
  };
  const d = coop.coiterate(throwing);
  clock.advance(1);
  failureResultOf(d, TestError);
});

Deno.test("a yielded Deferred that fails, now or later, fails the task", () => {
  const clock = new Clock();
  const coop = clockCooperator(clock);
  const later = new Deferred<void>();
  const a = coop.coiterate((function* () {
    yield later;
  })());
  const b = coop.coiterate((function* () {
    yield fail(new TestError("now"));
  })());
  clock.advance(1);
  failureResultOf(b, TestError);
  assertNoResult(a);
  later.errback(new TestError("later"));
  failureResultOf(a, TestError);
});

Deno.test("a Cooperator interleaves its tasks round-robin", () => {
  const clock = new Clock();
  const coop = clockCooperator(clock);
  const seen: unknown[] = [];
  function* things(items: unknown[]) {
    for (const item of items) {
      seen.push(item);
      yield;
    }
  }
  const groups = [["a", "b", "c"], [1, 2, 3], ["d", "e", "f"], [4, 5, 6]];
  const tasks = groups.map((g) => coop.coiterate(things(g)));
  clock.advance(1);
  for (const t of tasks) successResultOf(t);
  assert.deepEqual(seen, ["a", 1, "d", 4, "b", 2, "e", 5, "c", 3, "f", 6]);
});

Deno.test("a Cooperator ends a slice when the termination predicate says so", () => {
  const scheduler = new FakeScheduler();
  let stopped = false;
  const coop = new Cooperator({
    scheduler: scheduler.schedule,
    terminationPredicateFactory: () => () => stopped,
  });
  const output: number[] = [];
  const d = coop.coiterate((function* () {
    for (let i = 0; i < 100; i++) {
      output.push(i);
      if (i === 9) stopped = true;
      yield i;
    }
  })());
  scheduler.pump();
  assert.deepEqual(output, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(scheduler.work.length, 1, "the next slice is scheduled");
  coop.stop();
  failureResultOf(d, SchedulerStopped);
});

Deno.test("a whenDone callback that coiterates again schedules only one slice", () => {
  const calls: (() => void)[] = [];
  const coop = new Cooperator({
    scheduler: (fn) => {
      assert.equal(calls.length, 0, "at most one slice is scheduled");
      calls.push(fn);
      return { cancel() {} };
    },
    terminationPredicateFactory: () => () => true,
  });
  const done: unknown[] = [];
  coop.coiterate([][Symbol.iterator]()).addCallback(() => {
    coop.coiterate([][Symbol.iterator]()).addBoth((r) => done.push(r));
  });
  let work = 0;
  while (done.length === 0) {
    work++;
    while (calls.length > 0) {
      calls.shift()!();
      work++;
    }
    assert.ok(work <= 50, "the Cooperator took too long");
  }
});

Deno.test("removing a Cooperator's last task cancels its scheduled slice", () => {
  const units: { cancelled: boolean }[] = [];
  const coop = new Cooperator({
    scheduler: () => {
      const unit = {
        cancelled: false,
        cancel() {
          this.cancelled = true;
        },
      };
      units.push(unit);
      return unit;
    },
  });
  const task1 = coop.cooperate([1, 2]);
  const task2 = coop.cooperate([1, 2]);
  assert.equal(units.length, 1);
  task1.stop();
  assert.equal(units[0].cancelled, false);
  task2.stop();
  assert.equal(units[0].cancelled, true);
  coop.cooperate([1, 2]);
  assert.equal(units.length, 2);
  assert.equal(units[1].cancelled, false);
  coop.stop();
});

Deno.test("Cooperator.running reflects start and stop", () => {
  const scheduler = new FakeScheduler();
  assert.equal(new Cooperator({ scheduler: scheduler.schedule }).running, true);
  const coop = new Cooperator({
    scheduler: scheduler.schedule,
    started: false,
  });
  assert.equal(coop.running, false);
  const seen: number[] = [];
  coop.cooperate((function* () {
    yield seen.push(1);
  })());
  scheduler.pump();
  assert.deepEqual(seen, [], "nothing runs before start()");
  coop.start();
  assert.equal(coop.running, true);
  scheduler.pump();
  assert.deepEqual(seen, [1]);
  coop.stop();
  assert.equal(coop.running, false);
});

Deno.test("cooperate rejects something that is not an iterator", () => {
  const coop = new Cooperator({ scheduler: new FakeScheduler().schedule });
  assert.throws(() => coop.cooperate(42 as unknown as number[]), TypeError);
});

// Twisted's RunStateTests: one step per slice, a worker we can steer.
function runState() {
  const scheduler = new FakeScheduler();
  const coop = new Cooperator({
    scheduler: scheduler.schedule,
    terminationPredicateFactory: () => () => true,
  });
  const work: unknown[] = [];
  const next = { defer: false, stop: false, die: false };
  function* worker() {
    let i = 0;
    for (;;) {
      i++;
      if (next.defer) {
        next.defer = false;
        const d = new Deferred<unknown>();
        work.push(d);
        yield d;
      } else if (next.stop) {
        return;
      } else if (next.die) {
        throw new TestError("worker died");
      } else {
        work.push(i);
        yield i;
      }
    }
  }
  const iterator = worker();
  const task = coop.cooperate(iterator);
  return { scheduler, coop, work, next, task, iterator };
}

Deno.test("a paused task does no work until resumed", () => {
  const { scheduler, work, task } = runState();
  scheduler.pump();
  assert.deepEqual(work, [1]);
  scheduler.pump();
  assert.deepEqual(work, [1, 2]);
  task.pause();
  scheduler.pump();
  assert.deepEqual(work, [1, 2]);
  task.resume();
  assert.deepEqual(work, [1, 2], "resume itself does no work");
  scheduler.pump();
  assert.deepEqual(work, [1, 2, 3]);
  task.stop();
});

Deno.test("resume on a task that is not paused throws NotPaused", () => {
  const { task } = runState();
  assert.throws(() => task.resume(), NotPaused);
  task.pause();
  task.resume();
  assert.throws(() => task.resume(), NotPaused);
  task.stop();
});

Deno.test("pauses nest: a task paused twice needs two resumes", () => {
  const { scheduler, work, task } = runState();
  task.pause();
  scheduler.pump();
  task.pause();
  scheduler.pump();
  task.resume();
  scheduler.pump();
  assert.deepEqual(work, []);
  task.resume();
  scheduler.pump();
  assert.deepEqual(work, [1]);
  task.stop();
});

Deno.test("a task paused while waiting on a Deferred needs both the Deferred and a resume", () => {
  const { scheduler, work, next, task } = runState();
  next.defer = true;
  scheduler.pump();
  assert.equal(work.length, 1);
  assert.ok(work[0] instanceof Deferred);
  scheduler.pump();
  assert.equal(work.length, 1);
  task.pause();
  scheduler.pump();
  task.resume();
  scheduler.pump();
  assert.equal(work.length, 1);
  (work[0] as Deferred<unknown>).callback("STUFF!");
  scheduler.pump();
  assert.deepEqual(work.slice(1), [2]);
  task.stop();
});

Deno.test("each whenDone Deferred fires with the iterator, independently", () => {
  const { scheduler, next, task, iterator } = runState();
  const d1 = task.whenDone();
  const d2 = task.whenDone();
  const results1: unknown[] = [];
  const results2: unknown[] = [];
  const final1: unknown[] = [];
  const final2: unknown[] = [];
  d1.addCallback((r) => {
    results1.push(r);
    return 1;
  }).addCallback((r) => final1.push(r));
  d2.addCallback((r) => {
    results2.push(r);
    return 2;
  }).addCallback((r) => final2.push(r));
  next.stop = true;
  scheduler.pump();
  assert.deepEqual(results1, [iterator]);
  assert.deepEqual(results2, [iterator]);
  assert.deepEqual(final1, [1]);
  assert.deepEqual(final2, [2]);
});

Deno.test("whenDone fails with the iterator's error", () => {
  const { scheduler, next, task } = runState();
  const errors: Failure[] = [];
  task.whenDone().addErrback((f: Failure) => {
    errors.push(f);
  });
  next.die = true;
  scheduler.pump();
  assert.equal(errors.length, 1);
  assert.equal(errors[0].check(TestError), TestError);
});

Deno.test("an iterator error with nobody waiting is logged", () => {
  using logs = captureLogs();
  const { scheduler, next } = runState();
  next.die = true;
  scheduler.pump();
  assert.equal(logs.flushLoggedErrors(TestError).length, 1);
});

Deno.test("whenDone fails with TaskStopped when the task is stopped", () => {
  const { task } = runState();
  const d = task.whenDone();
  task.stop();
  failureResultOf(d, TaskStopped);
});

Deno.test("whenDone on a finished task fires at once", () => {
  const { scheduler, next, task, iterator } = runState();
  next.stop = true;
  scheduler.pump();
  assert.equal(successResultOf(task.whenDone()), iterator);
});

Deno.test("a stopped task does no work and refuses stop and pause with TaskStopped", () => {
  const { scheduler, work, task } = runState();
  task.stop();
  scheduler.pump();
  assert.deepEqual(work, []);
  assert.throws(() => task.stop(), TaskStopped);
  assert.throws(() => task.pause(), TaskStopped);
  scheduler.pump();
  assert.deepEqual(work, []);
});

Deno.test("resuming a paused, stopped task does nothing", () => {
  const { scheduler, work, task } = runState();
  task.pause();
  task.stop();
  task.resume();
  scheduler.pump();
  assert.deepEqual(work, []);
});

Deno.test("a task stopped while waiting on a Deferred stays stopped when it fires", () => {
  const { scheduler, work, next, task } = runState();
  next.defer = true;
  scheduler.pump();
  const d = work.pop() as Deferred<unknown>;
  const results: unknown[] = [];
  d.addBoth((r) => results.push(r));
  scheduler.pump();
  task.stop();
  scheduler.pump();
  d.callback(7);
  scheduler.pump();
  assert.equal(results.length, 1);
  assert.deepEqual(work, []);
});

Deno.test("stop on an exhausted task throws TaskDone, on a failed one TaskFailed", () => {
  const done = runState();
  done.next.stop = true;
  done.scheduler.pump();
  assert.throws(() => done.task.stop(), TaskDone);

  using _logs = captureLogs();
  const failed = runState();
  failed.task.whenDone().addErrback(() => {});
  failed.next.die = true;
  failed.scheduler.pump();
  assert.throws(() => failed.task.stop(), TaskFailed);
});

Deno.test("a whenDone callback may stop the Cooperator", () => {
  const { scheduler, coop, next, task, iterator } = runState();
  const phases: unknown[] = [];
  task.whenDone().addCallback((r) => {
    phases.push(r);
    coop.stop();
    phases.push("done");
  });
  next.stop = true;
  scheduler.pump();
  assert.deepEqual(phases, [iterator, "done"]);
});

Deno.test("a yielded Promise pauses the task until it settles", async () => {
  const clock = new Clock();
  const coop = clockCooperator(clock);
  const gate = Promise.withResolvers<void>();
  const seen: string[] = [];
  const d = coop.coiterate((function* () {
    seen.push("before");
    yield gate.promise;
    seen.push("after");
  })());
  clock.advance(1);
  assert.deepEqual(seen, ["before"]);
  clock.advance(1);
  assert.deepEqual(seen, ["before"]);
  gate.resolve();
  await gate.promise;
  await null;
  clock.advance(1);
  assert.deepEqual(seen, ["before", "after"]);
  clock.advance(1);
  successResultOf(d);
});

Deno.test("cooperate on the shared Cooperator yields to the event loop between slices", async () => {
  let steps = 0;
  const task = cooperate((function* () {
    for (;;) yield steps++;
  })());
  // A timer set now can only fire if the task leaves the loop free.
  await within(
    5_000,
    "a timer to fire while the task runs",
    new Promise<void>((resolve) => setTimeout(resolve, 0)),
  );
  const stepsWhenTimerFired = steps;
  assert.ok(stepsWhenTimerFired > 0, "the task made progress");
  const stopped = task.whenDone();
  task.stop();
  failureResultOf(stopped, TaskStopped);
});

Deno.test("coiterate on the shared Cooperator runs a finite iterator to the end", async () => {
  let sum = 0;
  function* numbers() {
    for (let i = 1; i <= 100; i++) yield sum += i;
  }
  await within(5_000, "coiterate", coiterate(numbers()).asPromise());
  assert.equal(sum, 5050);
});
