/**
 * {@linkcode StreamTransport}: one connection of a stream socket (TCP, UNIX,
 * TLS) over any `Deno.Conn`, with its read and flush loops and its close
 * state machine. Buffers, the write queue, text batching and the producer
 * slot are socket-free private classes (`_read_buffer.ts`,
 * `_write_queue.ts`, `_text_batch.ts`, `_producer_slot.ts`).
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
import {
  addressFromDeno,
  type ConnUpgrade,
  describeError,
  nameOf,
  type StartTLSHandler,
} from "./_names.ts";
import { ProducerSlot } from "./_producer_slot.ts";
import { lent, ReadBuffer } from "./_read_buffer.ts";
import {
  checkWritable,
  notText,
  notWritable,
  WriteQueue,
} from "./_write_queue.ts";

export { addressFromDeno };
export type { ConnUpgrade, StartTLSHandler } from "./_names.ts";

const log = new Logger("reactor.stream");

/** The reason for a connection an I/O error ended. */
function lostBy(error: unknown): Failure {
  return new Failure(
    new ConnectionLost(describeError(error), { cause: error }),
  );
}

/**
 * A stream connection: the {@linkcode ITransport} of TCP, UNIX and TLS
 * connections, over any `Deno.Conn`.
 *
 * Writes queue and never block (an array is sent as it is, so do not
 * modify it after the call); those made while the protocol is being
 * called are flushed together when it returns. `loseConnection()` flushes
 * then closes (`ConnectionDone`), `abortConnection()` drops the queue
 * (`ConnectionAborted`), the peer closing gives `ConnectionDone`, an I/O
 * error `ConnectionLost`, an error thrown by the protocol that error. On
 * the peer's EOF an `IHalfCloseableProtocol` may go on writing. A streaming
 * producer is paused past 64 KiB queued. `connectionLost` runs once, after
 * both loops have ended, never inside another call into the protocol. An
 * `IBufferedProtocol` lends the buffer each read fills (zero copy).
 *
 * Transport authors need only the constructor and
 * {@linkcode StreamTransport.connectProtocol}; STARTTLS swaps the conn with
 * {@linkcode StreamTransport.replaceConn}.
 *
 * @example An echo over a loopback pair of Deno conns
 * ```ts
 * import assert from "node:assert/strict";
 * import { DenoReactor } from "@twisted-deno/core/reactor";
 * import { StreamTransport } from "@twisted-deno/core/reactor/net";
 * import { Protocol } from "@twisted-deno/core/protocols";
 * import type { Failure } from "@twisted-deno/core/deferred";
 *
 * const lost = Promise.withResolvers<Failure>();
 * class Echo extends Protocol {
 *   override dataReceived(data: Uint8Array): void {
 *     this.transport!.write(data);
 *     this.transport!.loseConnection();
 *   }
 *   override connectionLost(reason: Failure): void {
 *     lost.resolve(reason);
 *   }
 * }
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * const server = await listener.accept();
 * listener.close();
 * const transport = new StreamTransport(server, new DenoReactor());
 * transport.connectProtocol(new Echo(), "server");
 * assert.throws(() => transport.connectProtocol(new Echo(), "server"), /already has/);
 * transport.writeText("héllo", "\r\n"); // text, UTF-8 encoded
 * await client.write(new TextEncoder().encode("hi"));
 * assert.equal(await new Response(client.readable).text(), "héllo\r\nhi");
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
  #producer = new ProducerSlot();
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
   * Wraps `conn` (nothing happens until `connectProtocol`).
   *
   * @param conn The connected socket (TCP, UNIX, TLS ...).
   * @param reactor Tracks the connection, to close it at shutdown.
   * @param onLost Called after the protocol's `connectionLost`, alike.
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
   * Installs the implementation of {@linkcode StreamTransport.startTLS}
   * (the TLS module does when it loads; it builds on
   * {@linkcode StreamTransport.replaceConn}).
   *
   * @param handler Upgrades `transport` with `options`; called
   *   synchronously by `startTLS()`, it may throw to refuse.
   *
   * @example Replace the handler, then put the TLS module's back
   * ```ts
   * import assert from "node:assert/strict";
   * import { StreamTransport } from "@twisted-deno/core/reactor/net";
   *
   * const previous = StreamTransport.getStartTLS(); // the reactor loaded it
   * assert.equal(typeof previous, "function");
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
   * @returns The handler given to {@linkcode StreamTransport.setStartTLS}
   *   (see its example).
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

  /** Bytes written but not yet handed to the socket (pending text: its UTF-16 length). */
  get bufferedAmount(): number {
    return this.#out.queued;
  }

  /**
   * Attaches `protocol` (calls its `makeConnection`) and starts reading. An
   * error thrown by `connectionMade` is logged (a client's also closes).
   *
   * @param protocol The protocol the factory built.
   * @param side `"client"` or `"server"`, for error handling and logs.
   * @throws {Error} When a protocol is already attached.
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
    const logOnly = !this.#isClient; // Twisted: a server's goes on
    this.#callProtocol(
      "connectionMade",
      () => protocol.makeConnection(this),
      logOnly,
    );
    if (!this.#closed && !this.#readDone) this.#readLoop();
  }

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
    if (!(data instanceof Uint8Array)) throw notWritable(data, "data");
    if (data.length === 0 || this.#closed || this.#writeDisconnected) return;
    this.#out.push(data);
    this.#queuedMore();
  }

  /** After queueing: pause a streaming producer past 64 KiB, flush. */
  #queuedMore(): void {
    const producer = this.#producer.toPause(this.#out.queued);
    if (producer !== undefined) this.#pauseProducer(producer);
    if (!this.#flushing && !this.#inCallback && !this.#swapping) this.#flush();
  }

  /**
   * Queues `text`, then `suffix`: the same bytes as `write(text)` then
   * `write(suffix)` (each call encoded on its own), but kept as a string
   * and UTF-8 encoded a batch at a time, so many short strings cost one
   * `TextEncoder` call (`LineReceiver.sendLine` uses it when present; not
   * part of {@linkcode ITransport}).
   *
   * @param text Any string (lone surrogates become U+FFFD).
   * @param suffix Sent after `text` (a delimiter).
   * @throws {TypeError} When `text` or `suffix` is not a string.
   */
  writeText(text: string, suffix = ""): void {
    if (typeof text !== "string") throw notText(text);
    if (typeof suffix !== "string") throw notText(suffix);
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
    const list = Array.from(chunks, checkWritable);
    const inCallback = this.#inCallback;
    this.#inCallback = true; // one flush for the lot
    try {
      for (const chunk of list) this.write(chunk);
    } finally {
      this.#inCallback = inCallback;
    }
    if (!inCallback) this.#afterCallback();
  }

  #pauseProducer(producer: IPushProducer): void {
    try {
      producer.pauseProducing();
    } catch (error) {
      this.#protocolFailed("pauseProducing", error);
    }
  }

  /** The flush loop: sends what is queued, then resumes producers or closes. */
  async #flush(): Promise<void> {
    this.#flushing = true;
    try {
      // Nothing queued (a close ...): return first, never re-entrant.
      if (this.#out.queued === 0) await null;
      while (this.#out.queued > 0 && !this.#closed && !this.#swapping) {
        const chunk = this.#out.take()!; // inline: no Promise per write
        const conn = this.#conn;
        for (let offset = 0; offset < chunk.length;) {
          const n = await conn.write(offset ? chunk.subarray(offset) : chunk);
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
    if (this.#closed) this.#maybeFinish();
    else if (this.#swapping) this.#flushIdle?.();
    else this.#drained();
  }

  /** A write (or closeWrite) op failed: the connection is lost. */
  #writeFailed(error: unknown): void {
    this.#flushing = false;
    this.#flushIdle?.();
    if (this.#closed) this.#maybeFinish();
    else this.#closeNow(lostBy(error));
  }

  /** The queue is empty: resume producers, or finish a pending close. */
  #drained(): void {
    if (this.#buffered !== undefined) this.#wake?.(); // its buffer is free
    const producer = this.#producer.toResume();
    if (producer !== undefined) {
      this.#callProtocol("resumeProducing", () => producer.resumeProducing());
    } else if (this.#disconnecting) {
      this.#close(new Failure(new ConnectionDone()));
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
    this.#halfClosed(
      "writeConnectionLost",
      () => isHalfCloseable(protocol) && protocol.writeConnectionLost(),
      () => this.#readDone || this.#disconnecting, // or a close waited
    );
  }

  /** Tells the protocol one half is shut; closes once both are. */
  #halfClosed(name: string, fn: () => void, bothShut: () => boolean): void {
    if (this.#callProtocol(name, fn) && bothShut() && !this.#closed) {
      this.#close(new Failure(new ConnectionDone()));
    }
  }

  // The read loop: one read at a time, each chunk to the protocol at once;
  // a lent buffer is read into only once what was written has drained.
  // Parks (no read pending) while paused or while the conn is replaced.
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
        if (!this.#closed) this.#closeNow(lostBy(error));
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
    let buf: Uint8Array | undefined;
    const hint = this.#in.size;
    this.#callProtocol("getBuffer", () => buf = lent(protocol.getBuffer(hint)));
    return buf;
  }

  /** Bytes read (or how many went into the lent buffer) to the protocol. */
  #deliver(data: Uint8Array | number): void {
    const protocol = this.protocol!;
    if (typeof data !== "number") {
      this.#callProtocol("dataReceived", () => protocol.dataReceived(data));
    } else {
      const buffered = protocol as IBufferedProtocol;
      this.#callProtocol("bufferUpdated", () => buffered.bufferUpdated(data));
    }
  }

  // Calls into the protocol (or producer), then flushes what it wrote in
  // one go: an error it throws is logged and closes the connection with it
  // (only logged when logOnly). True if no error.
  #callProtocol(name: string, fn: () => void, logOnly = false): boolean {
    let ok = true;
    this.#inCallback = true;
    try {
      fn();
    } catch (error) {
      this.#inCallback = ok = false;
      if (logOnly) this.#logError(name, new Failure(error));
      else this.#protocolFailed(name, error);
    }
    this.#inCallback = false;
    this.#afterCallback();
    return ok;
  }

  #readEOF(): void {
    const protocol = this.protocol;
    if (!isHalfCloseable(protocol)) {
      // The peer is done: send what is queued, then close cleanly.
      this.loseConnection();
      return;
    }
    this.#halfClosed(
      "readConnectionLost",
      () => protocol.readConnectionLost(),
      () => this.#writeDisconnected,
    );
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

  /**
   * Registers a producer of the data written here (see the class doc).
   *
   * @param producer A push (`streaming`) or pull producer.
   * @param streaming Whether it is a push producer.
   * @throws {Error} When a producer is already registered.
   */
  registerProducer(producer: IProducer, streaming: boolean): void {
    this.#producer.register(producer, streaming);
    if (this.#closed) {
      this.#producer.clear();
      producer.stopProducing();
    } else if (!streaming) {
      producer.resumeProducing();
    } else {
      const push = this.#producer.toPause(this.#out.queued);
      if (push !== undefined) this.#pauseProducer(push);
    }
  }

  /** Detaches the producer; a pending `loseConnection()` can then finish. */
  unregisterProducer(): void {
    this.#producer.clear();
    if (this.#disconnecting || this.#writeDisconnecting) this.#kick();
  }

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
      this.#close(new Failure(new ConnectionDone()));
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
   * `ConnectionAborted`, later (never from inside this call), as in
   * Twisted. Unlike Twisted, which sets `SO_LINGER` to 0 so the peer gets
   * a reset (`ConnectionLost`), the peer sees an orderly EOF and so
   * `ConnectionDone`: Deno has no `SO_LINGER`, and closing a Deno TCP conn
   * shuts its writing half (FIN) before the descriptor is closed, so even
   * unread received bytes (on Linux, a reset at close) reach the peer only
   * after the EOF, as an error on its next write at most. A peer that
   * aborts with a reset is reported here as `ConnectionLost`.
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
    const reason = new ConnectionLost("the reactor is shutting down");
    if (!this.#closed) this.#closeNow(new Failure(reason));
    return this.#whenFinished.promise;
  }

  #protocolFailed(method: string, error: unknown): void {
    const failure = new Failure(error);
    this.#logError(method, failure);
    if (!this.#closed) this.#closeNow(failure);
  }

  #logError(method: string, failure: Failure): void {
    log.failure("Unhandled error in {protocol}.{method}", failure, "critical", {
      protocol: nameOf(this.protocol),
      method,
    });
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
    const producer = this.#producer.clear();
    const protocol = this.protocol;
    const onLost = this.#onLost;
    this.#callProtocol("stopProducing", () => producer?.stopProducing(), true);
    this.#callProtocol(
      "connectionLost",
      () => protocol?.connectionLost(reason),
      true,
    );
    this.#callProtocol("onLost", () => onLost?.(reason), true);
    this.#whenFinished?.resolve();
  }

  /** The remote address. */
  getPeer(): IAddress {
    return addressFromDeno(this.#conn.remoteAddr);
  }

  /** The local address. */
  getHost(): IAddress {
    return addressFromDeno(this.#conn.localAddr);
  }

  /** Turns Nagle's algorithm off (`true`) or on; a no-op without it (UNIX). */
  setTcpNoDelay(on: boolean): void {
    if (!this.#closed) (this.#conn as Partial<Deno.TcpConn>).setNoDelay?.(on);
  }

  /** Turns TCP keep-alive on or off; a no-op on sockets without it. */
  setTcpKeepAlive(on: boolean): void {
    if (!this.#closed) (this.#conn as Partial<Deno.TcpConn>).setKeepAlive?.(on);
  }

  /** A short name for logs: the protocol's. */
  logPrefix(): string {
    return `${nameOf(this.protocol)},${this.#isClient ? "client" : "server"}`;
  }

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
   * Replaces the conn with `upgrade(conn)` (STARTTLS): bytes queued before
   * the call go out on the old conn first, later writes on the new one;
   * the read loop parks with no read pending (as `Deno.startTls` requires).
   * Best called from a protocol callback: at other times it waits for the
   * read in flight, whose bytes are delivered as plain data. If `upgrade`
   * throws, the connection closes with that error and this rejects with it.
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
          for (let offset = 0; offset < chunk.length && !this.#closed;) {
            const n = await this.#conn.write(chunk.subarray(offset));
            if (!this.#closed) this.#out.sent(n);
            offset += n;
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
