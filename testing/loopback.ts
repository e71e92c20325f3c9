/**
 * Two protocols connected in memory, as if by a socket:
 * {@linkcode loopbackAsync} pumps the bytes by itself until the connection
 * closes, {@linkcode connectedServerAndClient} hands the test an
 * {@linkcode IOPump} to move them step by step. Both follow Twisted's
 * `twisted.protocols.loopback` and `twisted.test.iosim`.
 *
 * The in-memory connection behaves like a stream socket, in the ways a
 * protocol can observe:
 * - bytes arrive in order, each write as one chunk (`"identity"`) or, when
 *   pumped by an {@linkcode IOPump} or with `pumpPolicy: "collapsing"`, all
 *   pending writes as one chunk;
 * - `loseConnection()` closes once what was written has been delivered;
 *   both sides then get `connectionLost` with `ConnectionDone`, the closing
 *   side first. `abortConnection()` drops what is pending: the aborting side
 *   gets `ConnectionAborted`, the other `ConnectionLost`;
 * - `loseWriteConnection()` delivers the pending bytes, then calls the
 *   writer's `writeConnectionLost()` and the reader's `readConnectionLost()`
 *   when they implement `IHalfCloseableProtocol`; a reader that does not
 *   implement it closes the whole connection, as with a socket;
 * - `transport.pauseProducing()` holds incoming bytes (and the close that
 *   follows them) until `resumeProducing()`;
 * - a registered pull producer is asked for more on registration and each
 *   time what its side wrote has been delivered; a streaming producer is
 *   paused when over 64 KiB is pending and resumed once it is delivered;
 *   both are stopped when the connection closes.
 *
 * No timers and no sockets: `loopbackAsync` continues on the microtask
 * queue when a protocol writes later (from a `Clock` call, say), and an
 * `IOPump` moves bytes only when told.
 *
 * @module
 */

import { Deferred } from "../deferred/deferred.ts";
import { Failure } from "../deferred/failure.ts";
import {
  ConnectionAborted,
  ConnectionDone,
  ConnectionLost,
} from "../reactor/errors.ts";
import {
  type IAddress,
  type IProducer,
  type IProtocol,
  type IProtocolFactory,
  isHalfCloseable,
  type ITransport,
  type StartTLSOptions,
} from "../reactor/interfaces.ts";

import { bytesOf } from "./_bytes.ts";

/** Pending bytes past which a streaming producer is paused, as in Twisted. */
const HIGH_WATER = 64 * 1024;

const DEFAULT_SERVER: IAddress = {
  type: "TCP",
  host: "127.0.0.1",
  port: 12345,
};
const DEFAULT_CLIENT: IAddress = {
  type: "TCP",
  host: "127.0.0.1",
  port: 54321,
};

/**
 * One end of an in-memory connection made by {@linkcode loopbackAsync} or
 * {@linkcode connectedServerAndClient}. Writes queue until the connection
 * is pumped; see the module doc for what pumping does.
 *
 * @example Inspect a transport of a pumped connection
 * ```ts
 * import assert from "node:assert/strict";
 * import { Protocol } from "@twisted-deno/core/protocols";
 * import { connectedServerAndClient } from "@twisted-deno/core/testing";
 *
 * const [client, server, pump] = connectedServerAndClient(Protocol, Protocol);
 * assert.deepEqual(pump.clientIO.getPeer(), server.transport!.getHost());
 * client.transport!.setTcpNoDelay(true);
 * assert.equal(pump.clientIO.tcpNoDelay, true);
 * ```
 */
export class LoopbackTransport implements ITransport {
  /** True once `loseConnection()` or `abortConnection()` was called, or the connection closed. */
  disconnecting = false;
  /** Test-only: true once `abortConnection()` was called. */
  disconnected = false;
  /** Test-only: true once `loseWriteConnection()` was called. */
  writeDisconnected = false;
  /** Test-only: false once the protocol got `connectionLost`. */
  connected = true;
  /** Test-only: whether the protocol paused reading (`pauseProducing`). */
  readPaused = false;
  /** Test-only: the registered producer, if any. */
  producer: IProducer | undefined = undefined;
  /** Test-only: the `streaming` flag it was registered with. */
  streaming: boolean | undefined = undefined;
  /** Test-only: the last value given to `setTcpNoDelay`. */
  tcpNoDelay = false;
  /** Test-only: the last value given to `setTcpKeepAlive`. */
  tcpKeepAlive = false;
  /** Test-only: the options of each `startTLS` call (no TLS happens). */
  readonly tlsStarts: StartTLSOptions[] = [];

