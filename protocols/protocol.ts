/**
 * The classes users extend: {@linkcode Protocol} handles one connection's
 * events by methods, {@linkcode Factory} makes a protocol per connection
 * and holds what they share. "You don't call Twisted, Twisted calls you":
 * nothing here polls; the transport calls these methods.
 *
 * They depend only on the interfaces in `reactor/interfaces.ts`, so every
 * protocol runs unchanged on a socket or on `StringTransport`.
 *
 * @module
 */

import type { Failure } from "../deferred/failure.ts";
import type {
  IAddress,
  IClientFactory,
  IConnector,
  IDatagramProtocol,
  IProcessProtocol,
  IProcessTransport,
  IProtocol,
  IProtocolFactory,
  ITransport,
  IUDPTransport,
} from "../reactor/interfaces.ts";
import { Logger } from "../log/mod.ts";
import { noProtocolClass } from "./_helpers.ts";

const log = new Logger("protocols");

/**
 * The base of stream protocols. Override the event methods you need:
 * `connectionMade()`, `dataReceived(data)`, `connectionLost(reason)`.
 *
 * `F` is the class of the factory that builds it, so `this.factory` has
 * that factory's own members; `this.transport` is the `ITransport` that
 * `makeConnection` attached. Neither needs a cast or a `!`:
 * `class FingerProtocol extends LineReceiver<FingerFactory>`.
 *
 * @typeParam F The factory class whose `buildProtocol` sets `factory`.
 *
 * @example An echo protocol, driven without a socket
 * ```ts
 * import assert from "node:assert/strict";
 * import { Protocol } from "@twisted-deno/core/protocols";
 * import { StringTransport } from "@twisted-deno/core/testing";
 *
 * class Echo extends Protocol {
 *   override dataReceived(data: Uint8Array): void {
 *     this.transport.write(data);
 *   }
 * }
 * const transport = new StringTransport();
 * const proto = new Echo();
 * proto.makeConnection(transport);
 * proto.dataReceived(new TextEncoder().encode("hello"));
 * assert.equal(new TextDecoder().decode(transport.value()), "hello");
 * ```
 */
export class Protocol<F extends IProtocolFactory = Factory>
  implements IProtocol {
  /**
   * The factory that built this protocol, set by its `buildProtocol`. (A
   * protocol made with `new` and no factory has none: the field is then
   * undefined at run time, as Twisted's is None.)
   */
  declare factory: F;
  /** True once `makeConnection` has run. */
  connected = false;
  #transport: ITransport | undefined = undefined;

  /**
   * The transport `makeConnection` attached. Typed as always present, as
   * protocol code uses it once connected; before `makeConnection` it is
   * undefined at run time, as Twisted's is None (check `connected`).
   */
  get transport(): ITransport {
    return this.#transport as ITransport;
  }

  set transport(transport: ITransport) {
    this.#transport = transport;
  }

  /** Attaches `transport` and calls `connectionMade()`. */
  makeConnection(transport: ITransport): void {
    this.connected = true;
    this.transport = transport;
    this.connectionMade();
  }

  /** The connection is up: `this.transport` may be used. */
  connectionMade(): void {}

  /** Bytes arrived. The array is the protocol's to keep. */
  dataReceived(_data: Uint8Array): void {}

  /**
   * The connection is gone. `reason.value` is a `ConnectionDone` after a
   * clean close.
   */
  connectionLost(_reason: Failure): void {}

  /** A short name for log lines about this connection. */
  logPrefix(): string {
    return this.constructor.name;
  }
}

/** A class of protocol that a factory can build. */
export type ProtocolClass<P extends IProtocol = IProtocol> = new () => P;

/**
 * Builds a protocol per connection (an instance of `protocol`, with
 * `factory` set to this) and holds state they share. `doStart`/`doStop`
 * count the ports and connectors using it and call `startFactory()` on the
 * first and `stopFactory()` after the last.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Factory, Protocol } from "@twisted-deno/core/protocols";
 *
 * class Hello extends Protocol {}
 * const factory = Factory.forProtocol(Hello);
 * const proto = factory.buildProtocol({ type: "TCP", host: "127.0.0.1", port: 1 });
 * assert.ok(proto instanceof Hello);
 * assert.equal((proto as Hello).factory, factory);
 * ```
 */
export class Factory implements IProtocolFactory {
  /** The protocol class `buildProtocol` instantiates. */
  protocol?: ProtocolClass;
  /** How many ports or connectors are using this factory. */
  numPorts = 0;
  /** Whether starting and stopping are logged. */
  noisy = true;

