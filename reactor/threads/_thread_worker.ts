// Private: the script each ThreadPool worker runs. It imports the requested
// module, calls the export, awaits a returned Promise, and posts the result
// (or the error, described) back. It also publishes the worker side of
// `callFromThread` / `blockingCallFromThread` (see threads.ts).
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

function finish(id: number, value: unknown): void {
  try {
    post({ t: "done", id, ok: true, value });
  } catch (error) {
    // The result cannot be structured-cloned (a function, a class instance
    // with private state...): report that instead of losing the job.
    post({
      t: "done",
      id,
      ok: false,
      error: describeError(
        new TypeError(
          `Cannot send the job's result back to the reactor: ${
            error instanceof Error ? error.message : String(error)
          }`,
        ),
      ),
    });
  }
}

function failed(id: number, error: unknown): void {
  post({ t: "done", id, ok: false, error: describeError(error) });
}

function call(fn: (...args: unknown[]) => unknown, job: RunMessage): void {
  let value: unknown;
  try {
    value = fn(...job.args);
  } catch (error) {
    return failed(job.id, error);
  }
  if (
    value !== null &&
    (typeof value === "object" || typeof value === "function") &&
    typeof (value as PromiseLike<unknown>).then === "function"
  ) {
    Promise.resolve(value as PromiseLike<unknown>).then(
      (result) => finish(job.id, result),
      (error) => failed(job.id, error),
    );
  } else {
    finish(job.id, value);
  }
}

port.on("message", (job: RunMessage) => {
  if (job?.t !== "run") return;
  const mod = modules.get(job.url);
  if (mod !== undefined) {
    // Cached module: call synchronously, no Promise on the hot path.
    try {
      call(exportOf(mod, job.url, job.name), job);
    } catch (error) {
      failed(job.id, error);
    }
    return;
  }
  import(job.url).then(
    (loaded: Record<string, unknown>) => {
      modules.set(job.url, loaded);
      call(exportOf(loaded, job.url, job.name), job);
    },
  ).catch((error) => failed(job.id, error));
});

// An uncaught error outside a job's own call (a timer callback, a floating
// rejection) crashes the worker: report it, then exit, so the pool fails
// the job that was running and replaces the worker.
function crash(error: unknown): void {
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
    port.postMessage({ t: "call", url, name, args } satisfies CallMessage);
  },
  blockingCallFromThread(url, name, args) {
    const flag = new SharedArrayBuffer(4);
    const state = new Int32Array(flag);
    const channel = new MessageChannel();
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
