/**
 * Resource-limiting policies, applied around a protocol without changing it.
 *
 * A {@linkcode WrappingFactory} wraps another factory: each protocol it
 * builds is wrapped in a {@linkcode ProtocolWrapper}, which is both the
 * real transport's protocol and the wrapped protocol's transport, so it
 * sees every byte in and out. The policies are wrappers:
 *
 * - {@linkcode ThrottlingFactory}: at most N connections; read and write
 *   byte rates per second.
 * - {@linkcode LimitConnectionsByPeer}: at most N connections per peer host.
 * - {@linkcode LimitTotalConnectionsFactory}: at most N connections, with
 *   an optional protocol that answers the ones over the limit.
 *
 * The timeout policies (`TimeoutFactory`, `TimeoutMixin`) are in
 * `timeouts.ts`. Everything timed takes an `IReactorTime` (`clock`), the
 * global reactor by default, so tests drive it with a `Clock`.
 *
 * @module
 */

import { Failure } from "../deferred/failure.ts";
import { Logger } from "../log/mod.ts";
import {
  type IAddress,
  type IClientFactory,
  type IConnector,
  type IDelayedCall,
  type IProducer,
  type IProtocol,
  type IProtocolFactory,
  type IReactorTime,
  isHalfCloseable,
  type ITransport,
  type StartTLSOptions,
} from "../reactor/interfaces.ts";
import { globalClock } from "../reactor/global.ts";
import { transportOf } from "./_transport.ts";
import {
  ClientFactory,
  Protocol,
  type ProtocolClass,
  ServerFactory,
} from "./protocol.ts";

const log = new Logger("protocols.policies");
const encoder = new TextEncoder();

function prefixOf(thing: unknown): string {
  const own = (thing as { logPrefix?: () => string } | null)?.logPrefix;
  if (typeof own === "function") return own.call(thing);
  return (thing as object | null)?.constructor?.name ?? String(thing);
}

function hostOf(addr: IAddress): string {
  return addr.type === "UNIX" ? addr.name : addr.host;
}

function cancelCall(call: IDelayedCall | undefined): void {
  if (call?.active()) call.cancel();
}

/**
 * What a {@linkcode ProtocolWrapper} reports to: the factory that built
 * it, told when each wrapper connects and disconnects.
 */
export interface IWrappingFactory extends IProtocolFactory {
  /** A wrapper's connection was made. */
  registerProtocol(protocol: ProtocolWrapper): void;
  /** A wrapper's connection was lost. */
  unregisterProtocol(protocol: ProtocolWrapper): void;
}

/**
 * Stands between a transport and a protocol: to the transport it is the
 * protocol, to the wrapped protocol it is the transport. By default it
 * passes everything through; policies override the parts they watch.
 *
 * When the wrapped protocol is half-closeable (has `readConnectionLost`),
 * so is the wrapper; otherwise the transport sees a plain protocol.
 *
 * @example Count the bytes a protocol receives
 * ```ts
 * import assert from "node:assert/strict";
 * import { Echo, Factory, ProtocolWrapper, WrappingFactory } from "@twisted-deno/core/protocols";
 * import type { IProtocol } from "@twisted-deno/core/reactor";
 * import { StringTransport } from "@twisted-deno/core/testing";
 *
 * class Counting extends ProtocolWrapper {
 *   count = 0;
 *   override dataReceived(data: Uint8Array): void {
 *     this.count += data.length;
 *     super.dataReceived(data);
 *   }
 * }
 * class CountingFactory extends WrappingFactory {
 *   override wrapProtocol(wrapped: IProtocol): Counting {
 *     return new Counting(this, wrapped);
 *   }
 * }
 * const factory = new CountingFactory(Factory.forProtocol(Echo));
 * const wrapper = factory.buildProtocol({ type: "TCP", host: "127.0.0.1", port: 1 }) as Counting;
 * const transport = new StringTransport();
 * wrapper.makeConnection(transport);
 * wrapper.dataReceived(new TextEncoder().encode("hello"));
 * assert.equal(wrapper.count, 5);
 * assert.equal(new TextDecoder().decode(transport.value()), "hello");
 * assert.ok(factory.protocols.has(wrapper));
 * assert.equal(wrapper.logPrefix(), "Echo (Counting)");
 * ```
 */
