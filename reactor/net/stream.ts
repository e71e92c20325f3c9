/**
 * {@linkcode StreamTransport}: one connection of a stream socket (TCP, UNIX,
 * TLS) as its protocol sees it. TCP, UNIX and TLS connections are this class
 * over a different `Deno.Conn`; ports and connectors (`stream_port.ts`,
 * `stream_connector.ts`) only make the conn and the protocol meet.
 *
 * Two loops per connection, and no Promise per chunk beyond the read itself:
 *
 * - **reading**: one `conn.read` at a time into a per-connection buffer that
 *   starts small (so 10 000 idle connections cost little memory) and grows
 *   while reads fill it; each chunk goes to `dataReceived` synchronously, as
 *   bytes the protocol may keep. `pauseProducing()` stops issuing reads.
 * - **writing**: `write()` only queues and bumps a byte count; one flush loop
 *   coalesces what is queued into large `conn.write` calls and finishes
 *   partial writes. Writes made while the protocol is being called (in
 *   `dataReceived`, `connectionMade` ...) are flushed together when it
 *   returns.
 *
 * `connectionLost` runs exactly once, after both loops have wound down (so
 * no Deno op of the connection is left pending), and never from inside
 * another call into the protocol.
 *
 * @module
 */

import { Failure } from "../../deferred/failure.ts";
import { Logger } from "../../log/mod.ts";
import {
  ConnectionAborted,
  ConnectionDone,
  ConnectionLost,
} from "../errors.ts";
import {
  type IAddress,
  type IBufferedProtocol,
  type IProducer,
  type IProtocol,
  type IPushProducer,
  type IReactorResources,
  isBufferedProtocol,
  isHalfCloseable,
  type ITransport,
  type ReactorResource,
  type StartTLSOptions,
} from "../interfaces.ts";
import { ReadBuffer } from "./_read_buffer.ts";
import { WriteQueue } from "./_write_queue.ts";

const log = new Logger("reactor.stream");

/**
 * Bytes queued beyond which a streaming producer is paused (Twisted's
 * `bufferSize`, 64 KiB).
 */
const BUFFER_SIZE = 64 * 1024;

/**
 * Replaces a transport's `Deno.Conn` with another built on it; see
 * {@linkcode StreamTransport.replaceConn}.
 */
export type ConnUpgrade = (conn: Deno.Conn) => Promise<Deno.Conn>;

/**
 * How {@linkcode StreamTransport.startTLS} upgrades a connection; installed
 * by the TLS module with {@linkcode StreamTransport.setStartTLS}.
 */
export type StartTLSHandler = (
  transport: StreamTransport,
  options: StartTLSOptions,
) => void;

/**
 * Converts a Deno socket address to an {@linkcode IAddress}.
 *
 * @param addr A `Deno.Addr` (`conn.localAddr`, `listener.addr` ...).
 * @returns `{ type: "TCP", host, port }` or `{ type: "UNIX", name }`.
 * @throws {TypeError} For other transports (UDP, VSOCK).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { addressFromDeno } from "@twisted-deno/core/reactor";
 *
 * assert.deepEqual(
 *   addressFromDeno({ transport: "tcp", hostname: "127.0.0.1", port: 80 }),
 *   { type: "TCP", host: "127.0.0.1", port: 80 },
 * );
 * assert.deepEqual(
 *   addressFromDeno({ transport: "unix", path: "/tmp/s" }),
 *   { type: "UNIX", name: "/tmp/s" },
 * );
 * ```
 */
