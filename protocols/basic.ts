/**
 * Framers: protocols that turn a byte stream into messages.
 *
 * - {@linkcode LineReceiver}: lines (UTF-8 strings) with a raw-data mode.
 * - {@linkcode LineOnlyReceiver}: lines only.
 * - {@linkcode NetstringReceiver}: `len:data,` netstrings.
 * - {@linkcode Int8StringReceiver}, {@linkcode Int16StringReceiver},
 *   {@linkcode Int32StringReceiver}: big-endian length prefixes.
 *
 * (Twisted's `basic` module also has `FileSender`: here it has its own
 * file, `file_sender.ts`.)
 *
 * Every receiver keeps its unparsed bytes in one shared kind of buffer with
 * a read offset and a search offset, so no byte is copied per chunk or
 * searched twice: feeding 10 MB a byte at a time, or a 1 MB line in 1 KB
 * chunks, costs O(n). Each receiver stops delivering once its transport is
 * disconnecting, and the re-entrant calls a callback may make
 * (`setLineMode(extra)`, `resumeProducing()`) only queue data for the loop
 * already running, so the stack never grows with the number of messages.
 *
 * @module
 */

import { Logger } from "../log/mod.ts";
import type {
  IProtocolFactory,
  IPushProducer,
  ITransport,
} from "../reactor/interfaces.ts";
import {
  ByteBuffer,
  concatBytes,
  decodeUtf8,
  encodeWithSuffix,
  LineDecoder,
  NEED_MORE,
  TOO_LONG,
} from "./_byte_buffer.ts";
import { transportOf } from "./_transport.ts";
import { type Factory, Protocol } from "./protocol.ts";

const log = new Logger("protocols.basic");
const encoder = new TextEncoder();
const NOTHING = new Uint8Array(0);

function bytesOf(data: Uint8Array | string): Uint8Array {
  return typeof data === "string" ? encoder.encode(data) : data;
}

/** Caches the UTF-8 encoding of a protocol's `delimiter` string. */
class DelimiterCache {
  text: string | null = null;
  bytes: Uint8Array = NOTHING;

  get(owner: object, delimiter: string): Uint8Array {
    if (delimiter !== this.text) {
      if (typeof delimiter !== "string" || delimiter.length === 0) {
        throw new TypeError(
          `Cannot frame lines: ${owner.constructor.name}.delimiter must be a non-empty string, got ${
            JSON.stringify(delimiter)
          }`,
        );
      }
      this.text = delimiter;
      this.bytes = encoder.encode(delimiter);
    }
    return this.bytes;
  }
}

/**
 * A transport that queues text and encodes it in batches (the stream
 * transports' `writeText`; not part of `ITransport`).
 */
interface TextWriter {
  writeText?(text: string, suffix: string): void;
}

/**
 * `line` then the delimiter in one write; on a transport with `writeText`,
 * a string line is handed over as text (no array per line).
 */
function sendWithDelimiter(
  transport: ITransport,
  line: string | Uint8Array,
  delimiter: Uint8Array,
  delimiterText: string,
): void {
  if (typeof line === "string") {
    const writer = transport as ITransport & TextWriter;
    if (writer.writeText !== undefined) {
      writer.writeText(line, delimiterText);
    } else {
      transport.write(encodeWithSuffix(line, delimiter));
    }
  } else {
    transport.write(concatBytes(line, delimiter));
  }
}

function notImplemented(proto: object, method: string): Error {
  return new Error(
    `${proto.constructor.name}.${method} is not implemented: override it in your subclass`,
  );
}

// ------------------------------------------------------------ LineReceiver