  /** @internal The other end. */
  peer!: LoopbackTransport;
  /** @internal Chunks written and not yet delivered. */
  queue: Uint8Array[] = [];
  /** @internal Their total length. */
  queued = 0;
  /** @internal Whether this side's half-close reached the peer. */
  eofSent = false;
  /** @internal Whether we paused the streaming producer. */
  producerPaused = false;

  /**
   * Makes one end; {@linkcode loopbackAsync} and
   * {@linkcode connectedServerAndClient} make and pair them.
   *
   * @param protocol The protocol this end delivers to.
   * @param hostAddress What `getHost()` returns.
   * @param peerAddress What `getPeer()` returns.
   * @param onActivity Called when there may be something to pump.
   */
  constructor(
    readonly protocol: IProtocol,
    readonly hostAddress: IAddress,
    readonly peerAddress: IAddress,
    readonly onActivity: () => void,
  ) {}

  /** Queues `data` for the peer (a string is UTF-8 encoded). */
  write(data: Uint8Array | string): void {
    const given = bytesOf(data, "write to a LoopbackTransport");
    if (!this.connected || this.disconnected || this.writeDisconnected) return;
    if (given.length === 0) return;
    // A copy: the writer may reuse its array before the connection is pumped
    // (an encoded string is already a fresh array).
    const bytes = typeof data === "string" ? given : given.slice();
    this.queue.push(bytes);
    this.queued += bytes.length;
    if (
      this.streaming && this.producer !== undefined && !this.producerPaused &&
      this.queued > HIGH_WATER
    ) {
      this.producerPaused = true;
      (this.producer as { pauseProducing(): void }).pauseProducing();
    }
    this.onActivity();
  }

  /** Queues each chunk in order. */
  writeSequence(chunks: Iterable<Uint8Array | string>): void {
    // Validate everything first, so bad input queues nothing; write() copies.
    const all = Array.from(
      chunks,
      (chunk) => bytesOf(chunk, "writeSequence to a LoopbackTransport"),
    );
    for (const bytes of all) this.write(bytes);
  }

  /** Closes once what is queued has been delivered. */
  loseConnection(): void {
    if (!this.connected) return;
    this.disconnecting = true;
    this.onActivity();
  }

  /** Drops what is queued and closes at the next pump. */
  abortConnection(): void {
    if (!this.connected) return;
    this.disconnecting = true;
    this.disconnected = true;
    this.queue = [];
    this.queued = 0;
    this.onActivity();
  }

  /** Half-closes once what is queued has been delivered. */
  loseWriteConnection(): void {
    if (!this.connected) return;
    this.writeDisconnected = true;
    this.onActivity();
  }

  /** The other end's address. */
  getPeer(): IAddress {
    return this.peerAddress;
  }

  /** This end's address. */
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

  /** Records `options` in `tlsStarts`; the bytes stay in the clear. */
  startTLS(options: StartTLSOptions): void {
    this.tlsStarts.push(options);
  }

  /**
   * Registers `producer`: a pull producer (`streaming` false) is asked
   * for data at once; on a closed connection the producer is stopped.
   *
   * @throws {Error} When a producer is already registered.
   */
  registerProducer(producer: IProducer, streaming: boolean): void {
    if (this.producer !== undefined) {
      throw new Error(
        "Cannot register a producer: one is already registered; unregister it first",
      );
    }
    if (!this.connected) {
      producer.stopProducing();
      return;
    }
    this.producer = producer;
    this.streaming = streaming;
    this.producerPaused = false;
    if (!streaming) producer.resumeProducing();
  }

