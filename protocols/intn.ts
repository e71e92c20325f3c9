/**
 * Length-prefixed framers: {@linkcode IntNStringReceiver} and its 1-, 2-
 * and 4-byte forms {@linkcode Int8StringReceiver},
 * {@linkcode Int16StringReceiver} and {@linkcode Int32StringReceiver}.
 * Import them from `basic.ts` or the package's `./protocols` export.
 *
 * @module
 */

import type { IProtocolFactory } from "../reactor/interfaces.ts";
import type { ByteBuffer } from "./_byte_buffer.ts";
import { Framer, parseFrame } from "./_framer.ts";
import { bytesOf, notImplemented } from "./_helpers.ts";
import { transportOf } from "./_transport.ts";
import type { Factory } from "./protocol.ts";

/**
 * Thrown by `sendString` when a string is too long for the length prefix.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Int8StringReceiver, StringTooLongError } from "@twisted-deno/core/protocols";
 * import { StringTransport } from "@twisted-deno/core/testing";
 *
 * const proto = new Int8StringReceiver();
 * proto.makeConnection(new StringTransport());
 * assert.throws(() => proto.sendString(new Uint8Array(256)), StringTooLongError);
 * ```
 */
export class StringTooLongError extends Error {
  /** Always `"StringTooLongError"`. */
  override readonly name = "StringTooLongError";
  /**
   * Makes the error for a string of `length` bytes.
   *
   * @param length The string's length in bytes.
   * @param maxLength The most the prefix can describe.
   */
  constructor(readonly length: number, readonly maxLength: number) {
    super(
      `Cannot send a string of ${length} bytes: the length prefix holds at most ${maxLength}`,
    );
  }
}

/**
 * The base of length-prefixed framers: each message is a big-endian
 * unsigned length of `prefixLength` bytes, then that many bytes.
 *
 * ```text
 *   Int16: 00 05 68 65 6c 6c 6f   = "hello"
 *          |len| |  payload   |
 * ```
 *
 * A prefix over `MAX_LENGTH` calls `lengthLimitExceeded(length)` as soon as
 * the prefix arrives, before any payload is buffered; by default that drops
 * the connection, and nothing more is parsed from it.
 *
 * @example Subclass with a 3-byte prefix
 * ```ts
 * import assert from "node:assert/strict";
 * import { IntNStringReceiver } from "@twisted-deno/core/protocols";
 * import { StringTransport } from "@twisted-deno/core/testing";
 *
 * class Int24 extends IntNStringReceiver {
 *   readonly prefixLength = 3;
 *   got: number[] = [];
 *   override stringReceived(data: Uint8Array): void {
 *     this.got.push(data.length);
 *   }
 * }
 * const proto = new Int24();
 * proto.makeConnection(new StringTransport());
 * proto.dataReceived(new Uint8Array([0, 0, 2, 9, 9, 0, 0, 0]));
 * assert.deepEqual(proto.got, [2, 0]);
 * ```
 */
export abstract class IntNStringReceiver<
  F extends IProtocolFactory = Factory,
> extends Framer<F> {
  /** How many bytes the length prefix has. */
  abstract readonly prefixLength: number;
  /** The longest message accepted, in bytes (Twisted's default). */
  MAX_LENGTH = 99999;

  /** @internal */
  protected override [parseFrame](buffer: ByteBuffer): boolean {
    const prefix = this.prefixLength;
    if (buffer.length < prefix) return false;
    let length = 0;
    for (let i = 0; i < prefix; i++) {
      length = length * 256 + buffer.byteAt(i)!;
    }
    if (length > this.MAX_LENGTH) {
      // The framing can no longer be trusted: drop what is buffered and
      // ignore what follows.
      this.ignoreInput();
      this.lengthLimitExceeded(length);
      return false;
    }
    if (buffer.length < prefix + length) return false;
    const payload = buffer.slice(prefix, prefix + length);
    buffer.consume(prefix + length);
    this.stringReceived(payload);
    return true;
  }

  /**
   * Override: one message arrived. The array is yours to keep.
   *
   * @throws {Error} Unless overridden.
   */
  stringReceived(_data: Uint8Array): void {
    throw notImplemented(this, "stringReceived");
  }

  /** A prefix announced `length` bytes, over `MAX_LENGTH`. By default, drops the connection. */
  lengthLimitExceeded(_length: number): void {
    transportOf(this)?.loseConnection();
  }

  /**
   * Writes `data` (a string is UTF-8 encoded) with its length prefix, in one write.
   *
   * @throws {StringTooLongError} When the prefix cannot describe its length.
   */
  sendString(data: Uint8Array | string): void {
    const payload = bytesOf(data);
    const prefix = this.prefixLength;
    const max = 2 ** (8 * prefix) - 1;
    if (payload.length > max) throw new StringTooLongError(payload.length, max);
    const out = new Uint8Array(prefix + payload.length);
    let length = payload.length;
    for (let i = prefix - 1; i >= 0; i--) {
      out[i] = length & 0xff;
      length = Math.floor(length / 256);
    }
    out.set(payload, prefix);
    this.transport.write(out);
  }
}

/**
 * Messages with a 1-byte length prefix (at most 255 bytes each).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Int8StringReceiver } from "@twisted-deno/core/protocols";
 * import { StringTransport } from "@twisted-deno/core/testing";
 *
 * const transport = new StringTransport();
 * const proto = new Int8StringReceiver();
 * proto.makeConnection(transport);
 * proto.sendString("foo");
 * assert.deepEqual([...transport.value()], [3, 0x66, 0x6f, 0x6f]);
 * ```
 */
export class Int8StringReceiver<F extends IProtocolFactory = Factory>
  extends IntNStringReceiver<F> {
  /** One byte. */
  readonly prefixLength = 1;
}

/**
 * Messages with a 2-byte big-endian length prefix.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Int16StringReceiver } from "@twisted-deno/core/protocols";
 * import { StringTransport } from "@twisted-deno/core/testing";
 *
 * class Collect extends Int16StringReceiver {
 *   got: string[] = [];
 *   override stringReceived(data: Uint8Array): void {
 *     this.got.push(new TextDecoder().decode(data));
 *   }
 * }
 * const proto = new Collect();
 * proto.makeConnection(new StringTransport());
 * proto.dataReceived(new Uint8Array([0, 4, 0x75, 0x62, 0x61, 0x72]));
 * assert.deepEqual(proto.got, ["ubar"]);
 * ```
 */
export class Int16StringReceiver<F extends IProtocolFactory = Factory>
  extends IntNStringReceiver<F> {
  /** Two bytes. */
  readonly prefixLength = 2;
}

/**
 * Messages with a 4-byte big-endian length prefix.
 *
 * @example An oversize prefix is refused before its payload arrives
 * ```ts
 * import assert from "node:assert/strict";
 * import { Int32StringReceiver } from "@twisted-deno/core/protocols";
 * import { StringTransport } from "@twisted-deno/core/testing";
 *
 * class Limited extends Int32StringReceiver {
 *   override MAX_LENGTH = 10;
 *   refused: number[] = [];
 *   override lengthLimitExceeded(length: number): void {
 *     this.refused.push(length);
 *   }
 * }
 * const proto = new Limited();
 * proto.makeConnection(new StringTransport());
 * proto.dataReceived(new Uint8Array([0, 0, 0, 11]));
 * assert.deepEqual(proto.refused, [11]);
 * ```
 */
export class Int32StringReceiver<F extends IProtocolFactory = Factory>
  extends IntNStringReceiver<F> {
  /** Four bytes. */
  readonly prefixLength = 4;
}