  /**
   * Makes a factory of this class for `protocol`; `args` go to the
   * factory's constructor, as in Twisted.
   */
  static forProtocol<F extends Factory, A extends unknown[]>(
    this: new (...args: A) => F,
    protocol: ProtocolClass,
    ...args: A
  ): F {
    const factory = new this(...args);
    factory.protocol = protocol;
    return factory;
  }

  /** A short name for log lines. */
  logPrefix(): string {
    return this.constructor.name;
  }

  /** Called by each port or connector that starts using this factory. */
  doStart(): void {
    if (this.numPorts === 0) {
      if (this.noisy) {
        log.debug("Starting factory {factory}", { factory: this.logPrefix() });
      }
      this.startFactory();
    }
    this.numPorts++;
  }

  /** Called by each port or connector that stops using this factory. */
  doStop(): void {
    if (this.numPorts === 0) return; // more stops than starts: nothing to undo
    this.numPorts--;
    if (this.numPorts === 0) {
      if (this.noisy) {
        log.debug("Stopping factory {factory}", { factory: this.logPrefix() });
      }
      this.stopFactory();
    }
  }

  /** Override: set up shared state before the first connection. */
  startFactory(): void {}

  /** Override: tear down shared state after the last port stops. */
  stopFactory(): void {}

  /**
   * Makes the protocol for a new connection, or returns null to refuse it.
   *
   * @throws {TypeError} When no `protocol` class is set.
   */
  buildProtocol(_addr: IAddress): IProtocol | null {
    if (this.protocol === undefined) {
      throw noProtocolClass(this.logPrefix());
    }
    const proto = new this.protocol();
    (proto as { factory?: IProtocolFactory }).factory = this;
    return proto;
  }
}

/**
 * A factory for servers. Same as {@linkcode Factory}; the name says intent.
 *
 * @example Start and stop hooks run for the first and last port
 * ```ts
 * import assert from "node:assert/strict";
 * import { Protocol, ServerFactory } from "@twisted-deno/core/protocols";
 *
 * const events: string[] = [];
 * class Counted extends ServerFactory {
 *   override startFactory(): void {
 *     events.push("start");
 *   }
 *   override stopFactory(): void {
 *     events.push("stop");
 *   }
 * }
 * const factory = Counted.forProtocol(Protocol);
 * factory.doStart();
 * factory.doStart();
 * factory.doStop();
 * assert.deepEqual(events, ["start"]);
 * factory.doStop();
 * assert.deepEqual(events, ["start", "stop"]);
 * ```
 */
export class ServerFactory extends Factory {}

/**
 * A factory for clients: it also hears how connection attempts go.
 *
 * @example Hear about a refused connection
 * ```ts
 * import assert from "node:assert/strict";
 * import { ClientFactory } from "@twisted-deno/core/protocols";
 * import { Failure } from "@twisted-deno/core/deferred";
 * import { ConnectionRefusedError, type IConnector } from "@twisted-deno/core/reactor";
 * import { MemoryReactor } from "@twisted-deno/core/testing";
 *
 * class Reporting extends ClientFactory {
 *   failures: unknown[] = [];
 *   override clientConnectionFailed(_c: IConnector, reason: Failure): void {
 *     this.failures.push(reason.value);
 *   }
 * }
 * const factory = new Reporting();
 * const connector = new MemoryReactor().connectTCP("127.0.0.1", 1, factory);
 * factory.clientConnectionFailed(connector, new Failure(new ConnectionRefusedError()));
 * assert.equal(factory.failures.length, 1);
 * assert.ok(factory.failures[0] instanceof ConnectionRefusedError);
 * ```
 */
export class ClientFactory extends Factory implements IClientFactory {
  /** A connection attempt started. */
  startedConnecting(_connector: IConnector): void {}
  /** The attempt failed; `reason.value` says why. */
  clientConnectionFailed(_connector: IConnector, _reason: Failure): void {}
  /** A connection made by `connector` was lost. */
  clientConnectionLost(_connector: IConnector, _reason: Failure): void {}
}

/**
 * The base of UDP protocols: `datagramReceived(data, addr)` per datagram.
 * `startProtocol()` runs when the first port binds it, `stopProtocol()`
 * after the last one stops.
 *
 * @example A UDP echo, driven by hand
 * ```ts
 * import assert from "node:assert/strict";
 * import { DatagramProtocol } from "@twisted-deno/core/protocols";
 * import type { DatagramDestination, IAddress, IUDPTransport } from "@twisted-deno/core/reactor";
 *
 * class UDPEcho extends DatagramProtocol {
 *   override datagramReceived(data: Uint8Array, addr: IAddress): void {
 *     if (addr.type === "UDP") this.transport.write(data, addr);
 *   }
 * }
 * const sent: [Uint8Array | string, DatagramDestination | undefined][] = [];
 * const transport = {
 *   write: (data: Uint8Array | string, to?: DatagramDestination) => {
 *     sent.push([data, to]);
 *   },
 * } as unknown as IUDPTransport;
 * const proto = new UDPEcho();
 * proto.makeConnection(transport);
 * const from = { type: "UDP", host: "127.0.0.1", port: 9 } as const;
 * proto.datagramReceived(new Uint8Array([1]), from);
 * assert.deepEqual(sent, [[new Uint8Array([1]), from]]);
 * ```
 */
