/**
 * twisted-deno: Twisted's core ideas for Deno. Deferreds that fire
 * synchronously, one reactor on Deno's event loop, protocols and factories
 * that the reactor calls, transports with flow control, services, and test
 * doubles so protocols are tested without sockets.
 *
 * @example A Deferred chain
 * ```ts
 * import assert from "node:assert/strict";
 * import { succeed } from "@twisted-deno/core";
 *
 * let out = "";
 * succeed(2).addCallback((n) => n * 21).addCallback((n) => { out = `${n}`; });
 * assert.equal(out, "42");
 * ```
 *
 * @module
 */
export * from "./log/mod.ts";
export * from "./deferred/mod.ts";
export * from "./reactor/mod.ts";
export * from "./protocols/mod.ts";
export * from "./testing/mod.ts";
export * from "./application/mod.ts";
export * from "./amp/mod.ts";
