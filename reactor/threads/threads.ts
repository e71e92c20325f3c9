/**
 * Threads: a {@linkcode ThreadPool} of Deno Workers behind
 * {@linkcode deferToThread} and `reactor.callInThread`. The way back,
 * `callFromThread` and `blockingCallFromThread`, is in `from_thread.ts`.
 *
 * **The Deno difference.** A Python thread shares every object with the
 * reactor, so Twisted passes it a function. A Deno Worker is a separate
 * isolate that shares no objects with the reactor's thread: a function, a
 * Deferred or a socket cannot cross. So work is named by a module URL and
 * an export name; the worker imports the module and calls the export.
 * Arguments and results are structured-cloned (plain data, `Uint8Array`,
 * `Map`, `Date`, errors ...). A thrown error comes back as a Failure whose
 * value has the remote class name, message and stack; an export that
 * returns a Promise is awaited in the worker. The way back is the same:
 * from inside a job, `callFromThread(moduleUrl, exportName, ...args)` runs
 * an export on the reactor's thread, and `blockingCallFromThread` also
 * waits (with `Atomics.wait`) for its result, Deferred or not.
 *
 * Workers start lazily, up to `maxthreads`; each runs one job at a time.
 * A worker that crashes (an uncaught error outside the job's own call, or
 * `Deno.exit()`) fails the job it was running and is replaced. Workers
 * inherit the process's permissions; note that Deno checks read permission
 * when a worker loads a local (`file:`) module, this pool's own worker
 * script included, so a program using threads from local files needs
 * `--allow-read` (for those files at least). Idle workers do not keep the
 * process alive; the reactor stops its pool at shutdown, waiting for
 * running jobs.
 *
 * Jobs run in `node:worker_threads` workers (Deno's own Workers underneath,
 * but the Node flavour can be unref'd when idle): in job code `self` is not
 * defined, `globalThis`, `Deno` and `process` are.
 *
 * @module
 */

import { Deferred } from "../../deferred/deferred.ts";
import { CancelledError } from "../../deferred/errors.ts";
import { Failure } from "../../deferred/failure.ts";
import { Logger } from "../../log/mod.ts";
import type {
  IReactorResources,
  IThreadPool,
  ReactorResource,
} from "../interfaces.ts";
import { getGlobalReactor } from "../global.ts";
import {
  type FromWorker,
  moduleHref,
  reviveError,
  type RunMessage,
} from "./_thread_wire.ts";
import { answerBlockingCall, runFromThread } from "./_thread_requests.ts";

const log = new Logger("threads");

/** The part of node:worker_threads' Worker the pool uses. */
interface NodeWorker {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  on(event: "message", fn: (message: FromWorker) => void): void;
  on(event: "error", fn: (error: Error) => void): void;
  on(event: "exit", fn: (code: number) => void): void;
  ref(): void;
  unref(): void;
  terminate(): Promise<number>;
  readonly threadId: number;
}
type NodeWorkerClass = new (url: URL) => NodeWorker;

