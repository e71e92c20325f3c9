/**
 * Deferreds: results that arrive later, with callback chains that fire synchronously; Failures; lists, co-routine bridges, locks and queues.
 *
 * @module
 */
export * from "./coroutines.ts";
export * from "./deferred.ts";
export * from "./errors.ts";
export * from "./failure.ts";
export * from "./list.ts";
export * from "./locks.ts";
export * from "./queue.ts";
