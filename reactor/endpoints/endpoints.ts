/**
 * Endpoints: where a server listens or a client connects, as objects
 * (Twisted's `twisted.internet.endpoints`). `listen(factory)` and
 * `connect(factory)` return Deferreds, so code that takes an endpoint runs
 * unchanged over TCP, UNIX sockets or TLS: {@linkcode TCP4ServerEndpoint},
 * {@linkcode TCP4ClientEndpoint}, {@linkcode UNIXServerEndpoint},
 * {@linkcode UNIXClientEndpoint}, and {@linkcode connectProtocol} to
 * connect one protocol instance. Description strings such as
 * `"tcp:1079:interface=127.0.0.1"`, which pick an endpoint from
 * configuration, are parsed in `endpoint_descriptions.ts`.
 *
 * @module
 */

import { Deferred } from "../../deferred/deferred.ts";
import { execute, fail } from "../../deferred/helpers.ts";
import type { Failure } from "../../deferred/failure.ts";
import { NoProtocol } from "../errors.ts";
import {
  type IAddress,
  type IClientFactory,
  type IConnector,
  type IListeningPort,
  type IProtocol,
  type IProtocolFactory,
  type IReactorTCP,
  type IReactorUNIX,
  isHalfCloseable,
  type IStreamClientEndpoint,
  type IStreamServerEndpoint,
  type ITransport,
} from "../interfaces.ts";

/**
 * A connection attempt made through an endpoint was cancelled (its
 * Deferred's `cancel()`), before it connected.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ConnectingCancelledError } from "@twisted-deno/core/reactor";
 *
 * const e = new ConnectingCancelledError({ type: "TCP", host: "127.0.0.1", port: 7 });
 * assert.match(e.message, /127\.0\.0\.1:7/);
 * assert.equal(e.address.type, "TCP");
 * ```
 */
export class ConnectingCancelledError extends Error {
  /** Always `"ConnectingCancelledError"`. */
  override readonly name: string = "ConnectingCancelledError";
  /**
   * Makes one.
   *
   * @param address Where the attempt was going.
   */
  constructor(readonly address: IAddress, options?: ErrorOptions) {
    super(
      `Connecting to ${
        address.type === "UNIX"
          ? address.name
          : `${address.host}:${address.port}`
      } was cancelled`,
      options,
    );
  }
}

// ------------------------------------------------------- client wrapping

/**
 * Wraps the protocol a client endpoint's factory built, to fire the
 * endpoint's Deferred once `connectionMade` has run; everything else is
 * passed through.
 */
class WrappingProtocol implements IProtocol {
  transport: ITransport | undefined = undefined;
  constructor(
    readonly connected: Deferred<IProtocol>,
    readonly wrapped: IProtocol,
  ) {}

  makeConnection(transport: ITransport): void {
    this.transport = transport;
    this.connectionMade();
  }

  connectionMade(): void {
    try {
      this.wrapped.makeConnection(this.transport!);
    } catch (error) {
      // The transport logs it and closes the connection; the endpoint's
      // caller hears it as a failure.
      if (!this.connected.called) this.connected.errback(error);
      throw error;
    }
    if (!this.connected.called) this.connected.callback(this.wrapped);
  }

  dataReceived(data: Uint8Array): void {
    this.wrapped.dataReceived(data);
  }

  connectionLost(reason: Failure): void {
    this.wrapped.connectionLost(reason);
  }

  logPrefix(): string {
    const inner = this.wrapped as { logPrefix?: () => string };
    return typeof inner.logPrefix === "function"
      ? inner.logPrefix()
      : this.wrapped.constructor.name;
  }
}

/** The wrapper for a protocol that implements `IHalfCloseableProtocol`. */
class HalfCloseableWrappingProtocol extends WrappingProtocol {
  readConnectionLost(): void {
    (this.wrapped as unknown as { readConnectionLost(): void })
      .readConnectionLost();
  }
  writeConnectionLost(): void {
    (this.wrapped as unknown as { writeConnectionLost(): void })
      .writeConnectionLost();
  }
}