export function addressFromDeno(addr: Deno.Addr): IAddress {
  switch (addr.transport) {
    case "tcp":
      return { type: "TCP", host: addr.hostname, port: addr.port };
    case "unix":
      return { type: "UNIX", name: addr.path ?? "" };
    default:
      throw new TypeError(
        `Cannot describe a ${addr.transport} address as an IAddress: only tcp and unix are stream addresses`,
      );
  }
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

function nameOf(object: unknown): string {
  const logPrefix = (object as { logPrefix?: () => string })?.logPrefix;
  if (typeof logPrefix === "function") {
    try {
      return String(logPrefix.call(object));
    } catch {
      // fall through to the class name
    }
  }
  return (object as object)?.constructor?.name ?? String(object);
}

/**
 * A stream connection: the {@linkcode ITransport} of TCP, UNIX and TLS
 * connections, over any `Deno.Conn`.
 *
 * Writing: `write()`/`writeSequence()` queue (strings are UTF-8 encoded) and
 * never block; the array given is sent as it is when its turn comes, so do
 * not modify it after the call (write a copy if you will). Writes after the
 * connection has closed, or after `loseWriteConnection()` has closed the
 * writing half, are ignored: everything written before `loseConnection()`
 * is sent before the socket closes.
 *
 * Closing: `loseConnection()` flushes, then closes, and the protocol gets
 * `ConnectionDone`; `abortConnection()` drops what is queued and closes now,
 * with `ConnectionAborted`; the peer closing gives `ConnectionDone`, an I/O
 * error `ConnectionLost`, an error thrown by `dataReceived` (or by a
 * client's `connectionMade`) that error, after it is logged. When the peer
 * closes its writing half, a protocol implementing `IHalfCloseableProtocol`
 * gets `readConnectionLost()` and may go on writing; any other protocol's
 * connection is flushed and closed.
 *
 * Flow control: a streaming producer registered with `registerProducer(p,
 * true)` is paused when more than 64 KiB is queued and resumed once the
 * queue has drained; a pull producer (`false`) is asked for more each time
 * it drains. As a producer itself, the transport stops reading on
 * `pauseProducing()` (no `dataReceived` until `resumeProducing()`).
 *
 * Ports and connectors make these; protocols only see the interface. For
 * transport authors (the TLS module): a subclass, or a port or connector
 * handing over a `Deno.TlsConn`, needs nothing more than the constructor and
 * {@linkcode StreamTransport.connectProtocol}; STARTTLS swaps the conn with
 * {@linkcode StreamTransport.replaceConn}, and the module installs its
 * `startTLS` with {@linkcode StreamTransport.setStartTLS}.
 *
 * @example An echo over a loopback pair of Deno conns
 * ```ts
 * import assert from "node:assert/strict";
 * import { DenoReactor } from "@twisted-deno/core/reactor";
 * import { StreamTransport } from "@twisted-deno/core/reactor/net";
 * import { Protocol } from "@twisted-deno/core/protocols";
 * import type { Failure } from "@twisted-deno/core/deferred";
 *
 * class Echo extends Protocol {
 *   override dataReceived(data: Uint8Array): void {
 *     this.transport!.write(data);
 *   }
 * }
 * const lost = Promise.withResolvers<Failure>();
 * class Closing extends Echo {
 *   override connectionLost(reason: Failure): void {
 *     lost.resolve(reason);
 *   }
 * }
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * const server = await listener.accept();
 * listener.close();
 * const transport = new StreamTransport(server, new DenoReactor());
 * transport.connectProtocol(new Closing(), "server");
 * await client.write(new TextEncoder().encode("hi"));
 * const buf = new Uint8Array(2);
 * let got = 0;
 * while (got < 2) got += (await client.read(buf.subarray(got)))!;
 * assert.equal(new TextDecoder().decode(buf), "hi");
 * client.close();
 * assert.equal((await lost.promise).type?.name, "ConnectionDone");
 * ```
 */
export class StreamTransport implements ITransport, ReactorResource {
  static #startTLS: StartTLSHandler | undefined;

  /** The protocol, once {@linkcode StreamTransport.connectProtocol} ran. */
  protocol: IProtocol | undefined = undefined;

  #conn: Deno.Conn;
  #reactor: IReactorResources;
  #onLost: ((reason: Failure) => void) | undefined;
  #isClient = false;

  // reading
  #in = new ReadBuffer();
  #buffered: IBufferedProtocol | undefined = undefined; // lends its buffer
  #reading = false; // the read loop is running (possibly parked)
  #readDone = false; // EOF seen, or reading stopped for good
  #paused = false;
  #stash: Uint8Array | number | undefined = undefined; // read while paused
  #wake: (() => void) | undefined = undefined; // unparks the read loop
  #parked: (() => void) | undefined = undefined; // tells replaceConn

  // writing
  #out = new WriteQueue();
  #flushing = false;
  #kickPending = false; // a flush/close check waits for a callback's end
  #inCallback = false; // the protocol (or producer) is being called
  #flushIdle: (() => void) | undefined = undefined; // tells replaceConn

  // producer
  #producer: IProducer | undefined = undefined;
  #streaming = false;
  #producerPaused = false;

  // closing
  #disconnecting = false; // loseConnection() or a close has begun
  #writeDisconnecting = false; // loseWriteConnection() asked
  #writeDisconnected = false; // our writing half is shut
  #swapping = false; // replaceConn() is in progress
  #closed = false; // the socket is closed (or closing): no more I/O
  #reason: Failure | undefined = undefined;
  #finished = false; // connectionLost has been delivered
  #whenFinished: PromiseWithResolvers<void> | undefined = undefined;

  /**
   * Wraps `conn`. Nothing happens until
   * {@linkcode StreamTransport.connectProtocol}.
   *
   * @param conn The connected socket (TCP, UNIX, TLS ...).
   * @param reactor Tracks the connection, to close it at shutdown.
   * @param onLost Called after the protocol's `connectionLost`, with the
   *   same reason (a client connector's hook).
   */
  constructor(
    conn: Deno.Conn,
    reactor: IReactorResources,
    onLost?: (reason: Failure) => void,
  ) {
    this.#conn = conn;
    this.#reactor = reactor;
    this.#onLost = onLost;
  }

  /**
   * Installs the implementation of {@linkcode StreamTransport.startTLS}.
   * The TLS module (`reactor/tls.ts`) calls this when it loads, which
   * keeps this file free of TLS code; it builds the upgrade on
   * {@linkcode StreamTransport.replaceConn}.
   *
   * @param handler Upgrades `transport` with `options`; it is called
   *   synchronously by `startTLS()` and may throw to refuse.
   *
   * @example
   * ```ts
   * import { StreamTransport } from "@twisted-deno/core/reactor/net";
   *
   * const previous = StreamTransport.getStartTLS();
   * StreamTransport.setStartTLS((transport, options) => {
   *   transport.replaceConn((conn) =>
   *     Deno.startTls(conn as Deno.TcpConn, { hostname: options.hostname })
   *   );
   * });
   * StreamTransport.setStartTLS(previous);
   * ```
   */
  static setStartTLS(handler: StartTLSHandler | undefined): void {
    StreamTransport.#startTLS = handler;
  }

  /**
   * The installed `startTLS` implementation, if any.
   *
   * @returns The handler given to {@linkcode StreamTransport.setStartTLS}.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { StreamTransport } from "@twisted-deno/core/reactor/net";
   *
   * // Importing the reactor entry point loads the TLS module, which installs it.
   * assert.equal(typeof StreamTransport.getStartTLS(), "function");
   * ```
   */
  static getStartTLS(): StartTLSHandler | undefined {
    return StreamTransport.#startTLS;
  }

  /** The underlying connection (changed by `replaceConn`). */
  get conn(): Deno.Conn {
    return this.#conn;
  }

  /** True once `loseConnection()` (or any close) has begun. */
  get disconnecting(): boolean {
    return this.#disconnecting;
  }

  /** True until the connection has started closing. */
  get connected(): boolean {
    return this.protocol !== undefined && !this.#closed;
  }

  /**
   * Bytes written but not yet handed to the socket (text written in the
   * current callback counts its UTF-16 length until it is encoded, at the
   * latest when the callback returns).
   */
  get bufferedAmount(): number {
    return this.#out.queued;
  }

  /**
   * Attaches `protocol` (calls its `makeConnection`) and starts reading.
   * An error thrown by `connectionMade` is logged; on the client side it
   * also closes the connection with that error as the reason.
   *
   * @param protocol The protocol the factory built.
   * @param side `"client"` or `"server"`, for error handling and logs.
   * @throws {Error} When a protocol is already attached.
   *
   * @example A second protocol is refused (a full example: {@linkcode StreamTransport})
   * ```ts
   * import assert from "node:assert/strict";
   * import { DenoReactor } from "@twisted-deno/core/reactor";
   * import { StreamTransport } from "@twisted-deno/core/reactor/net";
   * import { Protocol } from "@twisted-deno/core/protocols";
   *
   * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
   * const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
   * const server = await listener.accept();
   * listener.close();
   * const closed = Promise.withResolvers<void>();
   * const transport = new StreamTransport(server, new DenoReactor(), () => closed.resolve());
   * transport.connectProtocol(new Protocol(), "server");
   * assert.throws(() => transport.connectProtocol(new Protocol(), "server"), /already has/);
   * transport.loseConnection();
   * await closed.promise;
   * assert.equal(await client.read(new Uint8Array(1)), null); // EOF
   * client.close();
   * ```
   */
  connectProtocol(protocol: IProtocol, side: "client" | "server"): void {
    if (this.protocol !== undefined) {
      throw new Error(
        `Cannot connect ${nameOf(protocol)}: the transport already has ${
          nameOf(this.protocol)
        }`,
      );
    }
    this.protocol = protocol;
    this.#isClient = side === "client";
    if (isBufferedProtocol(protocol)) this.#buffered = protocol;
    this.#reactor.trackResource(this);
    // Twisted: a server's connectionMade error is logged and the
    // connection goes on; a client's closes it.
    this.#callProtocol(
      "connectionMade",
      () => protocol.makeConnection(this),
      !this.#isClient,
    );
    this.#afterCallback();
    if (!this.#closed && !this.#readDone) this.#readLoop();
  }

  // ------------------------------------------------------------ writing

  /**
   * Queues `data` (a string is UTF-8 encoded). Ignored once the
   * connection is closed or its writing half is shut.
   *
   * @param data The bytes; kept, not copied, until sent.
   * @throws {TypeError} When `data` is neither a Uint8Array nor a string.
   */
  write(data: Uint8Array | string): void {
    if (typeof data === "string") {
      this.writeText(data);
      return;
    }
    if (!(data instanceof Uint8Array)) {
      throw new TypeError(
        `Cannot write ${
          Object.prototype.toString.call(data)
        }: data must be a Uint8Array or a string`,
      );
    }
    if (data.length === 0 || this.#closed || this.#writeDisconnected) return;
    this.#out.push(data);
    this.#queuedMore();
  }

  /** After queueing: pause a streaming producer past 64 KiB, flush. */
  #queuedMore(): void {
    if (
      this.#out.queued > BUFFER_SIZE && this.#streaming &&
      !this.#producerPaused && this.#producer !== undefined
    ) {
      this.#pauseProducer();
    }
    if (!this.#flushing && !this.#inCallback && !this.#swapping) this.#flush();
  }

  /**
   * Queues `text`, then `suffix`, UTF-8 encoded: the same bytes as
   * `write(text)` then `write(suffix)`. Not part of {@linkcode ITransport}:
   * `LineReceiver.sendLine` uses it when the transport has it. Text is
   * kept as a string and encoded a batch at a time (when the protocol's
   * callback returns, before bytes written after it, or every 16 Ki UTF-16
   * units), so many short strings cost one `TextEncoder` call and no array
   * each. Each call's strings are encoded as if on their own: a lone
   * surrogate at the end of one call and at the start of the next do not
   * join into one character. Ignored once the connection is closed or its
   * writing half is shut.
   *
   * @param text Any string (lone surrogates become U+FFFD).
   * @param suffix Sent after `text` (a delimiter).
   * @throws {TypeError} When `text` or `suffix` is not a string.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DenoReactor } from "@twisted-deno/core/reactor";
   * import { StreamTransport } from "@twisted-deno/core/reactor/net";
   * import { Protocol } from "@twisted-deno/core/protocols";
   *
   * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
   * const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
   * const server = await listener.accept();
   * listener.close();
   * const closed = Promise.withResolvers<void>();
   * const transport = new StreamTransport(server, new DenoReactor(), () => closed.resolve());
   * transport.connectProtocol(new Protocol(), "server");
   * transport.writeText("PING", "\r\n");
   * transport.writeText("héllo", "\r\n");
   * transport.loseConnection();
   * await closed.promise;
   * const text = await new Response(client.readable).text();
   * assert.equal(text, "PING\r\nhéllo\r\n");
   * ```
   */
  writeText(text: string, suffix = ""): void {
    if (typeof text !== "string" || typeof suffix !== "string") {
      throw new TypeError(
        `Cannot write ${
          Object.prototype.toString.call(
            typeof text !== "string" ? text : suffix,
          )
        } as text: text and suffix must be strings`,
      );
    }
    if (this.#closed || this.#writeDisconnected) return;
    if (text.length + suffix.length === 0) return;
    this.#out.pushText(text, suffix);
    this.#queuedMore();
  }

  /**
   * Queues several chunks in order, flushed together.
   *
   * @param chunks Uint8Arrays or strings.
   * @throws {TypeError} When a chunk is neither (nothing is queued then).
   */
  writeSequence(chunks: Iterable<Uint8Array | string>): void {
    const list: (Uint8Array | string)[] = [];
    for (const chunk of chunks) {
      if (typeof chunk === "string" || chunk instanceof Uint8Array) {
        list.push(chunk);
      } else {
        throw new TypeError(
          `Cannot write ${
            Object.prototype.toString.call(chunk)
          }: every chunk must be a Uint8Array or a string`,
        );
      }
    }
    const inCallback = this.#inCallback;
    this.#inCallback = true; // one flush for the lot
    try {
      for (const chunk of list) this.write(chunk);
    } finally {
      this.#inCallback = inCallback;
    }
    if (!inCallback) this.#afterCallback();
  }

  #pauseProducer(): void {
    this.#producerPaused = true;
    try {
      (this.#producer as IPushProducer).pauseProducing();
    } catch (error) {
      this.#protocolFailed("pauseProducing", error);
    }
  }

  /**
   * The flush loop: sends what is queued until the queue is empty, then
   * deals with producers and pending closes.
   */
  async #flush(): Promise<void> {
    this.#flushing = true;
    try {
      // Kicked with nothing queued (a close, an unregistered producer): let
      // the caller return first, so a close is never re-entrant.
      if (this.#out.queued === 0) await null;
      while (this.#out.queued > 0 && !this.#closed && !this.#swapping) {
        const chunk = this.#out.take()!;
        const conn = this.#conn;
        let offset = 0;
        while (offset < chunk.length) {
          const n = await conn.write(
            offset === 0 ? chunk : chunk.subarray(offset),
          );
          if (this.#closed) break;
          offset += n;
          this.#out.sent(n);
        }
      }
    } catch (error) {
      this.#writeFailed(error);
      return;
    }
    this.#flushing = false;
    if (this.#closed) {
      this.#maybeFinish();
    } else if (this.#swapping) {
      this.#flushIdle?.();
    } else {
      this.#drained();
    }
  }

  /** A write (or closeWrite) op failed: the connection is lost. */
  #writeFailed(error: unknown): void {
    this.#flushing = false;
    this.#flushIdle?.();
    if (this.#closed) this.#maybeFinish();
    else {
      this.#closeNow(
        new Failure(new ConnectionLost(describeError(error), { cause: error })),
      );
    }
  }

  /** The queue is empty: resume producers, or finish a pending close. */
  #drained(): void {
    if (this.#buffered !== undefined) this.#wake?.(); // its buffer is free
    const producer = this.#producer;
    if (producer !== undefined && (!this.#streaming || this.#producerPaused)) {
      this.#producerPaused = false;
      if (
        this.#callProtocol("resumeProducing", () => producer.resumeProducing())
      ) {
        this.#afterCallback();
      }
    } else if (this.#disconnecting) {
      this.#closeConn(new Failure(new ConnectionDone()));
    } else if (this.#writeDisconnecting && !this.#writeDisconnected) {
      this.#shutdownWrite();
    }
  }

  /** Starts the flush loop or a pending close check, unless busy. */
  #kick(): void {
    if (this.#flushing || this.#closed || this.#swapping) return;
    if (this.#inCallback) {
      this.#kickPending = true;
      return;
    }
    this.#flush();
  }

  /** After calling the protocol: flush what it wrote, in one go. */
  #afterCallback(): void {
    if (this.#kickPending || this.#out.queued !== 0) {
      this.#kickPending = false;
      this.#kick();
    }
  }

  async #shutdownWrite(): Promise<void> {
    this.#writeDisconnected = true;
    this.#flushing = true; // closeWrite is an op: wait for it when closing
    try {
      await this.#conn.closeWrite();
    } catch (error) {
      this.#writeFailed(error);
      return;
    }
    this.#flushing = false;
    if (this.#closed) {
      this.#maybeFinish();
      return;
    }
    const protocol = this.protocol;
    if (
      isHalfCloseable(protocol) &&
      !this.#callProtocol(
        "writeConnectionLost",
        () => protocol.writeConnectionLost(),
      )
    ) {
      return;
    }
    if ((this.#readDone || this.#disconnecting) && !this.#closed) {
      // Both halves are shut (or a close waited for this one): nothing more
      // can happen on this socket.
      this.#closeConn(new Failure(new ConnectionDone()));
    } else {
      this.#afterCallback();
    }
  }

  // ------------------------------------------------------------ reading

  /**
   * The read loop: one read at a time, each chunk to `dataReceived` at
   * once (or into the buffer a buffered protocol lends, once what it wrote
   * has drained). Parks (no read pending) while paused or while the conn is
   * being replaced.
   */
  async #readLoop(): Promise<void> {
    this.#reading = true;
    const buffered = this.#buffered;
    for (;;) {
      if (this.#closed || this.#readDone) break;
      if (
        this.#paused || this.#swapping || this.#disconnecting ||
        (buffered !== undefined && this.#out.queued !== 0)
      ) {
        if (this.#swapping) this.#parked?.();
        await new Promise<void>((resolve) => this.#wake = resolve);
        this.#wake = undefined;
        continue;
      }
      const stash = this.#stash;
      if (stash !== undefined) {
        this.#stash = undefined;
        this.#deliver(stash);
        continue;
      }
      const buf = buffered === undefined
        ? this.#in.buffer()
        : this.#lentBuffer(buffered);
      if (buf === undefined) break;
      let n: number | null;
      try {
        n = await this.#conn.read(buf);
      } catch (error) {
        if (!this.#closed) {
          this.#closeNow(
            new Failure(
              new ConnectionLost(describeError(error), { cause: error }),
            ),
          );
        }
        break;
      }
      // loseConnection() stops reading: what arrives after it is dropped.
      if (this.#closed || this.#disconnecting) {
        if (n === null) this.#readDone = true;
        if (this.#closed) break;
        continue;
      }
      if (n === null) {
        this.#readDone = true;
        this.#readEOF();
        break;
      }
      if (n === 0) continue;
      let data: Uint8Array | number;
      if (buffered === undefined) data = this.#in.take(n);
      else {
        this.#in.resize(n, buf.length);
        data = n;
      }
      if (this.#paused || this.#swapping) {
        this.#stash = data;
        continue;
      }
      this.#deliver(data);
    }
    this.#reading = false;
    this.#parked?.();
    if (this.#closed) this.#maybeFinish();
  }

  /** The buffer a buffered protocol lends for the next read, if valid. */
  #lentBuffer(protocol: IBufferedProtocol): Uint8Array | undefined {
    let buf: unknown;
    const hint = this.#in.size;
    if (
      !this.#callProtocol("getBuffer", () => buf = protocol.getBuffer(hint))
    ) {
      return undefined;
    }
    if (buf instanceof Uint8Array && buf.length !== 0) return buf;
    this.#protocolFailed(
      "getBuffer",
      new TypeError(
        `Cannot read into ${
          Object.prototype.toString.call(buf)
        }: getBuffer must return a non-empty Uint8Array`,
      ),
    );
    return undefined;
  }

  /** Bytes read (or how many went into the lent buffer) to the protocol. */
  #deliver(data: Uint8Array | number): void {
    const protocol = this.protocol!;
    const ok = typeof data === "number"
      ? this.#callProtocol(
        "bufferUpdated",
        () => (protocol as IBufferedProtocol).bufferUpdated(data),
      )
      : this.#callProtocol("dataReceived", () => protocol.dataReceived(data));
    if (ok) this.#afterCallback();
  }

  /**
   * Calls into the protocol (or producer) as a callback: writes it makes
   * are flushed together afterwards. An error it throws is logged and
   * closes the connection with that error as the reason (only logged when
   * `logOnly`).
   *
   * @returns Whether `fn` returned normally.
   */
  #callProtocol(name: string, fn: () => void, logOnly = false): boolean {
    this.#inCallback = true;
    try {
      fn();
    } catch (error) {
      this.#inCallback = false;
      if (logOnly) {
        log.failure(
          "Unhandled error in {protocol}.{method}",
          new Failure(error),
          "critical",
          {
            protocol: nameOf(this.protocol),
            method: name,
          },
        );
      } else this.#protocolFailed(name, error);
      return false;
    }
    this.#inCallback = false;
    return true;
  }

  #readEOF(): void {
    const protocol = this.protocol;
    if (!isHalfCloseable(protocol)) {
      // The peer is done: send what is queued, then close cleanly.
      this.loseConnection();
      return;
    }
    if (
      !this.#callProtocol(
        "readConnectionLost",
        () => protocol.readConnectionLost(),
      )
    ) {
      return;
    }
    if (this.#writeDisconnected && !this.#closed) {
      this.#closeConn(new Failure(new ConnectionDone()));
    } else {
      this.#afterCallback();
    }
  }

  /** Stops delivering data until `resumeProducing()`: no reads are issued. */
  pauseProducing(): void {
    this.#paused = true;
  }

  /** Resumes reading (and delivers anything read before the pause). */
  resumeProducing(): void {
    if (this.#closed || this.#disconnecting || !this.#paused) return;
    this.#paused = false;
    this.#wake?.();
  }

  /** Stops for good: the same as `loseConnection()`, as in Twisted. */
  stopProducing(): void {
    this.loseConnection();
  }

  // ------------------------------------------------------------ producer

  /**
   * Registers a producer of the data written here (see the class doc).
   *
   * @param producer A push (`streaming`) or pull producer.
   * @param streaming Whether it is a push producer.
   * @throws {Error} When a producer is already registered.
   */
  registerProducer(producer: IProducer, streaming: boolean): void {
    if (this.#producer !== undefined) {
      throw new Error(
        `Cannot register producer ${nameOf(producer)}: producer ${
          nameOf(this.#producer)
        } was never unregistered`,
      );
    }
    if (this.#closed) {
      producer.stopProducing();
      return;
    }
    this.#producer = producer;
    this.#streaming = streaming;
    this.#producerPaused = false;
    if (streaming) {
      if (this.#out.queued > BUFFER_SIZE) this.#pauseProducer();
    } else {
      producer.resumeProducing();
    }
  }

  /** Detaches the producer; a pending `loseConnection()` can then finish. */
  unregisterProducer(): void {
    this.#producer = undefined;
    this.#producerPaused = false;
    if (this.#disconnecting || this.#writeDisconnecting) this.#kick();
  }

  // ------------------------------------------------------------ closing

  /**
   * Sends everything queued, then closes; the protocol gets
   * `ConnectionDone`. Reading stops at once. With a pull producer (or a
   * paused push producer) registered, the close waits until it is
   * unregistered, as in Twisted.
   */
  loseConnection(): void {
    if (this.#closed || this.#disconnecting) return;
    this.#disconnecting = true;
    this.#paused = false;
    this.#wake?.(); // a parked read loop exits
    if (this.#writeDisconnected && !this.#flushing) {
      this.#closeConn(new Failure(new ConnectionDone()));
      return;
    }
    this.#kick();
  }

  /** Sends everything queued, then shuts the writing half (peer sees EOF). */
  loseWriteConnection(): void {
    if (this.#closed || this.#writeDisconnecting) return;
    this.#writeDisconnecting = true;
    this.#kick();
  }

  /**
   * Drops what is queued and closes now; the protocol gets
   * `ConnectionAborted`, later (never from inside this call).
   */
  abortConnection(): void {
    if (this.#closed) return;
    this.#closeNow(new Failure(new ConnectionAborted()));
  }

  /**
   * Closes at reactor shutdown (without flushing, as Twisted does); the
   * protocol gets `ConnectionLost`.
   *
   * @returns Resolves once `connectionLost` has run.
   */
  shutdown(): Promise<void> {
    if (this.#finished) return Promise.resolve();
    this.#whenFinished ??= Promise.withResolvers<void>();
    if (!this.#closed) {
      this.#closeNow(
        new Failure(new ConnectionLost("the reactor is shutting down")),
      );
    }
    return this.#whenFinished.promise;
  }

  #protocolFailed(method: string, error: unknown): void {
    const failure = new Failure(error);
    log.failure("Unhandled error in {protocol}.{method}", failure, "critical", {
      protocol: nameOf(this.protocol),
      method,
    });
    if (!this.#closed) this.#closeNow(failure);
  }

  /** An orderly close: everything was sent. */
  #closeConn(reason: Failure): void {
    this.#close(reason);
  }

  /** A close that drops what is queued. */
  #closeNow(reason: Failure): void {
    this.#out.clear();
    this.#close(reason);
  }

  #close(reason: Failure): void {
    this.#closed = true;
    this.#disconnecting = true;
    this.#reason = reason;
    this.#stash = undefined;
    try {
      this.#conn.close(); // pending read and write ops end (Interrupted)
    } catch {
      // Already closed (e.g. by replaceConn's upgrade failing).
    }
    this.#wake?.();
    if (!this.#reading && !this.#flushing) {
      // No loop will notice: finish later, never inside the caller.
      queueMicrotask(() => this.#maybeFinish());
    }
  }

  /** Delivers connectionLost once both loops have ended. */
  #maybeFinish(): void {
    if (this.#finished || this.#reading || this.#flushing) return;
    this.#finished = true;
    this.#in.release();
    this.#out.clear();
    const reason = this.#reason!;
    this.#reactor.untrackResource(this);
    const producer = this.#producer;
    if (producer !== undefined) {
      this.#producer = undefined;
      try {
        producer.stopProducing();
      } catch (error) {
        log.failure(
          "Unhandled error in {producer}.stopProducing",
          new Failure(error),
          "critical",
          { producer: nameOf(producer) },
        );
      }
    }
    try {
      this.protocol?.connectionLost(reason);
    } catch (error) {
      log.failure(
        "Unhandled error in {protocol}.connectionLost",
        new Failure(error),
        "critical",
        { protocol: nameOf(this.protocol) },
      );
    }
    try {
      this.#onLost?.(reason);
    } catch (error) {
      log.failure("Unhandled error after connectionLost", new Failure(error));
    }
    this.#whenFinished?.resolve();
  }

  // ------------------------------------------------------------ addresses

  /** The remote address. */
  getPeer(): IAddress {
    return addressFromDeno(this.#conn.remoteAddr);
  }

  /** The local address. */
  getHost(): IAddress {
    return addressFromDeno(this.#conn.localAddr);
  }

  /**
   * Turns Nagle's algorithm off (`true`) or on; a no-op on sockets without
   * it (UNIX).
   */
  setTcpNoDelay(on: boolean): void {
    const conn = this.#conn as Partial<Deno.TcpConn>;
    if (!this.#closed && typeof conn.setNoDelay === "function") {
      conn.setNoDelay(on);
    }
  }

  /** Turns TCP keep-alive on or off; a no-op on sockets without it. */
  setTcpKeepAlive(on: boolean): void {
    const conn = this.#conn as Partial<Deno.TcpConn>;
    if (!this.#closed && typeof conn.setKeepAlive === "function") {
      conn.setKeepAlive(on);
    }
  }

  /** A short name for logs: the protocol's. */
  logPrefix(): string {
    return `${nameOf(this.protocol)},${this.#isClient ? "client" : "server"}`;
  }

  // ------------------------------------------------------------ TLS hooks

  /**
   * Upgrades the connection to TLS, with the implementation the TLS module
   * installed ({@linkcode StreamTransport.setStartTLS}).
   *
   * Without `options.side`, this end takes its connection's own side, as
   * in Twisted: a connection a port accepted performs the server handshake
   * (and needs `cert` and `key`), one a connector made the client's.
   *
   * @param options Which side, certificates, hostname, ALPN.
   * @throws {Error} When no TLS implementation is installed.
   */
  startTLS(options: StartTLSOptions): void {
    const handler = StreamTransport.#startTLS;
    if (handler === undefined) {
      throw new Error(
        "Cannot start TLS: no TLS implementation is loaded (import @twisted-deno/core/reactor)",
      );
    }
    handler(
      this,
      options?.side === undefined
        ? { ...options, side: this.#isClient ? "client" : "server" }
        : options,
    );
  }

  /**
   * Replaces the underlying conn with `upgrade(conn)` (for STARTTLS): the
   * bytes queued before this call are sent on the old conn first; writes
   * made after it wait and go out on the new conn; the read loop parks
   * without a read pending (which `Deno.startTls` requires) and resumes
   * on the new conn.
   *
   * Call it from inside a protocol callback (`dataReceived`,
   * `connectionMade`) when you can: no read is pending then. Called at any
   * other time, it waits for the read in flight, whose bytes (possibly the
   * peer's first handshake bytes) are delivered as plain data.
   *
   * If `upgrade` throws, the connection closes with that error as the
   * reason and the returned Promise rejects with it.
   *
   * @param upgrade Builds the new conn on the old one.
   * @returns Resolves once the new conn is in use.
   * @throws {Error} (rejects) When the connection is closed, or already
   *   being replaced.
   */
  async replaceConn(upgrade: ConnUpgrade): Promise<void> {
    if (this.#closed || this.#swapping) {
      throw new Error(
        `Cannot replace the connection: it is ${
          this.#closed ? "closed" : "already being replaced"
        }`,
      );
    }
    this.#swapping = true;
    // What was written before this call goes out on the old conn first.
    const before = this.#out.takeAll();
    if (this.#flushing) {
      await new Promise<void>((resolve) => this.#flushIdle = resolve);
      this.#flushIdle = undefined;
    }
    if (this.#reading && this.#wake === undefined) {
      await new Promise<void>((resolve) => this.#parked = resolve);
      this.#parked = undefined;
    }
    let error: unknown = undefined;
    let failed = false;
    this.#flushing = true; // our writes and the upgrade are this conn's ops
    if (!this.#closed) {
      try {
        for (const chunk of before) {
          let offset = 0;
          while (offset < chunk.length) {
            const n = await this.#conn.write(chunk.subarray(offset));
            offset += n;
            this.#out.sent(n);
          }
        }
        if (!this.#closed) this.#conn = await upgrade(this.#conn);
      } catch (e) {
        error = e;
        failed = true;
      }
    }
    this.#flushing = false;
    this.#swapping = false;
    if (this.#closed) {
      this.#maybeFinish();
      throw new Error("Cannot replace the connection: it closed meanwhile");
    }
    if (failed) {
      this.#closeNow(new Failure(error));
      throw error;
    }
    this.#wake?.();
    this.#kick();
  }
}
