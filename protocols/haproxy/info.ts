/**
 * What a PROXY protocol header says ({@linkcode ProxyInfo}) and the errors
 * of a header that cannot be used ({@linkcode InvalidProxyHeader} and its
 * two narrower kinds).
 *
 * @module
 */

import type { IAddress } from "../../reactor/interfaces.ts";

/**
 * One type-length-value field of a version 2 header, after the addresses
 * (for example `0x01` ALPN, `0x02` authority, `0x20` SSL, `0x04` NOOP).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { ProxyTLV } from "@twisted-deno/core/protocols";
 *
 * const alpn: ProxyTLV = { type: 0x01, value: new TextEncoder().encode("h2") };
 * assert.equal(new TextDecoder().decode(alpn.value), "h2");
 * ```
 */
export interface ProxyTLV {
  /** The field's type byte. */
  type: number;
  /** The field's value (a view into the header). */
  value: Uint8Array;
}

/**
 * A parsed PROXY header: the bytes it was parsed from and the addresses it
 * carries. `source` and `destination` are null when the header gives none
 * (v1 `UNKNOWN`, v2 `LOCAL` or an unspecified family): the real
 * connection's addresses apply then.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { V1Parser } from "@twisted-deno/core/protocols";
 *
 * const info = V1Parser.parse(new TextEncoder().encode("PROXY UNKNOWN"));
 * assert.equal(info.source, null);
 * assert.equal(info.destination, null);
 * assert.deepEqual(info.tlvs, []);
 * ```
 */
export class ProxyInfo {
  /**
   * Makes the record.
   *
   * @param header The header's bytes (v1: the line without CRLF).
   * @param source The original client's address, or null.
   * @param destination The address the client connected to, or null.
   * @param tlvs The v2 type-length-value fields (none for v1).
   */
  constructor(
    readonly header: Uint8Array,
    readonly source: IAddress | null,
    readonly destination: IAddress | null,
    readonly tlvs: readonly ProxyTLV[] = [],
  ) {}
}

/**
 * The bytes at the start of a connection are not a valid PROXY header.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { InvalidProxyHeader } from "@twisted-deno/core/protocols";
 *
 * const e = new InvalidProxyHeader("no PROXY signature");
 * assert.equal(e.name, "InvalidProxyHeader");
 * assert.equal(e.message, "Cannot parse the PROXY header: no PROXY signature");
 * ```
 */
export class InvalidProxyHeader extends Error {
  /** The error's name: `"InvalidProxyHeader"`. */
  override readonly name: string = "InvalidProxyHeader";
  /**
   * Makes the error.
   * @param reason What is wrong with the header.
   */
  constructor(reason: string) {
    super(`Cannot parse the PROXY header: ${reason}`);
  }
}

/**
 * The header names a network protocol or address family that is not
 * allowed (v1: not `TCP4`, `TCP6` or `UNKNOWN`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { InvalidNetworkProtocol, InvalidProxyHeader } from "@twisted-deno/core/protocols";
 *
 * const e = new InvalidNetworkProtocol('protocol "UDP4" is not TCP4, TCP6 or UNKNOWN');
 * assert.ok(e instanceof InvalidProxyHeader);
 * assert.equal(e.name, "InvalidNetworkProtocol");
 * ```
 */
export class InvalidNetworkProtocol extends InvalidProxyHeader {
  /** The error's name: `"InvalidNetworkProtocol"`. */
  override readonly name: string = "InvalidNetworkProtocol";
}

/**
 * The header's addresses or ports are missing, short or malformed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { InvalidProxyHeader, MissingAddressData } from "@twisted-deno/core/protocols";
 *
 * const e = new MissingAddressData("4 of 6 fields");
 * assert.ok(e instanceof InvalidProxyHeader);
 * assert.equal(e.name, "MissingAddressData");
 * ```
 */
export class MissingAddressData extends InvalidProxyHeader {
  /** The error's name: `"MissingAddressData"`. */
  override readonly name: string = "MissingAddressData";
}
