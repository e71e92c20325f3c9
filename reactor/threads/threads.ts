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
 * Workers start lazily, up to `maxthreads`; each runs one job at a time,
 * with up to `pipeline` more sent ahead once the pool is full. A worker
 * that crashes (an uncaught error outside the job's own call, or
 * `Deno.exit()`) fails the job it was running and is replaced; the jobs
 * sent ahead to it go to another worker. Workers
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
  allPrimitive,
  cannotPass,
  type FromWorker,
  type InitMessage,
  JOB_CANCELLED,
  JOB_PENDING,
  JOB_STARTED,
  type JobMessage,
  moduleHref,
  reviveError,
  type RunMessage,
} from "./_thread_wire.ts";
import { answerBlockingCall, runFromThread } from "./_thread_requests.ts";
import {
  ignoreTerminateError,
  loadWorkerClass,
  type NodeWorker,
  type NodeWorkerClass,
  workerUrl,
} from "./_node_worker.ts";
import { ThreadPoolStoppedError, WorkerCrashedError } from "./thread_errors.ts";

export { ThreadPoolStoppedError, WorkerCrashedError };

const log = new Logger("threads");

/** Options of {@linkcode ThreadPool}. */
export interface ThreadPoolOptions {
  /** Workers kept even when idle, once started (default 0). */
  minthreads?: number;
  /** Most workers at once (default: the number of CPUs, at least 2). */
  maxthreads?: number;
  /**
   * Jobs sent ahead to each worker once the pool is at `maxthreads`
   * (default 16): a worker still runs one job at a time, but the next ones
   * are already there, so short jobs do not wait a round trip each. 1 sends
   * a job only to a worker with nothing to do.
   */
  pipeline?: number;
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
  /** The worker it was sent to, until it is answered. */
  slot?: Slot;
  /** Its cell in that worker's state ring. */
  r: number;
  /** Cancelled: its answer, if one comes, is dropped. */
  cancelled: boolean;
}

interface Slot {
  worker: NodeWorker;
  id: number;
  gone: boolean;
  /** Whether the worker keeps the process alive (it has jobs). */
  refd: boolean;
  /** One cell per job sent: JOB_PENDING, JOB_STARTED or JOB_CANCELLED. */
  ring: Int32Array;
  /** Free cells of the ring. */
  free: number[];
  /** Jobs sent and not answered yet, oldest first (answers come in order). */
  jobs: Job[];
}

type PoolState = "new" | "started" | "stopping" | "stopped";

/** Checks a pool size: a whole number >= 0. */
function checkCount(value: number, what: string): number {
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(
      `Cannot size the thread pool: ${what} must be a whole number >= 0, got ${value}`,
    );
  }
  return value;
}

/**
 * Marks a job sent to `slot` as taken back, if the worker has not started
 * it (then it never will, and acknowledges the skip); whether it was.
 */
function takeBack(slot: Slot, job: Job): boolean {
  return Atomics.compareExchange(
    slot.ring,
    job.r,
    JOB_PENDING,
    JOB_CANCELLED,
  ) ===
    JOB_PENDING;
}