export class ProtocolWrapper<F extends IWrappingFactory = IWrappingFactory>
  extends Protocol<F>
  implements ITransport {
  /** The protocol being wrapped. */
  wrappedProtocol: IProtocol;
  #disconnecting = false;

  /**
   * Wraps `wrappedProtocol` for `factory`.
   *
   * @param factory Told when this wrapper connects and disconnects.
   * @param wrappedProtocol The protocol to wrap.
   */
  constructor(factory: F, wrappedProtocol: IProtocol) {
    super();
    this.factory = factory;
    this.wrappedProtocol = wrappedProtocol;
    if (isHalfCloseable(wrappedProtocol)) {
      const self = this as unknown as {
        readConnectionLost(): void;
        writeConnectionLost(): void;
      };
      self.readConnectionLost = () =>
        (this.wrappedProtocol as unknown as typeof self).readConnectionLost();
      self.writeConnectionLost = () =>
        (this.wrappedProtocol as unknown as typeof self).writeConnectionLost();
    }
  }

  /** "Wrapped (Wrapper)": both names. */
  override logPrefix(): string {
    return `${prefixOf(this.wrappedProtocol)} (${this.constructor.name})`;
  }

  /**
   * Saves the real transport, registers with the factory, then connects
   * the wrapped protocol to this wrapper.
   */
  override makeConnection(transport: ITransport): void {
    super.makeConnection(transport);
    this.factory.registerProtocol(this);
    this.wrappedProtocol.makeConnection(this);
  }

  // ------------------------------------------------ protocol side: relay in

  /** Passes `data` to the wrapped protocol. */
  override dataReceived(data: Uint8Array): void {
    this.wrappedProtocol.dataReceived(data);
  }

  /** Unregisters from the factory, then tells the wrapped protocol. */
  override connectionLost(reason: Failure): void {
    this.factory.unregisterProtocol(this);
    this.wrappedProtocol.connectionLost(reason);
  }

  // ----------------------------------------------- transport side: relay out

  /** True once this wrapper or the real transport is closing. */
  get disconnecting(): boolean {
    return this.#disconnecting || (transportOf(this)?.disconnecting ?? false);
  }

  /** Writes to the real transport. */
  write(data: Uint8Array | string): void {
    this.transport.write(data);
  }

  /** Writes the chunks to the real transport. */
  writeSequence(chunks: Iterable<Uint8Array | string>): void {
    this.transport.writeSequence(chunks);
  }

  /** Closes the real transport after flushing. */
  loseConnection(): void {
    this.#disconnecting = true;
    this.transport.loseConnection();
  }

  /** Closes the real transport now. */
  abortConnection(): void {
    this.#disconnecting = true;
    this.transport.abortConnection();
  }

  /** Closes the real transport's writing half. */
  loseWriteConnection(): void {
    this.transport.loseWriteConnection();
  }

  /** The real transport's peer. */
  getPeer(): IAddress {
    return this.transport.getPeer();
  }

  /** The real transport's host. */
  getHost(): IAddress {
    return this.transport.getHost();
  }

  /** Passed to the real transport. */
  setTcpNoDelay(on: boolean): void {
    this.transport.setTcpNoDelay(on);
  }

  /** Passed to the real transport. */
  setTcpKeepAlive(on: boolean): void {
    this.transport.setTcpKeepAlive(on);
  }

  /** Passed to the real transport. */
  startTLS(options: StartTLSOptions): void {
    this.transport.startTLS(options);
  }

  /** Registers `producer` with the real transport. */
  registerProducer(producer: IProducer, streaming: boolean): void {
    this.transport.registerProducer(producer, streaming);
  }

  /** Unregisters the producer from the real transport. */
  unregisterProducer(): void {
    this.transport.unregisterProducer();
  }

  /** Pauses reading on the real transport. */
  pauseProducing(): void {
    this.transport.pauseProducing();
  }

  /** Resumes reading on the real transport. */
  resumeProducing(): void {
    this.transport.resumeProducing();
  }

  /** Stops the real transport. */
  stopProducing(): void {
    this.transport.stopProducing();
  }
}

