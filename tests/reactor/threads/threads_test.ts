import assert from "node:assert/strict";
import { CancelledError } from "../../../deferred/errors.ts";
import type { Failure } from "../../../deferred/failure.ts";
import { DenoReactor, reactor } from "../../../reactor/reactor.ts";
import {
  blockingCallFromThread,
  callFromThread,
} from "../../../reactor/threads/from_thread.ts";
import {
  deferToThread,
  ThreadPool,
  ThreadPoolStoppedError,
  WorkerCrashedError,
} from "../../../reactor/threads/threads.ts";
import { captureLogs } from "../../../testing/logs.ts";
import { within } from "../../_helpers.ts";

const jobs = new URL("./_thread_jobs.ts", import.meta.url);
const mainSide = new URL("./_thread_main.ts", import.meta.url).href;
const LIMIT = 10_000; // worker start-up includes type-checking under `deno test`

/** Runs `fn` with a fresh pool that is always stopped afterwards. */
async function withPool(
  options: ConstructorParameters<typeof ThreadPool>[0],
  fn: (pool: ThreadPool) => Promise<void>,
): Promise<void> {
  const pool = new ThreadPool(options);
  try {
    await fn(pool);
  } finally {
    await within(LIMIT, "the pool to stop", pool.stop());
  }
}

async function failureOf(d: PromiseLike<unknown>): Promise<unknown> {
  try {
    await d;
  } catch (error) {
    return error;
  }
  throw new Error("Expected the job to fail, but it succeeded");
}

/** Waits (without timing anything) until `cells[0]` reaches `n`. */
async function untilCount(cells: Int32Array, n: number): Promise<void> {
  for (;;) {
    const seen = Atomics.load(cells, 0);
    if (seen >= n) return;
    const waited = Atomics.waitAsync(cells, 0, seen);
    if (waited.async) await within(LIMIT, `${n} held jobs`, waited.value);
  }
}

function release(cells: Int32Array): void {
  Atomics.store(cells, 1, 1);
  Atomics.notify(cells, 1);
}

Deno.test("deferToThread fires with the export's result", async () => {
  await withPool({ maxthreads: 1 }, async (pool) => {
    const result = await within(
      LIMIT,
      "add",
      pool.deferToThread(jobs, "add", 2, 40),
    );
    assert.equal(result, 42);
  });
});

Deno.test("arguments and results are structured-cloned both ways", async () => {
  await withPool({ maxthreads: 1 }, async (pool) => {
    const bytes = new Uint8Array([1, 2, 3]);
    const result = await within(
      LIMIT,
      "describe",
      pool.deferToThread<{
        keys: string[];
        sum: number;
        year: number;
        bytes: Uint8Array;
      }>(
        jobs,
        "describe",
        new Map([["a", 1], ["b", 2]]),
        bytes,
        new Date(Date.UTC(2001, 0, 1)),
      ),
    );
    assert.deepEqual(result.keys, ["a", "b"]);
    assert.equal(result.sum, 6);
    assert.equal(result.year, 2001);
    assert.ok(result.bytes instanceof Uint8Array);
    assert.deepEqual([...result.bytes], [2, 4, 6]);
    assert.deepEqual([...bytes], [1, 2, 3], "the caller's bytes are untouched");
  });
});

Deno.test("an async export is awaited in the worker", async () => {
  await withPool({ maxthreads: 1 }, async (pool) => {
    assert.equal(
      await within(
        LIMIT,
        "asyncDouble",
        pool.deferToThread(jobs, "asyncDouble", 21),
      ),
      42,
    );
  });
});

Deno.test("a thrown error comes back as a Failure with the remote name, message and stack", async () => {
  await withPool({ maxthreads: 1 }, async (pool) => {
    let failure: Failure | undefined;
    const d = pool.deferToThread(jobs, "fail", "no luck").addErrback((f) => {
      failure = f;
    });
    await within(LIMIT, "fail", d);
    assert.ok(failure !== undefined);
    assert.equal(failure.getErrorMessage(), "no luck");
    assert.equal(failure.check("JobError"), "JobError");
    assert.ok(failure.value instanceof Error);
    assert.match(failure.getTraceback(), /JobError: no luck/);
    assert.match(
      failure.getTraceback(),
      /_thread_jobs\.ts/,
      "the stack is the worker's, naming the job's file",
    );
  });
});