let workerClass: Promise<NodeWorkerClass> | undefined;
function loadWorkerClass(): Promise<NodeWorkerClass> {
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
function workerUrl(): URL {
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
 * The failure of a job whose worker died while running it (an uncaught
 * error outside the job's call, or `Deno.exit()` in the worker). The pool
 * replaces the worker.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { WorkerCrashedError } from "@twisted-deno/core/reactor";
 *
 * const e = new WorkerCrashedError(3, "exit code 70");
 * assert.equal(e.message, "Worker 3 crashed while running the job: exit code 70");
 * ```
 */
export class WorkerCrashedError extends Error {
  /** The error's name, for `Failure.check("WorkerCrashedError")` and logs. */
  override readonly name = "WorkerCrashedError";
  /**
   * Makes a WorkerCrashedError.
   *
   * @param threadId The crashed worker's thread id.
   * @param reason What happened (the uncaught error, or the exit code).
   */
  constructor(
    readonly threadId: number,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(
      `Worker ${threadId} crashed while running the job: ${reason}`,
      options,
    );
  }
}

/**
 * The failure of a job given to a pool that is stopping or stopped.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ThreadPool, ThreadPoolStoppedError } from "@twisted-deno/core/reactor";
 *
 * const pool = new ThreadPool();
 * await pool.stop();
 * await assert.rejects(
 *   pool.deferToThread("data:text/javascript,export const f = () => 1", "f").asPromise(),
 *   ThreadPoolStoppedError,
 * );
 * ```
 */
export class ThreadPoolStoppedError extends Error {
  /** The error's name, for `Failure.check("ThreadPoolStoppedError")` and logs. */
  override readonly name = "ThreadPoolStoppedError";
  /**
   * Makes a ThreadPoolStoppedError.
   *
   * @param poolName The pool's name.
   */
  constructor(readonly poolName: string, options?: ErrorOptions) {
    super(
      `Cannot run the job: thread pool ${
        JSON.stringify(poolName)
      } is stopped; call start() first`,
      options,
    );
  }
}

/** Options of {@linkcode ThreadPool}. */
export interface ThreadPoolOptions {
  /** Workers kept even when idle, once started (default 0). */
  minthreads?: number;
  /** Most workers at once (default: the number of CPUs, at least 2). */
  maxthreads?: number;
  /** A name for logs. */
  name?: string;
  /** A reactor that stops the pool when it shuts down. */
  reactor?: IReactorResources;
}

interface Job {
  id: number;
  url: string;
  name: string;
  args: unknown[];
  d: Deferred<unknown>;
  slot?: Slot;
}

interface Slot {
  worker: NodeWorker;
  id: number;
  job?: Job;
  gone: boolean;
  /** Whether the worker keeps the process alive (it has a job). */
  refd: boolean;
}

type PoolState = "new" | "started" | "stopping" | "stopped";

function checkCount(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(
      `Cannot size the thread pool: ${what} must be a whole number >= 0, got ${value}`,
    );
  }
  return value;
}

/**
 * A pool of workers running exported functions of modules. It starts on
 * the first job (or `start()`), grows to `maxthreads` while jobs wait, and
 * keeps `minthreads` idle workers. `stop()` lets queued and running jobs
 * finish, then ends every worker; later jobs fail with
 * {@linkcode ThreadPoolStoppedError} until `start()`.
 *
 * A job's Deferred can be cancelled: a queued job is dropped; a running
 * one ends its worker (which is replaced), something Python threads
 * cannot do.
 *
 * @example Run a function in a worker
 * ```ts
 * import assert from "node:assert/strict";
 * import { ThreadPool } from "@twisted-deno/core/reactor";
 *
 * const pool = new ThreadPool({ maxthreads: 2 });
 * const jobs = "data:text/javascript,export const add = (a, b) => a + b;";
 * try {
 *   assert.equal(await pool.deferToThread(jobs, "add", 2, 3), 5);
 * } finally {
 *   await pool.stop();
 * }
 * ```
 */
export class ThreadPool implements IThreadPool, ReactorResource {
  /** The pool's name, for logs. */
  readonly name: string;
  #min: number;
  #max: number;
  #reactor: IReactorResources | undefined;
  #state: PoolState = "new";
  #slots = new Set<Slot>();
  #idle: Slot[] = [];
  #queue: (Job | undefined)[] = [];
  #queueHead = 0;
  #waiting = 0; // live (not cancelled) jobs in #queue
  #nextJob = 1;
  #spawning = 0;
  #Worker: NodeWorkerClass | undefined;
  #stopped: Deferred<void> | undefined;

  /**
   * Makes a ThreadPool.
   *
   * @param options Sizes, name and the reactor to stop with.
   */
  constructor(options: ThreadPoolOptions = {}) {
    this.#min = checkCount(options.minthreads ?? 0, "minthreads");
    this.#max = checkCount(
      options.maxthreads ?? Math.max(2, navigator.hardwareConcurrency || 2),
      "maxthreads",
    );
    if (this.#max < 1 || this.#max < this.#min) {
      throw new RangeError(
        `Cannot size the thread pool: maxthreads (${this.#max}) must be >= 1 and >= minthreads (${this.#min})`,
      );
    }
    this.name = options.name ?? "ThreadPool";
    this.#reactor = options.reactor;
  }

  /** Workers kept when idle. */
  get min(): number {
    return this.#min;
  }
  /** Most workers at once. */
  get max(): number {
    return this.#max;
  }
  /** Whether the pool is started (and not stopping). */
  get started(): boolean {
    return this.#state === "started";
  }
  /** Live workers (idle or busy). */
  get workers(): number {
    return this.#slots.size;
  }
  /** Workers running a job now. */
  get working(): number {
    return this.#slots.size - this.#idle.length;
  }
  /** Jobs waiting for a worker. */
  get queued(): number {
    return this.#waiting;
  }

  /** Starts the pool: `minthreads` workers are started now. */
  start(): void {
    if (this.#state === "started") return;
    if (this.#state === "stopping") {
      throw new Error(
        `Cannot start thread pool ${
          JSON.stringify(this.name)
        }: it is still stopping; await stop() first`,
      );
    }
    this.#state = "started";
    this.#stopped = undefined;
    this.#reactor?.trackResource(this);
    this.#pump();
  }

  /**
   * Changes the sizes; extra idle workers end, missing minimum ones start.
   */
  adjustPoolsize(
    minthreads: number = this.#min,
    maxthreads: number = this.#max,
  ): void {
    checkCount(minthreads, "minthreads");
    checkCount(maxthreads, "maxthreads");
    if (maxthreads < 1 || maxthreads < minthreads) {
      throw new RangeError(
        `Cannot size the thread pool: maxthreads (${maxthreads}) must be >= 1 and >= minthreads (${minthreads})`,
      );
    }
    this.#min = minthreads;
    this.#max = maxthreads;
    this.#trimIdle();
    this.#pump();
  }

  /**
   * Runs `exportName` of `moduleUrl` in a worker with `args`.
   *
   * @param moduleUrl An absolute module URL (`new URL("../jobs.ts",
   *   import.meta.url)`) or a bare specifier the import map resolves.
   * @param exportName The exported function to call.
   * @param args Its arguments, structured-cloned.
   * @returns Fires with the (awaited, cloned) result, or fails with the
   *   remote error, {@linkcode WorkerCrashedError} or
   *   {@linkcode ThreadPoolStoppedError}.
   */
  deferToThread<T = unknown>(
    moduleUrl: string | URL,
    exportName: string,
    ...args: unknown[]
  ): Deferred<T> {
    const url = moduleHref(moduleUrl, `run ${exportName} in a thread`);
    const job: Job = {
      id: this.#nextJob++,
      url,
      name: exportName,
      args,
      d: new Deferred<unknown>((d) => this.#cancel(job, d)),
    };
    if (this.#state === "stopping" || this.#state === "stopped") {
      job.d.errback(new ThreadPoolStoppedError(this.name));
      return job.d as Deferred<T>;
    }
    if (this.#idle.length === 0 && args.length > 0) {
      // The job has to wait: clone now, so it runs with the arguments as
      // they are at this call (an idle worker gets them cloned by
      // postMessage at once), and so arguments that cannot cross fail here.
      try {
        job.args = structuredClone(args);
      } catch (error) {
        job.d.errback(cannotPass(exportName, error));
        return job.d as Deferred<T>;
      }
    }
    if (this.#state === "new") this.start();
    this.#queue.push(job);
    this.#waiting++;
    this.#pump();
    return job.d as Deferred<T>;
  }

  /** Runs a job and ignores its result; a failure is logged. */
  callInThread(
    moduleUrl: string | URL,
    exportName: string,
    ...args: unknown[]
  ): void {
    this.deferToThread(moduleUrl, exportName, ...args).addErrback((f) => {
      log.failure("Error in thread job {job}", f, "error", {
        job: `${exportName} of ${String(moduleUrl)}`,
      });
    });
  }

  /**
   * Runs a job and calls `onResult(true, result)` or
   * `onResult(false, failure)`, as Twisted's `callInThreadWithCallback`.
   */
  callInThreadWithCallback(
    onResult: (success: boolean, result: unknown) => void,
    moduleUrl: string | URL,
    exportName: string,
    ...args: unknown[]
  ): void {
    this.deferToThread(moduleUrl, exportName, ...args).addCallbacks(
      (result) => onResult(true, result),
      (failure) => onResult(false, failure),
    ).addErrback((f) => {
      log.failure("Error in callInThreadWithCallback's onResult", f, "error");
    });
  }

  /**
   * Stops the pool once queued and running jobs are done, then ends every
   * worker. Jobs given meanwhile fail with
   * {@linkcode ThreadPoolStoppedError}.
   */
  stop(): Promise<void> {
    if (this.#state === "new" || this.#state === "stopped") {
      this.#state = "stopped";
      return Promise.resolve();
    }
    if (this.#state === "started") {
      this.#state = "stopping";
      this.#stopped = new Deferred<void>();
      this.#maybeFinishStop();
    }
    return this.#stopped!.asPromise();
  }

  /** Part of {@linkcode ReactorResource}: the reactor stops the pool. */
  shutdown(): Promise<void> {
    return this.stop();
  }

  #pump(): void {
    if (this.#state !== "started" && this.#state !== "stopping") return;
    while (this.#waiting > 0) {
      const slot = this.#idle.pop();
      if (slot === undefined) break;
      let job = this.#queue[this.#queueHead];
      while (job === undefined) job = this.#queue[++this.#queueHead];
      this.#queue[this.#queueHead++] = undefined;
      this.#waiting--;
      this.#assign(slot, job);
    }
    if (this.#waiting === 0) {
      this.#queue.length = 0;
      this.#queueHead = 0;
    } else if (
      this.#queueHead > 1024 && this.#queueHead * 2 > this.#queue.length
    ) {
      this.#queue.splice(0, this.#queueHead);
      this.#queueHead = 0;
    }
    // Start workers for jobs still waiting (each start takes one job), and
    // up to the minimum.
    while (
      this.#spawning < this.#waiting &&
      this.#slots.size + this.#spawning < this.#max
    ) {
      this.#spawn();
    }
    if (this.#state === "started") {
      while (this.#slots.size + this.#spawning < this.#min) this.#spawn();
    }
  }

  #spawn(): void {
    this.#spawning++;
    if (this.#Worker !== undefined) {
      this.#spawned(this.#Worker);
      return;
    }
    loadWorkerClass().then(
      (W) => {
        this.#Worker = W;
        this.#spawned(W);
      },
      (error) => {
        this.#spawning--;
        this.#failQueue(error);
      },
    );
  }

  #spawned(W: NodeWorkerClass): void {
    this.#spawning--;
    if (this.#state === "stopped") return;
    let worker: NodeWorker;
    try {
      worker = new W(workerUrl());
    } catch (error) {
      this.#failQueue(error);
      return;
    }
    const slot: Slot = {
      worker,
      id: worker.threadId,
      gone: false,
      refd: false,
    };
    worker.on("message", (message) => this.#onMessage(slot, message));
    worker.on("error", (error) => this.#lost(slot, error.message));
    worker.on("exit", (code) => this.#lost(slot, `exit code ${code}`));
    worker.unref();
    this.#slots.add(slot);
    this.#idle.push(slot);
    this.#pump();
    this.#maybeFinishStop();
  }

  #failQueue(error: unknown): void {
    log.failure(
      "Cannot start a thread-pool worker",
      new Failure(error),
      "error",
    );
    const jobs = this.#queue.slice(this.#queueHead);
    this.#queue.length = 0;
    this.#queueHead = 0;
    this.#waiting = 0;
    for (const job of jobs) job?.d.errback(error);
    this.#maybeFinishStop();
  }

  #assign(slot: Slot, job: Job): void {
    slot.job = job;
    job.slot = slot;
    if (!slot.refd) {
      slot.refd = true;
      slot.worker.ref(); // a running job keeps the process alive
    }
    try {
      slot.worker.postMessage(
        {
          t: "run",
          id: job.id,
          url: job.url,
          name: job.name,
          args: job.args,
        } satisfies RunMessage,
      );
    } catch (error) {
      this.#release(slot);
      job.d.errback(cannotPass(job.name, error));
    }
  }

  #release(slot: Slot): void {
    const job = slot.job;
    if (job !== undefined) job.slot = undefined;
    slot.job = undefined;
    if (slot.gone) return;
    this.#idle.push(slot);
    this.#pump();
    // Still idle (no queued job took it): it no longer keeps the process
    // alive. Checked after the pump, so a busy pool does not flip it.
    if (slot.job === undefined && slot.refd) {
      slot.refd = false;
      slot.worker.unref();
    }
    this.#trimIdle();
  }

  #onMessage(slot: Slot, message: FromWorker): void {
    switch (message.t) {
      case "done": {
        const job = slot.job;
        if (job === undefined || job.id !== message.id) return;
        this.#release(slot);
        if (message.ok) job.d.callback(message.value);
        else job.d.errback(reviveError(message.error));
        this.#maybeFinishStop();
        return;
      }
      case "call":
        runFromThread(message);
        return;
      case "block":
        answerBlockingCall(message);
        return;
      case "crash": {
        const error = reviveError(message.error);
        this.#lost(
          slot,
          error instanceof Error
            ? `${error.name}: ${error.message}`
            : String(error),
          error,
        );
        return;
      }
    }
  }

  /** A worker died (crash report, error event or exit): replace it. */
  #lost(slot: Slot, reason: string, cause?: unknown): void {
    if (slot.gone) return;
    slot.gone = true;
    this.#slots.delete(slot);
    const i = this.#idle.indexOf(slot);
    if (i !== -1) this.#idle.splice(i, 1);
    slot.worker.terminate().catch(ignoreTerminateError);
    const job = slot.job;
    slot.job = undefined;
    if (job !== undefined) {
      job.slot = undefined;
      const error = new WorkerCrashedError(slot.id, reason, { cause });
      log.failure(
        "Thread-pool worker {worker} crashed running {job}",
        new Failure(error),
        "error",
        { worker: slot.id, job: `${job.name} of ${job.url}` },
      );
      job.d.errback(error);
    } else {
      log.warn("Idle thread-pool worker {worker} ended: {reason}", {
        worker: slot.id,
        reason,
      });
    }
    this.#pump();
    this.#maybeFinishStop();
  }

  #cancel(job: Job, d: Deferred<unknown>): void {
    const slot = job.slot;
    if (slot !== undefined) {
      // A worker cannot be interrupted mid-call; end it and start another.
      slot.gone = true;
      slot.job = undefined;
      job.slot = undefined;
      this.#slots.delete(slot);
      slot.worker.terminate().catch(ignoreTerminateError);
      d.errback(new CancelledError(`Thread job ${job.name} was cancelled`));
      this.#pump();
      this.#maybeFinishStop();
      return;
    }
    const i = this.#queue.indexOf(job, this.#queueHead);
    if (i !== -1) {
      this.#queue[i] = undefined;
      this.#waiting--;
    }
    this.#maybeFinishStop();
  }

  /** Ends idle workers above `maxthreads` (after `adjustPoolsize`). */
  #trimIdle(): void {
    while (this.#idle.length > 0 && this.#slots.size > this.#max) {
      const slot = this.#idle.pop()!;
      slot.gone = true;
      this.#slots.delete(slot);
      slot.worker.terminate().catch(ignoreTerminateError);
    }
  }

  #maybeFinishStop(): void {
    if (this.#state !== "stopping") return;
    if (this.queued > 0 || this.working > 0 || this.#spawning > 0) return;
    for (const slot of this.#slots) {
      slot.gone = true;
      slot.worker.terminate().catch(ignoreTerminateError);
    }
    this.#slots.clear();
    this.#idle.length = 0;
    this.#queue.length = 0;
    this.#queueHead = 0;
    this.#state = "stopped";
    this.#reactor?.untrackResource(this);
    const stopped = this.#stopped!;
    stopped.callback(undefined);
  }
}

