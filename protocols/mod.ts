/**
 * Protocols and factories, and the pre-built protocols: framers, wire protocols, finger, policies, the PROXY protocol, port forwarding.
 *
 * @example A line protocol with a typed factory, tested without a socket
 * ```ts
 * import assert from "node:assert/strict";
 * import { LineReceiver, ServerFactory } from "@twisted-deno/core/protocols";
 * import { StringTransport } from "@twisted-deno/core/testing";
 *
 * class Greeter extends LineReceiver<GreeterFactory> {
 *   override lineReceived(name: string): void {
 *     this.sendLine(`${this.factory.greeting}, ${name}`);
 *   }
 * }
 * class GreeterFactory extends ServerFactory {
 *   override protocol = Greeter;
 *   greeting = "Hello";
 * }
 *
 * const proto = new GreeterFactory().buildProtocol({ type: "TCP", host: "127.0.0.1", port: 1 });
 * assert.ok(proto !== null);
 * const transport = new StringTransport();
 * proto.makeConnection(transport);
 * proto.dataReceived(new TextEncoder().encode("moshez\r\n"));
 * assert.equal(new TextDecoder().decode(transport.value()), "Hello, moshez\r\n");
 * ```
 *
 * @module
 */
export * from "./basic.ts";
export * from "./client.ts";
export * from "./file_sender.ts";
export * from "./finger.ts";
export * from "./haproxy/mod.ts";
export * from "./memcache.ts";
export * from "./policies/mod.ts";
export * from "./portforward.ts";
export * from "./protocol.ts";
export * from "./socks.ts";
export * from "./wire.ts";
