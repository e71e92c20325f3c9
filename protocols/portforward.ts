/**
 * TCP port forwarding, as Twisted's `twisted.protocols.portforward`: a
 * {@linkcode ProxyFactory} listens, and each connection it accepts
 * ({@linkcode ProxyServer}) opens a connection to a fixed host and port
 * ({@linkcode ProxyClient}, made by {@linkcode ProxyClientFactory}); bytes
 * go both ways unchanged, and when one side closes so does the other.
 *
 * Flow control both ways: once both sides are up, each transport is
 * registered as the streaming producer of the other, so a slow reader on
 * one side pauses reading on the other side and the forwarder's memory
 * stays bounded (about 64 KiB queued per direction per connection).
 *
 * ```text
 * client --> [ProxyServer | transport] ==write==> [transport | ProxyClient] --> host:port
 *        <-- [           <==write==  ]            [                        ] <--
 * ```
 *
 * @module
 */

import type { Failure } from "../deferred/failure.ts";
import type { IConnector, IReactorTCP } from "../reactor/interfaces.ts";
import { getGlobalReactor } from "../reactor/global.ts";
import { ClientFactory, Protocol, ServerFactory } from "./protocol.ts";

/**
 * One side of a forwarded connection: it writes what it receives to its
 * `peer`'s transport and closes the peer when its own connection is lost.
 * (Twisted's `Proxy`, renamed because `Proxy` is a JavaScript global.)
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ProxyProtocol } from "@twisted-deno/core/protocols";
 * import { StringTransport } from "@twisted-deno/core/testing";
 *
 * const a = new ProxyProtocol();
 * const b = new ProxyProtocol();
 * a.setPeer(b);
 * b.makeConnection(new StringTransport());
 * a.makeConnection(new StringTransport());
 * a.dataReceived(new TextEncoder().encode("to b"));
 * assert.equal(new TextDecoder().decode((b.transport as StringTransport).value()), "to b");
 * ```
 */
export class ProxyProtocol extends Protocol {
  /** The other side, once known. */
  peer: ProxyProtocol | null = null;

  /**
   * Sets the other side.
   *
   * @param peer The protocol of the other connection.
   */
  setPeer(peer: ProxyProtocol): void {
    this.peer = peer;
  }

  /** Closes the other side, once it has flushed. */
  override connectionLost(_reason: Failure): void {
    this.peer?.transport?.loseConnection();
    this.peer = null;
  }

  /** Writes `data` to the other side. */
  override dataReceived(data: Uint8Array): void {
    this.peer!.transport!.write(data);
  }
}

/**
 * The outgoing side: once connected, it pairs itself with its
 * {@linkcode ProxyServer}, makes each transport the streaming producer of
 * the other, and lets the server side start reading.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ProxyClient, ProxyFactory, ProxyServer } from "@twisted-deno/core/protocols";
 * import { MemoryReactor, StringTransport } from "@twisted-deno/core/testing";
 *
 * const factory = new ProxyFactory("127.0.0.1", 7, { reactor: new MemoryReactor() });
 * const server = factory.buildProtocol({ type: "TCP", host: "127.0.0.1", port: 1 }) as ProxyServer;
 * const serverTransport = new StringTransport();
 * server.makeConnection(serverTransport);
 * assert.equal(serverTransport.producerState, "paused");
 * const client = new ProxyClient();
 * client.setPeer(server);
 * const clientTransport = new StringTransport();
 * client.makeConnection(clientTransport);
 * assert.equal(server.peer, client);
 * assert.equal(clientTransport.producer, serverTransport);
 * assert.equal(serverTransport.producer, clientTransport);
 * assert.equal(serverTransport.producerState, "producing");
 * ```
 */
export class ProxyClient extends ProxyProtocol {
  /** Pairs with the server side and sets up flow control both ways. */
  override connectionMade(): void {
    const server = this.peer!;
    if (server.transport === undefined || !server.connected) {
      // The client that started this has gone already.
      this.transport!.loseConnection();
      return;
    }
    server.setPeer(this);
    this.transport!.registerProducer(server.transport, true);
    server.transport.registerProducer(this.transport!, true);
    // The server side was paused until this side was up.
    server.transport.resumeProducing();
    if (server instanceof ProxyServer) server.flushPending();
  }
}

/**
 * Makes the one {@linkcode ProxyClient} of a {@linkcode ProxyServer}, and
 * closes the server side when the outgoing connection fails.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ProxyClient, ProxyClientFactory, ProxyServer } from "@twisted-deno/core/protocols";
 *
 * const factory = new ProxyClientFactory();
 * const server = new ProxyServer();
 * factory.setServer(server);
 * const client = factory.buildProtocol({ type: "TCP", host: "127.0.0.1", port: 1 });
 * assert.ok(client instanceof ProxyClient);
 * assert.equal(client.peer, server);
 * ```
 */
export class ProxyClientFactory extends ClientFactory {
  /** The server side the client is for. */
  server: ProxyServer | null = null;
  /** Not logged per connection. */
  override noisy = false;