  /** Forgets the producer (nothing happens when none is registered). */
  unregisterProducer(): void {
    this.producer = undefined;
    this.streaming = undefined;
    this.producerPaused = false;
  }

  /** Holds incoming bytes until `resumeProducing()`. */
  pauseProducing(): void {
    this.readPaused = true;
  }

  /** Delivers incoming bytes again. */
  resumeProducing(): void {
    if (!this.readPaused) return;
    this.readPaused = false;
    this.onActivity();
  }

  /** Closes the connection, as a transport's `stopProducing` does. */
  stopProducing(): void {
    this.loseConnection();
  }
}

/** Something a protocol comes from: its class, a function, or a factory. */
export type ProtocolSource<P extends IProtocol> =
  | (new () => P)
  | (() => P)
  | IProtocolFactory;

function isClass(fn: unknown): fn is new () => IProtocol {
  return typeof fn === "function" &&
    /^class[\s{]/.test(Function.prototype.toString.call(fn));
}

function protocolFrom<P extends IProtocol>(
  source: ProtocolSource<P>,
  peer: IAddress,
  side: string,
): P {
  let proto: IProtocol | null | undefined;
  if (typeof (source as IProtocolFactory)?.buildProtocol === "function") {
    proto = (source as IProtocolFactory).buildProtocol(peer);
    if (proto === null) {
      throw new Error(
        `Cannot connect: the ${side} factory refused the connection (buildProtocol returned null)`,
      );
    }
  } else if (isClass(source)) {
    proto = new source();
  } else if (typeof source === "function") {
    proto = (source as () => P)();
  }
  if (typeof proto?.makeConnection !== "function") {
    throw new TypeError(
      `Cannot connect: the ${side} must be a protocol class, a function returning a protocol, or a factory`,
    );
  }
  return proto as P;
}

/** Drives the bytes and closes of one in-memory connection. */
class Pipe {
  closed = false;
  /** The first error a protocol threw while catching (loopbackAsync). */
  error: Failure | undefined;
  readonly ends: [LoopbackTransport, LoopbackTransport];

  constructor(
    server: IProtocol,
    client: IProtocol,
    serverAddress: IAddress,
    clientAddress: IAddress,
    onActivity: () => void,
    readonly catchErrors: boolean,
    readonly onClosed: () => void,
  ) {
    const s = new LoopbackTransport(
      server,
      serverAddress,
      clientAddress,
      onActivity,
    );
    const c = new LoopbackTransport(
      client,
      clientAddress,
      serverAddress,
      onActivity,
    );
    s.peer = c;
    c.peer = s;
    this.ends = [s, c];
  }

  /**
   * One round: delivers what each side has queued, then handles one close
   * or half-close. Returns whether anything happened.
   */
  step(collapse: boolean): boolean {
    if (this.closed) return false;
    let moved = false;
    for (const src of this.ends) {
      if (this.#deliver(src, collapse)) moved = true;
      if (this.closed) return true;
    }
    for (const src of this.ends) {
      if (src.disconnected) {
        this.#close(
          src,
          new ConnectionAborted(),
          new ConnectionLost("the peer aborted the connection"),
        );
        return true;
      }
      if (src.disconnecting && src.queued === 0 && !src.peer.readPaused) {
        this.#close(src, new ConnectionDone(), new ConnectionDone());
        return true;
      }
    }
    for (const src of this.ends) {
      if (
        src.writeDisconnected && !src.eofSent && src.queued === 0 &&
        !src.peer.readPaused
      ) {
        this.#halfClose(src);
        return true;
      }
    }
    return moved;
  }

  #deliver(src: LoopbackTransport, collapse: boolean): boolean {
    const dst = src.peer;
    if (src.queued === 0 || dst.readPaused) return false;
    if (collapse) {
      const all = new Uint8Array(src.queued);
      let at = 0;
      for (const chunk of src.queue) {
        all.set(chunk, at);
        at += chunk.length;
      }
      src.queue = [];
      src.queued = 0;
      if (!this.#guard(dst, () => dst.protocol.dataReceived(all))) return true;
    } else {
      while (src.queue.length > 0 && !dst.readPaused && !this.closed) {
        const chunk = src.queue.shift()!;
        src.queued -= chunk.length;
        if (!this.#guard(dst, () => dst.protocol.dataReceived(chunk))) {
          return true;
        }
      }
    }
    if (src.queued === 0 && !this.closed && src.producer !== undefined) {
      const producer = src.producer;
      if (!src.streaming) {
        this.#guard(src, () => producer.resumeProducing());
      } else if (src.producerPaused) {
        src.producerPaused = false;
        this.#guard(src, () => producer.resumeProducing());
      }
    }
    return true;
  }

  #halfClose(src: LoopbackTransport): void {
    const dst = src.peer;
    src.eofSent = true;
    if (!isHalfCloseable(dst.protocol)) {
      // A socket whose reader does not half-close closes on EOF.
      this.#close(dst, new ConnectionDone(), new ConnectionDone());
      return;
    }
    const writer = src.protocol;
    if (isHalfCloseable(writer)) {
      if (!this.#guard(src, () => writer.writeConnectionLost())) return;
    }
    const reader = dst.protocol;
    if (!this.#guard(dst, () => reader.readConnectionLost())) return;
    if (dst.eofSent && !this.closed) {
      this.#close(src, new ConnectionDone(), new ConnectionDone());
    }
  }

  /**
   * Runs a protocol's method. Unless errors are caught, a throw propagates
   * to the test; when caught (loopbackAsync), it closes the connection with
   * the error as the thrower's reason, as a real transport does.
   */
  #guard(end: LoopbackTransport, fn: () => void): boolean {
    if (!this.catchErrors) {
      fn();
      return true;
    }
    try {
      fn();
      return true;
    } catch (e) {
      const failure = new Failure(e);
      this.error ??= failure;
      if (!this.closed) {
        this.#close(
          end,
          failure,
          new ConnectionLost("the peer's protocol failed"),
        );
      }
      return false;
    }
  }

  #close(
    first: LoopbackTransport,
    firstReason: Failure | Error,
    secondReason: Failure | Error,
  ): void {
    this.closed = true;
    for (const end of this.ends) {
      end.connected = false;
      end.disconnecting = true;
      end.queue = [];
      end.queued = 0;
    }
    let error: unknown;
    let failed = false;
    const safely = (fn: () => void) => {
      try {
        fn();
      } catch (e) {
        if (!failed) {
          failed = true;
          error = e;
        }
      }
    };
    for (const end of this.ends) {
      const producer = end.producer;
      if (producer !== undefined) {
        // Still registered while it stops, so it may unregister itself.
        safely(() => producer.stopProducing());
        end.producer = undefined;
        end.streaming = undefined;
      }
    }
    const second = first.peer;
    const asFailure = (r: Failure | Error) =>
      r instanceof Failure ? r : new Failure(r);
    safely(() => first.protocol.connectionLost(asFailure(firstReason)));
    safely(() => second.protocol.connectionLost(asFailure(secondReason)));
    this.onClosed();
    if (failed) {
      if (!this.catchErrors) throw error;
      this.error ??= new Failure(error);
    }
  }
}

