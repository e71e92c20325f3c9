/**
 * Version 1 of the PROXY protocol: one human-readable line before the
 * connection's own bytes.
 *
 * ```text
 * PROXY TCP4 203.0.113.7 192.0.2.1 56324 443\r\n
 * PROXY TCP6 2001:db8::7 2001:db8::1 56324 443\r\n
 * PROXY UNKNOWN\r\n                 (addresses unknown: use the real ones)
 * ```
 *
 * Fields are separated by single spaces; the whole line, CRLF included, is
 * at most 107 bytes, so a receiver never buffers more than that.
 *
 * @module
 */

import type { IAddress } from "../../reactor/interfaces.ts";
import { canonicalIPv6, isIPv4 } from "./_address.ts";
import {
  InvalidNetworkProtocol,
  InvalidProxyHeader,
  MissingAddressData,
  ProxyInfo,
} from "./info.ts";

/** The longest v1 header line, CRLF included. */
const MAX_LINE = 107;
const CR = 0x0d;
const LF = 0x0a;
const latin1 = new TextDecoder("latin1");

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function port(text: string, line: string): number {
  if (!/^(0|[1-9]\d{0,4})$/.test(text) || Number(text) > 65535) {
    throw new MissingAddressData(
      `port ${JSON.stringify(text)} is not a number 0-65535 in ${line}`,
    );
  }
  return Number(text);
}

function host(text: string, family: "TCP4" | "TCP6", line: string): string {
  const canonical = family === "TCP4"
    ? (isIPv4(text) ? text : null)
    : canonicalIPv6(text);
  if (canonical === null) {
    throw new MissingAddressData(
      `${JSON.stringify(text)} is not an ${
        family === "TCP4" ? "IPv4" : "IPv6"
      } address in ${line}`,
    );
  }
  return canonical;
}

/**
 * Reads a version 1 header from the start of a stream, fed in chunks of
 * any size. `feed` returns null until the CRLF has arrived, then the
 * parsed header and the bytes after it; it throws
 * {@linkcode InvalidProxyHeader} (or a narrower kind) for a bad line, and
 * for a line not ended within 107 bytes.
 *
 * @example Fed one byte at a time
 * ```ts
 * import assert from "node:assert/strict";
 * import { V1Parser } from "@twisted-deno/core/protocols";
 *
 * const parser = new V1Parser();
 * const bytes = new TextEncoder().encode("PROXY TCP4 203.0.113.7 192.0.2.1 56324 443\r\nGET");
 * let result = null;
 * for (let i = 0; result === null; i++) result = parser.feed(bytes.subarray(i, i + 1));
 * assert.deepEqual(result.info.source, { type: "TCP", host: "203.0.113.7", port: 56324 });
 * assert.deepEqual(result.info.destination, { type: "TCP", host: "192.0.2.1", port: 443 });
 * assert.equal(result.rest.length, 0); // "GET" was not fed yet
 * ```
 */
export class V1Parser {
  /** What every v1 header starts with. */
  static readonly SIGNATURE: Uint8Array = new TextEncoder().encode("PROXY ");
  #buffer: Uint8Array = new Uint8Array(0);

  /**
   * Takes the next bytes of the stream.
   *
   * @param data The bytes.
   * @returns Null while the line is incomplete; then the header and the
   *   bytes that followed it.
   * @throws {InvalidProxyHeader} For a bad or overlong line.
   */
  feed(data: Uint8Array): { info: ProxyInfo; rest: Uint8Array } | null {
    const start = this.#buffer.length;
    const all = start === 0 ? data : concat(this.#buffer, data);
    // Refuse a stream that is not a PROXY line at its first wrong byte.
    const signature = V1Parser.SIGNATURE;
    for (let i = start; i < Math.min(all.length, signature.length); i++) {
      if (all[i] !== signature[i]) {
        throw new InvalidProxyHeader(
          `${
            JSON.stringify(latin1.decode(all.subarray(0, i + 1)))
          } is not the start of "PROXY "`,
        );
      }
    }
    // The CR may have ended the previous chunk: look one byte back.
    const from = Math.max(0, start - 1);
    const end = Math.min(all.length, MAX_LINE);
    for (let i = from; i < end - 1; i++) {
      if (all[i] === CR && all[i + 1] === LF) {
        this.#buffer = new Uint8Array(0);
        const info = V1Parser.parse(all.subarray(0, i));
        return { info, rest: all.subarray(i + 2) };
      }
    }
    if (all.length >= MAX_LINE) {
      throw new InvalidProxyHeader(
        `no CRLF within ${MAX_LINE} bytes of ${
          JSON.stringify(latin1.decode(all.subarray(0, 40)))
        }...`,
      );
    }
    this.#buffer = start === 0 ? data.slice() : all;
    return null;
  }

  /**
   * Parses one header line (without its CRLF).
   *
   * @param line The line's bytes.
   * @returns The header's addresses.
   * @throws {InvalidProxyHeader} When it is not a PROXY line.
   * @throws {InvalidNetworkProtocol} When the protocol is not `TCP4`,
   *   `TCP6` or `UNKNOWN`.
   * @throws {MissingAddressData} When addresses or ports are missing or
   *   malformed.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { InvalidNetworkProtocol, V1Parser } from "@twisted-deno/core/protocols";
   *
   * const line = (s: string) => new TextEncoder().encode(s);
   * const info = V1Parser.parse(line("PROXY TCP6 2001:db8:0::7 ::1 1 2"));
   * assert.deepEqual(info.source, { type: "TCP", host: "2001:db8::7", port: 1 });
   * assert.throws(() => V1Parser.parse(line("PROXY UDP4 1.2.3.4 1.2.3.4 1 2")), InvalidNetworkProtocol);
   * ```
   */
  static parse(line: Uint8Array): ProxyInfo {
    const text = latin1.decode(line);
    const quoted = JSON.stringify(text);
    if (!/^[\x20-\x7e]*$/.test(text)) {
      throw new InvalidProxyHeader(
        `the line ${quoted} has bytes that are not printable ASCII`,
      );
    }
    const fields = text.split(" ");
    if (fields[0] !== "PROXY") {
      throw new InvalidProxyHeader(
        `the line ${quoted} does not start with "PROXY "`,
      );
    }
    const protocol = fields[1];
    if (protocol === "UNKNOWN") return new ProxyInfo(line, null, null);
    if (protocol !== "TCP4" && protocol !== "TCP6") {
      throw new InvalidNetworkProtocol(
        `protocol ${
          JSON.stringify(protocol ?? "")
        } is not TCP4, TCP6 or UNKNOWN in ${quoted}`,
      );
    }
    if (fields.length !== 6) {
      throw new MissingAddressData(
        `${fields.length} fields, not 6 (PROXY, protocol, 2 addresses, 2 ports) in ${quoted}`,
      );
    }
    const source: IAddress = {
      type: "TCP",
      host: host(fields[2], protocol, quoted),
      port: port(fields[4], quoted),
    };
    const destination: IAddress = {
      type: "TCP",
      host: host(fields[3], protocol, quoted),
      port: port(fields[5], quoted),
    };
    return new ProxyInfo(line, source, destination);
  }
}