/**
 * Wraps a factory: builds its protocols, each inside a
 * {@linkcode ProtocolWrapper} (override `wrapProtocol` for another
 * wrapper), keeps the connected wrappers in `protocols`, and passes
 * start/stop and client events on to the wrapped factory. A wrapped
 * protocol's `factory` stays the wrapped factory.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Echo, Factory, ProtocolWrapper, WrappingFactory } from "@twisted-deno/core/protocols";
 *
 * const inner = Factory.forProtocol(Echo);
 * const factory = new WrappingFactory(inner);
 * const proto = factory.buildProtocol({ type: "TCP", host: "127.0.0.1", port: 1 });
 * assert.ok(proto instanceof ProtocolWrapper);
 * assert.ok(proto.wrappedProtocol instanceof Echo);
 * assert.equal((proto.wrappedProtocol as Echo).factory, inner);
 * assert.equal(factory.logPrefix(), "Factory (WrappingFactory)");
 * ```
 */
export class WrappingFactory extends ClientFactory implements IWrappingFactory {
  /** The wrappers whose connections are up. */
  readonly protocols: Set<ProtocolWrapper> = new Set();

  /**
   * Wraps `wrappedFactory`.
   *
   * @param wrappedFactory The factory whose protocols get wrapped.
   */
  constructor(readonly wrappedFactory: IProtocolFactory) {
    super();
  }

  /** "Wrapped (Wrapping)": both names. */
  override logPrefix(): string {
    return `${prefixOf(this.wrappedFactory)} (${this.constructor.name})`;
  }

  /** Starts the wrapped factory, then this one. */
  override doStart(): void {
    this.wrappedFactory.doStart();
    super.doStart();
  }

  /** Stops the wrapped factory, then this one. */
  override doStop(): void {
    this.wrappedFactory.doStop();
    super.doStop();
  }

  /** Passed to the wrapped factory, if it is a client factory. */
  override startedConnecting(connector: IConnector): void {
    (this.wrappedFactory as Partial<IClientFactory>).startedConnecting?.(
      connector,
    );
  }

  /** Passed to the wrapped factory, if it is a client factory. */
  override clientConnectionFailed(
    connector: IConnector,
    reason: Failure,
  ): void {
    (this.wrappedFactory as Partial<IClientFactory>).clientConnectionFailed?.(
      connector,
      reason,
    );
  }

  /** Passed to the wrapped factory, if it is a client factory. */
  override clientConnectionLost(connector: IConnector, reason: Failure): void {
    (this.wrappedFactory as Partial<IClientFactory>).clientConnectionLost?.(
      connector,
      reason,
    );
  }

  /** The wrapped factory's protocol, wrapped; null when it refuses. */
  override buildProtocol(addr: IAddress): ProtocolWrapper | null {
    const wrapped = this.wrappedFactory.buildProtocol(addr);
    return wrapped === null ? null : this.wrapProtocol(wrapped);
  }

  /** Makes the wrapper for `wrapped`. Override to use another wrapper class. */
  wrapProtocol(wrapped: IProtocol): ProtocolWrapper {
    return new ProtocolWrapper(this, wrapped);
  }

  /** Adds a connected wrapper to `protocols`. */
  registerProtocol(protocol: ProtocolWrapper): void {
    this.protocols.add(protocol);
  }

  /** Removes a disconnected wrapper from `protocols`. */
  unregisterProtocol(protocol: ProtocolWrapper): void {
    this.protocols.delete(protocol);
  }
}

// -------------------------------------------------------------- throttling

