/**
 * AMP, the Asynchronous Messaging Protocol, wire-compatible with Twisted's
 * `twisted.protocols.amp`: declare {@linkcode Command}s with typed
 * arguments, answer them with responders, and call them with
 * `callRemote`, which returns a Deferred typed from the command. Talks to
 * Twisted's AMP in both directions.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as amp from "@twisted-deno/core/amp";
 * import { connectedServerAndClient } from "@twisted-deno/core/testing";
 *
 * class ZeroDivisionError extends Error { override name = "ZeroDivisionError"; }
 * const Divide = new amp.Command("Divide", {
 *   arguments: { a: new amp.Float(), b: new amp.Float() },
 *   response: { result: new amp.Float() },
 *   errors: { ZERO_DIVISION: ZeroDivisionError },
 * });
 * class Calc extends amp.AMP {
 *   constructor() {
 *     super();
 *     this.responder(Divide, ({ a, b }) => {
 *       if (b === 0) throw new ZeroDivisionError("division by zero");
 *       return { result: a / b };
 *     });
 *   }
 * }
 * const [client, , pump] = connectedServerAndClient(Calc, amp.AMP);
 * const half = client.callRemote(Divide, { a: 1, b: 2 });
 * const bad = client.callRemote(Divide, { a: 1, b: 0 });
 * pump.flush();
 * assert.deepEqual(await half, { result: 0.5 });
 * await assert.rejects(bad.asPromise(), ZeroDivisionError);
 * ```
 *
 * @module
 */
export * from "./arguments.ts";
export * from "./box.ts";
export * from "./command.ts";
export * from "./errors.ts";
export * from "./protocol.ts";