/**
 * Adapts any protocol factory to a client factory whose Deferred fires
 * with the connected protocol, or fails with why it could not connect.
 */
class WrappingFactory implements IClientFactory {
  readonly onConnection: Deferred<IProtocol>;
  #connector: IConnector | undefined = undefined;

  constructor(readonly wrapped: IProtocolFactory) {
    this.onConnection = new Deferred<IProtocol>((d) => this.#cancel(d));
  }

  #cancel(d: Deferred<IProtocol>): void {
    const connector = this.#connector;
    if (connector === undefined) return;
    d.errback(new ConnectingCancelledError(connector.getDestination()));
    try {
      connector.stopConnecting();
    } catch {
      // Not connecting any more (it just failed): nothing to stop.
    }
  }

  doStart(): void {
    this.wrapped.doStart();
  }

  doStop(): void {
    this.wrapped.doStop();
  }

  startedConnecting(connector: IConnector): void {
    this.#connector = connector;
  }

  buildProtocol(addr: IAddress): IProtocol | null {
    let proto: IProtocol | null;
    try {
      proto = this.wrapped.buildProtocol(addr);
      if (proto === null || proto === undefined) throw new NoProtocol();
    } catch (error) {
      if (!this.onConnection.called) this.onConnection.errback(error);
      return null;
    }
    return isHalfCloseable(proto)
      ? new HalfCloseableWrappingProtocol(this.onConnection, proto)
      : new WrappingProtocol(this.onConnection, proto);
  }

  clientConnectionFailed(_connector: IConnector, reason: Failure): void {
    if (!this.onConnection.called) this.onConnection.errback(reason);
  }

  clientConnectionLost(_connector: IConnector, _reason: Failure): void {}
}

// -------------------------------------------------------------- endpoints

/** Options of {@linkcode TCP4ServerEndpoint}. */
export interface TCP4ServerEndpointOptions {
  /** The listen queue length (50, as in Twisted). */
  backlog?: number;
  /** The interface to bind (`""`: all IPv4 interfaces). */
  interface?: string;
}

/**
 * Listens on a TCP port (`reactor.listenTCP`).
 *
 * @example Listen on a free loopback port
 * ```ts
 * import assert from "node:assert/strict";
 * import { reactor, TCP4ServerEndpoint } from "@twisted-deno/core/reactor";
 * import { Echo, Factory } from "@twisted-deno/core/protocols";
 *
 * const endpoint = new TCP4ServerEndpoint(reactor, 0, { interface: "127.0.0.1" });
 * const port = await endpoint.listen(Factory.forProtocol(Echo));
 * assert.equal(port.getHost().type, "TCP");
 * await port.stopListening();
 * ```
 */
export class TCP4ServerEndpoint implements IStreamServerEndpoint {
  /** The port (0: any free one). */
  readonly port: number;
  /** The listen queue length. */
  readonly backlog: number;
  /** The interface to bind. */
  readonly interface: string;

  /**
   * Describes a TCP port to listen on.
   *
   * @param reactor The reactor to listen with.
   * @param port The port (0: any free one).
   * @param options Backlog and interface.
   */
  constructor(
    readonly reactor: IReactorTCP,
    port: number,
    options?: TCP4ServerEndpointOptions,
  ) {
    options ??= {};
    this.port = port;
    this.backlog = options.backlog ?? 50;
    this.interface = options.interface ?? "";
  }

  /**
   * Listens with `factory`.
   *
   * @param factory Builds a protocol per connection.
   * @returns Fires with the port, or fails with `CannotListenError`.
   */
  listen(factory: IProtocolFactory): Deferred<IListeningPort> {
    return execute(() =>
      this.reactor.listenTCP(this.port, factory, {
        backlog: this.backlog,
        interface: this.interface,
      })
    );
  }
}

/** Options of {@linkcode TCP4ClientEndpoint}. */
export interface TCP4ClientEndpointOptions {
  /** Seconds before the attempt fails (30). */
  timeout?: number;
  /** Local `[host, port]` to bind (see `connectTCP`). */
  bindAddress?: [string, number];
}

