/**
 * Version 2 of the PROXY protocol: a binary header before the connection's
 * own bytes.
 *
 * ```text
 * offset  size  field
 * 0       12    signature \r\n\r\n\0\r\nQUIT\n
 * 12      1     version (high nibble, 2) | command (0 LOCAL, 1 PROXY)
 * 13      1     family (0 UNSPEC, 1 INET, 2 INET6, 3 UNIX) << 4
 *                 | transport (0 UNSPEC, 1 STREAM, 2 DGRAM)
 * 14      2     length of what follows, big-endian
 * 16      ...   addresses: INET 4+4+2+2, INET6 16+16+2+2, UNIX 108+108
 *         ...   then type-length-value fields: type 1, length 2, value
 * ```
 *
 * A `LOCAL` header (a health check from the proxy itself) and an `UNSPEC`
 * family or transport carry no usable addresses: the real connection's
 * apply. Any other family, transport, command or version is refused.
 *
 * @module
 */

import type { IAddress } from "../../reactor/interfaces.ts";
import { canonicalIPv6 } from "./_address.ts";
import {
  InvalidNetworkProtocol,
  InvalidProxyHeader,
  MissingAddressData,
  ProxyInfo,
  type ProxyTLV,
} from "./info.ts";

const SIGNATURE = new Uint8Array([
  0x0d,
  0x0a,
  0x0d,
  0x0a,
  0x00,
  0x0d,
  0x0a,
  0x51,
  0x55,
  0x49,
  0x54,
  0x0a,
]);
/** Bytes of the fixed part: signature, version/command, family, length. */
const FIXED = 16;
/** Size of the address block, by family. */
const ADDRESS_SIZE: Record<number, number> = { 1: 12, 2: 36, 3: 216 };
const utf8 = new TextDecoder();

function hex(byte: number): string {
  return byte.toString(16).padStart(2, "0");
}

function ipv4(bytes: Uint8Array): string {
  return Array.from(bytes).join(".");
}

function ipv6(bytes: Uint8Array): string {
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) {
    groups.push(((bytes[i] << 8) | bytes[i + 1]).toString(16));
  }
  return canonicalIPv6(groups.join(":"))!;
}

function unixName(bytes: Uint8Array): string {
  const nul = bytes.indexOf(0);
  return utf8.decode(nul === -1 ? bytes : bytes.subarray(0, nul));
}

/**
 * Reads a version 2 header from the start of a stream, fed in chunks of
 * any size. `feed` returns null until the whole header (its length is in
 * bytes 14-15) has arrived, then the parsed header and the bytes after
 * it; a wrong signature throws as soon as the first wrong byte arrives.
 *
 * @example A TCP over IPv4 header, then the client's data
 * ```ts
 * import assert from "node:assert/strict";
 * import { V2Parser } from "@twisted-deno/core/protocols";
 *
 * const header = [...V2Parser.SIGNATURE, 0x21, 0x11, 0, 12,
 *   203, 0, 113, 7, 192, 0, 2, 1, 0xdc, 0x04, 0x01, 0xbb];
 * const result = new V2Parser().feed(new Uint8Array([...header, 0x68, 0x69]))!;
 * assert.deepEqual(result.info.source, { type: "TCP", host: "203.0.113.7", port: 56324 });
 * assert.deepEqual(result.info.destination, { type: "TCP", host: "192.0.2.1", port: 443 });
 * assert.deepEqual([...result.rest], [0x68, 0x69]);
 * ```
 */
export class V2Parser {
  /** The 12 bytes every v2 header starts with. */
  static readonly SIGNATURE: Uint8Array = SIGNATURE;
  /** The fixed part until its length is known; then the whole header. */
  #buffer = new Uint8Array(FIXED);
  #have = 0;

