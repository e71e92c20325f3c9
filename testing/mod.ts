/**
 * Testing without sockets: Clock, StringTransport, MemoryReactor, loopback connections, result peeking and log capture.
 *
 * @example Drive time by hand with a Clock
 * ```ts
 * import assert from "node:assert/strict";
 * import { Clock } from "@twisted-deno/core/testing";
 *
 * const clock = new Clock();
 * const fired: number[] = [];
 * clock.callLater(5, () => fired.push(clock.seconds()));
 * clock.advance(4);
 * assert.deepEqual(fired, []);
 * clock.advance(1);
 * assert.deepEqual(fired, [5]);
 * ```
 *
 * @module
 */
export * from "./accumulating_protocol.ts";
export * from "./clock.ts";
export * from "./logs.ts";
export * from "./loopback.ts";
export * from "./memory_reactor.ts";
export * from "./results.ts";
export * from "./string_transport.ts";
