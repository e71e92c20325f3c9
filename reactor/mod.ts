/**
 * The reactor: the event loop's life cycle, time, TCP/UDP/TLS/UNIX transports, endpoints, tasks, threads and processes, with the interfaces of every role.
 *
 * @module
 */
export * from "./cooperator.ts";
export * from "./delayed_call.ts";
export * from "./endpoint_descriptions.ts";
export * from "./endpoints.ts";
export * from "./errors.ts";
export * from "./from_thread.ts";
export * from "./interfaces.ts";
export * from "./process.ts";
export * from "./process_utils.ts";
export * from "./reactor.ts";
export * from "./stream.ts";
export * from "./stream_connector.ts";
export * from "./stream_port.ts";
export * from "./task.ts";
export * from "./tcp.ts";
export * from "./threads.ts";
export * from "./tls.ts";
export * from "./tls_endpoints.ts";
export * from "./udp.ts";
export * from "./udp_errors.ts";
export * from "./unix.ts";
