/**
 * TCP on `Deno.listen` and `Deno.connect`: {@linkcode TCPPort} (what
 * `reactor.listenTCP` returns) and {@linkcode TCPConnector} (what
 * `reactor.connectTCP` returns). Their connections are
 * {@linkcode StreamTransport}s.
 *
 * @module
 */

import type { Failure } from "../../deferred/failure.ts";
import { CannotListenError } from "../errors.ts";
import type {
  ConnectTCPOptions,
  IAddress,
  IClientFactory,
  IProtocolFactory,
  ListenTCPOptions,
} from "../interfaces.ts";
import { StreamTransport } from "./stream.ts";
import { StreamConnector } from "./stream_connector.ts";
import { type StreamReactor, StreamServerPort } from "./stream_port.ts";

const WILDCARDS = new Set(["", "0.0.0.0", "::"]);

function checkPort(port: number, what: string): void {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(
      `Cannot ${what} port ${port}: a port is an integer from 0 to 65535`,
    );
  }
}

/**
 * A listening TCP socket (Twisted's `tcp.Port`). `port` 0 picks a free
 * port: `getHost().port` tells which. The backlog defaults to Deno's (511);
 * `reusePort` sets `SO_REUSEPORT` (Linux), for several processes serving
 * one port.
 *
 * @example Serve an echo on a free loopback port
 * ```ts
 * import assert from "node:assert/strict";
 * import { DenoReactor } from "@twisted-deno/core/reactor";
 * import { TCPPort } from "@twisted-deno/core/reactor/net";
 * import { Factory, Protocol } from "@twisted-deno/core/protocols";
 *
 * class Echo extends Protocol {
 *   override dataReceived(data: Uint8Array): void {
 *     this.transport!.write(data);
 *   }
 * }
 * const port = new TCPPort(0, Factory.forProtocol(Echo), { interface: "127.0.0.1" }, new DenoReactor());
 * port.startListening();
 * const addr = port.getHost();
 * assert.equal(addr.type, "TCP");
 * await port.stopListening();
 * ```
 */
export class TCPPort extends StreamServerPort {
  /** The port asked for (0: any). */
  readonly port: number;
  /** The interface to bind (`0.0.0.0`: all IPv4 interfaces). */
  readonly interface: string;
  /** The listen queue length, if given. */
  readonly backlog: number | undefined;
  /** Whether `SO_REUSEPORT` is set. */
  readonly reusePort: boolean;

  /**
   * Makes a port that is not listening yet (`listenTCP` also starts it).
   *
   * @param port The port (0: any free one).
   * @param factory Builds a protocol per connection.
   * @param options Interface, backlog, reusePort.
   * @param reactor Times backoffs, tracks the port and its connections.
   * @throws {RangeError} When `port` or `backlog` is out of range.
   */
  constructor(
    port: number,
    factory: IProtocolFactory,
    options: ListenTCPOptions,
    reactor: StreamReactor,
  ) {
    checkPort(port, "listen on");
    const backlog = options.backlog;
    if (backlog !== undefined && !(Number.isInteger(backlog) && backlog >= 0)) {
      throw new RangeError(
        `Cannot listen with a backlog of ${backlog}: it must be an integer >= 0`,
      );
    }
    super(factory, reactor);
    this.port = port;
    // Twisted's "" (all interfaces) is Deno's 0.0.0.0.
    this.interface = options.interface || "0.0.0.0";
    this.backlog = backlog;
    this.reusePort = options.reusePort ?? false;
  }

  /** Binds with `Deno.listen`. */
  protected _listen(): Deno.Listener {
    return Deno.listen({
      transport: "tcp",
      hostname: this.interface,
      port: this.port,
      tcpBacklog: this.backlog,
      reusePort: this.reusePort,
    });
  }

  /** Names the address that could not be bound. */
  protected override _cannotListen(error: unknown): Error {
    return new CannotListenError(this.interface, this.port, { cause: error });
  }

  /** A {@linkcode StreamTransport} over the accepted conn. */
  protected _makeTransport(conn: Deno.Conn): StreamTransport {
    return new StreamTransport(conn, this.reactor);
  }
}

/**
 * An outgoing TCP connection (Twisted's `tcp.Connector`); see
 * {@linkcode StreamConnector} for the calls the factory gets. The attempt
 * is aborted (`TCPTimedOutError`) after `timeout` seconds (30).
 *
 * `bindAddress` is accepted only as a wildcard (`["0.0.0.0", 0]`):
 * `Deno.connect` cannot bind the local end of a socket.
 *
 * @example A refused connection
 * ```ts
 * import assert from "node:assert/strict";
 * import { ConnectionRefusedError, DenoReactor } from "@twisted-deno/core/reactor";
 * import { TCPConnector } from "@twisted-deno/core/reactor/net";
 * import { ClientFactory } from "@twisted-deno/core/protocols";
 * import type { Failure } from "@twisted-deno/core/deferred";
 *
 * // A port that is free, so nothing listens there.
 * const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const port = probe.addr.port;
 * probe.close();
 * const failed = Promise.withResolvers<Failure>();
 * class Report extends ClientFactory {
 *   override clientConnectionFailed(_c: unknown, reason: Failure): void {
 *     failed.resolve(reason);
 *   }
 * }
 * const connector = new TCPConnector("127.0.0.1", port, new Report(), {}, new DenoReactor());
 * connector.connect();
 * const reason = await failed.promise;
 * assert.ok(reason.check(ConnectionRefusedError));
 * ```
 */
export class TCPConnector extends StreamConnector {
  /** The host to connect to (a name or an address). */
  readonly host: string;
  /** The port to connect to. */
  readonly port: number;

  /**
   * Makes a connector; `connect()` (which `connectTCP` calls) starts it.
   *
   * @param host A host name or numeric address.
   * @param port The port.
   * @param factory The client factory.
   * @param options `timeout` (seconds, 30) and `bindAddress`.
   * @param reactor Times the attempt, tracks the connection.
   * @throws {TypeError} When `host` is not a non-empty string.
   * @throws {RangeError} When `port` or `timeout` is out of range, or a
   *   non-wildcard `bindAddress` is given.
   */
  constructor(
    host: string,
    port: number,
    factory: IClientFactory,
    options: ConnectTCPOptions,
    reactor: StreamReactor,
  ) {
    if (typeof host !== "string" || host === "") {
      throw new TypeError(
        `Cannot connect to host ${
          JSON.stringify(host)
        }: the host must be a non-empty string`,
      );
    }
    checkPort(port, "connect to");
    const bind = options.bindAddress;
    if (bind !== undefined && !(WILDCARDS.has(bind[0]) && bind[1] === 0)) {
      throw new RangeError(
        `Cannot connect to ${host}:${port} from ${bind[0]}:${
          bind[1]
        }: Deno.connect cannot bind the local address (only a wildcard bindAddress is accepted)`,
      );
    }
    super(factory, reactor, options.timeout ?? 30);
    this.host = host;
    this.port = port;
  }

  /** Connects with `Deno.connect`. */
  protected _connect(signal: AbortSignal): Promise<Deno.Conn> {
    return Deno.connect({ hostname: this.host, port: this.port, signal });
  }

  /** A {@linkcode StreamTransport} over the connected conn. */
  protected _makeTransport(
    conn: Deno.Conn,
    onLost: (reason: Failure) => void,
  ): StreamTransport {
    return new StreamTransport(conn, this.reactor, onLost);
  }

  /** `{ type: "TCP", host, port }`. */
  getDestination(): IAddress {
    return { type: "TCP", host: this.host, port: this.port };
  }
}
