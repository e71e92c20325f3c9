/**
 * AMP's box layer: {@linkcode AmpBox} (a map of byte keys to byte values)
 * and {@linkcode BinaryBoxProtocol}, which frames boxes on a stream.
 *
 * On the wire a box is a run of strings, each a 16-bit big-endian length
 * and that many bytes, alternating key and value, ended by a zero length:
 *
 * ```text
 *   00 04 "_ask"  00 01 "1"  00 08 "_command"  00 03 "Sum"  ...  00 00
 *   key (1-255 bytes)  value (0-65 535 bytes)                    end of box
 * ```
 *
 * The parser keeps its place between chunks (which string it is in, how
 * many bytes of it it has), so a box that arrives a byte at a time is
 * still read in O(n): no byte is scanned twice, and a string split across
 * chunks is copied once into an array of its final size.
 *
 * @module
 */

import { Failure } from "../deferred/failure.ts";
import { Protocol } from "../protocols/protocol.ts";
import { ConnectionLost } from "../reactor/errors.ts";
import type { ITransport } from "../reactor/interfaces.ts";
import {
  compareBytes,
  encodeKey,
  keyAt,
  MAX_KEY_LENGTH,
  text,
  utf8,
  type WireValue,
  writeBox,
} from "./_wire.ts";
import { Logger } from "../log/mod.ts";
import {
  MalformedAmpBox,
  NoEmptyBoxes,
  OnlyOneTLS,
  TooLong,
} from "./errors.ts";

const log = new Logger("amp");

const EMPTY = new Uint8Array(0);

/**
 * One AMP box: a `Map` from keys to byte values. Strings given to the
 * constructor are stored as their UTF-8 bytes.
 *
 * @example Serialize as Twisted does (keys sorted) and parse back
 * ```ts
 * import assert from "node:assert/strict";
 * import { AmpBox, parseString } from "@twisted-deno/core/amp";
 *
 * const box = new AmpBox({ b: "2", a: "1" });
 * const wire = box.serialize();
 * assert.deepEqual([...wire], [0, 1, 97, 0, 1, 49, 0, 1, 98, 0, 1, 50, 0, 0]);
 * assert.equal(parseString(wire)[0].getText("b"), "2");
 * ```
 */
export class AmpBox extends Map<string, Uint8Array> {
  /**
   * Makes one.
   * @param init Keys and values; string values are UTF-8 encoded.
   */
  constructor(
    init?:
      | Record<string, Uint8Array | string>
      | Iterable<readonly [string, Uint8Array]>,
  ) {
    super();
    if (init === undefined || init === null) return;
    const entries = Symbol.iterator in init
      ? init as Iterable<readonly [string, Uint8Array]>
      : Object.entries(init);
    for (const [k, v] of entries) {
      this.set(k, typeof v === "string" ? utf8(v) : v);
    }
  }

  /**
   * A value as UTF-8 text.
   *
   * @param key The key.
   * @returns The text, or `undefined` when the key is absent.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { AmpBox } from "@twisted-deno/core/amp";
   *
   * assert.equal(new AmpBox({ k: "é" }).getText("k"), "é");
   * ```
   */
  getText(key: string): string | undefined {
    const v = this.get(key);
    return v === undefined ? undefined : text(v);
  }

  /**
   * The box's wire bytes, keys in byte order as Twisted writes them.
   *
   * @returns The bytes, ending with the two zero bytes.
   * @throws {TooLong} When a key is over 255 bytes or a value over 65 535.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { AmpBox } from "@twisted-deno/core/amp";
   *
   * assert.deepEqual([...new AmpBox({ k: "" }).serialize()], [0, 1, 107, 0, 0, 0, 0]);
   * ```
   */
  serialize(): Uint8Array {
    const pairs: [Uint8Array, WireValue][] = [];
    for (const [k, v] of this) pairs.push([encodeKey(k), v]);
    pairs.sort((a, b) => compareBytes(a[0], b[0]));
    return writeBox(
      pairs.map((p) => p[0]),
      pairs.map((p) => p[1]),
      pairs.length,
    );
  }
}

/**
 * Parses every box in `data`, which must hold whole boxes only.
 *
 * @param data Serialized boxes.
 * @returns The boxes, in order.
 * @throws {MalformedAmpBox} When the data is cut short or a key is empty.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { AmpBox, parseString } from "@twisted-deno/core/amp";
 *
 * const one = new AmpBox({ x: "1" }).serialize();
 * const both = new Uint8Array([...one, ...one]);
 * assert.equal(parseString(both).length, 2);
 * ```
 */
