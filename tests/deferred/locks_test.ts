// Tests for DeferredLock and DeferredSemaphore, from Twisted's
// test_defer.py (OtherPrimitivesTests).

import assert from "node:assert/strict";
import {
  CancelledError,
  Deferred,
  DeferredLock,
  DeferredSemaphore,
  fail,
  succeed,
} from "../../deferred/mod.ts";
import {
  assertNoResult,
  failureResultOf,
  successResultOf,
} from "../../testing/results.ts";

class GenericError extends Error {
  override readonly name = "GenericError";
}

type Equals<A, B> = (<X>() => X extends A ? 1 : 2) extends
  (<X>() => X extends B ? 1 : 2) ? true : false;

// ------------------------------------------------------------- DeferredLock

Deno.test("DeferredLock gives itself to the first acquire at once and to the next on release", () => {
  const lock = new DeferredLock();
  let counter = 0;
  const first = lock.acquire().addCallback((l) => {
    counter++;
    return l;
  });
  assert.equal(lock.locked, true);
  assert.equal(counter, 1);
  assert.equal(successResultOf(first), lock);
  lock.acquire().addCallback(() => {
    counter++;
  });
  assert.equal(lock.waiting, 1);
  assert.equal(counter, 1);
  lock.release();
  assert.equal(lock.locked, true, "handed straight to the waiter");
  assert.equal(counter, 2);
  lock.release();
  assert.equal(lock.locked, false);
  assert.equal(lock.waiting, 0);
});

Deno.test("DeferredLock serves waiters first come, first served", () => {
  const lock = new DeferredLock();
  const order: number[] = [];
  lock.acquire();
  for (let i = 0; i < 5; i++) {
    lock.acquire().addCallback(() => {
      order.push(i);
    });
  }
  for (let i = 0; i < 5; i++) lock.release();
  assert.deepEqual(order, [0, 1, 2, 3, 4]);
  lock.release();
  assert.equal(lock.locked, false);
});

Deno.test("releasing an unlocked DeferredLock is an error", () => {
  const lock = new DeferredLock();
  assert.throws(() => lock.release(), /not locked/);
  assert.equal(lock.locked, false);
});

Deno.test("DeferredLock.run holds the lock until the function's Deferred fires, passing its result on", () => {
  const lock = new DeferredLock();
  const control = new Deferred<string>();
  const seen: unknown[] = [];
  const result = lock.run(
    (a: number, b: number) => {
      seen.push(a, b);
      return control;
    },
    1,
    2,
  );
  const typed: Equals<typeof result, Deferred<string>> = true;
  assert.ok(typed);
  assert.deepEqual(seen, [1, 2]);
  assert.equal(lock.locked, true);
  let counter = 0;
  lock.acquire().addCallback(() => {
    counter++;
  });
  assert.equal(counter, 0);
  control.callback("done");
  assert.equal(successResultOf(result), "done");
  assert.equal(counter, 1, "the waiter got the lock");
  assert.equal(lock.locked, true);
  lock.release();
  assert.equal(lock.locked, false);
});

Deno.test("DeferredLock.run releases the lock when the function throws or fails", () => {
  const lock = new DeferredLock();
  const thrown = lock.run(() => {
    throw new GenericError("sync");
  });
  failureResultOf(thrown, GenericError);
  assert.equal(lock.locked, false);
  const failed = lock.run(() => fail(new GenericError("async")));
  failureResultOf(failed, GenericError);
  assert.equal(lock.locked, false);
});

Deno.test("DeferredLock.run waits for a Promise the function returns", async () => {
  const lock = new DeferredLock();
  // deno-lint-ignore require-await -- an async function is what is tested
  const result = lock.run(async () => 5);
  assert.equal(lock.locked, true);
  assert.equal(await result, 5);
  assert.equal(lock.locked, false);
});

Deno.test("DeferredLock.run with something that is not a function is a TypeError", () => {
  const lock = new DeferredLock();
  // @ts-expect-error: not a function
  assert.throws(() => lock.run(), TypeError);
  assert.equal(lock.locked, false);
});