Deno.test("a built-in error class survives the trip, as does a rejected Promise", async () => {
  await withPool({ maxthreads: 1 }, async (pool) => {
    const error = await failureOf(
      pool.deferToThread(jobs, "rejectRange", "too far"),
    );
    assert.ok(error instanceof RangeError);
    assert.equal((error as RangeError).message, "too far");
  });
});

Deno.test("a thrown non-Error value comes back as it was", async () => {
  await withPool({ maxthreads: 1 }, async (pool) => {
    assert.deepEqual(await failureOf(pool.deferToThread(jobs, "throwValue")), {
      code: 42,
    });
  });
});

Deno.test("a missing or non-function export fails with a clear TypeError", async () => {
  await withPool({ maxthreads: 1 }, async (pool) => {
    const missing = await failureOf(pool.deferToThread(jobs, "nope"));
    assert.ok(missing instanceof TypeError);
    assert.match(
      missing.message,
      /Cannot call nope of file:.*_thread_jobs\.ts: no such export/,
    );
    const notFn = await failureOf(pool.deferToThread(jobs, "notAFunction"));
    assert.match((notFn as Error).message, /it is a number, not a function/);
  });
});

Deno.test("a module that cannot be loaded fails the job, not the pool", async () => {
  await withPool({ maxthreads: 1 }, async (pool) => {
    const missing = new URL("../_no_such_module.ts", import.meta.url);
    const error = await failureOf(pool.deferToThread(missing, "f"));
    assert.match((error as Error).message, /_no_such_module\.ts/);
    assert.equal(await pool.deferToThread(jobs, "add", 1, 1), 2);
  });
});

Deno.test("a relative path is refused at once: the worker could not resolve it", () => {
  const pool = new ThreadPool();
  assert.throws(
    () => pool.deferToThread("./jobs.ts", "f"),
    /a worker cannot tell what it is relative to; pass new URL\("\.\/jobs\.ts", import\.meta\.url\)/,
  );
});