/**
 * The wrapper {@linkcode ThrottlingFactory} uses: counts bytes read and
 * written, and pauses reading (the transport) or writing (the registered
 * producer) when told to.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Echo, Factory, ThrottlingFactory, ThrottlingProtocol } from "@twisted-deno/core/protocols";
 * import { Clock, StringTransport } from "@twisted-deno/core/testing";
 *
 * const factory = new ThrottlingFactory(Factory.forProtocol(Echo), { clock: new Clock() });
 * const proto = factory.buildProtocol({ type: "TCP", host: "127.0.0.1", port: 1 })!;
 * assert.ok(proto instanceof ThrottlingProtocol);
 * const transport = new StringTransport();
 * proto.makeConnection(transport);
 * proto.throttleReads();
 * assert.equal(transport.producerState, "paused");
 * proto.unthrottleReads();
 * assert.equal(transport.producerState, "producing");
 * ```
 */
export class ThrottlingProtocol extends ProtocolWrapper<ThrottlingFactory> {
  /** The producer writing through this connection, if any. */
  producer: IProducer | undefined = undefined;

  /** Connects, starting paused if the factory is throttling reads. */
  override makeConnection(transport: ITransport): void {
    super.makeConnection(transport);
    if (this.factory.readsThrottled) this.throttleReads();
  }

  /** Counts the bytes, then writes them. */
  override write(data: Uint8Array | string): void {
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    this.factory.registerWritten(bytes.length);
    super.write(bytes);
  }

  /** Counts the bytes, then writes them. */
  override writeSequence(chunks: Iterable<Uint8Array | string>): void {
    const all: Uint8Array[] = [];
    let total = 0;
    for (const chunk of chunks) {
      const bytes = typeof chunk === "string" ? encoder.encode(chunk) : chunk;
      all.push(bytes);
      total += bytes.length;
    }
    this.factory.registerWritten(total);
    super.writeSequence(all);
  }

  /** Counts the bytes, then passes them on. */
  override dataReceived(data: Uint8Array): void {
    this.factory.registerRead(data.length);
    super.dataReceived(data);
  }

  /** Remembers the producer (to throttle it), then registers it. */
  override registerProducer(producer: IProducer, streaming: boolean): void {
    super.registerProducer(producer, streaming);
    this.producer = producer;
    if (this.factory.writesThrottled) this.throttleWrites();
  }

  /** Forgets the producer, then unregisters it. */
  override unregisterProducer(): void {
    this.producer = undefined;
    super.unregisterProducer();
  }

  /** Pauses reading. */
  throttleReads(): void {
    if (!this.disconnecting) transportOf(this)?.pauseProducing();
  }

  /** Resumes reading. */
  unthrottleReads(): void {
    if (!this.disconnecting) transportOf(this)?.resumeProducing();
  }

  /** Pauses the producer, if it can be paused. */
  throttleWrites(): void {
    const p = this.producer as Partial<{ pauseProducing(): void }> | undefined;
    p?.pauseProducing?.();
  }

  /** Resumes the producer. */
  unthrottleWrites(): void {
    this.producer?.resumeProducing();
  }
}

/** Options of {@linkcode ThrottlingFactory}. */
export interface ThrottlingOptions {
  /** The most simultaneous connections (unlimited by default). */
  maxConnectionCount?: number;
  /** The most bytes read per second, over all connections (unlimited by default). */
  readLimit?: number;
  /** The most bytes written per second, over all connections (unlimited by default). */
  writeLimit?: number;
  /** The clock for the per-second checks (the global reactor by default). */
  clock?: IReactorTime;
}

/**
 * Limits the number of connections, and the bytes read and written per
 * second over all of them, as Twisted's `ThrottlingFactory` does: once a
 * second it compares the bytes counted with the limit, and if over, pauses
 * all reading (or all producers) for as long as the excess would take at
 * the limit (`bytes / limit - 1` seconds). Writes are only throttled for
 * connections with a registered producer. A connection made while
 * throttled starts paused; the checks run only while connections exist.
 *
 * @example At most two connections
 * ```ts
 * import assert from "node:assert/strict";
 * import { Echo, Factory, ThrottlingFactory } from "@twisted-deno/core/protocols";
 * import { Clock } from "@twisted-deno/core/testing";
 *
 * const factory = new ThrottlingFactory(Factory.forProtocol(Echo), {
 *   maxConnectionCount: 2,
 *   clock: new Clock(),
 * });
 * const addr = { type: "TCP" as const, host: "127.0.0.1", port: 1 };
 * assert.notEqual(factory.buildProtocol(addr), null);
 * assert.notEqual(factory.buildProtocol(addr), null);
 * assert.equal(factory.buildProtocol(addr), null);
 * ```
 */
