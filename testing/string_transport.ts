/**
 * {@linkcode StringTransport}: an in-memory {@linkcode ITransport} that
 * records what a protocol does to it (bytes written, closes, producers)
 * and does nothing else, so a protocol is tested by feeding it bytes with
 * `dataReceived` and reading back `value()`. No socket, no event loop.
 *
 * It is as strict as Twisted's: registering a second producer, unregistering
 * none, and pausing or resuming a transport that was stopped or is
 * disconnecting all throw, because a real transport would silently ignore
 * them and the protocol would wait forever.
 *
 * @module
 */

import { Failure } from "../deferred/failure.ts";
import { ConnectionAborted, ConnectionDone } from "../reactor/errors.ts";
import type {
  IAddress,
  IProducer,
  IProtocol,
  ITransport,
  StartTLSOptions,
} from "../reactor/interfaces.ts";

import { bytesOf } from "./_bytes.ts";

const encoder = new TextEncoder();

/** The state of a {@linkcode StringTransport} in its role of push producer. */
export type ProducerState = "producing" | "paused" | "stopped";

/** Options of the {@linkcode StringTransport} constructor. */
export interface StringTransportOptions {
  /** What `getHost()` returns (default TCP `127.0.0.1:12345`). */
  hostAddress?: IAddress;
  /** What `getPeer()` returns (default TCP `127.0.0.1:54321`). */
  peerAddress?: IAddress;
  /**
   * Allow `pauseProducing`/`resumeProducing` after `loseConnection()`
   * (default false). Set it only when a test resumes a closed transport on
   * purpose and expects nothing from it.
   */
  lenient?: boolean;
}

/**
 * A transport that buffers writes in memory and records its other state.
 * The fields and methods marked "test-only" are not part of `ITransport`:
 * protocol code must not use them.
 *
 * Semantics, following Twisted's `twisted.internet.testing.StringTransport`:
 * - `write`/`writeSequence` append to the buffer `value()` returns; strings
 *   are UTF-8 encoded; anything else is a `TypeError`.
 * - `writeText(text, suffix)` (the optional `ITransport` method line
 *   protocols send text through) appends the same bytes as two `write`s
 *   would, and counts its calls in `textWrites`.
 * - `loseConnection()` only sets `disconnecting`; writes made after it are
 *   still recorded, because a real transport flushes them before closing.
 *   `abortConnection()` also sets `disconnected`, and
 *   `loseWriteConnection()` sets `writeDisconnected`: after either, writes
 *   are dropped as a real transport drops them (Twisted's double records
 *   them; ours does not show bytes a peer would never see).
 * - As a consumer: one producer at a time (`registerProducer` with one
 *   registered throws, `unregisterProducer` with none throws).
 * - As a push producer: `producerState` moves between `"producing"`,
 *   `"paused"` and `"stopped"`; pausing or resuming after `stopProducing()`
 *   or `loseConnection()` throws (unless `lenient`).
 *
 * @example Drive a protocol and read what it wrote
 * ```ts
 * import assert from "node:assert/strict";
 * import { Protocol } from "@twisted-deno/core/protocols";
 * import { StringTransport } from "@twisted-deno/core/testing";
 *
 * class Greeter extends Protocol {
 *   override connectionMade(): void {
 *     this.transport.write("hello\r\n");
 *     this.transport.loseConnection();
 *   }
 * }
 * const transport = new StringTransport();
 * new Greeter().makeConnection(transport);
 * assert.equal(new TextDecoder().decode(transport.value()), "hello\r\n");
 * assert.equal(transport.disconnecting, true);
 * ```
 */
export class StringTransport implements ITransport {
  /** True once `loseConnection()` or `abortConnection()` was called. */
  disconnecting = false;
  /** Test-only: true once `abortConnection()` was called. */
  disconnected = false;
  /** Test-only: true once `loseWriteConnection()` was called. */
  writeDisconnected = false;
  /** Test-only: false once the connection is considered gone. */
  connected = true;
  /** Test-only: the registered producer, if any. */
  producer: IProducer | undefined = undefined;
  /** Test-only: the `streaming` flag it was registered with. */
  streaming: boolean | undefined = undefined;
  /** Test-only: this transport's state as a push producer. */
  producerState: ProducerState = "producing";
  /** Test-only: the last value given to `setTcpNoDelay` (initially false). */
  tcpNoDelay = false;
  /** Test-only: the last value given to `setTcpKeepAlive` (initially false). */
  tcpKeepAlive = false;
  /** Test-only: the options of each `startTLS` call, in order. */
  readonly tlsStarts: StartTLSOptions[] = [];
  /** Test-only: what `getHost()` returns. */
  hostAddress: IAddress;
  /** Test-only: what `getPeer()` returns. */
  peerAddress: IAddress;
  /** Test-only: how many times `writeText` was called. */
  textWrites = 0;