export function parseString(data: Uint8Array): AmpBox[] {
  const boxes: AmpBox[] = [];
  let box = new AmpBox();
  let i = 0;
  const n = data.length;
  while (i < n) {
    if (i + 2 > n) throw new MalformedAmpBox("a key length is cut short");
    const klen = (data[i] << 8) | data[i + 1];
    i += 2;
    if (klen === 0) {
      boxes.push(box);
      box = new AmpBox();
      continue;
    }
    if (klen > MAX_KEY_LENGTH) throw new TooLong(true, false, klen);
    if (i + klen + 2 > n) throw new MalformedAmpBox("a key is cut short");
    const key = text(data.subarray(i, i + klen));
    i += klen;
    const vlen = (data[i] << 8) | data[i + 1];
    i += 2;
    if (i + vlen > n) {
      throw new MalformedAmpBox(
        `the value of ${JSON.stringify(key)} is cut short`,
      );
    }
    box.set(key, data.subarray(i, i + vlen));
    i += vlen;
  }
  if (box.size > 0) throw new MalformedAmpBox("the last box has no end");
  return boxes;
}

/** Something boxes can be sent through: a {@linkcode BinaryBoxProtocol}. */
export interface IBoxSender {
  /**
   * Sends a box, or the bytes of one already serialized.
   * @throws {ConnectionLost} When the connection is gone.
   */
  sendBox(box: AmpBox | Uint8Array): void;
  /** An error nobody handled: log it and drop the connection. */
  unhandledError(failure: Failure): void;
}

/** Something that takes the boxes a {@linkcode BinaryBoxProtocol} reads. */
export interface IBoxReceiver {
  /** Boxes are about to arrive; answers go to `sender`. */
  startReceivingBoxes(sender: IBoxSender): void;
  /** A whole box arrived. Throwing drops the connection with that error. */
  ampBoxReceived(box: AmpBox): void;
  /** No more boxes will arrive, for `reason`. */
  stopReceivingBoxes(reason: Failure): void;
}

/**
 * Frames {@linkcode AmpBox}es on a stream and hands each one to its
 * `boxReceiver`. A malformed stream (a key over 255 bytes, an empty box,
 * or a box the receiver refuses) drops the connection, and the receiver
 * hears that error as the reason.
 *
 * @example Boxes out and in, on a StringTransport
 * ```ts
 * import assert from "node:assert/strict";
 * import { AmpBox, BinaryBoxProtocol, type IBoxReceiver } from "@twisted-deno/core/amp";
 * import { StringTransport } from "@twisted-deno/core/testing";
 *
 * const got: AmpBox[] = [];
 * const receiver: IBoxReceiver = {
 *   startReceivingBoxes() {},
 *   ampBoxReceived(box) { got.push(box); },
 *   stopReceivingBoxes() {},
 * };
 * const proto = new BinaryBoxProtocol(receiver);
 * const transport = new StringTransport();
 * proto.makeConnection(transport);
 * proto.sendBox(new AmpBox({ hello: "world" }));
 * const wire = transport.value();
 * for (const byte of wire) proto.dataReceived(new Uint8Array([byte]));
 * assert.equal(got[0].getText("hello"), "world");
 * ```
 */
export class BinaryBoxProtocol extends Protocol implements IBoxSender {
  /** Where received boxes go. */
  boxReceiver: IBoxReceiver;

  // Parser state; see the module doc. #want is -1 while reading a length,
  // else the length of the string being filled into #partial.
  #box: AmpBox | null = null;
  #key: string | null = null;
  #half = -1;
  #want = -1;
  #partial: Uint8Array = EMPTY;
  #filled = 0;
  #failed: Error | null = null;
  #lost = false;
  #tlsBuffer: (AmpBox | Uint8Array)[] | null = null;
  #tlsStarted = false;

  /**
   * Makes one.
   * @param boxReceiver Where received boxes go.
   */
  constructor(boxReceiver: IBoxReceiver) {
    super();
    this.boxReceiver = boxReceiver;
  }

  /** Attaches the transport, starts the receiver, then `connectionMade()`. */
  override makeConnection(transport: ITransport): void {
    this.connected = true;
    this.transport = transport;
    this.boxReceiver.startReceivingBoxes(this);
    this.connectionMade();
  }

  /**
   * Sends `box` (or bytes already serialized). While TLS is being
   * negotiated, boxes wait and go out encrypted.
   *
   * @throws {ConnectionLost} When the connection is gone.
   * @throws {TooLong} When a key or value is too long: nothing is sent.
   */
  sendBox(box: AmpBox | Uint8Array): void {
    if (this.#lost || this.transport === undefined) {
      throw new ConnectionLost("cannot send an AMP box on a closed connection");
    }
    if (this.#tlsBuffer !== null) {
      this.#tlsBuffer.push(box);
      return;
    }
    this.transport.write(box instanceof Uint8Array ? box : box.serialize());
  }