/** Options of {@linkcode loopbackAsync}. */
export interface LoopbackAsyncOptions {
  /**
   * How queued writes are delivered: `"identity"` (default) delivers each
   * write as its own `dataReceived`; `"collapsing"` joins what is pending.
   */
  pumpPolicy?: "identity" | "collapsing";
  /** The server end's address (default TCP `127.0.0.1:12345`). */
  serverAddress?: IAddress;
  /** The client end's address (default TCP `127.0.0.1:54321`). */
  clientAddress?: IAddress;
}

/**
 * Connects `server` and `client` in memory and moves the bytes each writes
 * to the other until one side closes the connection.
 *
 * `server.makeConnection` runs first, then `client.makeConnection` (an
 * error either throws propagates to the caller); the first pumping
 * happens at once, and later writes (from a timer, say) are
 * pumped on the microtask queue. An error a protocol method throws closes
 * the connection (the thrower gets it as its `connectionLost` reason, the
 * other side `ConnectionLost`) and fails the returned Deferred.
 *
 * @param server The accepting side's protocol.
 * @param client The connecting side's protocol.
 * @param options Delivery policy and addresses.
 * @returns A Deferred that fires after both sides' `connectionLost`. If
 *   neither side ever closes, it never fires.
 *
 * @example A request and a reply, then close
 * ```ts
 * import assert from "node:assert/strict";
 * import { Protocol } from "@twisted-deno/core/protocols";
 * import { loopbackAsync } from "@twisted-deno/core/testing";
 *
 * class Upper extends Protocol {
 *   override dataReceived(data: Uint8Array): void {
 *     this.transport!.write(new TextDecoder().decode(data).toUpperCase());
 *     this.transport!.loseConnection();
 *   }
 * }
 * class Ask extends Protocol {
 *   reply = "";
 *   override connectionMade(): void {
 *     this.transport!.write("hello");
 *   }
 *   override dataReceived(data: Uint8Array): void {
 *     this.reply += new TextDecoder().decode(data);
 *   }
 * }
 * const client = new Ask();
 * await loopbackAsync(new Upper(), client);
 * assert.equal(client.reply, "HELLO");
 * ```
 */
