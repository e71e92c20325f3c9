/**
 * The errors of the thread pool: {@linkcode WorkerCrashedError} and
 * {@linkcode ThreadPoolStoppedError} (both also exported by `threads.ts`).
 *
 * @module
 */

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