Deno.test("arguments or results that cannot be cloned fail the job with a TypeError", async () => {
  await withPool({ maxthreads: 1 }, async (pool) => {
    const badArgs = await failureOf(
      pool.deferToThread(jobs, "add", () => 1, 2),
    );
    assert.ok(badArgs instanceof TypeError);
    assert.match(
      badArgs.message,
      /Cannot pass the arguments of add to a thread/,
    );
    assert.equal(
      pool.workers,
      0,
      "nothing was started for a job that cannot run",
    );
    const badResult = await failureOf(
      pool.deferToThread(jobs, "returnFunction"),
    );
    assert.ok(badResult instanceof TypeError);
    assert.match(badResult.message, /Cannot send the job's result back/);
  });
});

Deno.test("a worker that crashes fails its job, is logged, and is replaced", async () => {
  using logs = captureLogs();
  await withPool({ maxthreads: 1 }, async (pool) => {
    const first = await within(
      LIMIT,
      "whoAmI",
      pool.deferToThread<number>(jobs, "whoAmI"),
    );
    const error = await failureOf(
      pool.deferToThread(jobs, "crashLater", "kaboom"),
    );
    assert.ok(error instanceof WorkerCrashedError);
    assert.match(error.message, /crashed while running the job: Error: kaboom/);
    assert.equal(error.threadId, first);
    const second = await within(
      LIMIT,
      "whoAmI",
      pool.deferToThread<number>(jobs, "whoAmI"),
    );
    assert.notEqual(second, first, "a new worker runs the next job");
    assert.equal(pool.workers, 1);
    assert.equal(logs.flushLoggedErrors(WorkerCrashedError).length, 1);
  });
});

Deno.test("a worker that exits fails its job with the exit code", async () => {
  using logs = captureLogs();
  await withPool({ maxthreads: 1 }, async (pool) => {
    const error = await failureOf(pool.deferToThread(jobs, "exitNow", 3));
    assert.ok(error instanceof WorkerCrashedError);
    assert.match(error.message, /exit code 3/);
    assert.equal(await pool.deferToThread(jobs, "add", 1, 2), 3);
    logs.flushLoggedErrors(WorkerCrashedError);
  });
});

Deno.test("no more than maxthreads jobs run at once; the rest wait their turn", async () => {
  await withPool({ maxthreads: 2 }, async (pool) => {
    const cells = new Int32Array(new SharedArrayBuffer(8));
    const held = [1, 2, 3, 4].map(() =>
      pool.deferToThread<number>(jobs, "hold", cells.buffer)
    );
    try {
      await untilCount(cells, 2);
      assert.equal(pool.workers, 2);
      assert.equal(pool.working, 2);
      assert.equal(pool.queued, 2);
      assert.equal(Atomics.load(cells, 0), 2);
    } finally {
      release(cells);
    }
    const ids = await within(LIMIT, "held jobs", Promise.all(held));
    assert.equal(Atomics.load(cells, 0), 4);
    assert.equal(new Set(ids).size, 2, "two workers shared the four jobs");
  });
});

Deno.test("cancelling a queued job drops it; cancelling a running job ends its worker", async () => {
  await withPool({ maxthreads: 1 }, async (pool) => {
    const first = await within(
      LIMIT,
      "whoAmI",
      pool.deferToThread<number>(jobs, "whoAmI"),
    );
    const cells = new Int32Array(new SharedArrayBuffer(8));
    const running = pool.deferToThread(jobs, "startForever", cells.buffer);
    const queued = pool.deferToThread(jobs, "add", 1, 1);
    queued.cancel();
    assert.ok((await failureOf(queued)) instanceof CancelledError);
    await untilCount(cells, 1);
    assert.equal(pool.queued, 0);
    assert.equal(pool.working, 1);
    running.cancel();
    assert.ok((await failureOf(running)) instanceof CancelledError);
    const next = await within(
      LIMIT,
      "whoAmI",
      pool.deferToThread<number>(jobs, "whoAmI"),
    );
    assert.notEqual(next, first, "the cancelled job's worker was replaced");
  });
});

Deno.test("stop() waits for running and queued jobs, then refuses new ones", async () => {
  const pool = new ThreadPool({ maxthreads: 1 });
  const cells = new Int32Array(new SharedArrayBuffer(8));
  const order: string[] = [];
  const running = pool.deferToThread(jobs, "hold", cells.buffer).addCallback(
    () => {
      order.push("held job");
    },
  );
  const queued = pool.deferToThread(jobs, "add", 1, 2).addCallback((n) => {
    order.push(`queued job ${n}`);
  });
  await untilCount(cells, 1);
  const stopped = pool.stop().then(() => {
    order.push("stopped");
  });
  const refused = await failureOf(pool.deferToThread(jobs, "add", 1, 1));
  assert.ok(refused instanceof ThreadPoolStoppedError);
  assert.deepEqual(order, []);
  release(cells);
  await within(
    LIMIT,
    "the pool to stop",
    Promise.all([running, queued, stopped]),
  );
  assert.deepEqual(order, ["held job", "queued job 3", "stopped"]);
  assert.equal(pool.workers, 0);
  assert.equal(pool.started, false);
  pool.start();
  try {
    assert.equal(
      await within(LIMIT, "add", pool.deferToThread(jobs, "add", 2, 2)),
      4,
    );
  } finally {
    await pool.stop();
  }
});

Deno.test("minthreads workers start with the pool and stay", async () => {
  await withPool({ minthreads: 2, maxthreads: 3 }, async (pool) => {
    const cells = new Int32Array(new SharedArrayBuffer(8));
    pool.start();
    const held = [1, 2].map(() =>
      pool.deferToThread<number>(jobs, "hold", cells.buffer)
    );
    try {
      await untilCount(cells, 2);
      assert.equal(pool.workers, 2, "the two minimum workers took the jobs");
    } finally {
      release(cells);
    }
    await within(LIMIT, "held jobs", Promise.all(held));
    assert.equal(pool.workers, 2);
  });
});

Deno.test("bad pool sizes are RangeErrors", () => {
  assert.throws(() => new ThreadPool({ maxthreads: 0 }), RangeError);
  assert.throws(
    () => new ThreadPool({ minthreads: 3, maxthreads: 2 }),
    RangeError,
  );
  assert.throws(() => new ThreadPool({ minthreads: -1 }), RangeError);
  assert.throws(() => new ThreadPool({ maxthreads: 1.5 }), RangeError);
});

Deno.test("callFromThread in a worker runs the export on the reactor's thread", async () => {
  await withPool({ maxthreads: 1 }, async (pool) => {
    const arrived = new Promise<[unknown, unknown]>((resolve) => {
      (globalThis as { threadTestHook?: unknown }).threadTestHook = (
        value: unknown,
        threadId: unknown,
      ) => resolve([value, threadId]);
    });
    try {
      const worker = await within(
        LIMIT,
        "whoAmI",
        pool.deferToThread(jobs, "whoAmI"),
      );
      assert.equal(
        await pool.deferToThread(jobs, "callBack", mainSide, "record", {
          n: 1,
        }),
        "posted",
      );
      const [value, threadId] = await within(LIMIT, "the call back", arrived);
      assert.deepEqual(value, { n: 1 });
      assert.equal(threadId, worker);
    } finally {
      delete (globalThis as { threadTestHook?: unknown }).threadTestHook;
    }
  });
});

Deno.test("blockingCallFromThread waits for the reactor's Deferred or Promise result", async () => {
  await withPool({ maxthreads: 1 }, async (pool) => {
    assert.equal(
      await within(
        LIMIT,
        "askMain",
        pool.deferToThread(jobs, "askMain", mainSide, "slowTriple", 14),
      ),
      42,
    );
    assert.equal(
      await within(
        LIMIT,
        "askMain",
        pool.deferToThread(jobs, "askMain", mainSide, "promisedNegate", 5),
      ),
      -5,
    );
  });
});

Deno.test("blockingCallFromThread throws the reactor-side error in the worker", async () => {
  await withPool({ maxthreads: 1 }, async (pool) => {
    assert.equal(
      await within(
        LIMIT,
        "askMainError",
        pool.deferToThread(jobs, "askMainError", mainSide, "refuse"),
      ),
      "TypeError: the reactor says no",
    );
  });
});

Deno.test("blockingCallFromThread refuses to run on the reactor's thread", () => {
  assert.throws(
    () => blockingCallFromThread(mainSide, "refuse"),
    /on the reactor's thread: it would wait for itself forever/,
  );
});

Deno.test("callFromThread on the reactor's thread runs the export soon", async () => {
  let ranNow = false;
  const done = new Promise<unknown>((resolve) => {
    (globalThis as { threadTestHook?: unknown }).threadTestHook = (
      value: unknown,
    ) => {
      ranNow = true;
      resolve(value);
    };
  });
  try {
    callFromThread(mainSide, "record", "hello");
    assert.equal(ranNow, false, "not run synchronously");
    assert.equal(await within(LIMIT, "the call", done), "hello");
  } finally {
    delete (globalThis as { threadTestHook?: unknown }).threadTestHook;
  }
});

Deno.test("reactor.callInThread runs a job and logs its failure", async () => {
  using logs = captureLogs();
  const pool = reactor.getThreadPool();
  assert.equal(reactor.getThreadPool(), pool, "one pool per reactor");
  const cells = new Int32Array(new SharedArrayBuffer(8));
  reactor.callInThread(jobs, "hold", cells.buffer);
  reactor.callInThread(jobs, "fail", "logged, not lost");
  await untilCount(cells, 1);
  release(cells);
  await within(LIMIT, "the pool to stop", pool.stop());
  const [failure] = logs.flushLoggedErrors("JobError");
  assert.equal(failure.getErrorMessage(), "logged, not lost");
  assert.match(logs.messages.join("\n"), /Error in thread job fail of file:/);
  const refused = await failureOf(deferToThread(jobs, "add", 1, 1));
  assert.ok(
    refused instanceof ThreadPoolStoppedError,
    "the stopped pool stays stopped",
  );
});

Deno.test("reactor.callFromThread calls the function soon, on the reactor", async () => {
  const seen: number[] = [];
  const done = new Promise<void>((resolve) => {
    reactor.callFromThread(
      (a: number, b: number) => {
        seen.push(a + b);
        resolve();
      },
      1,
      2,
    );
  });
  assert.deepEqual(seen, []);
  await within(LIMIT, "the call", done);
  assert.deepEqual(seen, [3]);
});

Deno.test("an idle pool does not keep the process alive", async () => {
  const script = `
    import { deferToThread } from ${
    JSON.stringify(
      new URL("../../../reactor/mod.ts", import.meta.url).href,
    )
  };
    const n = await deferToThread(${JSON.stringify(jobs.href)}, "add", 20, 22);
    console.log("result", n);
  `;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-check", "--allow-read", "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(script));
  await writer.close();
  try {
    const out = await within(
      LIMIT,
      "the script to exit by itself",
      child.output(),
    );
    assert.equal(new TextDecoder().decode(out.stdout), "result 42\n");
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  } catch (error) {
    child.kill("SIGKILL");
    await child.status;
    throw error;
  }
});

