/**
 * {@linkcode NetstringReceiver}: D. J. Bernstein's netstrings, `len:data,`.
 * Import it from `basic.ts` or the package's `./protocols` export.
 *
 * @module
 */

import { Logger } from "../log/mod.ts";
import type { IProtocolFactory } from "../reactor/interfaces.ts";
import type { ByteBuffer } from "./_byte_buffer.ts";
import { Framer, parseFrame } from "./_framer.ts";
import { bytesOf, encodeUtf8, notImplemented } from "./_helpers.ts";
import { transportOf } from "./_transport.ts";
import type { Factory } from "./protocol.ts";

const log = new Logger("protocols.basic");

const COLON = 0x3a;
const COMMA = 0x2c;
const ZERO = 0x30;
const NINE = 0x39;

/**
 * Sends and receives netstrings (<https://cr.yp.to/proto/netstrings.txt>):
 *
 * ```text
 *   "5:hello,"  =  length in decimal | ":" | payload | ","
 *   "0:,"       =  the empty string
 * ```
 *
 * Parsing is strict, and any error drops the connection (setting
 * `brokenPeer`): a length must be digits without leading zeros, with no
 * more digits than `MAX_LENGTH` has (checked as the digits arrive, before
 * any number is parsed), at most `MAX_LENGTH`, and followed by `:`; the
 * payload must be followed by `,`. A payload is buffered only once its
 * length has been accepted.
 *
 * Like every framer here it is a push producer: `pauseProducing()`,
 * `resumeProducing()` and `stopProducing()` hold and release delivery, and
 * `paused` says whether it is held.
 *
 * @typeParam F The factory class that builds it (the type of `factory`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NetstringReceiver } from "@twisted-deno/core/protocols";
 * import { StringTransport } from "@twisted-deno/core/testing";
 *
 * class Collect extends NetstringReceiver {
 *   got: string[] = [];
 *   override stringReceived(data: Uint8Array): void {
 *     this.got.push(new TextDecoder().decode(data));
 *   }
 * }
 * const transport = new StringTransport();
 * const proto = new Collect();
 * proto.makeConnection(transport);
 * proto.dataReceived(new TextEncoder().encode("5:hello,0:,3:a"));
 * proto.dataReceived(new TextEncoder().encode("b,,"));
 * assert.deepEqual(proto.got, ["hello", "", "ab,"]);
 * proto.sendString("hi");
 * assert.equal(new TextDecoder().decode(transport.value()), "2:hi,");
 * proto.dataReceived(new TextEncoder().encode("007:abcdefg,"));
 * assert.equal(transport.disconnecting, true); // leading zeros
 * ```
 */
export class NetstringReceiver<F extends IProtocolFactory = Factory>
  extends Framer<F> {
  /** The longest payload accepted, in bytes (Twisted's default). */
  MAX_LENGTH = 99999;
  /** True once bad input was received: the connection is being dropped. */
  brokenPeer = false;

  /** The payload length being waited for, or -1 while reading a length. */
  #expected = -1;

  /** @internal */
  protected override [parseFrame](buffer: ByteBuffer): boolean {
    if (this.#expected < 0) {
      const length = this.#readLength(buffer);
      if (length < 0) return false;
      this.#expected = length;
    }
    const length = this.#expected;
    if (buffer.length <= length) return false; // payload and comma not all here
    if (buffer.byteAt(length) !== COMMA) {
      this.#broken(
        `expected "," after the ${length}-byte payload, got byte ${
          buffer.byteAt(length)
        }`,
      );
      return false;
    }
    const payload = buffer.slice(0, length);
    buffer.consume(length + 1);
    this.#expected = -1;
    this.stringReceived(payload);
    return true;
  }

  /**
   * Reads `digits ":"` at the front of the buffer and consumes it.
   *
   * @returns The length, or -1 when more bytes are needed or the input is bad.
   */
  #readLength(buffer: ByteBuffer): number {
    const maxDigits = String(this.MAX_LENGTH).length;
    for (let i = 0; i < buffer.length; i++) {
      const byte = buffer.byteAt(i)!;
      if (byte === COLON) {
        if (i === 0) {
          this.#broken('a netstring must start with its length, got ":"');
          return -1;
        }
        let length = 0;
        for (let j = 0; j < i; j++) {
          length = length * 10 + buffer.byteAt(j)! - ZERO;
        }
        if (length > this.MAX_LENGTH) {
          this.#broken(
            `length ${length} is over MAX_LENGTH ${this.MAX_LENGTH}`,
          );
          return -1;
        }
        buffer.consume(i + 1);
        return length;
      }
      if (byte < ZERO || byte > NINE) {
        this.#broken(
          i === 0
            ? `a netstring must start with its length, got byte ${byte}`
            : `expected a digit or ":" after the length, got byte ${byte}`,
        );
        return -1;
      }
      if (i === 1 && buffer.byteAt(0) === ZERO) {
        this.#broken("a length may not have leading zeros");
        return -1;
      }
      if (i >= maxDigits) {
        // More digits than MAX_LENGTH has: too big, whatever they say.
        this.#broken(
          `the length has more than ${maxDigits} digits (MAX_LENGTH is ${this.MAX_LENGTH})`,
        );
        return -1;
      }
    }
    return -1;
  }

  #broken(why: string): void {
    log.debug("Dropping the connection on bad netstring input: {why}", {
      why,
    });
    this.brokenPeer = true;
    this.ignoreInput();
    transportOf(this)?.loseConnection();
  }

  /**
   * Override: one netstring's payload arrived. The array is yours to keep.
   *
   * @throws {Error} Unless overridden.
   */
  stringReceived(_data: Uint8Array): void {
    throw notImplemented(this, "stringReceived");
  }

  /** Writes `data` (a string is UTF-8 encoded) as one netstring. */
  sendString(data: Uint8Array | string): void {
    const payload = bytesOf(data);
    const head = encodeUtf8(`${payload.length}:`);
    const out = new Uint8Array(head.length + payload.length + 1);
    out.set(head);
    out.set(payload, head.length);
    out[out.length - 1] = COMMA;
    this.transport.write(out);
  }
}
