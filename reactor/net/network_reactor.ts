/**
 * {@linkcode NetworkReactor}: the network half of a reactor, `listenTCP`,
 * `connectTCP`, `listenSSL`, `connectSSL`, `listenUNIX`, `connectUNIX` and
 * `listenUDP`, written against the time and resource-tracking roles only.
 * `DenoReactor` extends it; so can a reactor of another kind that wants the
 * same transports.
 *
 * @module
 */
import type {
  ConnectTCPOptions,
  ConnectUNIXOptions,
  IClientFactory,
  IDatagramProtocol,
  IDelayedCall,
  IProtocolFactory,
  IReactorResources,
  IReactorSSL,
  IReactorTCP,
  IReactorTime,
  IReactorUDP,
  IReactorUNIX,
  ListenTCPOptions,
  ListenUDPOptions,
  ListenUNIXOptions,
  ReactorResource,
  TLSClientOptions,
  TLSServerOptions,
} from "../interfaces.ts";
import { TCPConnector, TCPPort } from "./tcp.ts";
import { TLSConnector, TLSServerPort } from "./tls.ts";
import { UDPPort } from "./udp.ts";
import { UNIXConnector, UNIXPort } from "./unix.ts";

/**
 * The network methods of a reactor, on top of its clock and its set of
 * tracked resources (which the ports and connections join, so shutdown
 * closes them). Subclasses supply the abstract time and resource methods.
 *
 * @example DenoReactor is a NetworkReactor
 * ```ts
 * import assert from "node:assert/strict";
 * import { DenoReactor } from "@twisted-deno/core/reactor";
 * import { NetworkReactor } from "@twisted-deno/core/reactor/net";
 *
 * assert.ok(new DenoReactor() instanceof NetworkReactor);
 * ```
 */
export abstract class NetworkReactor
  implements
    IReactorTime,
    IReactorResources,
    IReactorTCP,
    IReactorSSL,
    IReactorUNIX,
    IReactorUDP {
  /** The current time in seconds. */
  abstract seconds(): number;
  /** Schedules `fn(...args)` in `delay` seconds. */
  // deno-lint-ignore no-explicit-any
  abstract callLater<A extends any[]>(
    delay: number,
    fn: (...args: A) => unknown,
    ...args: A
  ): IDelayedCall;
  /** The active delayed calls. */
  abstract getDelayedCalls(): IDelayedCall[];
  /** Registers a resource to close at shutdown. */
  abstract trackResource(resource: ReactorResource): void;
  /** Forgets a resource that closed by itself. */
  abstract untrackResource(resource: ReactorResource): void;
  /** The resources tracked now. */
  abstract getTrackedResources(): ReactorResource[];

  /**
   * Listens for TCP connections on `port` (0: any free port; `getHost()`
   * tells which) and serves each with a protocol from `factory`, which
   * gets `doStart()` now and `doStop()` once the port has stopped.
   * Shutdown stops the port and closes its connections.
   *
   * @param port The port number.
   * @param factory Builds a protocol per connection.
   * @param options `interface` (all IPv4 by default), `backlog`,
   *   `reusePort`.
   * @returns The listening port (see {@linkcode TCPPort}).
   * @throws {CannotListenError} When the address cannot be bound.
   * @throws {RangeError} When `port` or `backlog` is out of range.
   */
  listenTCP(
    port: number,
    factory: IProtocolFactory,
    options?: ListenTCPOptions,
  ): TCPPort {
    const tcp = new TCPPort(port, factory, options ?? {}, this);
    tcp.startListening();
    return tcp;
  }

  /**
   * Connects to `host:port`, reporting to the client `factory`
   * (`startedConnecting`, then `buildProtocol` or
   * `clientConnectionFailed`; `clientConnectionLost` later).
   *
   * @param host A host name or numeric address.
   * @param port The port.
   * @param factory The client factory.
   * @param options `timeout` in seconds (30); `bindAddress` (wildcard only).
   * @returns The connector (see {@linkcode TCPConnector}).
   * @throws {RangeError} When `port` or `timeout` is out of range.
   */
  connectTCP(
    host: string,
    port: number,
    factory: IClientFactory,
    options?: ConnectTCPOptions,
  ): TCPConnector {
    const tcp = new TCPConnector(host, port, factory, options ?? {}, this);
    tcp.connect();
    return tcp;
  }

  /**
   * Listens for TLS connections on `port` (0: any free port) with the PEM
   * `cert` and `key`; each connection reaches `factory` after a successful
   * handshake, as a {@linkcode TLSTransport}. Shutdown stops it.
   *
   * @throws {CannotListenError} When the address cannot be bound or the
   *   certificate or key is unusable.
   */
  listenSSL(
    port: number,
    factory: IProtocolFactory,
    tls: TLSServerOptions,
    options?: ListenTCPOptions,
  ): TLSServerPort {
    const ssl = new TLSServerPort(port, factory, tls, options ?? {}, this);
    ssl.startListening();
    return ssl;
  }

  /**
   * Connects over TLS: TCP, then the handshake, verifying the server's
   * certificate against the system store or `tls.caCerts` for
   * `tls.hostname` (default: `host`), before `factory` builds a protocol.
   * A failed handshake reaches `clientConnectionFailed` as a
   * `TLSHandshakeError`.
   */
  connectSSL(
    host: string,
    port: number,
    factory: IClientFactory,
    tls?: TLSClientOptions,
    options?: ConnectTCPOptions,
  ): TLSConnector {
    const ssl = new TLSConnector(
      host,
      port,
      factory,
      tls ?? {},
      options ?? {},
      this,
    );
    ssl.connect();
    return ssl;
  }

  /**
   * Listens on the UNIX socket file `path` (removed again once stopped).
   *
   * @param path The socket file to create.
   * @param factory Builds a protocol per connection.
   * @param options Accepted for compatibility (see {@linkcode UNIXPort}).
   * @returns The listening port.
   * @throws {CannotListenError} When the file cannot be created.
   */
  listenUNIX(
    path: string,
    factory: IProtocolFactory,
    options?: ListenUNIXOptions,
  ): UNIXPort {
    const unix = new UNIXPort(path, factory, options ?? {}, this);
    unix.startListening();
    return unix;
  }

  /**
   * Connects to the UNIX socket file `path`, reporting to `factory` as
   * `connectTCP` does.
   *
   * @param path The socket file.
   * @param factory The client factory.
   * @param options `timeout` in seconds (30).
   * @returns The connector (see {@linkcode UNIXConnector}).
   */
  connectUNIX(
    path: string,
    factory: IClientFactory,
    options?: ConnectUNIXOptions,
  ): UNIXConnector {
    const unix = new UNIXConnector(path, factory, options ?? {}, this);
    unix.connect();
    return unix;
  }

  /**
   * Binds a UDP port (0: any free port) and delivers its datagrams to
   * `protocol`; the returned {@linkcode UDPPort} is also the protocol's
   * transport. Shutdown stops it.
   *
   * @throws {CannotListenError} When the address cannot be bound.
   */
  listenUDP(
    port: number,
    protocol: IDatagramProtocol,
    options?: ListenUDPOptions,
  ): UDPPort {
    const udp = new UDPPort(port, protocol, { ...options, reactor: this });
    udp.startListening();
    return udp;
  }
}
