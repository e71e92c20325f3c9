/**
 * The errors of UDP transports ({@linkcode UDPPort} in `udp.ts`): a
 * datagram too long to send, an address that is not an IP address of the
 * port's family, a multicast membership change that failed, UDP itself
 * missing because Deno runs without `--unstable-net`.
 *
 * @module
 */

/**
 * A datagram was too long to send (longer than a UDP payload can be).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MessageLengthError } from "@twisted-deno/core/reactor";
 *
 * const e = new MessageLengthError(70000, 65507);
 * assert.equal(e.message, "Cannot send a datagram of 70000 bytes: the limit is 65507");
 * ```
 */
export class MessageLengthError extends Error {
  /** Always `"MessageLengthError"`. */
  override readonly name = "MessageLengthError";
  /**
   * Describes a datagram of `length` bytes over the `limit`.
   *
   * @param length The datagram's length.
   * @param limit The largest length allowed.
   */
  constructor(
    readonly length: number,
    readonly limit: number,
    options?: ErrorOptions,
  ) {
    super(
      `Cannot send a datagram of ${length} bytes: the limit is ${limit}`,
      options,
    );
  }
}

/**
 * An address given to a UDP transport was not a numeric IP address of the
 * port's family (UDP transports take no host names, as in Twisted).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { InvalidAddressError } from "@twisted-deno/core/reactor";
 *
 * const e = new InvalidAddressError("example.com", "not an IPv4 or IPv6 address");
 * assert.equal(e.message, "Invalid address example.com: not an IPv4 or IPv6 address");
 * ```
 */
export class InvalidAddressError extends Error {
  /** Always `"InvalidAddressError"`. */
  override readonly name = "InvalidAddressError";
  /**
   * Describes the refused `address` and why.
   *
   * @param address The address given.
   * @param reason Why it was refused.
   */
  constructor(
    readonly address: string,
    reason: string,
    options?: ErrorOptions,
  ) {
    super(`Invalid address ${address}: ${reason}`, options);
  }
}

/**
 * Joining or leaving a multicast group failed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MulticastJoinError } from "@twisted-deno/core/reactor";
 *
 * const e = new MulticastJoinError("224.0.0.251", "not a member");
 * assert.equal(e.message, "Cannot change membership of multicast group 224.0.0.251: not a member");
 * ```
 */
export class MulticastJoinError extends Error {
  /** Always `"MulticastJoinError"`. */
  override readonly name = "MulticastJoinError";
  /**
   * Describes the failed change of membership of `group`.
   *
   * @param group The group address.
   * @param reason Why it failed.
   */
  constructor(
    readonly group: string,
    reason: string,
    options?: ErrorOptions,
  ) {
    super(
      `Cannot change membership of multicast group ${group}: ${reason}`,
      options,
    );
  }
}

/**
 * UDP is not available: Deno runs without `--unstable-net`, so
 * `Deno.listenDatagram` does not exist. Run with `--unstable-net`, or add
 * `"unstable": ["net"]` to the deno.json that applies to your script.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { UDPUnavailableError } from "@twisted-deno/core/reactor/net";
 *
 * const e = new UDPUnavailableError();
 * assert.equal(e.name, "UDPUnavailableError");
 * assert.match(e.message, /--unstable-net/);
 * assert.match(e.message, /"unstable": \["net"\]/);
 * ```
 */
export class UDPUnavailableError extends Error {
  /** Always `"UDPUnavailableError"`. */
  override readonly name = "UDPUnavailableError";
  /** Describes what is missing and how to get it. */
  constructor(options?: ErrorOptions) {
    super(
      'Cannot listen on UDP: Deno.listenDatagram is not available (Deno\'s UDP API is unstable); run deno with --unstable-net, or add "unstable": ["net"] to your deno.json',
      options,
    );
  }
}