Deno.test("cancelling a waiting acquire fails it with CancelledError and takes it out of the line", () => {
  const lock = new DeferredLock();
  lock.acquire();
  const d = lock.acquire();
  let after = 0;
  lock.acquire().addCallback(() => {
    after++;
  });
  d.cancel();
  failureResultOf(d, CancelledError);
  assert.equal(lock.waiting, 1);
  lock.release();
  assert.equal(after, 1, "the next waiter, not the cancelled one");
});

Deno.test("cancelling an acquire that already has the lock does nothing", () => {
  const lock = new DeferredLock();
  const d = lock.acquire();
  d.cancel();
  assert.equal(successResultOf(d), lock);
  assert.equal(lock.locked, true);
});

// ------------------------------------------------------------- semaphore

Deno.test("DeferredSemaphore gives out its tokens at once, then makes acquirers wait", () => {
  const n = 13;
  const sem = new DeferredSemaphore(n);
  let counter = 0;
  for (let i = 1; i <= n; i++) {
    sem.acquire().addCallback(() => {
      counter++;
    });
    assert.equal(counter, i);
  }
  assert.equal(sem.tokens, 0);
  assert.equal(sem.locked, true);
  sem.acquire().addCallback(() => {
    counter++;
  });
  assert.equal(counter, n);
  sem.release();
  assert.equal(counter, n + 1, "the waiter got the freed token");
  for (let i = 0; i < n; i++) sem.release();
  assert.equal(sem.tokens, n);
  assert.equal(sem.limit, n);
  assert.equal(sem.locked, false);
});

Deno.test("DeferredSemaphore.run passes arguments and the function's eventual result", () => {
  const sem = new DeferredSemaphore(13);
  const control = new Deferred<void>();
  let arg: unknown;
  const unique = { token: 1 };
  const result = sem.run((a: object) => {
    arg = a;
    return control;
  }, unique);
  assert.equal(arg, unique);
  assertNoResult(result);
  assert.equal(sem.tokens, 12);
  control.callback();
  assert.equal(successResultOf(result), undefined);
  assert.equal(sem.tokens, 13);
});

Deno.test("cancelling a waiting semaphore acquire fails it and frees its place", () => {
  const sem = new DeferredSemaphore(1);
  sem.acquire();
  const seen: boolean[] = [];
  const d = sem.acquire().addCallbacks(() => {
    seen.push(false);
  }, (f) => {
    seen.push(f.check(CancelledError) !== null);
  });
  d.cancel();
  assert.deepEqual(seen, [true]);
  assert.equal(sem.waiting, 0);
  sem.release();
  assert.equal(sem.tokens, 1);
});

Deno.test("cancelling a semaphore acquire that has its token does nothing", () => {
  const sem = new DeferredSemaphore(1);
  const d = sem.acquire();
  d.cancel();
  assert.equal(successResultOf(d), sem);
});

Deno.test("DeferredSemaphore refuses fewer than one token, or a fraction", () => {
  for (const bad of [0, -1, 1.5, NaN]) {
    assert.throws(() => new DeferredSemaphore(bad), RangeError, String(bad));
  }
});

Deno.test("releasing a semaphore more often than acquired is an error", () => {
  const sem = new DeferredSemaphore(2);
  assert.throws(() => sem.release(), /already free/);
  sem.acquire();
  sem.release();
  assert.throws(() => sem.release(), /already free/);
  assert.equal(sem.tokens, 2);
});

Deno.test("a semaphore limits concurrency to its tokens", () => {
  const sem = new DeferredSemaphore(3);
  const jobs = Array.from({ length: 10 }, () => new Deferred<void>());
  let running = 0;
  let most = 0;
  const results = jobs.map((job, i) =>
    sem.run(() => {
      running++;
      most = Math.max(most, running);
      return job.addCallback(() => {
        running--;
        return i;
      });
    })
  );
  for (const job of jobs) job.callback();
  assert.equal(most, 3);
  assert.deepEqual(results.map((r) => successResultOf(r)), [...jobs.keys()]);
  assert.equal(successResultOf(succeed(sem.tokens)), 3);
});