Deno.test("reactor shutdown waits for running jobs, then stops the pool", async () => {
  const r = new DenoReactor();
  const pool = r.getThreadPool();
  const cells = new Int32Array(new SharedArrayBuffer(8));
  const order: string[] = [];
  r.callWhenRunning(() => {
    pool.deferToThread(jobs, "hold", cells.buffer).addCallback(() => {
      order.push("job done");
    });
    untilCount(cells, 1).then(() => {
      r.stop();
      // The shutdown is under way and waits for the job.
      r.callLater(0, () => {
        order.push("released");
        release(cells);
      });
    });
  });
  await within(
    LIMIT,
    "the reactor to stop",
    r.run({ installSignalHandlers: false }),
  );
  order.push("run resolved");
  assert.deepEqual(order, ["released", "job done", "run resolved"]);
  assert.equal(pool.started, false);
  assert.equal(pool.workers, 0);
});

Deno.test("callInThreadWithCallback reports success and failure to onResult", async () => {
  await withPool({ maxthreads: 1 }, async (pool) => {
    const results: [boolean, unknown][] = [];
    const both = new Promise<void>((resolve) => {
      const onResult = (ok: boolean, result: unknown) => {
        results.push([ok, result]);
        if (results.length === 2) resolve();
      };
      pool.callInThreadWithCallback(onResult, jobs, "add", 1, 2);
      pool.callInThreadWithCallback(onResult, jobs, "fail", "nope");
    });
    await within(LIMIT, "both results", both);
    assert.deepEqual(results[0], [true, 3]);
    assert.equal(results[1][0], false);
    assert.equal((results[1][1] as Failure).getErrorMessage(), "nope");
  });
});