  #lenient: boolean;
  #buf = new Uint8Array(256);
  #len = 0;

  /**
   * Makes a connected transport with nothing written.
   *
   * @param options Addresses and strictness; see {@linkcode StringTransportOptions}.
   */
  constructor(options: StringTransportOptions = {}) {
    this.hostAddress = options.hostAddress ??
      { type: "TCP", host: "127.0.0.1", port: 12345 };
    this.peerAddress = options.peerAddress ??
      { type: "TCP", host: "127.0.0.1", port: 54321 };
    this.#lenient = options.lenient ?? false;
  }

  /**
   * Test-only: every byte written since construction or the last `clear()`.
   *
   * @returns A copy; later writes do not change it.
   */
  value(): Uint8Array {
    return this.#buf.slice(0, this.#len);
  }

  /** Test-only: forgets the bytes written so far. */
  clear(): void {
    this.#buf = new Uint8Array(256);
    this.#len = 0;
  }

  /** Records `data` (a string is UTF-8 encoded). */
  write(data: Uint8Array | string): void {
    const bytes = bytesOf(data, "write to a StringTransport");
    if (this.disconnected || this.writeDisconnected) return;
    this.#append(bytes);
  }

  /**
   * Records `text` then `suffix`, UTF-8 encoded (the same bytes as two
   * `write` calls), and counts the call in `textWrites`.
   *
   * @throws {TypeError} When `text` or `suffix` is not a string.
   */
  writeText(text: string, suffix = ""): void {
    for (const part of [text, suffix]) {
      if (typeof part !== "string") {
        throw new TypeError(
          `Cannot writeText to a StringTransport: expected strings, got ${
            part === null ? "null" : typeof part
          }`,
        );
      }
    }
    this.textWrites++;
    if (this.disconnected || this.writeDisconnected) return;
    this.#append(encoder.encode(text + suffix));
  }

  /** Records each chunk in order. */
  writeSequence(chunks: Iterable<Uint8Array | string>): void {
    // Validate everything first, so bad input records nothing.
    const all: Uint8Array[] = [];
    for (const chunk of chunks) {
      all.push(bytesOf(chunk, "writeSequence to a StringTransport"));
    }
    if (this.disconnected || this.writeDisconnected) return;
    for (const bytes of all) this.#append(bytes);
  }

  /** Sets `disconnecting`; nothing else happens (no `connectionLost`). */
  loseConnection(): void {
    this.disconnecting = true;
  }

  /** Sets `disconnected` and `disconnecting`; later writes are dropped. */
  abortConnection(): void {
    this.disconnected = true;
    this.loseConnection();
  }

  /** Sets `writeDisconnected`; later writes are dropped. */
  loseWriteConnection(): void {
    this.writeDisconnected = true;
  }

  /** The peer address given to the constructor, or TCP `127.0.0.1:54321`. */
  getPeer(): IAddress {
    return this.peerAddress;
  }

  /** The host address given to the constructor, or TCP `127.0.0.1:12345`. */
  getHost(): IAddress {
    return this.hostAddress;
  }

  /** Records the setting in `tcpNoDelay`. */
  setTcpNoDelay(on: boolean): void {
    this.tcpNoDelay = on;
  }

  /** Records the setting in `tcpKeepAlive`. */
  setTcpKeepAlive(on: boolean): void {
    this.tcpKeepAlive = on;
  }

  /** Records `options` in `tlsStarts` (no handshake happens). */
  startTLS(options: StartTLSOptions): void {
    this.tlsStarts.push(options);
  }

  /**
   * Registers `producer`.
   *
   * @throws {Error} When a producer is already registered.
   */
  registerProducer(producer: IProducer, streaming: boolean): void {
    if (this.producer !== undefined) {
      throw new Error(
        "Cannot register a producer: one is already registered; unregister it first",
      );
    }
    this.producer = producer;
    this.streaming = streaming;
  }

