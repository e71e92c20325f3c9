// Private: the script each ThreadPool worker runs. It takes jobs in batches
// (the pool sends several ahead), runs them one at a time in the order
// sent: imports the module, calls the export, awaits a returned Promise,
// and posts the result (or the error, described) back, the outcomes of a
// run of quick jobs together. Before starting a job it marks the job's cell
// in the shared state ring; a job the pool marked first (cancelled, or
// taken over by another worker) is skipped. It also publishes the worker
// side of `callFromThread` / `blockingCallFromThread` (see threads.ts).
//
// The pool starts this with node:worker_threads (whose Worker can be
// unref'd, so an idle pool does not keep the process alive); the code a job
// runs is therefore in a Node-compatible worker: `self` is not defined,
// `globalThis`, `Deno` and `process` are.

import {
  MessageChannel,
  parentPort,
  receiveMessageOnPort,
} from "node:worker_threads";
import {
  type BlockMessage,
  type CallMessage,
  type CrashMessage,
  describeError,
  type DoneMessage,
  exportOf,
  type InitMessage,
  JOB_PENDING,
  JOB_STARTED,
  type JobMessage,
  type Outcome,
  type ReplyMessage,
  reviveError,
  type RunMessage,
  WORKER_API,
  type WorkerApi,
} from "./_thread_wire.ts";

const port = parentPort;
if (port === null) {
  throw new Error(
    "Cannot run the thread-pool worker script: it is not in a worker",
  );
}

const modules = new Map<string, Record<string, unknown>>();

function post(message: DoneMessage | CallMessage | CrashMessage): void {
  port!.postMessage(message);
}

// The jobs sent to this worker, run one at a time in the order they came:
// a job whose export returns a Promise holds the next ones until it
// settles, as a thread runs one job at a time.
let ring: Int32Array | undefined;
let waiting: (JobMessage | undefined)[] = [];
let head = 0;
let busy = false;

// Outcomes are sent together, one message per run of quick jobs: holding a
// result back until the next job has run costs that job's time, so it is
// done only when the next job's export was quick (under QUICK_MS) the last
// time it ran. Otherwise, and before awaiting, what is held goes first.
const QUICK_MS = 0.1;
const lastTook = new WeakMap<object, number>();
let outbox: Outcome[] = [];

/** Sends the held outcomes. */
function flush(): void {
  if (outbox.length === 0) return;
  const list = outbox;
  outbox = [];
  try {
    post({ t: "dones", list });
    return;
  } catch {
    // Some result cannot be structured-cloned: send them one by one.
  }
  for (const outcome of list) {
    try {
      post({ t: "dones", list: [outcome] });
    } catch (error) {
      // A function, a class instance with private state...: report that
      // instead of losing the job.
      post({
        t: "dones",
        list: [{
          t: "done",
          id: outcome.id,
          ok: false,
          error: describeError(
            new TypeError(
              `Cannot send the job's result back to the reactor: ${
                error instanceof Error ? error.message : String(error)
              }`,
            ),
          ),
        }],
      });
    }
  }
}

function failed(id: number, error: unknown): void {
  outbox.push({ t: "done", id, ok: false, error: describeError(error) });
}

/** Runs the waiting jobs until one has to be awaited, then flushes. */
function drain(): void {
  while (!busy && head < waiting.length) {
    const job = waiting[head]!;
    waiting[head++] = undefined;
    if (
      Atomics.compareExchange(ring!, job.r, JOB_PENDING, JOB_STARTED) !==
        JOB_PENDING
    ) {
      // The pool took it back (cancelled, or moved to another worker).
      outbox.push({ t: "skip", id: job.id });
      continue;
    }
    const mod = modules.get(job.url);
    if (mod === undefined) {
      busy = true;
      import(job.url).then((loaded: Record<string, unknown>) => {
        modules.set(job.url, loaded);
        return exportOf(loaded, job.url, job.name)(...job.args);
      }).then(
        (value) => settled(job.id, true, value),
        (error) => settled(job.id, false, error),
      );
      continue;
    }
    let fn: (...args: unknown[]) => unknown;
    let value: unknown;
    try {
      fn = exportOf(mod, job.url, job.name);
    } catch (error) {
      failed(job.id, error);
      continue;
    }
    if (outbox.length > 0 && !((lastTook.get(fn) ?? QUICK_MS) < QUICK_MS)) {
      flush();
    }
    const start = performance.now();
    try {
      value = fn(...job.args);
    } catch (error) {
      lastTook.set(fn, performance.now() - start);
      failed(job.id, error);
      continue;
    }
    lastTook.set(fn, performance.now() - start);
    if (
      value !== null &&
      (typeof value === "object" || typeof value === "function") &&
      typeof (value as PromiseLike<unknown>).then === "function"
    ) {
      busy = true;
      lastTook.set(fn, Infinity); // its results are awaited: never hold
      Promise.resolve(value as PromiseLike<unknown>).then(
        (result) => settled(job.id, true, result),
        (error) => settled(job.id, false, error),
      );
    } else {
      outbox.push({ t: "done", id: job.id, ok: true, value });
    }
  }
  if (head === waiting.length) {
    waiting = [];
    head = 0;
  }
  flush();
}

/** An awaited job settled: report it and run the next ones. */
function settled(id: number, ok: boolean, value: unknown): void {
  busy = false;
  if (ok) outbox.push({ t: "done", id, ok: true, value });
  else failed(id, value);
  drain();
}

port.on("message", (message: InitMessage | RunMessage) => {
  if (message?.t === "run") {
    for (const job of message.jobs) waiting.push(job);
    drain();
  } else if (message?.t === "init") {
    ring = new Int32Array(message.ring);
  }
});

// An uncaught error outside a job's own call (a timer callback, a floating
// rejection) crashes the worker: report it, then exit, so the pool fails
// the job that was running and replaces the worker.
function crash(error: unknown): void {
  try {
    flush(); // the jobs that finished are not lost with the worker
  } catch {
    // Nothing more can be done: the crash report goes next.
  }
  try {
    post({ t: "crash", error: describeError(error) });
  } finally {
    Deno.exit(70);
  }
}
globalThis.addEventListener("error", (event) => {
  event.preventDefault();
  crash(event.error ?? new Error(event.message));
});
globalThis.addEventListener("unhandledrejection", (event) => {
  event.preventDefault();
  crash(event.reason);
});

const api: WorkerApi = {
  callFromThread(url, name, args) {
    flush(); // earlier jobs' outcomes reach the reactor first
    port.postMessage({ t: "call", url, name, args } satisfies CallMessage);
  },
  blockingCallFromThread(url, name, args) {
    const flag = new SharedArrayBuffer(4);
    const state = new Int32Array(flag);
    const channel = new MessageChannel();
    flush();
    try {
      port.postMessage(
        {
          t: "block",
          url,
          name,
          args,
          flag,
          port: channel.port2,
        } satisfies BlockMessage,
        [channel.port2],
      );
      let reply: { message: ReplyMessage } | undefined;
      for (;;) {
        // Woken by the main thread once the reply is on the port; the
        // loop only guards against a spurious wake-up.
        Atomics.wait(state, 0, 0);
        reply = receiveMessageOnPort(channel.port1) as
          | { message: ReplyMessage }
          | undefined;
        if (reply !== undefined) break;
        Atomics.store(state, 0, 0);
      }
      const message = reply.message;
      if (message.ok) return message.value;
      throw reviveError(message.error);
    } finally {
      channel.port1.close();
    }
  },
};
(globalThis as Record<symbol, unknown>)[WORKER_API] = api;
