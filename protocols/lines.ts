/**
 * Line framers: {@linkcode LineReceiver} (lines as text, and a raw-data
 * mode), {@linkcode BytesLineReceiver} (the same, lines as bytes) and
 * {@linkcode LineOnlyReceiver} (lines only). Import them from `basic.ts`
 * or the package's `./protocols` export.
 *
 * Lines are found in the framers' shared buffer, which remembers how far
 * it has searched: a line that arrives a byte at a time is scanned once,
 * O(n) overall. Text lines are decoded several at a time when they are
 * ASCII (see `_byte_buffer.ts`).
 *
 * @module
 */

import type { IProtocolFactory, ITransport } from "../reactor/interfaces.ts";
import {
  type ByteBuffer,
  bytesWithSuffix,
  decodeUtf8,
  encodeWithSuffix,
  LineDecoder,
  NEED_MORE,
  TOO_LONG,
} from "./_byte_buffer.ts";
import { Framer, parseFrame } from "./_framer.ts";
import { bytesOf, encodeUtf8, notImplemented } from "./_helpers.ts";
import { transportOf } from "./_transport.ts";
import type { Factory } from "./protocol.ts";

const NOTHING = new Uint8Array(0);

/** Caches the UTF-8 encoding of a protocol's `delimiter` string. */
class DelimiterCache {
  text = "";
  bytes: Uint8Array = NOTHING;

  get(owner: object, delimiter: string): Uint8Array {
    if (delimiter !== this.text || this.bytes === NOTHING) {
      if (typeof delimiter !== "string" || delimiter.length === 0) {
        throw new TypeError(
          `Cannot frame lines: ${owner.constructor.name}.delimiter must be a non-empty string, got ${
            JSON.stringify(delimiter)
          }`,
        );
      }
      this.text = delimiter;
      this.bytes = encodeUtf8(delimiter);
    }
    return this.bytes;
  }

  /**
   * Writes `line` then the delimiter in one write; on a transport with
   * `writeText`, a string line is handed over as text (no array per line).
   */
  send(
    owner: object,
    delimiter: string,
    transport: ITransport,
    line: string | Uint8Array,
  ): void {
    const bytes = this.get(owner, delimiter);
    if (typeof line !== "string") {
      transport.write(bytesWithSuffix(line, bytes));
    } else if (transport.writeText !== undefined) {
      transport.writeText(line, this.text);
    } else {
      transport.write(encodeWithSuffix(line, bytes));
    }
  }
}

/**
 * The line hook: takes the line of `length` bytes (followed by
 * `delimiter`) off the front of `buffer` and returns it as the receiver's
 * line type.
 *
 * @internal
 */
const takeLine: unique symbol = Symbol("takeLine");

/**
 * What {@linkcode LineReceiver} and {@linkcode BytesLineReceiver} share:
 * everything but the type of a line.
 *
 * @internal
 */
export abstract class LineFramer<
  F extends IProtocolFactory,
  L extends string | Uint8Array,
> extends Framer<F> {
  /**
   * The line delimiter: `"\r\n"` by default (Twisted's). Set it in a
   * subclass (`override delimiter = "\n";`); any non-empty string, UTF-8
   * encoded. It may change between lines.
   */
  delimiter = "\r\n";
  /** The longest line accepted, in bytes (Twisted's default). */
  MAX_LENGTH = 16384;

  #lineMode = true;
  #delimiter = new DelimiterCache();

  /** Whether lines (true) or raw data (false) are being delivered. */
  get lineMode(): boolean {
    return this.#lineMode;
  }

  /** @internal */
  protected abstract [takeLine](
    buffer: ByteBuffer,
    length: number,
    delimiter: Uint8Array,
  ): L;

  /** @internal */
  protected override [parseFrame](buffer: ByteBuffer): boolean {
    if (!this.#lineMode) {
      this.rawDataReceived(buffer.takeAll());
      return true;
    }
    const delimiter = this.#delimiter.get(this, this.delimiter);
    const end = buffer.findLine(delimiter, this.MAX_LENGTH);
    if (end === NEED_MORE) return false;
    if (end === TOO_LONG) {
      // The hook may switch mode and hand back part of the data with
      // setLineMode(extra): the loop goes on with whatever it queued.
      this.lineLengthExceeded(buffer.takeAll());
      return true;
    }
    // May re-enter, pause, switch mode or disconnect: the loop checks.
    this.lineReceived(this[takeLine](buffer, end, delimiter));
    return true;
  }

  /** Override: one line arrived, without its delimiter. */
  abstract lineReceived(line: L): void;

  /**
   * Override: raw data arrived in raw mode. The array is yours to keep.
   *
   * @throws {Error} Unless overridden.
   */
  rawDataReceived(_data: Uint8Array): void {
    throw notImplemented(this, "rawDataReceived");
  }

  /**
   * A line was too long. `rest` is every byte that was buffered from the
   * start of that line on (it may hold more lines), as in Twisted; the
   * buffer is now empty. By default, drops the connection.
   */
  lineLengthExceeded(_rest: Uint8Array): void {
    transportOf(this)?.loseConnection();
  }

  /**
   * Switches to line mode. From `rawDataReceived`, pass the bytes you did
   * not use as `extra`: they are parsed for lines before anything received
   * later. (Passing `extra` from `lineReceived` appends it after the data
   * still buffered.)
   */
  setLineMode(extra?: Uint8Array | string): void {
    this.#lineMode = true;
    if (extra !== undefined && extra.length > 0) {
      this.dataReceived(bytesOf(extra));
    }
  }

  /** Switches to raw mode: what is buffered and what arrives next goes to `rawDataReceived`. */
  setRawMode(): void {
    this.#lineMode = false;
  }

  /**
   * Writes `line` (a string is UTF-8 encoded) followed by `delimiter`, in
   * one write. On a transport with `writeText` (the stream transports), a
   * string line is handed over as text, to be encoded with the lines
   * around it.
   */
  sendLine(line: string | Uint8Array): void {
    this.#delimiter.send(this, this.delimiter, this.transport, line);
  }
}