  /** Logs `failure` and drops the connection, as Twisted does. */
  unhandledError(failure: Failure): void {
    this.#failed ??= failure.value instanceof Error
      ? failure.value
      : new Error(String(failure.value));
    this.transport?.loseConnection();
  }

  /** Parses `data` into boxes; see the module doc. */
  override dataReceived(data: Uint8Array): void {
    if (this.#failed !== null) return;
    const n = data.length;
    let i = 0;
    while (i < n) {
      if (this.#want < 0) {
        let len: number;
        if (this.#half >= 0) {
          len = (this.#half << 8) | data[i];
          this.#half = -1;
          i += 1;
        } else if (i + 1 < n) {
          len = (data[i] << 8) | data[i + 1];
          i += 2;
        } else {
          this.#half = data[i];
          return;
        }
        if (this.#key === null) {
          if (len === 0) {
            const box = this.#box;
            this.#box = null;
            if (!this.#deliver(box)) return;
            continue;
          }
          if (len > MAX_KEY_LENGTH) {
            return this.#fail(new TooLong(true, false, len));
          }
        }
        if (n - i >= len) {
          if (this.#key === null) {
            // A whole key: decoded in place, without a view of it.
            this.#key = keyAt(data, i, len);
            this.#box ??= new AmpBox();
          } else {
            // A whole value: a view, no copy. Chunks handed to
            // dataReceived are the protocol's to keep.
            this.#box!.set(
              this.#key,
              len === 0 ? EMPTY : data.subarray(i, i + len),
            );
            this.#key = null;
          }
          i += len;
          continue;
        }
        this.#want = len;
        this.#partial = new Uint8Array(len);
        this.#filled = 0;
      }
      const take = Math.min(this.#want - this.#filled, n - i);
      this.#partial.set(data.subarray(i, i + take), this.#filled);
      this.#filled += take;
      i += take;
      if (this.#filled === this.#want) {
        const s = this.#partial;
        this.#partial = EMPTY;
        this.#want = -1;
        this.#string(s);
      }
    }
  }

  /**
   * Tells the receiver no more boxes come: with the protocol error that
   * dropped the connection, if one did, else with `reason`.
   */
  override connectionLost(reason: Failure): void {
    this.#lost = true;
    const why = this.#failed === null ? reason : new Failure(this.#failed);
    this.boxReceiver.stopReceivingBoxes(why);
  }

  /**
   * Holds boxes sent from now on until {@linkcode BinaryBoxProtocol._startTLS}
   * (the caller's side of `StartTLS`, between asking and the answer).
   *
   * @throws {OnlyOneTLS} When TLS was already started.
   */
  _prepareTLS(): void {
    if (this.#tlsStarted) throw new OnlyOneTLS();
    this.#tlsBuffer ??= [];
  }

  /**
   * Starts TLS on the transport, then sends the boxes held since
   * `_prepareTLS()`.
   */
  _startTLS(options: Parameters<ITransport["startTLS"]>[0]): void {
    this.#tlsStarted = true;
    this.transport!.startTLS(options);
    const held = this.#tlsBuffer;
    this.#tlsBuffer = null;
    if (held !== null) { for (const box of held) this.sendBox(box); }
  }

  /**
   * Gives up a `_prepareTLS()` whose StartTLS failed: forgets the held
   * boxes (the caller decides what becomes of the connection).
   *
   * @returns How many boxes were held.
   */
  _abandonTLS(): number {
    const held = this.#tlsBuffer?.length ?? 0;
    this.#tlsBuffer = null;
    return held;
  }

  /** Whether TLS was started on this connection. */
  get tlsStarted(): boolean {
    return this.#tlsStarted;
  }

  #string(s: Uint8Array): void {
    if (this.#key === null) {
      this.#key = text(s);
      this.#box ??= new AmpBox();
    } else {
      this.#box!.set(this.#key, s);
      this.#key = null;
    }
  }

  /** Hands a finished box on; false when parsing must stop. */
  #deliver(box: AmpBox | null): boolean {
    if (box === null) {
      this.#fail(new NoEmptyBoxes([]));
      return false;
    }
    try {
      this.boxReceiver.ampBoxReceived(box);
    } catch (e) {
      this.#fail(e instanceof Error ? e : new MalformedAmpBox(String(e)));
      return false;
    }
    return this.#failed === null;
  }

  #fail(error: Error): void {
    this.#failed = error;
    log.warn("Dropping AMP connection: {error}", { error: error.message });
    this.#box = null;
    this.#partial = EMPTY;
    this.transport?.loseConnection();
  }
}
