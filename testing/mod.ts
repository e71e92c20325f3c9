/**
 * Testing without sockets: Clock, StringTransport, MemoryReactor, loopback connections, result peeking and log capture.
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
