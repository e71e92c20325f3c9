/**
 * Protocols and factories, and the pre-built protocols: framers, wire protocols, finger, policies, the PROXY protocol, port forwarding.
 *
 * @module
 */
export * from "./basic.ts";
export * from "./client.ts";
export * from "./file_sender.ts";
export * from "./finger.ts";
export * from "./haproxy/mod.ts";
export * from "./memcache.ts";
export * from "./policies.ts";
export * from "./portforward.ts";
export * from "./protocol.ts";
export * from "./socks.ts";
export * from "./timeouts.ts";
export * from "./wire.ts";