/**
 * Connects over TCP (`reactor.connectTCP`); `connect(factory)` fires with
 * the protocol once its `connectionMade` has run. Cancelling that Deferred
 * abandons the attempt (`ConnectingCancelledError`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { connectProtocol, reactor, TCP4ClientEndpoint, TCP4ServerEndpoint } from "@twisted-deno/core/reactor";
 * import { Echo, Factory, Protocol } from "@twisted-deno/core/protocols";
 *
 * const port = await new TCP4ServerEndpoint(reactor, 0, { interface: "127.0.0.1" })
 *   .listen(Factory.forProtocol(Echo));
 * const host = port.getHost();
 * assert.ok(host.type === "TCP");
 * const done = Promise.withResolvers<void>();
 * class Hello extends Protocol {
 *   override connectionMade(): void {
 *     this.transport!.write("hello");
 *   }
 *   override dataReceived(data: Uint8Array): void {
 *     assert.equal(new TextDecoder().decode(data), "hello");
 *     this.transport!.loseConnection();
 *   }
 *   override connectionLost(): void {
 *     done.resolve();
 *   }
 * }
 * const endpoint = new TCP4ClientEndpoint(reactor, "127.0.0.1", host.port);
 * const proto = await connectProtocol(endpoint, new Hello());
 * assert.ok(proto instanceof Hello);
 * await done.promise;
 * await port.stopListening();
 * ```
 */
export class TCP4ClientEndpoint implements IStreamClientEndpoint {
  /** The host to connect to. */
  readonly host: string;
  /** The port to connect to. */
  readonly port: number;
  /** Seconds before an attempt fails. */
  readonly timeout: number;
  /** The local address to bind, if any. */
  readonly bindAddress: [string, number] | undefined;

  /**
   * Describes a TCP address to connect to.
   *
   * @param reactor The reactor to connect with.
   * @param host A host name or address.
   * @param port The port.
   * @param options Timeout and bind address.
   */
  constructor(
    readonly reactor: IReactorTCP,
    host: string,
    port: number,
    options?: TCP4ClientEndpointOptions,
  ) {
    options ??= {};
    this.host = host;
    this.port = port;
    this.timeout = options.timeout ?? 30;
    this.bindAddress = options.bindAddress;
  }

  /**
   * Connects, building the protocol with `factory`.
   *
   * @param factory Builds the protocol (any protocol factory).
   * @returns Fires with the protocol once connected, or fails with why.
   */
  connect(factory: IProtocolFactory): Deferred<IProtocol> {
    try {
      const wrapping = new WrappingFactory(factory);
      this.reactor.connectTCP(this.host, this.port, wrapping, {
        timeout: this.timeout,
        bindAddress: this.bindAddress,
      });
      return wrapping.onConnection;
    } catch (error) {
      return fail(error);
    }
  }
}

/** Options of {@linkcode UNIXServerEndpoint}. */
export interface UNIXServerEndpointOptions {
  /** The listen queue length (50; Deno's UNIX listener ignores it). */
  backlog?: number;
  /** Permissions to give the socket file (`chmod`), if given. */
  mode?: number;
  /** Twisted's PID lock file: not supported, must be false. */
  wantPID?: boolean;
}

/**
 * Listens on a UNIX socket file (`reactor.listenUNIX`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { reactor, UNIXServerEndpoint } from "@twisted-deno/core/reactor";
 *
 * const endpoint = new UNIXServerEndpoint(reactor, "/run/finger.sock", { mode: 0o660 });
 * assert.equal(endpoint.address, "/run/finger.sock");
 * assert.equal(endpoint.mode, 0o660);
 * ```
 */
export class UNIXServerEndpoint implements IStreamServerEndpoint {
  /** The socket file. */
  readonly address: string;
  /** The listen queue length. */
  readonly backlog: number;
  /** The socket file's permissions, if set. */
  readonly mode: number | undefined;