function cannotPass(exportName: string, error: unknown): TypeError {
  return new TypeError(
    `Cannot pass the arguments of ${exportName} to a thread: ${
      error instanceof Error ? error.message : String(error)
    }`,
    { cause: error },
  );
}

/**
 * Runs `exportName` of `moduleUrl` in the global reactor's thread pool.
 *
 * @param moduleUrl An absolute module URL or a bare specifier.
 * @param exportName The exported function to call.
 * @param args Its arguments (structured-cloned).
 * @returns Fires with the result, or fails with the remote error.
 *
 * @example Hash in a worker, keep the reactor free
 * ```ts
 * import assert from "node:assert/strict";
 * import { deferToThread, reactor } from "@twisted-deno/core/reactor";
 *
 * const jobs = "data:text/javascript,export function fib(n) {" +
 *   " return n < 2 ? n : fib(n - 1) + fib(n - 2); }";
 * try {
 *   assert.equal(await deferToThread(jobs, "fib", 20), 6765);
 * } finally {
 *   await reactor.getThreadPool().stop();
 * }
 * ```
 */
export function deferToThread<T = unknown>(
  moduleUrl: string | URL,
  exportName: string,
  ...args: unknown[]
): Deferred<T> {
  return getGlobalReactor().getThreadPool().deferToThread<T>(
    moduleUrl,
    exportName,
    ...args,
  );
}

/**
 * Ending a worker that already exited (or crashed, which was reported as its
 * job's failure) rejects; there is nothing left to report or undo.
 */
function ignoreTerminateError(): void {}
