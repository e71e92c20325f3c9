/**
 * The way back from a thread-pool job to the reactor's thread, as
 * Twisted's `twisted.internet.threads`: {@linkcode callFromThread} runs a
 * module's export there without waiting, {@linkcode blockingCallFromThread}
 * also waits for its result. As with the pool, work is named by a module
 * URL and an export name, and arguments and results are
 * structured-cloned; see `threads.ts` for the Deno difference.
 *
 * @module
 */

import { globalClock } from "../global.ts";
import { runFromThread } from "./_thread_requests.ts";
import { moduleHref, WORKER_API, type WorkerApi } from "./_thread_wire.ts";

/**
 * From a thread-pool job: runs `exportName` of `moduleUrl` on the
 * reactor's thread, soon, without waiting (errors are logged there). On
 * the reactor's thread itself it schedules the call with `callLater(0)`.
 *
 * @throws {Error} In a worker that is not a thread-pool worker.
 *
 * @example Called on the reactor's thread, it runs soon
 * ```ts
 * import assert from "node:assert/strict";
 * import { callFromThread } from "@twisted-deno/core/reactor";
 *
 * const target = "data:text/javascript,export const mark = (n) => globalThis.onMark(n);";
 * const marked = new Promise((resolve) => {
 *   (globalThis as { onMark?: (n: number) => void }).onMark = resolve;
 * });
 * callFromThread(target, "mark", 1);
 * assert.equal(await marked, 1);
 * ```
 */
export function callFromThread(
  moduleUrl: string | URL,
  exportName: string,
  ...args: unknown[]
): void {
  const url = moduleHref(moduleUrl, `call ${exportName} from a thread`);
  const api = workerApi();
  if (api !== undefined) return api.callFromThread(url, exportName, args);
  if (isWorker()) throw notPoolWorker("callFromThread");
  globalClock.callLater(
    0,
    () => runFromThread({ t: "call", url, name: exportName, args }),
  );
}

/**
 * From a thread-pool job: runs `exportName` of `moduleUrl` on the
 * reactor's thread and blocks this worker until its result is there
 * (waiting for a returned Deferred or Promise too). Returns the result or
 * throws the error, both structured-cloned.
 *
 * @throws {Error} On the reactor's thread (it would wait for itself
 *   forever) or in a worker that is not a thread-pool worker.
 *
 * @example It refuses to block the reactor's thread
 * ```ts
 * import assert from "node:assert/strict";
 * import { blockingCallFromThread } from "@twisted-deno/core/reactor";
 *
 * assert.throws(
 *   () => blockingCallFromThread("data:text/javascript,export const f = () => 1", "f"),
 *   /reactor's thread/,
 * );
 * ```
 */
export function blockingCallFromThread<T = unknown>(
  moduleUrl: string | URL,
  exportName: string,
  ...args: unknown[]
): T {
  const url = moduleHref(moduleUrl, `call ${exportName} from a thread`);
  const api = workerApi();
  if (api !== undefined) {
    return api.blockingCallFromThread(url, exportName, args) as T;
  }
  if (isWorker()) throw notPoolWorker("blockingCallFromThread");
  throw new Error(
    `Cannot call blockingCallFromThread(${
      JSON.stringify(exportName)
    }) on the reactor's thread: it would wait for itself forever; call the function directly`,
  );
}

function isWorker(): boolean {
  return typeof (globalThis as { WorkerGlobalScope?: unknown })
        .WorkerGlobalScope === "function" ||
    typeof (globalThis as { importScripts?: unknown }).importScripts ===
      "function";
}

function notPoolWorker(what: string): Error {
  return new Error(
    `Cannot use ${what} here: this worker was not started by a ThreadPool, so no reactor listens to it`,
  );
}

function workerApi(): WorkerApi | undefined {
  return (globalThis as Record<symbol, unknown>)[WORKER_API] as
    | WorkerApi
    | undefined;
}
