/**
 * The reactor: the event loop's life cycle, time, TCP/UDP/TLS/UNIX
 * transports, endpoints, tasks, threads and processes, with the interfaces
 * of every role.
 *
 * The core (reactor, interfaces, errors, delayed calls, tasks, processes)
 * lives in this folder; three wings hold the rest: `net/` (the stream
 * transport, ports and connectors, UDP), `endpoints/` (endpoints and
 * description strings) and `threads/` (the Worker pool and the way back from
 * a worker). This entry re-exports what applications use; the classes for
 * writing a new transport (`StreamTransport`, `StreamServerPort`,
 * `StreamConnector`, the concrete ports) are in `@twisted-deno/core/reactor/net`.
 *
 * @example Schedule a call and read the clock
 * ```ts
 * import assert from "node:assert/strict";
 * import { reactor } from "@twisted-deno/core/reactor";
 *
 * const call = reactor.callLater(60, () => {});
 * assert.equal(call.active(), true);
 * call.cancel();
 * assert.equal(call.active(), false);
 * ```
 *
 * @module
 */
export * from "./cooperator.ts";
export * from "./delayed_call.ts";
export * from "./errors.ts";
export * from "./global.ts";
export * from "./interfaces.ts";
export * from "./process.ts";
export * from "./process_utils.ts";
export * from "./reactor.ts";
export * from "./task.ts";
export * from "./endpoints/mod.ts";
export * from "./threads/mod.ts";
export { addressFromDeno } from "./net/stream.ts";
export { NotConnectingError, UserError } from "./net/stream_connector.ts";
export { negotiatedProtocol, TLSHandshakeError } from "./net/tls.ts";
export type { IMulticastTransport, UDPPortOptions } from "./net/udp.ts";
export * from "./net/udp_errors.ts";