export class ThrottlingFactory extends WrappingFactory {
  /** Current connections. */
  connectionCount = 0;
  /** The most simultaneous connections. */
  maxConnectionCount: number;
  /** Bytes per second read limit, or undefined. */
  readLimit: number | undefined;
  /** Bytes per second write limit, or undefined. */
  writeLimit: number | undefined;
  /** Bytes read since the last check. */
  readThisSecond = 0;
  /** Bytes written since the last check. */
  writtenThisSecond = 0;
  /** The clock for the checks. */
  clock: IReactorTime;

  #checkRead: IDelayedCall | undefined;
  #checkWrite: IDelayedCall | undefined;
  #unthrottleRead: IDelayedCall | undefined;
  #unthrottleWrite: IDelayedCall | undefined;

  /**
   * Throttles `wrappedFactory`'s connections.
   *
   * @param wrappedFactory The factory whose protocols are throttled.
   * @param options Limits and clock.
   */
  constructor(
    wrappedFactory: IProtocolFactory,
    options: ThrottlingOptions = {},
  ) {
    super(wrappedFactory);
    this.maxConnectionCount = options.maxConnectionCount ?? Infinity;
    this.readLimit = options.readLimit;
    this.writeLimit = options.writeLimit;
    this.clock = options.clock ?? globalClock;
  }

  /** Whether reading is paused for being over `readLimit`. */
  get readsThrottled(): boolean {
    return this.#unthrottleRead?.active() ?? false;
  }

  /** Whether producers are paused for being over `writeLimit`. */
  get writesThrottled(): boolean {
    return this.#unthrottleWrite?.active() ?? false;
  }

  /** Wraps in a {@linkcode ThrottlingProtocol}. */
  override wrapProtocol(wrapped: IProtocol): ThrottlingProtocol {
    return new ThrottlingProtocol(this, wrapped);
  }

  /** A throttled protocol, or null when `maxConnectionCount` is reached. */
  override buildProtocol(addr: IAddress): ProtocolWrapper | null {
    if (this.connectionCount >= this.maxConnectionCount) {
      log.info("Max connection count reached: refusing {addr}", {
        addr: hostOf(addr),
      });
      return null;
    }
    const proto = super.buildProtocol(addr);
    if (proto === null) return null;
    this.connectionCount++;
    if (this.connectionCount === 1) {
      if (this.readLimit !== undefined && this.#checkRead === undefined) {
        this.checkReadBandwidth();
      }
      if (this.writeLimit !== undefined && this.#checkWrite === undefined) {
        this.checkWriteBandwidth();
      }
    }
    return proto;
  }

  /** Counts a connection off; stops the checks after the last. */
  override unregisterProtocol(protocol: ProtocolWrapper): void {
    super.unregisterProtocol(protocol);
    this.connectionCount = Math.max(0, this.connectionCount - 1);
    if (this.connectionCount === 0) {
      for (
        const call of [
          this.#checkRead,
          this.#checkWrite,
          this.#unthrottleRead,
          this.#unthrottleWrite,
        ]
      ) cancelCall(call);
      this.#checkRead = this.#checkWrite = undefined;
      this.#unthrottleRead = this.#unthrottleWrite = undefined;
    }
  }

  /** Called by the protocols: `length` more bytes were written. */
  registerWritten(length: number): void {
    this.writtenThisSecond += length;
  }

  /** Called by the protocols: `length` more bytes were read. */
  registerRead(length: number): void {
    this.readThisSecond += length;
  }