  /**
   * Takes the next bytes of the stream.
   *
   * @param data The bytes.
   * @returns Null while the header is incomplete; then the header and the
   *   bytes that followed it.
   * @throws {InvalidProxyHeader} For a bad header.
   */
  feed(data: Uint8Array): { info: ProxyInfo; rest: Uint8Array } | null {
    let offset = 0;
    if (this.#have < FIXED) {
      const take = Math.min(FIXED - this.#have, data.length);
      for (let i = 0; i < take; i++) {
        const at = this.#have + i;
        if (at < SIGNATURE.length && data[i] !== SIGNATURE[at]) {
          throw new InvalidProxyHeader(
            `byte ${at} is 0x${hex(data[i])}, not 0x${
              hex(SIGNATURE[at])
            } of the v2 signature`,
          );
        }
      }
      this.#buffer.set(data.subarray(0, take), this.#have);
      this.#have += take;
      offset = take;
      if (this.#have < FIXED) return null;
      const length = (this.#buffer[14] << 8) | this.#buffer[15];
      const whole = new Uint8Array(FIXED + length);
      whole.set(this.#buffer);
      this.#buffer = whole;
    }
    const take = Math.min(
      this.#buffer.length - this.#have,
      data.length - offset,
    );
    this.#buffer.set(data.subarray(offset, offset + take), this.#have);
    this.#have += take;
    if (this.#have < this.#buffer.length) return null;
    return {
      info: V2Parser.parse(this.#buffer),
      rest: data.subarray(offset + take),
    };
  }

  /**
   * Parses one whole header.
   *
   * @param header The header's bytes, exactly as long as it says.
   * @returns The header's addresses and TLVs.
   * @throws {InvalidProxyHeader} For a wrong signature, version, command
   *   or length, or TLVs that overrun the header.
   * @throws {InvalidNetworkProtocol} For an unknown family or transport.
   * @throws {MissingAddressData} When the header is too short for its
   *   family's addresses.
   *
   * @example A LOCAL header (a proxy's health check) has no addresses
   * ```ts
   * import assert from "node:assert/strict";
   * import { V2Parser } from "@twisted-deno/core/protocols";
   *
   * const info = V2Parser.parse(new Uint8Array([...V2Parser.SIGNATURE, 0x20, 0x00, 0, 0]));
   * assert.equal(info.source, null);
   * assert.equal(info.destination, null);
   * ```
   */
  static parse(header: Uint8Array): ProxyInfo {
    if (header.length < FIXED) {
      throw new InvalidProxyHeader(
        `${header.length} bytes, shorter than the ${FIXED}-byte fixed part`,
      );
    }
    for (let i = 0; i < SIGNATURE.length; i++) {
      if (header[i] !== SIGNATURE[i]) {
        throw new InvalidProxyHeader(
          `byte ${i} is 0x${hex(header[i])}, not 0x${
            hex(SIGNATURE[i])
          } of the v2 signature`,
        );
      }
    }
    const length = (header[14] << 8) | header[15];
    if (header.length !== FIXED + length) {
      throw new InvalidProxyHeader(
        `${header.length} bytes, but the header says ${FIXED + length}`,
      );
    }
    const version = header[12] >> 4;
    const command = header[12] & 0x0f;
    if (version !== 2) {
      throw new InvalidProxyHeader(`version ${version}, not 2`);
    }
    if (command === 0) return new ProxyInfo(header, null, null); // LOCAL
    if (command !== 1) {
      throw new InvalidProxyHeader(
        `command ${command} is neither 0 (LOCAL) nor 1 (PROXY)`,
      );
    }
    const family = header[13] >> 4;
    const transport = header[13] & 0x0f;
    if (family > 3) {
      throw new InvalidNetworkProtocol(
        `address family ${family} is not 0 (UNSPEC), 1 (INET), 2 (INET6) or 3 (UNIX)`,
      );
    }
    if (transport > 2) {
      throw new InvalidNetworkProtocol(
        `transport ${transport} is not 0 (UNSPEC), 1 (STREAM) or 2 (DGRAM)`,
      );
    }
    if (family === 0 || transport === 0) {
      return new ProxyInfo(header, null, null);
    }
    const size = ADDRESS_SIZE[family];
    if (length < size) {
      throw new MissingAddressData(
        `${length} bytes of addresses, family ${family} needs ${size}`,
      );
    }
    const block = header.subarray(FIXED, FIXED + size);
    const tlvs = V2Parser.#parseTLVs(header.subarray(FIXED + size));
    if (family === 3) {
      return new ProxyInfo(
        header,
        { type: "UNIX", name: unixName(block.subarray(0, 108)) },
        { type: "UNIX", name: unixName(block.subarray(108, 216)) },
        tlvs,
      );
    }
    const type = transport === 2 ? "UDP" : "TCP";
    const n = family === 1 ? 4 : 16;
    const text = family === 1 ? ipv4 : ipv6;
    const ports = new DataView(block.buffer, block.byteOffset + 2 * n, 4);
    const source: IAddress = {
      type,
      host: text(block.subarray(0, n)),
      port: ports.getUint16(0),
    };
    const destination: IAddress = {
      type,
      host: text(block.subarray(n, 2 * n)),
      port: ports.getUint16(2),
    };
    return new ProxyInfo(header, source, destination, tlvs);
  }

  static #parseTLVs(bytes: Uint8Array): ProxyTLV[] {
    const tlvs: ProxyTLV[] = [];
    let at = 0;
    while (at < bytes.length) {
      if (at + 3 > bytes.length) {
        throw new InvalidProxyHeader(
          `a TLV at offset ${at} of ${bytes.length} has no room for its type and length`,
        );
      }
      const length = (bytes[at + 1] << 8) | bytes[at + 2];
      if (at + 3 + length > bytes.length) {
        throw new InvalidProxyHeader(
          `TLV 0x${hex(bytes[at])} of ${length} bytes overruns the header by ${
            at + 3 + length - bytes.length
          }`,
        );
      }
      tlvs.push({
        type: bytes[at],
        value: bytes.subarray(at + 3, at + 3 + length),
      });
      at += 3 + length;
    }
    return tlvs;
  }
}