  /**
   * Describes a UNIX socket file to listen on.
   *
   * @param reactor The reactor to listen with.
   * @param address The socket file to create.
   * @param options Backlog and mode.
   * @throws {TypeError} When `wantPID` is asked for.
   */
  constructor(
    readonly reactor: IReactorUNIX,
    address: string,
    options?: UNIXServerEndpointOptions,
  ) {
    options ??= {};
    if (options.wantPID) {
      throw new TypeError(
        `Cannot listen on ${address} with a PID lock file: lock files are not supported`,
      );
    }
    this.address = address;
    this.backlog = options.backlog ?? 50;
    this.mode = options.mode;
  }

  /**
   * Listens with `factory`.
   *
   * @param factory Builds a protocol per connection.
   * @returns Fires with the port, or fails with `CannotListenError`.
   */
  listen(factory: IProtocolFactory): Deferred<IListeningPort> {
    return execute(() => {
      const port = this.reactor.listenUNIX(this.address, factory, {
        backlog: this.backlog,
      });
      if (this.mode !== undefined) Deno.chmodSync(this.address, this.mode);
      return port;
    });
  }
}

/** Options of {@linkcode UNIXClientEndpoint}. */
export interface UNIXClientEndpointOptions {
  /** Seconds before the attempt fails (30). */
  timeout?: number;
  /** Twisted's PID lock file check: not supported, must be false. */
  checkPID?: boolean;
}

/**
 * Connects to a UNIX socket file (`reactor.connectUNIX`); like
 * {@linkcode TCP4ClientEndpoint} otherwise.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { reactor, UNIXClientEndpoint } from "@twisted-deno/core/reactor";
 *
 * const endpoint = new UNIXClientEndpoint(reactor, "/run/finger.sock", { timeout: 5 });
 * assert.equal(endpoint.path, "/run/finger.sock");
 * assert.equal(endpoint.timeout, 5);
 * ```
 */
export class UNIXClientEndpoint implements IStreamClientEndpoint {
  /** The socket file. */
  readonly path: string;
  /** Seconds before an attempt fails. */
  readonly timeout: number;

  /**
   * Describes a UNIX socket file to connect to.
   *
   * @param reactor The reactor to connect with.
   * @param path The socket file.
   * @param options The timeout.
   * @throws {TypeError} When `checkPID` is asked for.
   */
  constructor(
    readonly reactor: IReactorUNIX,
    path: string,
    options?: UNIXClientEndpointOptions,
  ) {
    options ??= {};
    if (options.checkPID) {
      throw new TypeError(
        `Cannot connect to ${path} checking a PID lock file: lock files are not supported`,
      );
    }
    this.path = path;
    this.timeout = options.timeout ?? 30;
  }

  /**
   * Connects, building the protocol with `factory`.
   *
   * @param factory Builds the protocol.
   * @returns Fires with the protocol once connected, or fails with why.
   */
  connect(factory: IProtocolFactory): Deferred<IProtocol> {
    try {
      const wrapping = new WrappingFactory(factory);
      this.reactor.connectUNIX(this.path, wrapping, { timeout: this.timeout });
      return wrapping.onConnection;
    } catch (error) {
      return fail(error);
    }
  }
}

/**
 * Connects `protocol` itself through `endpoint`, without writing a factory.
 *
 * @param endpoint Where to connect.
 * @param protocol The protocol instance to connect.
 * @returns Fires with `protocol` once connected, or fails with why.
 *
 * @example A refused connection fails the Deferred
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   connectProtocol,
 *   ConnectionRefusedError,
 *   reactor,
 *   TCP4ClientEndpoint,
 * } from "@twisted-deno/core/reactor";
 * import { Protocol } from "@twisted-deno/core/protocols";
 *
 * const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const port = probe.addr.port; // free: nothing listens there
 * probe.close();
 * const endpoint = new TCP4ClientEndpoint(reactor, "127.0.0.1", port);
 * await assert.rejects(connectProtocol(endpoint, new Protocol()).asPromise(), ConnectionRefusedError);
 * ```
 */
export function connectProtocol<P extends IProtocol>(
  endpoint: IStreamClientEndpoint,
  protocol: P,
): Deferred<P> {
  const oneShot: IProtocolFactory = {
    buildProtocol: () => protocol,
    doStart: () => {},
    doStop: () => {},
  };
  return endpoint.connect(oneShot) as Deferred<P>;
}
