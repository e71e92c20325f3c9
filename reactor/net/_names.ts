/**
 * Names for logs and errors, shared by the stream transport's files:
 * {@linkcode addressFromDeno} and the STARTTLS hook types (re-exported by
 * `stream.ts`), and two private helpers.
 *
 * @module
 */

import type { IAddress, StartTLSOptions } from "../interfaces.ts";
import type { StreamTransport } from "./stream.ts";

/**
 * Converts a Deno socket address to an {@linkcode IAddress}.
 *
 * @param addr A `Deno.Addr` (`conn.localAddr`, `listener.addr` ...).
 * @returns `{ type: "TCP", host, port }` or `{ type: "UNIX", name }`.
 * @throws {TypeError} For other transports (UDP, VSOCK).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { addressFromDeno } from "@twisted-deno/core/reactor";
 *
 * assert.deepEqual(
 *   addressFromDeno({ transport: "tcp", hostname: "127.0.0.1", port: 80 }),
 *   { type: "TCP", host: "127.0.0.1", port: 80 },
 * );
 * assert.deepEqual(
 *   addressFromDeno({ transport: "unix", path: "/tmp/s" }),
 *   { type: "UNIX", name: "/tmp/s" },
 * );
 * ```
 */
export function addressFromDeno(addr: Deno.Addr): IAddress {
  switch (addr.transport) {
    case "tcp":
      return { type: "TCP", host: addr.hostname, port: addr.port };
    case "unix":
      return { type: "UNIX", name: addr.path ?? "" };
    default:
      throw new TypeError(
        `Cannot describe a ${addr.transport} address as an IAddress: only tcp and unix are stream addresses`,
      );
  }
}

/** An error's message, or the value as a string. */
export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** A protocol's or producer's `logPrefix()`, or its class name. */
export function nameOf(object: unknown): string {
  const logPrefix = (object as { logPrefix?: () => string })?.logPrefix;
  if (typeof logPrefix === "function") {
    try {
      return String(logPrefix.call(object));
    } catch {
      // fall through to the class name
    }
  }
  return (object as object)?.constructor?.name ?? String(object);
}

/**
 * Replaces a transport's `Deno.Conn` with another built on it; see
 * {@linkcode StreamTransport.replaceConn}.
 */
export type ConnUpgrade = (conn: Deno.Conn) => Promise<Deno.Conn>;

/**
 * How {@linkcode StreamTransport.startTLS} upgrades a connection; installed
 * by the TLS module with {@linkcode StreamTransport.setStartTLS}.
 */
export type StartTLSHandler = (
  transport: StreamTransport,
  options: StartTLSOptions,
) => void;
