// Private: loading node:worker_threads' Worker for the thread pool, and the
// URL its workers start from.

import type { FromWorker } from "./_thread_wire.ts";

/** The part of node:worker_threads' Worker the pool uses. */
export interface NodeWorker {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  on(event: "message", fn: (message: FromWorker) => void): void;
  on(event: "error", fn: (error: Error) => void): void;
  on(event: "exit", fn: (code: number) => void): void;
  ref(): void;
  unref(): void;
  terminate(): Promise<number>;
  readonly threadId: number;
}
export type NodeWorkerClass = new (url: URL) => NodeWorker;

let workerClass: Promise<NodeWorkerClass> | undefined;
export function loadWorkerClass(): Promise<NodeWorkerClass> {
  // Loaded on first use: node:worker_threads costs start-up time and memory
  // that programs without threads should not pay.
  workerClass ??= import("node:worker_threads").then((m) =>
    m.Worker as unknown as NodeWorkerClass
  );
  return workerClass;
}

const workerScript = new URL("./_thread_worker.ts", import.meta.url);

/**
 * The worker's entry. node:worker_threads takes only file: and data: URLs,
 * and the package may be loaded over https:, so other schemes get a data:
 * entry that imports the script. (Either way, Deno asks for read
 * permission to load local modules in a worker: run with --allow-read.)
 */
export function workerUrl(): URL {
  if (workerScript.protocol === "file:" || workerScript.protocol === "data:") {
    return workerScript;
  }
  return new URL(
    `data:text/javascript,import ${
      encodeURIComponent(JSON.stringify(workerScript.href))
    };`,
  );
}

/**
 * Ending a worker that already exited (or crashed, which was reported as its
 * job's failure) rejects; there is nothing left to report or undo.
 */
export function ignoreTerminateError(): void {}