/**
 * Receives lines or, after `setRawMode()`, raw data, as Twisted's
 * `LineReceiver` does.
 *
 * - In line mode each line, decoded as UTF-8 (invalid bytes become U+FFFD)
 *   without its `delimiter`, goes to `lineReceived`; in raw mode every
 *   buffered byte goes to `rawDataReceived`. The mode may change from inside
 *   either callback, any number of times per chunk, without recursion:
 *   `setLineMode(extra)` called from `rawDataReceived` queues `extra` for
 *   the running loop.
 * - Two limits, both Twisted's: a complete line longer than `MAX_LENGTH`
 *   bytes, or `MAX_LENGTH + delimiter length` bytes with no delimiter, calls
 *   `lineLengthExceeded` with the whole rest of the buffer (which is then
 *   empty). By default that drops the connection.
 * - Delivery stops once the transport is disconnecting, and while the
 *   protocol is paused (`pauseProducing`); `resumeProducing` delivers what
 *   is buffered.
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
  extends Protocol<F>
  implements IPushProducer {
  /** The line delimiter (Twisted's default). */
  delimiter = "\r\n";
  /** The longest line accepted, in bytes (Twisted's default). */
  MAX_LENGTH = 16384;
  /** True while paused by `pauseProducing()` or stopped: nothing is delivered. */
  paused = false;

  #buffer = new ByteBuffer();
  #lines = new LineDecoder();
  #lineMode = true;
  #busy = false;
  #delimiter = new DelimiterCache();

  /** Whether lines (true) or raw data (false) are being delivered. */
  get lineMode(): boolean {
    return this.#lineMode;
  }

  /**
   * Buffers `data` and delivers every complete line (or raw data) in it.
   * Called from inside a callback of this protocol, it only buffers: the
   * running loop delivers.
   */
  override dataReceived(data: Uint8Array): void {
    this.#buffer.append(data);
    if (this.#busy) return;
    this.#busy = true;
    try {
      this.#deliver();
    } finally {
      this.#busy = false;
      // Nothing left to decode: let the decoded text go.
      if (this.#buffer.length === 0) this.#lines.clear();
    }
  }

  #deliver(): void {
    const buffer = this.#buffer;
    while (
      buffer.length > 0 && !this.paused && !transportOf(this)?.disconnecting
    ) {
      if (!this.#lineMode) {
        this.rawDataReceived(buffer.takeAll());
        continue;
      }
      const delimiter = this.#delimiter.get(this, this.delimiter);
      const end = buffer.findLine(delimiter, this.MAX_LENGTH);
      if (end === NEED_MORE) return;
      if (end === TOO_LONG) {
        // The hook may switch mode and hand back part of the data with
        // setLineMode(extra): the loop goes on with whatever it queued.
        this.lineLengthExceeded(buffer.takeAll());
        continue;
      }
      const line = this.#lines.decode(buffer, end, delimiter);
      buffer.consume(end + delimiter.length);
      this.lineReceived(line); // may re-enter, pause, switch mode or disconnect
    }
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
   * Override: raw data arrived in raw mode. The array is yours to keep.
   *
   * @throws {Error} Unless overridden.
   */
  rawDataReceived(_data: Uint8Array): void {
    throw notImplemented(this, "rawDataReceived");
  }

  /**
   * A line was too long. `rest` is every byte that was buffered from the
   * start of that line on (it may hold more lines); the buffer is now
   * empty. By default, drops the connection.
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
   * Empties the buffer.
   *
   * @returns What was buffered, decoded as UTF-8.
   */
  clearLineBuffer(): string {
    return decodeUtf8(this.#buffer.takeAll());
  }

  /**
   * Writes `line` (a string is UTF-8 encoded) followed by `delimiter`, in
   * one write (on a transport with `writeText`, such as the stream
   * transports, a string line is handed over as text, to be encoded with
   * the lines around it).
   */
  sendLine(line: string | Uint8Array): void {
    const delimiter = this.#delimiter;
    sendWithDelimiter(
      this.transport,
      line,
      delimiter.get(this, this.delimiter),
      delimiter.text!,
    );
  }

  /** Stops delivery, and asks the transport to stop reading. */
  pauseProducing(): void {
    this.paused = true;
    transportOf(this)?.pauseProducing();
  }

  /** Resumes reading and delivers the lines already buffered. */
  resumeProducing(): void {
    this.paused = false;
    transportOf(this)?.resumeProducing();
    this.dataReceived(NOTHING);
  }

  /** Stops delivery for good, and tells the transport to stop. */
  stopProducing(): void {
    this.paused = true;
    transportOf(this)?.stopProducing();
  }
}

/**
 * Receives lines only: {@linkcode LineReceiver} without raw mode or
 * pausing, for protocols that never need them. Same `delimiter`,
 * `MAX_LENGTH` limits and `lineLengthExceeded`; delivery stops once the
 * transport is disconnecting, so lines that follow a closing command in the
 * same chunk are ignored.
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
 */
export class LineOnlyReceiver<F extends IProtocolFactory = Factory>
  extends Protocol<F> {
  /** The line delimiter. */
  delimiter = "\r\n";
  /** The longest line accepted, in bytes. */
  MAX_LENGTH = 16384;

  #buffer = new ByteBuffer();
  #lines = new LineDecoder();
  #busy = false;
  #delimiter = new DelimiterCache();

  /** Buffers `data` and delivers every complete line in it. */
  override dataReceived(data: Uint8Array): void {
    const buffer = this.#buffer;
    buffer.append(data);
    if (this.#busy) return;
    this.#busy = true;
    try {
      while (buffer.length > 0 && !transportOf(this)?.disconnecting) {
        const delimiter = this.#delimiter.get(this, this.delimiter);
        const end = buffer.findLine(delimiter, this.MAX_LENGTH);
        if (end === NEED_MORE) return;
        if (end === TOO_LONG) {
          this.lineLengthExceeded(buffer.takeAll());
          continue;
        }
        const line = this.#lines.decode(buffer, end, delimiter);
        buffer.consume(end + delimiter.length);
        this.lineReceived(line);
      }
    } finally {
      this.#busy = false;
      if (buffer.length === 0) this.#lines.clear();
    }
  }

  /**
   * Override: one line arrived, UTF-8 decoded, without its delimiter.
   *
   * @throws {Error} Unless overridden.
   */
  lineReceived(_line: string): void {
    throw notImplemented(this, "lineReceived");
  }

  /** A line was too long; `rest` is the buffer from it on. By default, drops the connection. */
  lineLengthExceeded(_rest: Uint8Array): void {
    transportOf(this)?.loseConnection();
  }

  /** Writes `line` followed by `delimiter`, in one write. */
  sendLine(line: string | Uint8Array): void {
    const delimiter = this.#delimiter;
    sendWithDelimiter(
      this.transport,
      line,
      delimiter.get(this, this.delimiter),
      delimiter.text!,
    );
  }
}

// ------------------------------------------------------- NetstringReceiver

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
  extends Protocol<F>
  implements IPushProducer {
  /** The longest payload accepted, in bytes (Twisted's default). */
  MAX_LENGTH = 99999;
  /** True once bad input was received: the connection is being dropped. */
  brokenPeer = false;
  /** True while paused: nothing is delivered. */
  paused = false;

  #buffer = new ByteBuffer();
  /** The payload length being waited for, or -1 while reading a length. */
  #expected = -1;
  #busy = false;

  /** Buffers `data` and delivers every complete netstring in it. */
  override dataReceived(data: Uint8Array): void {
    if (this.brokenPeer) return;
    this.#buffer.append(data);
    if (this.#busy) return;
    this.#busy = true;
    try {
      this.#deliver();
    } finally {
      this.#busy = false;
    }
  }

  #deliver(): void {
    const buffer = this.#buffer;
    while (
      !this.paused && !this.brokenPeer && !transportOf(this)?.disconnecting
    ) {
      if (this.#expected < 0) {
        const length = this.#readLength();
        if (length < 0) return;
        this.#expected = length;
      }
      const length = this.#expected;
      if (buffer.length <= length) return; // payload and comma not all here
      if (buffer.byteAt(length) !== COMMA) {
        return this.#broken(
          `expected "," after the ${length}-byte payload, got byte ${
            buffer.byteAt(length)
          }`,
        );
      }
      const payload = buffer.slice(0, length);
      buffer.consume(length + 1);
      this.#expected = -1;
      this.stringReceived(payload);
    }
  }

  /**
   * Reads `digits ":"` at the front of the buffer and consumes it.
   *
   * @returns The length, or -1 when more bytes are needed or the input is bad.
   */
  #readLength(): number {
    const buffer = this.#buffer;
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
    this.#buffer.clear();
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
    const head = encoder.encode(`${payload.length}:`);
    const out = new Uint8Array(head.length + payload.length + 1);
    out.set(head);
    out.set(payload, head.length);
    out[out.length - 1] = COMMA;
    this.transport.write(out);
  }

  /** Stops delivery, and asks the transport to stop reading. */
  pauseProducing(): void {
    this.paused = true;
    transportOf(this)?.pauseProducing();
  }

  /** Resumes reading and delivers what is buffered. */
  resumeProducing(): void {
    this.paused = false;
    transportOf(this)?.resumeProducing();
    this.dataReceived(NOTHING);
  }

  /** Stops delivery for good, and tells the transport to stop. */
  stopProducing(): void {
    this.paused = true;
    transportOf(this)?.stopProducing();
  }
}

// ----------------------------------------------------- IntNStringReceiver

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
> extends Protocol<F> implements IPushProducer {
  /** How many bytes the length prefix has. */
  abstract readonly prefixLength: number;
  /** The longest message accepted, in bytes (Twisted's default). */
  MAX_LENGTH = 99999;
  /** True while paused: nothing is delivered. */
  paused = false;

  #buffer = new ByteBuffer();
  #busy = false;
  #broken = false;

  /** Buffers `data` and delivers every complete message in it. */
  override dataReceived(data: Uint8Array): void {
    if (this.#broken) return;
    this.#buffer.append(data);
    if (this.#busy) return;
    this.#busy = true;
    try {
      this.#deliver();
    } finally {
      this.#busy = false;
    }
  }

  #deliver(): void {
    const buffer = this.#buffer;
    const prefix = this.prefixLength;
    while (
      buffer.length >= prefix && !this.paused && !this.#broken &&
      !transportOf(this)?.disconnecting
    ) {
      let length = 0;
      for (let i = 0; i < prefix; i++) {
        length = length * 256 + buffer.byteAt(i)!;
      }
      if (length > this.MAX_LENGTH) {
        // The framing can no longer be trusted: drop what is buffered and
        // ignore what follows.
        this.#broken = true;
        buffer.clear();
        this.lengthLimitExceeded(length);
        return;
      }
      if (buffer.length < prefix + length) return;
      const payload = buffer.slice(prefix, prefix + length);
      buffer.consume(prefix + length);
      this.stringReceived(payload);
    }
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

  /** Stops delivery, and asks the transport to stop reading. */
  pauseProducing(): void {
    this.paused = true;
    transportOf(this)?.pauseProducing();
  }

  /** Resumes reading and delivers what is buffered. */
  resumeProducing(): void {
    this.paused = false;
    transportOf(this)?.resumeProducing();
    this.dataReceived(NOTHING);
  }

  /** Stops delivery for good, and tells the transport to stop. */
  stopProducing(): void {
    this.paused = true;
    transportOf(this)?.stopProducing();
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
