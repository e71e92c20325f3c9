/**
 * Deferreds: results that arrive later, with callback chains that fire synchronously; Failures; lists, co-routine bridges, locks and queues.
 *
 * @example A chain with an extra argument, a failure and its recovery
 * ```ts
 * import assert from "node:assert/strict";
 * import { Deferred, type Failure } from "@twisted-deno/core/deferred";
 *
 * const seen: unknown[] = [];
 * const d = new Deferred<number>();
 * d.addCallback((n: number, extra: number) => n + extra, 1)
 *   .addCallback((n) => {
 *     throw new RangeError(`${n} is too big`);
 *   })
 *   .addErrback((failure: Failure) => failure.getErrorMessage())
 *   .addCallback((text) => seen.push(text));
 * d.callback(41); // the whole chain runs now
 * assert.deepEqual(seen, ["42 is too big"]);
 * ```
 *
 * @module
 */
export * from "./coroutines.ts";
export * from "./deferred.ts";
export * from "./helpers.ts";
export * from "./errors.ts";
export * from "./failure.ts";
export * from "./list.ts";
export * from "./locks.ts";
export * from "./queue.ts";