/**
 * A pool of workers running exported functions of modules. It starts on
 * the first job (or `start()`), grows to `maxthreads` while jobs wait, and
 * keeps `minthreads` idle workers. `stop()` lets queued and running jobs
 * finish, then ends every worker; later jobs fail with
 * {@linkcode ThreadPoolStoppedError} until `start()`.
 *
 * Each worker runs one job at a time. Once the pool is at `maxthreads`,
 * up to `pipeline` jobs are sent ahead to each worker (to the least busy
 * first), in one message per worker per turn, so short jobs are not held
 * up by a round trip each. A worker left with nothing to do takes over
 * jobs sent ahead to another that has not started them (behind a long
 * job, say).
 *
 * A job's Deferred can be cancelled: a job that has not started is dropped
 * (the worker skips it); a running one ends its worker (which is
 * replaced), something Python threads cannot do. A worker that crashes or
 * is ended fails the job it was running; the jobs sent ahead to it that it
 * had not started go to another worker.
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
  #window: number;
  #reactor: IReactorResources | undefined;
  #state: PoolState = "new";
  #slots: Slot[] = [];
  #queue: (Job | undefined)[] = [];
  #queueHead = 0;
  #waiting = 0; // live (not cancelled) jobs in #queue
  #nextJob = 1;
  #spawning = 0;
  #pumpQueued = false;
  #Worker: NodeWorkerClass | undefined;
  #stopped: Deferred<void> | undefined;

  /**
   * Makes a ThreadPool.
   *
   * @param options Sizes, pipeline depth, name and the reactor to stop with.
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
    this.#window = checkCount(options.pipeline ?? 16, "pipeline");
    if (this.#window < 1) {
      throw new RangeError(
        "Cannot size the thread pool: pipeline must be >= 1, got 0",
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
    return this.#slots.length;
  }
  /** Workers running a job now. */
  get working(): number {
    let n = 0;
    for (const slot of this.#slots) {
      for (const job of slot.jobs) {
        if (!job.cancelled && Atomics.load(slot.ring, job.r) === JOB_STARTED) {
          n++;
          break;
        }
      }
    }
    return n;
  }
  /** Jobs not started yet: waiting in the pool or sent ahead to a worker. */
  get queued(): number {
    let n = this.#waiting;
    for (const slot of this.#slots) {
      for (const job of slot.jobs) {
        if (!job.cancelled && Atomics.load(slot.ring, job.r) === JOB_PENDING) {
          n++;
        }
      }
    }
    return n;
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
      slot: undefined,
      r: 0,
      cancelled: false,
    };
    if (this.#state === "stopping" || this.#state === "stopped") {
      job.d.errback(new ThreadPoolStoppedError(this.name));
      return job.d as Deferred<T>;
    }
    if (this.#state === "new") this.start();
    if (this.#waiting === 0) {
      // A worker with nothing to do takes it now.
      for (const slot of this.#slots) {
        if (slot.jobs.length === 0) {
          this.#send(slot, [this.#give(slot, job)]);
          return job.d as Deferred<T>;
        }
      }
    }
    if (!allPrimitive(args)) {
      // The job has to wait: clone now, so it runs with the arguments as
      // they are at this call (a job sent at once gets them cloned by
      // postMessage), and so arguments that cannot cross fail here.
      try {
        job.args = structuredClone(args);
      } catch (error) {
        job.d.errback(cannotPass(exportName, error));
        return job.d as Deferred<T>;
      }
    }
    this.#queue.push(job);
    this.#waiting++;
    // The jobs given in this turn go out together, one message per worker.
    if (!this.#pumpQueued) {
      this.#pumpQueued = true;
      queueMicrotask(() => {
        this.#pumpQueued = false;
        this.#pump();
      });
    }
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
    if (this.#waiting > 0 && this.#slots.length > 0) {
      // Until the pool is at full size, a job goes only to a worker with
      // nothing to do: the workers starting take the others.
      const limit = this.#spawning === 0 && this.#slots.length >= this.#max
        ? this.#window
        : 1;
      const batches = new Map<Slot, Job[]>();
      while (this.#waiting > 0) {
        let best: Slot | undefined;
        for (const slot of this.#slots) {
          if (
            slot.jobs.length < limit &&
            (best === undefined || slot.jobs.length < best.jobs.length)
          ) best = slot;
        }
        if (best === undefined) break;
        let job = this.#queue[this.#queueHead];
        while (job === undefined) job = this.#queue[++this.#queueHead];
        this.#queue[this.#queueHead++] = undefined;
        this.#waiting--;
        const batch = batches.get(best);
        if (batch === undefined) batches.set(best, [this.#give(best, job)]);
        else batch.push(this.#give(best, job));
      }
      for (const [slot, batch] of batches) this.#send(slot, batch);
    }
    if (this.#waiting === 0 && this.#window > 1) this.#steal();
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
      this.#slots.length + this.#spawning < this.#max
    ) {
      this.#spawn();
    }
    if (this.#state === "started") {
      while (this.#slots.length + this.#spawning < this.#min) this.#spawn();
    }
  }

  /**
   * A worker with nothing to do takes over the oldest half of the jobs
   * sent ahead to the busiest one that it has not started (say, behind a
   * long job). Taking one back is a compare-and-swap on that worker's ring,
   * so it can never run there too; it acknowledges the skip later.
   */
  #steal(): void {
    for (const idle of this.#slots) {
      if (idle.jobs.length > 0) continue;
      let victim: Slot | undefined;
      for (const slot of this.#slots) {
        if (
          slot.jobs.length > 1 &&
          (victim === undefined || slot.jobs.length > victim.jobs.length)
        ) victim = slot;
      }
      if (victim === undefined) return;
      const jobs = victim.jobs;
      const taken: Job[] = [];
      // The oldest of them first (the head is running, or about to), up to
      // half of those waiting there.
      let left = 0;
      for (let k = 1; k < jobs.length; k++) if (!jobs[k].cancelled) left++;
      for (let k = 1; k < jobs.length && taken.length * 2 < left; k++) {
        const job = jobs[k];
        if (job.cancelled) continue;
        if (!takeBack(victim, job)) continue; // started: the head finished
        // What stays behind only matches the worker's skip.
        jobs[k] = { ...job, cancelled: true };
        taken.push(job);
      }
      if (taken.length === 0) continue;
      this.#send(idle, taken.map((job) => this.#give(idle, job)));
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
    const ring = new SharedArrayBuffer(4 * this.#window);
    try {
      worker = new W(workerUrl());
      worker.postMessage({ t: "init", ring } satisfies InitMessage);
    } catch (error) {
      this.#failQueue(error);
      return;
    }
    const slot: Slot = {
      worker,
      id: worker.threadId,
      gone: false,
      refd: false,
      ring: new Int32Array(ring),
      free: Array.from({ length: this.#window }, (_, i) => i),
      jobs: [],
    };
    worker.on("message", (message) => this.#onMessage(slot, message));
    // Handled a task later, so that answers the worker posted before it
    // died are read first: a job that finished is not failed with it.
    worker.on("error", (error) => {
      if (!slot.gone) setTimeout(() => this.#lost(slot, error.message), 0);
    });
    worker.on("exit", (code) => {
      if (!slot.gone) {
        setTimeout(() => this.#lost(slot, `exit code ${code}`), 0);
      }
    });
    worker.unref();
    this.#slots.push(slot);
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

  /** Books `job` on `slot`: a ring cell, and a place in its answer order. */
  #give(slot: Slot, job: Job): Job {
    job.slot = slot;
    job.r = slot.free.pop()!;
    Atomics.store(slot.ring, job.r, JOB_PENDING);
    slot.jobs.push(job);
    return job;
  }

  /** Sends booked jobs to a worker, in one message. */
  #send(slot: Slot, jobs: Job[]): void {
    if (!slot.refd) {
      slot.refd = true;
      slot.worker.ref(); // jobs to run keep the process alive
    }
    const wire = jobs.map((job): JobMessage => ({
      id: job.id,
      r: job.r,
      url: job.url,
      name: job.name,
      args: job.args,
    }));
    try {
      slot.worker.postMessage({ t: "run", jobs: wire } satisfies RunMessage);
      return;
    } catch {
      // Some job's arguments cannot be cloned: send them one by one.
    }
    for (let i = 0; i < jobs.length; i++) {
      try {
        slot.worker.postMessage(
          { t: "run", jobs: [wire[i]] } satisfies RunMessage,
        );
      } catch (error) {
        const job = jobs[i];
        slot.jobs.splice(slot.jobs.indexOf(job), 1);
        slot.free.push(job.r);
        job.slot = undefined;
        job.d.errback(cannotPass(job.name, error));
      }
    }
    this.#idled(slot);
  }

  /** A worker with no jobs left no longer keeps the process alive. */
  #idled(slot: Slot): void {
    if (slot.jobs.length === 0 && slot.refd && !slot.gone) {
      slot.refd = false;
      slot.worker.unref();
    }
  }

  #onMessage(slot: Slot, message: FromWorker): void {
    switch (message.t) {
      case "dones": {
        for (const outcome of message.list) {
          const job = slot.jobs[0];
          if (job === undefined || job.id !== outcome.id) continue;
          slot.jobs.shift();
          slot.free.push(job.r);
          job.slot = undefined;
          if (job.cancelled || outcome.t === "skip") continue;
          if (outcome.ok) job.d.callback(outcome.value);
          else job.d.errback(reviveError(outcome.error));
        }
        this.#pump();
        this.#idled(slot);
        this.#trimIdle();
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

  /**
   * Ends a worker: the job it was running (and any whose answer was on
   * its way) fails; the jobs it had not started go to the front of the
   * queue (one sent at once to an idle worker is re-sent with its args).
   */
  #end(slot: Slot, reason: string, cause?: unknown): void {
    slot.gone = true;
    this.#slots.splice(this.#slots.indexOf(slot), 1);
    slot.worker.terminate().catch(ignoreTerminateError);
    const jobs = slot.jobs;
    slot.jobs = [];
    const back: Job[] = [];
    for (const job of jobs) {
      job.slot = undefined;
      if (job.cancelled) continue;
      if (takeBack(slot, job)) {
        back.push(job);
        continue;
      }
      const error = new WorkerCrashedError(slot.id, reason, { cause });
      log.failure(
        "Thread-pool worker {worker} crashed running {job}",
        new Failure(error),
        "error",
        { worker: slot.id, job: `${job.name} of ${job.url}` },
      );
      job.d.errback(error);
    }
    if (back.length > 0) {
      this.#queue.splice(this.#queueHead, 0, ...back);
      this.#waiting += back.length;
    } else if (jobs.length === 0) {
      log.warn("Idle thread-pool worker {worker} ended: {reason}", {
        worker: slot.id,
        reason,
      });
    }
    this.#pump();
    this.#maybeFinishStop();
  }

  /** A worker died (crash report, error event or exit): replace it. */
  #lost(slot: Slot, reason: string, cause?: unknown): void {
    if (!slot.gone) this.#end(slot, reason, cause);
  }

  #cancel(job: Job, d: Deferred<unknown>): void {
    const slot = job.slot;
    if (slot === undefined) {
      const i = this.#queue.indexOf(job, this.#queueHead);
      if (i !== -1) {
        this.#queue[i] = undefined;
        this.#waiting--;
      }
      this.#maybeFinishStop();
      return;
    }
    job.cancelled = true;
    if (takeBack(slot, job)) return; // not started: the worker skips it
    // Running: a worker cannot be interrupted mid-call; end it and start
    // another.
    d.errback(new CancelledError(`Thread job ${job.name} was cancelled`));
    this.#end(slot, `ended to cancel job ${job.name}`);
  }

  /** Ends idle workers above `maxthreads` (after `adjustPoolsize`). */
  #trimIdle(): void {
    for (let i = this.#slots.length - 1; i >= 0; i--) {
      if (this.#slots.length <= this.#max) return;
      const slot = this.#slots[i];
      if (slot.jobs.length > 0) continue;
      slot.gone = true;
      this.#slots.splice(i, 1);
      slot.worker.terminate().catch(ignoreTerminateError);
    }
  }

  #maybeFinishStop(): void {
    if (this.#state !== "stopping") return;
    if (this.#waiting > 0 || this.#spawning > 0) return;
    for (const slot of this.#slots) if (slot.jobs.length > 0) return;
    for (const slot of this.#slots) {
      slot.gone = true;
      slot.worker.terminate().catch(ignoreTerminateError);
    }
    this.#slots.length = 0;
    this.#queue.length = 0;
    this.#queueHead = 0;
    this.#state = "stopped";
    this.#reactor?.untrackResource(this);
    const stopped = this.#stopped!;
    stopped.callback(undefined);
  }
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