/**
 * Receives lines as UTF-8 text or, after `setRawMode()`, raw data, as
 * Twisted's `LineReceiver` does (its lines are bytes: for those, use
 * {@linkcode BytesLineReceiver}).
 *
 * - In line mode each line, decoded as UTF-8 (invalid bytes become U+FFFD)
 *   without its `delimiter`, goes to `lineReceived`; in raw mode every
 *   buffered byte goes to `rawDataReceived`. The mode may change from inside
 *   either callback, any number of times per chunk, without recursion:
 *   `setLineMode(extra)` called from `rawDataReceived` queues `extra` for
 *   the running loop.
 * - `delimiter` is `"\r\n"` by default; set it in a subclass for other
 *   line ends (`override delimiter = "\n";`).
 * - Two limits, both Twisted's: a complete line longer than `MAX_LENGTH`
 *   bytes, or `MAX_LENGTH + delimiter length` bytes with no delimiter, calls
 *   `lineLengthExceeded` with the whole rest of the buffer (which is then
 *   empty). By default that drops the connection.
 * - Delivery stops once the transport is disconnecting, and while the
 *   protocol is paused: `pauseProducing()`, `resumeProducing()` (which
 *   delivers what is buffered) and `stopProducing()` make it a push
 *   producer, and `paused` says whether it is one right now.
 *
 * Its other members: `lineMode`, `setLineMode(extra?)`, `setRawMode()`,
 * `rawDataReceived(data)`, `lineLengthExceeded(rest)`, `sendLine(line)`,
 * `MAX_LENGTH`, as described above.
 *
 * @typeParam F The factory class that builds it (the type of `factory`).
 *
 * @example Uppercase echo, driven without a socket
 * ```ts
 * import assert from "node:assert/strict";
 * import { LineReceiver } from "@twisted-deno/core/protocols";
 * import { StringTransport } from "@twisted-deno/core/testing";
 *
 * class Shout extends LineReceiver {
 *   override lineReceived(line: string): void {
 *     this.sendLine(line.toUpperCase());
 *   }
 * }
 * const transport = new StringTransport();
 * const proto = new Shout();
 * proto.makeConnection(transport);
 * proto.dataReceived(new TextEncoder().encode("hi\r\nthe"));
 * assert.equal(new TextDecoder().decode(transport.value()), "HI\r\n");
 * proto.dataReceived(new TextEncoder().encode("re\r\n"));
 * assert.equal(new TextDecoder().decode(transport.value()), "HI\r\nTHERE\r\n");
 * ```
 *
 * @example Lines ended by a bare "\n", as `nc` sends them
 * ```ts
 * import assert from "node:assert/strict";
 * import { LineReceiver } from "@twisted-deno/core/protocols";
 * import { StringTransport } from "@twisted-deno/core/testing";
 *
 * class Commands extends LineReceiver {
 *   override delimiter = "\n";
 *   seen: string[] = [];
 *   override lineReceived(line: string): void {
 *     this.seen.push(line);
 *   }
 * }
 * const proto = new Commands();
 * proto.makeConnection(new StringTransport());
 * proto.dataReceived(new TextEncoder().encode("HELO\nQUIT\n"));
 * assert.deepEqual(proto.seen, ["HELO", "QUIT"]);
 * ```
 *
 * @example A header line, then a counted raw body
 * ```ts
 * import assert from "node:assert/strict";
 * import { LineReceiver } from "@twisted-deno/core/protocols";
 * import { StringTransport } from "@twisted-deno/core/testing";
 *
 * class Upload extends LineReceiver {
 *   remaining = 0;
 *   body: number[] = [];
 *   override lineReceived(line: string): void {
 *     this.remaining = Number(line);
 *     this.setRawMode();
 *   }
 *   override rawDataReceived(data: Uint8Array): void {
 *     const mine = data.subarray(0, this.remaining);
 *     this.body.push(...mine);
 *     this.remaining -= mine.length;
 *     if (this.remaining === 0) this.setLineMode(data.subarray(mine.length));
 *   }
 * }
 * const proto = new Upload();
 * proto.makeConnection(new StringTransport());
 * proto.dataReceived(new TextEncoder().encode("3\r\nabc2\r\nde"));
 * assert.equal(new TextDecoder().decode(new Uint8Array(proto.body)), "abcde");
 * ```
 */
