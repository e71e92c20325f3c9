/**
 * Wrapping: a {@linkcode WrappingFactory} wraps another factory, and each
 * protocol it builds in a {@linkcode ProtocolWrapper}, which is both the
 * real transport's protocol and the wrapped protocol's transport, so it
 * sees every byte in and out. The policies (`throttling.ts`, `limits.ts`,
 * `timeouts.ts`) are wrappers; import them all from `policies.ts` or the
 * package's `./protocols` export.
 *
 * @module
 */

import type { Failure } from "../../deferred/failure.ts";
import {
  type IAddress,
  type IClientFactory,
  type IConnector,
  type IProducer,
  type IProtocol,
  type IProtocolFactory,
  isHalfCloseable,
  type ITransport,
  type StartTLSOptions,
} from "../../reactor/interfaces.ts";
import { prefixOf } from "../_helpers.ts";
import { transportOf } from "../_transport.ts";
import { ClientFactory, Protocol } from "../protocol.ts";

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

  /**
   * Passes text to the real transport's `writeText`, or writes it when
   * that transport has none. (A subclass that watches `write` watches
   * this too: line protocols send their string lines through it.)
   */
  writeText(text: string, suffix = ""): void {
    const transport = this.transport;
    if (transport.writeText !== undefined) transport.writeText(text, suffix);
    else transport.write(suffix === "" ? text : text + suffix);
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