  /**
   * Sets the server side.
   *
   * @param server The accepted connection's protocol.
   */
  setServer(server: ProxyServer): void {
    this.server = server;
  }

  /** A {@linkcode ProxyClient} paired with the server side. */
  override buildProtocol(_addr: unknown): ProxyClient {
    const client = new ProxyClient();
    client.factory = this;
    client.setPeer(this.server!);
    return client;
  }

  /** The outgoing connection failed: close the server side. */
  override clientConnectionFailed(
    _connector: IConnector,
    _reason: Failure,
  ): void {
    this.server?.transport?.loseConnection();
  }
}

/**
 * The accepted side: it stops reading, connects to the factory's host and
 * port, and reads again once that connection is up.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ProxyFactory, ProxyServer } from "@twisted-deno/core/protocols";
 * import { MemoryReactor, StringTransport } from "@twisted-deno/core/testing";
 *
 * const reactor = new MemoryReactor();
 * const factory = new ProxyFactory("127.0.0.1", 7, { reactor });
 * const server = factory.buildProtocol({ type: "TCP", host: "127.0.0.1", port: 1 }) as ProxyServer;
 * const transport = new StringTransport();
 * server.makeConnection(transport);
 * assert.equal(transport.producerState, "paused");
 * assert.equal(reactor.tcpClients[0].host, "127.0.0.1");
 * assert.equal(reactor.tcpClients[0].port, 7);
 * ```
 */
export class ProxyServer extends ProxyProtocol {
  /** The factory that built it. */
  declare factory: ProxyFactory;
  /** The factory class of the outgoing side. */
  clientProtocolFactory: new () => ProxyClientFactory = ProxyClientFactory;
  /** The outgoing connection attempt. */
  connector: IConnector | null = null;
  #pending: Uint8Array[] = [];

  /** Pauses reading and connects to the factory's host and port. */
  override connectionMade(): void {
    this.transport!.pauseProducing();
    const client = new this.clientProtocolFactory();
    client.setServer(this);
    this.connector = this.factory.reactor.connectTCP(
      this.factory.host,
      this.factory.port,
      client,
    );
  }

  /** Forwards `data`, or keeps it until the outgoing side is up. */
  override dataReceived(data: Uint8Array): void {
    if (this.peer === null) this.#pending.push(data);
    else super.dataReceived(data);
  }

  /** Writes what arrived before the outgoing side was up. */
  flushPending(): void {
    const pending = this.#pending;
    this.#pending = [];
    if (pending.length > 0) this.peer!.transport!.writeSequence(pending);
  }

  /** Closes the other side, or abandons the attempt to connect it. */
  override connectionLost(reason: Failure): void {
    this.connected = false;
    this.#pending = [];
    if (this.peer === null) this.connector?.disconnect();
    super.connectionLost(reason);
  }
}

/** Options of {@linkcode ProxyFactory}. */
export interface ProxyFactoryOptions {
  /** The reactor to connect with (the global reactor by default). */
  reactor?: IReactorTCP;
}

/**
 * Forwards each accepted connection to `host:port`.
 *
 * @example Forward a local port to an echo server
 * ```ts
 * import assert from "node:assert/strict";
 * import { Echo, Factory, ProxyFactory } from "@twisted-deno/core/protocols";
 * import { reactor, type TCPAddress } from "@twisted-deno/core/reactor";
 *
 * const echo = reactor.listenTCP(0, Factory.forProtocol(Echo), { interface: "127.0.0.1" });
 * const echoPort = (echo.getHost() as TCPAddress).port;
 * const forwarder = reactor.listenTCP(0, new ProxyFactory("127.0.0.1", echoPort), { interface: "127.0.0.1" });
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: (forwarder.getHost() as TCPAddress).port });
 * await conn.write(new TextEncoder().encode("ping"));
 * const buf = new Uint8Array(4);
 * let got = 0;
 * while (got < 4) got += (await conn.read(buf.subarray(got)))!;
 * assert.equal(new TextDecoder().decode(buf), "ping");
 * conn.close();
 * await forwarder.stopListening();
 * await echo.stopListening();
 * ```
 */
export class ProxyFactory extends ServerFactory {
  /** The reactor the outgoing connections are made with. */
  readonly reactor: IReactorTCP;

  /**
   * Forwards to `host:port`.
   *
   * @param host Where to connect.
   * @param port The port there.
   * @param options The reactor to connect with.
   * @throws {TypeError} For an empty host or a port outside 1-65535.
   */
  constructor(
    readonly host: string,
    readonly port: number,
    options: ProxyFactoryOptions = {},
  ) {
    super();
    if (typeof host !== "string" || host === "") {
      throw new TypeError(
        `Cannot forward to host ${
          JSON.stringify(host)
        }: it must be a non-empty string`,
      );
    }
    if (!Number.isInteger(port) || port < 1 || port > 65535) {
      throw new TypeError(
        `Cannot forward to port ${String(port)}: it must be an integer 1-65535`,
      );
    }
    this.protocol = ProxyServer;
    this.reactor = options.reactor ?? getGlobalReactor();
  }
}