export function loopbackAsync(
  server: IProtocol,
  client: IProtocol,
  options?: LoopbackAsyncOptions,
): Deferred<void> {
  options ??= {};
  const collapse = options.pumpPolicy === "collapsing";
  const done = new Deferred<void>();
  let pumping = true; // until the first pumping below has begun
  let dirty = false;
  let scheduled = false;

  const run = () => {
    pumping = true;
    try {
      do {
        dirty = false;
        while (pipe.step(collapse)) { /* keep moving */ }
      } while (dirty && !pipe.closed);
    } finally {
      pumping = false;
    }
  };
  const onActivity = () => {
    if (pipe.closed) return;
    if (pumping) {
      dirty = true;
      return;
    }
    if (scheduled) return;
    scheduled = true;
    // Not synchronously: no real transport re-enters the protocol from
    // inside its own write().
    queueMicrotask(() => {
      scheduled = false;
      run();
    });
  };
  const pipe: Pipe = new Pipe(
    server,
    client,
    options.serverAddress ?? DEFAULT_SERVER,
    options.clientAddress ?? DEFAULT_CLIENT,
    onActivity,
    true,
    () => {
      // Fire after this step's connectionLost calls have both returned.
      queueMicrotask(() => {
        if (pipe.error) done.errback(pipe.error);
        else done.callback();
      });
    },
  );
  server.makeConnection(pipe.ends[0]);
  client.makeConnection(pipe.ends[1]);
  run();
  return done;
}

/** Something with a Clock's `advance`, advanced by 0 at each pump. */
export interface AdvanceableClock {
  /** Moves time forward by `amount` seconds. */
  advance(amount: number): void;
}

/**
 * Moves bytes between the two ends of a connection made by
 * {@linkcode connectedServerAndClient}, only when told: `pump()` is one
 * round, `flush()` pumps until nothing moves. Each round delivers all that
 * each side has pending as one chunk (as Twisted's `iosim` does) and then
 * at most one close. An error a protocol throws propagates out of
 * `pump()`/`flush()`.
 *
 * @example Step a conversation
 * ```ts
 * import assert from "node:assert/strict";
 * import { Protocol } from "@twisted-deno/core/protocols";
 * import { AccumulatingProtocol, connectedServerAndClient } from "@twisted-deno/core/testing";
 *
 * const [client, server, pump] = connectedServerAndClient(Protocol, AccumulatingProtocol, { greet: false });
 * server.transport!.write("one");
 * server.transport!.write("two");
 * assert.equal(client.data.length, 0);
 * assert.equal(pump.pump(), true);
 * assert.equal(new TextDecoder().decode(client.data), "onetwo");
 * assert.equal(pump.pump(), false);
 * ```
 */
export class IOPump {
  #pipe: Pipe;

  /** @internal Use {@linkcode connectedServerAndClient}. */
  constructor(
    pipe: unknown,
    readonly client: IProtocol,
    readonly server: IProtocol,
    readonly clock?: AdvanceableClock,
  ) {
    this.#pipe = pipe as Pipe;
  }