  /** The per-second read check: throttles when over the limit, and reschedules itself. */
  checkReadBandwidth(): void {
    const limit = this.readLimit!;
    if (this.readThisSecond > limit) {
      this.throttleReads();
      this.#unthrottleRead = this.#extend(
        this.#unthrottleRead,
        this.readThisSecond / limit - 1,
        () => this.unthrottleReads(),
      );
    }
    this.readThisSecond = 0;
    this.#checkRead = this.clock.callLater(1, () => this.checkReadBandwidth());
  }

  /** The per-second write check: throttles when over the limit, and reschedules itself. */
  checkWriteBandwidth(): void {
    const limit = this.writeLimit!;
    if (this.writtenThisSecond > limit) {
      this.throttleWrites();
      this.#unthrottleWrite = this.#extend(
        this.#unthrottleWrite,
        this.writtenThisSecond / limit - 1,
        () => this.unthrottleWrites(),
      );
    }
    this.writtenThisSecond = 0;
    this.#checkWrite = this.clock.callLater(
      1,
      () => this.checkWriteBandwidth(),
    );
  }

  /** A pending unthrottle moves later if need be, never earlier. */
  #extend(
    pending: IDelayedCall | undefined,
    seconds: number,
    fn: () => void,
  ): IDelayedCall {
    if (pending?.active()) {
      const at = this.clock.seconds() + seconds;
      if (at > pending.getTime()) pending.reset(seconds);
      return pending;
    }
    return this.clock.callLater(seconds, fn);
  }

  /** Pauses reading on every connection. */
  throttleReads(): void {
    log.debug("Throttling reads on {factory}", { factory: this.logPrefix() });
    this.#eachProtocol("throttleReads", (p) => p.throttleReads());
  }

  /** Resumes reading on every connection. */
  unthrottleReads(): void {
    cancelCall(this.#unthrottleRead);
    this.#unthrottleRead = undefined;
    log.debug("Stopped throttling reads on {factory}", {
      factory: this.logPrefix(),
    });
    this.#eachProtocol("unthrottleReads", (p) => p.unthrottleReads());
  }

  /** Pauses every connection's producer. */
  throttleWrites(): void {
    log.debug("Throttling writes on {factory}", { factory: this.logPrefix() });
    this.#eachProtocol("throttleWrites", (p) => p.throttleWrites());
  }

  /** Resumes every connection's producer. */
  unthrottleWrites(): void {
    cancelCall(this.#unthrottleWrite);
    this.#unthrottleWrite = undefined;
    log.debug("Stopped throttling writes on {factory}", {
      factory: this.logPrefix(),
    });
    this.#eachProtocol("unthrottleWrites", (p) => p.unthrottleWrites());
  }

  /**
   * Calls `fn` for every connection. A producer or transport that throws
   * is logged and the others are still paused or resumed: one broken
   * connection must neither leave the rest paused nor stop the checks.
   */
  #eachProtocol(what: string, fn: (p: ThrottlingProtocol) => void): void {
    for (const p of [...this.protocols]) {
      try {
        fn(p as ThrottlingProtocol);
      } catch (error) {
        log.failure(
          "Unhandled error in {protocol}.{what}",
          new Failure(error),
          "critical",
          { protocol: p.logPrefix(), what },
        );
      }
    }
  }
}

// ---------------------------------------------------------- connection caps

/**
 * Allows at most `maxConnectionsPerPeer` simultaneous connections from
 * each peer host (the peer's address, or the socket path for UNIX
 * sockets); more are refused. Unlike Twisted's, it needs no
 * `startFactory()` first, and counts a connection off by the host it was
 * counted under.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Failure } from "@twisted-deno/core/deferred";
 * import { Echo, Factory, LimitConnectionsByPeer } from "@twisted-deno/core/protocols";
 * import { ConnectionDone } from "@twisted-deno/core/reactor";
 * import { StringTransport } from "@twisted-deno/core/testing";
 *
 * const factory = new LimitConnectionsByPeer(Factory.forProtocol(Echo));
 * factory.maxConnectionsPerPeer = 1;
 * const from = (host: string) => ({ type: "TCP" as const, host, port: 40000 });
 * const first = factory.buildProtocol(from("10.0.0.1"))!;
 * first.makeConnection(new StringTransport());
 * assert.equal(factory.buildProtocol(from("10.0.0.1")), null);
 * assert.notEqual(factory.buildProtocol(from("10.0.0.2")), null);
 * first.connectionLost(new Failure(new ConnectionDone()));
 * assert.notEqual(factory.buildProtocol(from("10.0.0.1")), null);
 * ```
 */