Deno.test("pipelined jobs on one worker run and fire in the order given", async () => {
  await withPool({ maxthreads: 1, pipeline: 8 }, async (pool) => {
    const N = 100;
    const fired: number[] = [];
    const ds = Array.from(
      { length: N },
      (_, k) =>
        pool.deferToThread<[number, number]>(jobs, "sequence").addCallback(
          (seen) => {
            fired.push(k);
            return seen[1];
          },
        ),
    );
    const runs = await within(LIMIT, "100 jobs", Promise.all(ds));
    // The worker's count goes up by one per job, in the order given.
    assert.deepEqual(runs, Array.from({ length: N }, (_, k) => runs[0] + k));
    assert.deepEqual(fired, Array.from({ length: N }, (_, k) => k));
  });
});

Deno.test("pipelined jobs on two workers each run exactly once", async () => {
  await withPool({ maxthreads: 2, pipeline: 8 }, async (pool) => {
    const N = 300;
    const ds = Array.from(
      { length: N },
      () => pool.deferToThread<[number, number]>(jobs, "sequence"),
    );
    const seen = await within(LIMIT, "300 jobs", Promise.all(ds));
    const byWorker = new Map<number, number[]>();
    for (const [thread, run] of seen) {
      byWorker.set(thread, [...(byWorker.get(thread) ?? []), run]);
    }
    assert.equal(byWorker.size, 2, "both workers took jobs");
    // Each worker counted its runs 0, 1, 2 ...: none ran twice or was lost
    // (taking back a job a worker had not started never runs it there).
    let total = 0;
    for (const runs of byWorker.values()) {
      const sorted = runs.toSorted((a, b) => a - b);
      assert.deepEqual(sorted, Array.from(sorted, (_, k) => k));
      total += runs.length;
    }
    assert.equal(total, N);
  });
});

Deno.test("a crash fails only the job that was running; the jobs sent ahead to that worker run on another", async () => {
  using logs = captureLogs();
  await withPool({ maxthreads: 1, pipeline: 16 }, async (pool) => {
    // All eleven go to the one worker together: crashLater starts, and the
    // ten behind it wait in the worker until it crashes.
    const crashed = pool.deferToThread(jobs, "crashLater", "boom");
    const after = Array.from(
      { length: 10 },
      (_, k) => pool.deferToThread<number>(jobs, "add", k, 1),
    );
    const error = await failureOf(crashed);
    assert.ok(error instanceof WorkerCrashedError);
    assert.match(error.message, /Error: boom/);
    assert.deepEqual(
      await within(LIMIT, "the jobs behind it", Promise.all(after)),
      Array.from({ length: 10 }, (_, k) => k + 1),
    );
    assert.equal(pool.workers, 1, "the worker was replaced");
    assert.equal(logs.flushLoggedErrors(WorkerCrashedError).length, 1);
  });
});