export class LineReceiver<F extends IProtocolFactory = Factory>
  extends LineFramer<F, string> {
  #lines = new LineDecoder();

  /** @internal */
  protected override [takeLine](
    buffer: ByteBuffer,
    length: number,
    delimiter: Uint8Array,
  ): string {
    const line = this.#lines.decode(buffer, length, delimiter);
    buffer.consume(length + delimiter.length);
    // Nothing left to decode: let the decoded text go.
    if (buffer.length === 0) this.#lines.clear();
    return line;
  }

  /**
   * Override: one line arrived, UTF-8 decoded, without its delimiter.
   *
   * @throws {Error} Unless overridden.
   */
  lineReceived(_line: string): void {
    throw notImplemented(this, "lineReceived");
  }

  /** Switches to raw mode: what is buffered and what arrives next goes to `rawDataReceived`. */
  override setRawMode(): void {
    super.setRawMode();
    this.#lines.clear();
  }

  /**
   * Empties the buffer.
   *
   * @returns What was buffered, decoded as UTF-8.
   */
  clearLineBuffer(): string {
    this.#lines.clear();
    return decodeUtf8(this.takeBuffered());
  }
}

/**
 * {@linkcode LineReceiver} with lines as bytes, as Twisted delivers them:
 * `lineReceived(line: Uint8Array)` gets each line's exact bytes (no
 * decoding, so invalid UTF-8 and binary data arrive intact), and
 * `clearLineBuffer()` returns bytes. Everything else is the same: raw
 * mode, `delimiter`, the `MAX_LENGTH` limits, pausing.
 *
 * @typeParam F The factory class that builds it (the type of `factory`).
 *
 * @example Lines that are not UTF-8
 * ```ts
 * import assert from "node:assert/strict";
 * import { BytesLineReceiver } from "@twisted-deno/core/protocols";
 * import { StringTransport } from "@twisted-deno/core/testing";
 *
 * class Collect extends BytesLineReceiver {
 *   lines: Uint8Array[] = [];
 *   override lineReceived(line: Uint8Array): void {
 *     this.lines.push(line);
 *     this.sendLine(line.toReversed());
 *   }
 * }
 * const transport = new StringTransport();
 * const proto = new Collect();
 * proto.makeConnection(transport);
 * proto.dataReceived(new Uint8Array([0xff, 0xfe, 0x00, 13, 10, 0xc3, 13, 10]));
 * assert.deepEqual(proto.lines, [new Uint8Array([0xff, 0xfe, 0x00]), new Uint8Array([0xc3])]);
 * assert.deepEqual([...transport.value()], [0x00, 0xfe, 0xff, 13, 10, 0xc3, 13, 10]);
 * ```
 */
export class BytesLineReceiver<F extends IProtocolFactory = Factory>
  extends LineFramer<F, Uint8Array> {
  /** @internal */
  protected override [takeLine](
    buffer: ByteBuffer,
    length: number,
    delimiter: Uint8Array,
  ): Uint8Array {
    const line = buffer.slice(0, length);
    buffer.consume(length + delimiter.length);
    return line;
  }

  /**
   * Override: one line arrived, its bytes without the delimiter. The array
   * is yours to keep.
   *
   * @throws {Error} Unless overridden.
   */
  lineReceived(_line: Uint8Array): void {
    throw notImplemented(this, "lineReceived");
  }

  /**
   * Empties the buffer.
   *
   * @returns What was buffered.
   */
  clearLineBuffer(): Uint8Array {
    return this.takeBuffered();
  }
}