  /** The client's transport. */
  get clientIO(): LoopbackTransport {
    return this.#pipe.ends[1];
  }

  /** The server's transport. */
  get serverIO(): LoopbackTransport {
    return this.#pipe.ends[0];
  }

  /**
   * One round: advances the clock by 0 (running calls now due), delivers
   * what each side wrote, handles one close.
   *
   * @param advanceClock Whether to advance the clock first (default true).
   * @returns Whether anything moved or closed.
   */
  pump(advanceClock = true): boolean {
    if (advanceClock) this.clock?.advance(0);
    return this.#pipe.step(true);
  }

  /**
   * Pumps until a round moves nothing.
   *
   * @param advanceClock Whether each round advances the clock by 0.
   * @returns Whether anything moved.
   * @throws {Error} When data still moves after 1000 rounds (two
   *   protocols answering each other forever).
   */
  flush(advanceClock = true): boolean {
    let moved = false;
    for (let i = 0; i < 1000; i++) {
      if (!this.pump(advanceClock)) return moved;
      moved = true;
    }
    throw new Error(
      "Cannot flush the IOPump: data still moving after 1000 rounds",
    );
  }
}

/** Options of {@linkcode connectedServerAndClient}. */
export interface ConnectedServerAndClientOptions {
  /** Flush once before returning, so greetings are exchanged (default true). */
  greet?: boolean;
  /** A clock advanced by 0 at each pump, running calls due now. */
  clock?: AdvanceableClock;
  /** The server end's address (default TCP `127.0.0.1:12345`). */
  serverAddress?: IAddress;
  /** The client end's address (default TCP `127.0.0.1:54321`). */
  clientAddress?: IAddress;
}

/**
 * Makes a server and a client protocol, connects them in memory, and
 * returns them with the {@linkcode IOPump} that moves their bytes.
 *
 * Each side may be given as a protocol class, a function returning a
 * protocol, or a factory (its `buildProtocol` gets the other end's
 * address). The server's `makeConnection` runs first.
 *
 * @param server Where the server protocol comes from.
 * @param client Where the client protocol comes from.
 * @param options `greet`, `clock` and addresses.
 * @returns `[client, server, pump]`, in Twisted's order.
 *
 * @example An echo server and a client, pumped by hand
 * ```ts
 * import assert from "node:assert/strict";
 * import { Factory, Protocol } from "@twisted-deno/core/protocols";
 * import { AccumulatingProtocol, connectedServerAndClient } from "@twisted-deno/core/testing";
 *
 * class Echo extends Protocol {
 *   override dataReceived(data: Uint8Array): void {
 *     this.transport!.write(data);
 *   }
 * }
 * const [client, , pump] = connectedServerAndClient(
 *   Factory.forProtocol(Echo),
 *   AccumulatingProtocol,
 * );
 * client.transport!.write("ping");
 * pump.flush();
 * assert.equal(new TextDecoder().decode(client.data), "ping");
 * client.transport!.loseConnection();
 * pump.flush();
 * assert.equal(client.closed, true);
 * ```
 */
export function connectedServerAndClient<
  S extends IProtocol = IProtocol,
  C extends IProtocol = IProtocol,
>(
  server: ProtocolSource<S>,
  client: ProtocolSource<C>,
  options?: ConnectedServerAndClientOptions,
): [client: C, server: S, pump: IOPump] {
  options ??= {};
  const serverAddress = options.serverAddress ?? DEFAULT_SERVER;
  const clientAddress = options.clientAddress ?? DEFAULT_CLIENT;
  const c = protocolFrom(client, serverAddress, "client");
  const s = protocolFrom(server, clientAddress, "server");
  const pipe = new Pipe(
    s,
    c,
    serverAddress,
    clientAddress,
    () => {},
    false,
    () => {},
  );
  s.makeConnection(pipe.ends[0]);
  c.makeConnection(pipe.ends[1]);
  const pump = new IOPump(pipe, c, s, options.clock);
  if (options.greet ?? true) pump.flush();
  return [c, s, pump];
}