export class DatagramProtocol implements IDatagramProtocol {
  /** How many ports this protocol is bound to. */
  numPorts = 0;
  #transport: IUDPTransport | undefined = undefined;

  /**
   * The UDP transport, set when a port binds this protocol and cleared
   * after its last port stops (undefined at run time then, as Twisted's is
   * None).
   */
  get transport(): IUDPTransport {
    return this.#transport as IUDPTransport;
  }

  set transport(transport: IUDPTransport | undefined) {
    this.#transport = transport;
  }

  /** Attaches the transport; the first time, calls `startProtocol()`. */
  makeConnection(transport: IUDPTransport): void {
    this.transport = transport;
    this.doStart();
  }

  /** Counts a port; calls `startProtocol()` for the first. */
  doStart(): void {
    if (this.numPorts === 0) this.startProtocol();
    this.numPorts++;
  }

  /** Counts a port off; calls `stopProtocol()` after the last. */
  doStop(): void {
    if (this.numPorts === 0) return;
    this.numPorts--;
    if (this.numPorts === 0) {
      this.stopProtocol();
      this.transport = undefined;
    }
  }

  /** Override: the protocol is bound and may send. */
  startProtocol(): void {}
  /** Override: the protocol is no longer bound. */
  stopProtocol(): void {}
  /** Override: one datagram arrived from `addr`. */
  datagramReceived(_data: Uint8Array, _addr: IAddress): void {}
  /** Override: a connected transport's peer refused a datagram. */
  connectionRefused(): void {}

  /** A short name for log lines. */
  logPrefix(): string {
    return this.constructor.name;
  }
}

/**
 * The base of child-process protocols: stdout arrives at `outReceived`,
 * stderr at `errReceived`; `processEnded` comes last, after the exit and
 * all output, with `ProcessDone` or `ProcessTerminated`.
 *
 * @example Collect a child's output
 * ```ts
 * import assert from "node:assert/strict";
 * import { ProcessProtocol } from "@twisted-deno/core/protocols";
 *
 * class Collect extends ProcessProtocol {
 *   out = "";
 *   override outReceived(data: Uint8Array): void {
 *     this.out += new TextDecoder().decode(data);
 *   }
 * }
 * const proto = new Collect();
 * proto.childDataReceived(1, new TextEncoder().encode("hi"));
 * assert.equal(proto.out, "hi");
 * ```
 */
export class ProcessProtocol implements IProcessProtocol {
  #transport: IProcessTransport | undefined = undefined;

  /**
   * The process transport, set by `makeConnection` (undefined at run time
   * before that, as Twisted's is None).
   */
  get transport(): IProcessTransport {
    return this.#transport as IProcessTransport;
  }

  set transport(transport: IProcessTransport) {
    this.#transport = transport;
  }

  /** Attaches the transport and calls `connectionMade()`. */
  makeConnection(transport: IProcessTransport): void {
    this.transport = transport;
    this.connectionMade();
  }

  /** The process has started. */
  connectionMade(): void {}

  /** Routes fd 1 to `outReceived` and fd 2 to `errReceived`. */
  childDataReceived(childFD: number, data: Uint8Array): void {
    if (childFD === 1) this.outReceived(data);
    else if (childFD === 2) this.errReceived(data);
  }

  /** Bytes from the child's stdout. */
  outReceived(_data: Uint8Array): void {}
  /** Bytes from the child's stderr. */
  errReceived(_data: Uint8Array): void {}

  /** Routes the closing of fd 0, 1 and 2 to the three methods below. */
  childConnectionLost(childFD: number): void {
    if (childFD === 0) this.inConnectionLost();
    else if (childFD === 1) this.outConnectionLost();
    else if (childFD === 2) this.errConnectionLost();
  }

  /** The child's stdin was closed. */
  inConnectionLost(): void {}
  /** The child's stdout closed. */
  outConnectionLost(): void {}
  /** The child's stderr closed. */
  errConnectionLost(): void {}

  /** The process exited; output may still be arriving. */
  processExited(_reason: Failure): void {}
  /** The process exited and all its output has been delivered. */
  processEnded(_reason: Failure): void {}
}