/**
 * Receives lines only: {@linkcode LineReceiver} without raw mode, for
 * protocols that never need it (it still pauses, as every framer here
 * does). Same `delimiter` and `MAX_LENGTH` limits; delivery stops once the
 * transport is disconnecting, so lines that follow a closing command in
 * the same chunk are ignored.
 *
 * An overlong line calls `lineLengthExceeded(line, rest)`: `line` is the
 * line without its delimiter, as Twisted's `LineOnlyReceiver` passes it
 * (or, when no delimiter came within `MAX_LENGTH + delimiter length`
 * bytes, all of them), and `rest` is what was buffered after its
 * delimiter. The buffer is then empty; by default the connection drops.
 *
 * @typeParam F The factory class that builds it (the type of `factory`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LineOnlyReceiver } from "@twisted-deno/core/protocols";
 * import { StringTransport } from "@twisted-deno/core/testing";
 *
 * class Commands extends LineOnlyReceiver {
 *   seen: string[] = [];
 *   override lineReceived(line: string): void {
 *     this.seen.push(line);
 *     if (line === "QUIT") this.transport.loseConnection();
 *   }
 * }
 * const proto = new Commands();
 * proto.makeConnection(new StringTransport());
 * proto.dataReceived(new TextEncoder().encode("HELO\r\nQUIT\r\nNOOP\r\n"));
 * assert.deepEqual(proto.seen, ["HELO", "QUIT"]);
 * ```
 *
 * @example An overlong line, and what came after it
 * ```ts
 * import assert from "node:assert/strict";
 * import { LineOnlyReceiver } from "@twisted-deno/core/protocols";
 * import { StringTransport } from "@twisted-deno/core/testing";
 *
 * class Short extends LineOnlyReceiver {
 *   override MAX_LENGTH = 4;
 *   seen: string[] = [];
 *   override lineReceived(line: string): void {
 *     this.seen.push(line);
 *   }
 *   override lineLengthExceeded(line: Uint8Array, rest: Uint8Array): void {
 *     this.seen.push(`too long: ${new TextDecoder().decode(line)}`);
 *     this.dataReceived(rest); // carry on after it
 *   }
 * }
 * const proto = new Short();
 * proto.makeConnection(new StringTransport());
 * proto.dataReceived(new TextEncoder().encode("ok\r\ntoo-long\r\nok2\r\n"));
 * assert.deepEqual(proto.seen, ["ok", "too long: too-long", "ok2"]);
 * ```
 */
export class LineOnlyReceiver<F extends IProtocolFactory = Factory>
  extends Framer<F> {
  /** The line delimiter (`"\r\n"` by default); see {@linkcode LineReceiver}. */
  delimiter = "\r\n";
  /** The longest line accepted, in bytes. */
  MAX_LENGTH = 16384;

  #lines = new LineDecoder();
  #delimiter = new DelimiterCache();

  /** @internal */
  protected override [parseFrame](buffer: ByteBuffer): boolean {
    const delimiter = this.#delimiter.get(this, this.delimiter);
    const end = buffer.findLine(delimiter, this.MAX_LENGTH);
    if (end === NEED_MORE) return false;
    if (end === TOO_LONG) {
      // Is it a complete line? (No limit: finds its end, or NEED_MORE.)
      const length = buffer.findLine(delimiter, Infinity);
      const all = buffer.takeAll();
      this.#lines.clear();
      if (length === NEED_MORE) this.lineLengthExceeded(all, NOTHING);
      else {
        this.lineLengthExceeded(
          all.subarray(0, length),
          all.subarray(length + delimiter.length),
        );
      }
      return true;
    }
    const line = this.#lines.decode(buffer, end, delimiter);
    buffer.consume(end + delimiter.length);
    if (buffer.length === 0) this.#lines.clear();
    this.lineReceived(line);
    return true;
  }

  /**
   * Override: one line arrived, UTF-8 decoded, without its delimiter.
   *
   * @throws {Error} Unless overridden.
   */
  lineReceived(_line: string): void {
    throw notImplemented(this, "lineReceived");
  }

  /**
   * A line was too long: `line` is its bytes (without the delimiter), `rest`
   * what was buffered after it; both are yours to keep, and the buffer is
   * empty. By default, drops the connection.
   */
  lineLengthExceeded(_line: Uint8Array, _rest: Uint8Array): void {
    transportOf(this)?.loseConnection();
  }

  /** Writes `line` followed by `delimiter`, in one write. */
  sendLine(line: string | Uint8Array): void {
    this.#delimiter.send(this, this.delimiter, this.transport, line);
  }
}
