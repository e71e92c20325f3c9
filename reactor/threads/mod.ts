/**
 * The reactor's threads wing: a pool of Workers behind `deferToThread` and
 * `callInThread`, and the way back from a worker (`callFromThread`,
 * `blockingCallFromThread`). Everything here is re-exported by
 * `@twisted-deno/core/reactor`.
 *
 * @example A pool is created stopped and started on demand
 * ```ts
 * import assert from "node:assert/strict";
 * import { ThreadPool } from "@twisted-deno/core/reactor";
 *
 * const pool = new ThreadPool({ minthreads: 0, maxthreads: 2 });
 * assert.equal(pool.started, false);
 * ```
 *
 * @module
 */
export * from "./from_thread.ts";
export * from "./threads.ts";
