/**
 * The reactor's network wing, for transport authors: the stream transport
 * shared by TCP, TLS and UNIX sockets ({@linkcode StreamTransport}), its
 * listening ports and connectors, and the UDP port. Applications reach these
 * through the reactor (`listenTCP`, `connectSSL`, `listenUDP` ...); import
 * this entry to build a new kind of stream transport on the same machinery.
 *
 * @example A TCP port is a StreamServerPort
 * ```ts
 * import assert from "node:assert/strict";
 * import { StreamServerPort, TCPPort } from "@twisted-deno/core/reactor/net";
 * import { reactor } from "@twisted-deno/core/reactor";
 * import { Factory, Protocol } from "@twisted-deno/core/protocols";
 *
 * const port = reactor.listenTCP(0, Factory.forProtocol(Protocol), {
 *   interface: "127.0.0.1",
 * });
 * assert(port instanceof TCPPort && port instanceof StreamServerPort);
 * await port.stopListening();
 * ```
 *
 * @module
 */
export * from "./network_reactor.ts";
export * from "./stream.ts";
export * from "./stream_connector.ts";
export * from "./stream_port.ts";
export * from "./tcp.ts";
export * from "./tls.ts";
export * from "./udp.ts";
export * from "./udp_errors.ts";
export * from "./unix.ts";