Deno.test("with two workers, one crashing fails only its running job", async () => {
  using logs = captureLogs();
  await withPool({ minthreads: 2, maxthreads: 2 }, async (pool) => {
    const cells = new Int32Array(new SharedArrayBuffer(8));
    const held = [1, 2].map(() =>
      pool.deferToThread<number>(jobs, "hold", cells.buffer)
    );
    await untilCount(cells, 2);
    // Both workers are busy: these are spread over them, sent ahead.
    const crashed = pool.deferToThread(jobs, "exitNow", 9);
    const others = Array.from(
      { length: 30 },
      (_, k) => pool.deferToThread<number>(jobs, "add", k, 1),
    );
    assert.equal(pool.queued, 31);
    release(cells);
    const error = await failureOf(crashed);
    assert.ok(error instanceof WorkerCrashedError);
    assert.match(error.message, /exit code 9/);
    assert.deepEqual(
      await within(LIMIT, "the other jobs", Promise.all(others)),
      Array.from({ length: 30 }, (_, k) => k + 1),
    );
    assert.equal(
      new Set(await within(LIMIT, "held jobs", Promise.all(held))).size,
      2,
    );
    assert.equal(logs.flushLoggedErrors(WorkerCrashedError).length, 1);
  });
});

Deno.test("cancelling: a queued job is dropped; one sent ahead is skipped by its worker, which lives on", async () => {
  await withPool({ maxthreads: 1, pipeline: 4 }, async (pool) => {
    const cells = new Int32Array(new SharedArrayBuffer(8));
    const runs = new Int32Array(new SharedArrayBuffer(4));
    const holder = pool.deferToThread<number>(jobs, "hold", cells.buffer);
    await untilCount(cells, 1);
    // The window holds four: the holder and three sent ahead; two wait here.
    const ds = [1, 2, 3, 4, 5].map((k) =>
      pool.deferToThread<number>(jobs, "tally", runs.buffer, k)
    );
    await Promise.resolve(); // the turn's jobs go out
    assert.equal(pool.queued, 5);
    ds[1].cancel(); // sent ahead, not started
    ds[4].cancel(); // still in the pool's queue
    assert.ok((await failureOf(ds[1])) instanceof CancelledError);
    assert.ok((await failureOf(ds[4])) instanceof CancelledError);
    assert.equal(pool.queued, 3);
    release(cells);
    const thread = await within(LIMIT, "the held job", holder);
    assert.deepEqual(
      await within(LIMIT, "the others", Promise.all([ds[0], ds[2], ds[3]])),
      [1, 3, 4],
    );
    assert.equal(Atomics.load(runs, 0), 3, "the cancelled jobs never ran");
    assert.equal(
      await pool.deferToThread(jobs, "whoAmI"),
      thread,
      "skipping a job does not end the worker",
    );
  });
});

Deno.test("pipeline must be a whole number >= 1", () => {
  assert.throws(() => new ThreadPool({ pipeline: 0 }), RangeError);
  assert.throws(() => new ThreadPool({ pipeline: 1.5 }), RangeError);
});

Deno.test("a worker with nothing to do takes the jobs sent ahead to one held by a long job", async () => {
  await withPool(
    { minthreads: 2, maxthreads: 2, pipeline: 8 },
    async (pool) => {
      // Both workers up and idle first.
      const warm = new Int32Array(new SharedArrayBuffer(8));
      const warming = [1, 2].map(() =>
        pool.deferToThread(jobs, "hold", warm.buffer)
      );
      await untilCount(warm, 2);
      release(warm);
      await within(LIMIT, "warm-up", Promise.all(warming));
      const cells = new Int32Array(new SharedArrayBuffer(8));
      const long = pool.deferToThread<number>(jobs, "hold", cells.buffer);
      // Spread over both workers: half are sent ahead behind the long job.
      const quick = Array.from(
        { length: 9 },
        () => pool.deferToThread<number>(jobs, "whoAmI"),
      );
      await untilCount(cells, 1);
      try {
        // All finish while the long job still holds its worker.
        const ran = await within(LIMIT, "the quick jobs", Promise.all(quick));
        assert.equal(new Set(ran).size, 1, "one worker ran them all");
        const holder = await within(
          LIMIT,
          "the long job",
          Promise.all([long, (release(cells), long)]),
        );
        assert.notEqual(holder[0], ran[0]);
      } finally {
        release(cells);
      }
    },
  );
});