export class LimitConnectionsByPeer extends WrappingFactory {
  /** The most connections from one host. */
  maxConnectionsPerPeer = 5;
  /** Connections counted per peer host. */
  readonly peerConnections: Map<string, number> = new Map();
  #hostOf = new WeakMap<ProtocolWrapper, string>();

  /** A wrapped protocol, or null when `addr`'s host is at its limit. */
  override buildProtocol(addr: IAddress): ProtocolWrapper | null {
    const host = hostOf(addr);
    const count = this.peerConnections.get(host) ?? 0;
    if (count >= this.maxConnectionsPerPeer) return null;
    const proto = super.buildProtocol(addr);
    if (proto === null) return null;
    this.peerConnections.set(host, count + 1);
    this.#hostOf.set(proto, host);
    return proto;
  }

  /** Counts the connection off its host. */
  override unregisterProtocol(protocol: ProtocolWrapper): void {
    super.unregisterProtocol(protocol);
    const host = this.#hostOf.get(protocol);
    if (host === undefined) return;
    this.#hostOf.delete(protocol);
    const left = (this.peerConnections.get(host) ?? 1) - 1;
    if (left > 0) this.peerConnections.set(host, left);
    else this.peerConnections.delete(host);
  }
}

/**
 * A server factory that allows at most `connectionLimit` simultaneous
 * connections (unlimited when undefined). Over the limit, a connection
 * gets an `overflowProtocol` if one is set (it counts too), or is refused.
 * Set `protocol` as for any factory.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LimitTotalConnectionsFactory, Protocol } from "@twisted-deno/core/protocols";
 * import { StringTransport } from "@twisted-deno/core/testing";
 *
 * class Busy extends Protocol {
 *   override connectionMade(): void {
 *     this.transport.write("busy, try later\r\n");
 *     this.transport.loseConnection();
 *   }
 * }
 * const factory = LimitTotalConnectionsFactory.forProtocol(Protocol);
 * factory.connectionLimit = 1;
 * const addr = { type: "TCP" as const, host: "127.0.0.1", port: 1 };
 * factory.buildProtocol(addr)!.makeConnection(new StringTransport());
 * assert.equal(factory.buildProtocol(addr), null);
 * factory.overflowProtocol = Busy;
 * const transport = new StringTransport();
 * factory.buildProtocol(addr)!.makeConnection(transport);
 * assert.equal(new TextDecoder().decode(transport.value()), "busy, try later\r\n");
 * assert.equal(factory.connectionCount, 2);
 * ```
 */
export class LimitTotalConnectionsFactory extends ServerFactory
  implements IWrappingFactory {
  /** Current connections (overflow ones included). */
  connectionCount = 0;
  /** The most connections served by `protocol`; undefined for no limit. */
  connectionLimit: number | undefined = undefined;
  /** Serves connections over the limit; undefined to refuse them. */
  overflowProtocol: ProtocolClass | undefined = undefined;

  /** A wrapped `protocol` (or `overflowProtocol`) instance, or null. */
  override buildProtocol(_addr: IAddress): ProtocolWrapper | null {
    let Cls: ProtocolClass | undefined;
    if (
      this.connectionLimit === undefined ||
      this.connectionCount < this.connectionLimit
    ) {
      Cls = this.protocol;
      if (Cls === undefined) {
        throw new TypeError(
          `Cannot build a protocol: ${this.logPrefix()}.protocol is not set`,
        );
      }
    } else if (this.overflowProtocol === undefined) {
      return null;
    } else {
      Cls = this.overflowProtocol;
    }
    const wrapped = new Cls();
    (wrapped as { factory?: IProtocolFactory }).factory = this;
    this.connectionCount++;
    return new ProtocolWrapper(this, wrapped);
  }

  /** Nothing to do: counted when built. */
  registerProtocol(_protocol: ProtocolWrapper): void {}

  /** Counts a connection off. */
  unregisterProtocol(_protocol: ProtocolWrapper): void {
    this.connectionCount = Math.max(0, this.connectionCount - 1);
  }
}
