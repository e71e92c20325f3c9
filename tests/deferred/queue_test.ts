// Tests for DeferredQueue, from Twisted's test_defer.py
// (OtherPrimitivesTests.testQueue and the cancel cases).

import assert from "node:assert/strict";
import {
  CancelledError,
  type Deferred,
  DeferredQueue,
  QueueOverflow,
  QueueUnderflow,
} from "../../deferred/mod.ts";
import { failureResultOf, successResultOf } from "../../testing/results.ts";

Deno.test("DeferredQueue hands puts to waiting gets in order, then keeps items up to its size", () => {
  const size = 2;
  const backlog = 2;
  const queue = new DeferredQueue<number>(size, backlog);
  let gotten: number[] = [];
  for (let i = 0; i < backlog; i++) {
    queue.get().addCallback((x) => {
      gotten.push(x);
    });
  }
  assert.throws(() => queue.get(), QueueUnderflow);
  for (let i = 0; i < backlog; i++) {
    queue.put(i);
    assert.deepEqual(gotten, [...Array(i + 1).keys()]);
  }
  for (let i = 0; i < size; i++) {
    queue.put(size + i);
    assert.deepEqual(gotten, [0, 1]);
  }
  assert.equal(queue.pending, 2);
  assert.throws(() => queue.put(99), QueueOverflow);
  assert.equal(queue.pending, 2, "the refused item was not added");
  gotten = [];
  for (let i = 0; i < size; i++) {
    queue.get().addCallback((x) => {
      gotten.push(x);
    });
    assert.deepEqual(gotten, [size, size + 1].slice(0, i + 1));
  }
});

Deno.test("an unbounded DeferredQueue takes any number of gets and puts", () => {
  const queue = new DeferredQueue<number>();
  const gotten: number[] = [];
  for (let i = 0; i < 100; i++) {
    queue.get().addCallback((x) => {
      gotten.push(x);
    });
  }
  for (let i = 0; i < 200; i++) queue.put(i);
  assert.deepEqual(gotten, [...Array(100).keys()]);
  assert.equal(queue.pending, 100);
  assert.equal(successResultOf(queue.get()), 100);
});

Deno.test("a queue of size 0 refuses every put, and of backlog 0 every waiting get", () => {
  assert.throws(() => new DeferredQueue<null>(0).put(null), QueueOverflow);
  assert.throws(
    () => new DeferredQueue<null>(Infinity, 0).get(),
    QueueUnderflow,
  );
});

Deno.test("a queue keeps undefined items like any other", () => {
  const queue = new DeferredQueue<undefined>();
  queue.put(undefined);
  assert.equal(queue.pending, 1);
  assert.equal(successResultOf(queue.get()), undefined);
  assert.equal(queue.pending, 0);
});

Deno.test("DeferredQueue refuses negative or fractional limits", () => {
  for (const [size, backlog] of [[-1, 1], [1, -1], [1.5, 1], [1, NaN]]) {
    assert.throws(
      () => new DeferredQueue(size, backlog),
      RangeError,
      `${size}, ${backlog}`,
    );
  }
});

Deno.test("cancelling a get that already has its item does nothing", () => {
  const queue = new DeferredQueue<string>();
  const d = queue.get();
  queue.put("item");
  d.cancel();
  assert.equal(successResultOf(d), "item");
});

Deno.test("cancelling a waiting get fails it and the next put goes to the next get", () => {
  const queue = new DeferredQueue<string>();
  const d = queue.get();
  d.cancel();
  failureResultOf(d, CancelledError);
  assert.equal(queue.waiting, 0);
  queue.put("kept");
  assert.equal(queue.pending, 1, "not lost to the cancelled get");
  assert.equal(successResultOf(queue.get()), "kept");
});

Deno.test("a callback of a cancelled get may use the queue again", () => {
  const queue = new DeferredQueue<string | null>();
  const d: Deferred<unknown> = queue.get();
  d.cancel();
  d.addErrback(() => {
    queue.put(null);
    return queue.get();
  });
  assert.equal(successResultOf(d), null);
});

Deno.test("draining a queue of 100 000 items takes each one in order", () => {
  const queue = new DeferredQueue<number>();
  for (let i = 0; i < 100_000; i++) queue.put(i);
  let outOfOrder = 0;
  let taken = 0;
  for (let i = 0; i < 100_000; i++) {
    queue.get().addCallback((x) => {
      if (x !== i) outOfOrder++;
      taken++;
    });
  }
  assert.equal(taken, 100_000);
  assert.equal(outOfOrder, 0, "each get() took the item put at its index");
  assert.equal(queue.pending, 0);
});