  /**
   * Forgets the registered producer.
   *
   * @throws {Error} When no producer is registered.
   */
  unregisterProducer(): void {
    if (this.producer === undefined) {
      throw new Error(
        "Cannot unregister a producer: none is registered",
      );
    }
    this.producer = undefined;
    this.streaming = undefined;
  }

  /**
   * Sets `producerState` to `"paused"`.
   *
   * @throws {Error} After `stopProducing()`, or after `loseConnection()`
   * unless the transport is lenient.
   */
  pauseProducing(): void {
    this.#checkState("pause");
    this.producerState = "paused";
  }

  /**
   * Sets `producerState` to `"producing"`.
   *
   * @throws {Error} After `stopProducing()`, or after `loseConnection()`
   * unless the transport is lenient.
   */
  resumeProducing(): void {
    this.#checkState("resume");
    this.producerState = "producing";
  }

  /** Sets `producerState` to `"stopped"` for good. */
  stopProducing(): void {
    this.producerState = "stopped";
  }

  #checkState(what: string): void {
    if (this.disconnecting && !this.#lenient) {
      throw new Error(
        `Cannot ${what} producing: the transport is disconnecting (loseConnection was called)`,
      );
    }
    if (this.producerState === "stopped") {
      throw new Error(
        `Cannot ${what} producing: the transport was stopped (stopProducing was called)`,
      );
    }
  }

  #append(bytes: Uint8Array): void {
    const need = this.#len + bytes.length;
    if (need > this.#buf.length) {
      const grown = new Uint8Array(Math.max(need, this.#buf.length * 2));
      grown.set(this.#buf.subarray(0, this.#len));
      this.#buf = grown;
    }
    this.#buf.set(bytes, this.#len);
    this.#len = need;
  }
}

/**
 * A {@linkcode StringTransport} whose `loseConnection()` also tells its
 * `protocol`: the first call sets `connected` to false and calls
 * `protocol.connectionLost` with a Failure wrapping `ConnectionDone`
 * (`abortConnection()` uses `ConnectionAborted`); later calls do nothing.
 * Set `protocol` before closing.
 *
 * @example The protocol hears the close exactly once
 * ```ts
 * import assert from "node:assert/strict";
 * import { Protocol } from "@twisted-deno/core/protocols";
 * import { ConnectionDone } from "@twisted-deno/core/reactor";
 * import type { Failure } from "@twisted-deno/core/deferred";
 * import { StringTransportWithDisconnection } from "@twisted-deno/core/testing";
 *
 * const reasons: Failure[] = [];
 * class Quitter extends Protocol {
 *   override dataReceived(_data: Uint8Array): void {
 *     this.transport.loseConnection();
 *   }
 *   override connectionLost(reason: Failure): void {
 *     reasons.push(reason);
 *   }
 * }
 * const proto = new Quitter();
 * const transport = new StringTransportWithDisconnection({ protocol: proto });
 * proto.makeConnection(transport);
 * proto.dataReceived(new Uint8Array([1]));
 * transport.loseConnection();
 * assert.equal(reasons.length, 1);
 * assert.ok(reasons[0].check(ConnectionDone));
 * assert.equal(transport.connected, false);
 * ```
 */
export class StringTransportWithDisconnection extends StringTransport {
  /** The protocol told about the close. */
  protocol: IProtocol | undefined;

  /**
   * Makes a transport that tells `protocol` when it is closed.
   *
   * @param options As for {@linkcode StringTransport}, plus the `protocol`
   * (which may also be assigned later).
   */
  constructor(options: StringTransportOptions & { protocol?: IProtocol } = {}) {
    super(options);
    this.protocol = options.protocol;
  }

  /**
   * Sets `disconnecting`; the first time, also calls
   * `protocol.connectionLost(Failure(ConnectionDone))`.
   *
   * @throws {TypeError} When no protocol is set.
   */
  override loseConnection(): void {
    this.#close(() => new ConnectionDone());
  }

  /** Like `loseConnection()`, with `ConnectionAborted` as the reason. */
  override abortConnection(): void {
    this.disconnected = true;
    this.#close(() => new ConnectionAborted());
  }

  #close(reason: () => Error): void {
    if (this.protocol === undefined) {
      throw new TypeError(
        "Cannot lose the connection: StringTransportWithDisconnection.protocol is not set",
      );
    }
    this.disconnecting = true;
    if (!this.connected) return;
    this.connected = false;
    this.protocol.connectionLost(new Failure(reason()));
  }
}
