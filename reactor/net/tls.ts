/**
 * TLS: ports and connectors on `Deno.listenTls` and `Deno.startTls`, and
 * `transport.startTLS()` on a TCP connection. A TLS connection is the same
 * {@linkcode StreamTransport} as a TCP one over a `Deno.TlsConn`, so a
 * protocol sees the same writes, flow control, errors and shutdown; only
 * `getPeer`/`getHost` and the negotiated ALPN protocol
 * ({@linkcode negotiatedProtocol}) tell it apart.
 *
 * - The handshake runs before the protocol is built: a failed handshake
 *   never reaches `connectionMade`; a client's factory gets
 *   `clientConnectionFailed` with a {@linkcode TLSHandshakeError} naming the
 *   reason (unknown issuer, wrong name ...), and a server logs one warning,
 *   "TLS handshake with HOST:PORT failed: REASON".
 * - Servers give a client `handshakeTimeout` seconds (default 30) to finish
 *   its handshake (`listenSSL`'s TLS options, and server-side `startTLS`);
 *   then the connection is closed and the reason logged is "timed out: no
 *   handshake within N s (handshakeTimeout)". So clients that connect and
 *   send nothing cannot hold sockets forever.
 * - Clients verify the server's certificate against the system store, or
 *   against `caCerts` when given (Deno adds those to its roots), and check
 *   the name (`hostname`, else the host connected to).
 * - `startTLS({ side: "client" })` uses `Deno.startTls`;
 *   `startTLS({ side: "server", cert, key })` uses Deno's built-in
 *   `node:tls` (`TLSSocket` with `isServer: true` over a stream bridged to
 *   the TCP conn): Deno has no server-side `startTls`, and this needs no
 *   third-party code. Bytes written before `startTLS()` go out in clear,
 *   bytes written after it are encrypted, as in Twisted. `listenSSL` uses
 *   the same over a plain TCP listener, unless `handshakeTimeout` is null
 *   (see below).
 *
 * Endpoints (`SSL4ServerEndpoint`, `SSL4ClientEndpoint`, and the `ssl:` and
 * `tls:` descriptions) are in `tls_endpoints.ts`, loaded with this module.
 *
 * Deno 2.9 limits worth knowing, measured on Linux:
 *
 * - Closing a `Deno.TlsConn` whose handshake is still pending cancels the
 *   handshake but leaves the TCP socket open inside Deno's TLS task until
 *   the peer sends or closes (measured: still open after 15 s). So a
 *   connect that times out (or is stopped) mid-handshake is reported at
 *   once, but the peer sees no EOF and the descriptor lives until it goes
 *   away. For this reason a TLS port runs its handshakes on `node:tls`
 *   over plain TCP conns, which close for real; this moves bulk data about
 *   half as fast as `Deno.listenTls` (measured on loopback: 319 against 692
 *   MB/s, and Deno's own `node:tls` server 143). `handshakeTimeout: null` chooses `Deno.listenTls`, with no
 *   handshake timeout and the exposure above.
 * - `Deno.startTls` gives conns whose addresses lack `transport: "tcp"`;
 *   this module restores it, so `getPeer()`/`getHost()` work as for TCP.
 *
 * @module
 */

import { Logger } from "../../log/mod.ts";
import type { NodeTLSServerConn, SecureContext } from "./_tls_node_server.ts";
import { ConnectError } from "../errors.ts";
import type { Failure } from "../../deferred/failure.ts";
import type {
  ConnectTCPOptions,
  IClientFactory,
  IProtocolFactory,
  ListenTCPOptions,
  StartTLSOptions,
  TLSClientOptions,
  TLSServerOptions,
} from "../interfaces.ts";
import { acceptErrorKind } from "./_accept_errors.ts";
import { StreamTransport } from "./stream.ts";
import type { StreamReactor } from "./stream_port.ts";
import { TCPConnector, TCPPort } from "./tcp.ts";

const log = new Logger("reactor.tls");

/**
 * A TLS handshake failed: the certificate was not trusted or not valid for
 * the name, the peer refused ours, no ALPN protocol matched, or the peer
 * did not speak TLS. `reason` is Deno's (rustls') or Node's own text.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ConnectError, TLSHandshakeError } from "@twisted-deno/core/reactor";
 *
 * const e = new TLSHandshakeError("localhost:443", "invalid peer certificate: UnknownIssuer");
 * assert.ok(e instanceof ConnectError);
 * assert.match(e.message, /TLS handshake with localhost:443 failed: invalid peer certificate: UnknownIssuer/);
 * assert.match(e.message, /caCerts/);
 * ```
 */
export class TLSHandshakeError extends ConnectError {
  /** Always `"TLSHandshakeError"`. */
  override readonly name: string = "TLSHandshakeError";
  /**
   * Describes the failed handshake with `peer`.
   *
   * @param peer Who the handshake was with (`host:port`).
   * @param reason Why it failed.
   */
  constructor(
    readonly peer: string,
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(
      `TLS handshake with ${peer} failed: ${reason}${hint(reason)}`,
      options,
    );
  }
}

function hint(reason: string): string {
  if (/UnknownIssuer/.test(reason)) {
    return " (the certificate's issuer is not trusted: pass its CA in caCerts)";
  }
  if (/not valid for name/.test(reason)) {
    return " (connect with the name the certificate was issued for, or pass it as hostname)";
  }
  return "";
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** ALPN results, by the conn that negotiated them. */
const negotiated = new WeakMap<Deno.Conn, string | null>();

/**
 * The ALPN protocol a TLS transport negotiated: a string, `null` when TLS
 * is up but no protocol was agreed, `undefined` when the transport is not
 * (yet) TLS.
 *
 * @param transport A transport from `listenSSL`/`connectSSL`, or a TCP
 *   transport after `startTLS()`.
 * @returns The protocol name, `null` or `undefined`.
 *
 * @example A plain transport has none
 * ```ts
 * import assert from "node:assert/strict";
 * import { negotiatedProtocol } from "@twisted-deno/core/reactor";
 * import { StringTransport } from "@twisted-deno/core/testing";
 *
 * assert.equal(negotiatedProtocol(new StringTransport()), undefined);
 * ```
 */
export function negotiatedProtocol(
  transport: unknown,
): string | null | undefined {
  const conn = (transport as { conn?: unknown })?.conn;
  if (conn === null || typeof conn !== "object") return undefined;
  return negotiated.get(conn as Deno.Conn);
}

/**
 * The server side of startTLS runs on `node:tls` (`_tls_node_server.ts`),
 * which drags in `node:stream` and `node:buffer`: it is imported on the
 * first server-side startTLS only, so importing the reactor stays light.
 */
let nodeTLSServer: typeof import("./_tls_node_server.ts") | undefined;
async function loadNodeTLSServer(): Promise<
  typeof import("./_tls_node_server.ts")
> {
  nodeTLSServer ??= await import("./_tls_node_server.ts");
  return nodeTLSServer;
}

/** The default `handshakeTimeout` of TLS servers, in seconds. */
const DEFAULT_HANDSHAKE_TIMEOUT = 30;

/**
 * Checks a `handshakeTimeout` option and applies the default.
 * @throws {RangeError} When it is not a positive number or null.
 */
function handshakeTimeoutOf(
  value: number | null | undefined,
  action: string,
): number | null {
  if (value === undefined) return DEFAULT_HANDSHAKE_TIMEOUT;
  if (value === null) return null;
  if (typeof value !== "number" || !(value > 0) || value === Infinity) {
    throw new RangeError(
      `Cannot ${action}: handshakeTimeout must be a positive number of seconds or null, not ${value}`,
    );
  }
  return value;
}

/**
 * Runs the handshake on `conn` and records the ALPN result. With a
 * `timeout` (seconds), a handshake not done by then fails, and `conn` is
 * closed.
 * @throws {TLSHandshakeError} When it fails or times out.
 */
async function handshake(
  conn: Deno.TlsConn | NodeTLSServerConn,
  peer: string,
  timeout: number | null = null,
): Promise<void> {
  let info: Deno.TlsHandshakeInfo;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timedOut = false;
  if (timeout !== null) {
    timer = setTimeout(() => {
      timedOut = true;
      try {
        conn.close();
      } catch {
        // already closed
      }
    }, timeout * 1000);
  }
  try {
    info = await conn.handshake();
  } catch (e) {
    if (timedOut) {
      throw new TLSHandshakeError(
        peer,
        `timed out: no handshake within ${timeout} s (handshakeTimeout)`,
        { cause: e },
      );
    }
    throw new TLSHandshakeError(peer, messageOf(e), { cause: e });
  } finally {
    clearTimeout(timer);
  }
  negotiated.set(conn as Deno.Conn, info.alpnProtocol ?? null);
}

/** Logs a failed server-side handshake: one line, with the reason. */
function logServerHandshakeFailed(error: unknown, peer: string): void {
  log.warn("TLS handshake with {peer} failed: {reason}", {
    peer,
    reason: error instanceof TLSHandshakeError
      ? error.reason
      : messageOf(error),
  });
}

/**
 * Deno 2.9's `Deno.startTls` gives a conn whose `localAddr`/`remoteAddr`
 * lack `transport: "tcp"` (`Deno.connectTls`'s have it): restore it, so
 * addresses read the same as on any TCP conn.
 */
function withTCPAddresses(conn: Deno.TlsConn): Deno.TlsConn {
  for (const key of ["localAddr", "remoteAddr"] as const) {
    const addr = conn[key] as Partial<Deno.NetAddr>;
    if (addr.transport === undefined) {
      Object.defineProperty(conn, key, {
        value: { ...addr, transport: "tcp" },
        configurable: true,
      });
    }
  }
  return conn;
}

function describe(addr: Deno.Addr): string {
  return addr.transport === "tcp" || addr.transport === "udp"
    ? `${addr.hostname}:${addr.port}`
    : addr.transport;
}

// ------------------------------------------------------------------ startTLS

/**
 * Upgrades a TCP stream transport in place: installed as the
 * implementation of `transport.startTLS(options)`.
 */
function startTLS(transport: StreamTransport, options: StartTLSOptions): void {
  const side = options.side ?? "client";
  if (side !== "client" && side !== "server") {
    throw new TypeError(
      `Cannot start TLS: side must be "client" or "server", not ${
        JSON.stringify(side)
      }`,
    );
  }
  if (side === "server" && (!options.cert || !options.key)) {
    throw new TypeError(
      "Cannot start TLS as a server: options.cert and options.key (PEM) are required",
    );
  }
  const timeout = side === "server"
    ? handshakeTimeoutOf(options.handshakeTimeout, "start TLS as a server")
    : null;
  const conn = transport.conn;
  if (
    negotiated.has(conn) ||
    // No conn can be a NodeTLSServerConn before its module is loaded.
    (nodeTLSServer !== undefined &&
      conn instanceof nodeTLSServer.NodeTLSServerConn)
  ) {
    throw new Error("Cannot start TLS: the connection is already TLS");
  }
  const peer = describe(conn.remoteAddr);
  transport.replaceConn(async (plain) => {
    if (side === "client") {
      const remote = plain.remoteAddr as Deno.NetAddr;
      let upgraded: Deno.TlsConn;
      try {
        upgraded = withTCPAddresses(
          await Deno.startTls(plain as Deno.TcpConn, {
            hostname: options.hostname ?? remote.hostname,
            caCerts: options.caCerts,
            alpnProtocols: options.alpnProtocols,
          }),
        );
      } catch (e) {
        throw new TLSHandshakeError(peer, messageOf(e), { cause: e });
      }
      try {
        await handshake(upgraded, peer);
      } catch (e) {
        upgraded.close();
        throw e;
      }
      return upgraded;
    }
    const { NodeTLSServerConn } = await loadNodeTLSServer();
    const upgraded = new NodeTLSServerConn(plain, options);
    try {
      await handshake(upgraded, peer, timeout);
    } catch (e) {
      try {
        upgraded.close();
      } catch {
        // closed by the timeout
      }
      logServerHandshakeFailed(e, peer);
      throw e;
    }
    return upgraded as unknown as Deno.Conn;
  }).catch(() => {
    // replaceConn closed the connection with this error as the reason.
  });
}

StreamTransport.setStartTLS(startTLS);

// --------------------------------------------------------------------- ports

/** A conn whose TLS handshake the listener runs. */
type HandshakeConn = Deno.TlsConn | NodeTLSServerConn;

/**
 * A `Deno.Listener` whose `accept()` hands out only connections whose TLS
 * handshake succeeded, so the port builds no protocol for a failed one.
 * Under it is either a plain TCP listener whose connections are wrapped in
 * `node:tls` server sockets (closable mid-handshake, so a handshake timeout
 * really frees the socket), or a `Deno.TlsListener` (no timeout).
 * Handshakes run concurrently (a slow client does not hold up the others);
 * a failed or timed-out one is logged and closed. A connection reset while
 * queued is skipped here; other accept errors go to the port, which backs
 * off or logs. Closing closes the connections still in their handshake.
 */
class HandshakingListener {
  readonly addr: Deno.Addr;
  #inner: Deno.Listener;
  #wrap: (conn: Deno.Conn) => Promise<HandshakeConn>;
  #timeout: number | null;
  #ready: HandshakeConn[] = [];
  #error: unknown = undefined;
  #waiter: (() => void) | undefined;
  #resumePump: (() => void) | undefined;
  #closed = false;
  /** Conns in their handshake (plain until wrapped), closed by close(). */
  #handshaking = new Set<HandshakeConn | Deno.Conn>();
  /** The handshakes running, awaited before accept() reports the close. */
  #pending = new Set<Promise<void>>();
  #pump: Promise<void>;

  constructor(
    inner: Deno.Listener,
    wrap: (conn: Deno.Conn) => Promise<HandshakeConn>,
    timeout: number | null,
  ) {
    this.#inner = inner;
    this.#wrap = wrap;
    this.#timeout = timeout;
    this.addr = inner.addr;
    this.#pump = this.#run();
  }

  #notify(): void {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.();
  }

  async #run(): Promise<void> {
    while (!this.#closed) {
      let conn: Deno.Conn;
      try {
        conn = await this.#inner.accept();
      } catch (e) {
        if (this.#closed) break;
        if (acceptErrorKind(e) === "transient") continue; // reset while queued
        this.#error = e; // the port logs it and backs off
        this.#notify();
        if (e instanceof Deno.errors.BadResource) break;
        await new Promise<void>((resolve) => this.#resumePump = resolve);
        continue;
      }
      if (this.#closed) {
        conn.close();
        break;
      }
      this.#handshaking.add(conn);
      const done = this.#handshake(conn);
      this.#pending.add(done);
      done.then(() => this.#pending.delete(done));
    }
  }

  async #handshake(plain: Deno.Conn): Promise<void> {
    let peer = "?";
    let conn: HandshakeConn;
    try {
      peer = describe(plain.remoteAddr);
      conn = await this.#wrap(plain);
    } catch (e) {
      this.#handshaking.delete(plain);
      if (!this.#closed) logServerHandshakeFailed(e, peer);
      try {
        plain.close();
      } catch {
        // already closed
      }
      return;
    }
    this.#handshaking.delete(plain);
    this.#handshaking.add(conn);
    try {
      if (this.#closed) throw new Error("the port stopped listening");
      await handshake(conn, peer, this.#timeout);
    } catch (e) {
      this.#handshaking.delete(conn);
      if (!this.#closed) logServerHandshakeFailed(e, peer);
      try {
        conn.close();
      } catch {
        // closed by close() or the timeout
      }
      return;
    }
    this.#handshaking.delete(conn);
    if (this.#closed) {
      conn.close();
      return;
    }
    this.#ready.push(conn);
    this.#notify();
  }

  async accept(): Promise<Deno.Conn> {
    for (;;) {
      const conn = this.#ready.shift();
      if (conn !== undefined) return conn as Deno.Conn;
      if (this.#error !== undefined) {
        const error = this.#error;
        this.#error = undefined;
        const resume = this.#resumePump;
        this.#resumePump = undefined;
        resume?.();
        throw error;
      }
      if (this.#closed) {
        // Let every op of ours end first (the sanitizers count them).
        await this.#pump;
        await Promise.allSettled(this.#pending);
        throw new Deno.errors.BadResource("Listener has been closed");
      }
      await new Promise<void>((resolve) => this.#waiter = resolve);
    }
  }

  close(): void {
    if (this.#closed) {
      throw new Deno.errors.BadResource("Listener has been closed");
    }
    this.#closed = true;
    this.#inner.close();
    for (const conn of [...this.#handshaking, ...this.#ready]) {
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
    this.#ready = [];
    this.#resumePump?.();
    this.#notify();
  }

  ref(): void {
    this.#inner.ref();
  }

  unref(): void {
    this.#inner.unref();
  }

  async *[Symbol.asyncIterator](): AsyncIterableIterator<Deno.Conn> {
    for (;;) {
      try {
        yield await this.accept();
      } catch (e) {
        if (e instanceof Deno.errors.BadResource) return;
        throw e;
      }
    }
  }

  [Symbol.dispose](): void {
    if (!this.#closed) this.close();
  }
}

/**
 * A TLS connection: the stream transport (see
 * {@linkcode StreamTransport}) over a `Deno.TlsConn` whose handshake is
 * done, plus the ALPN protocol it negotiated.
 *
 * @example A TLS transport wraps any conn; the ALPN result comes from its handshake
 * ```ts
 * import assert from "node:assert/strict";
 * import { DenoReactor } from "@twisted-deno/core/reactor";
 * import { TLSTransport } from "@twisted-deno/core/reactor/net";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const client = await Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port });
 * const server = await listener.accept();
 * const transport = new TLSTransport(server, new DenoReactor());
 * assert.equal(transport.negotiatedProtocol, undefined); // not TLS
 * client.close();
 * server.close();
 * listener.close();
 * ```
 */
export class TLSTransport extends StreamTransport {
  /**
   * The ALPN protocol agreed in the handshake; `null` when none was;
   * `undefined` when the conn is not a TLS one.
   */
  get negotiatedProtocol(): string | null | undefined {
    return negotiatedProtocol(this);
  }
}

/**
 * A listening TLS port (what `reactor.listenSSL` returns): a
 * {@linkcode TCPPort} on `Deno.listenTls` whose connections reach the
 * factory only after a successful handshake, as {@linkcode TLSTransport}s.
 * A failed handshake is logged (warning level) and never builds a protocol;
 * so is one not done within `tls.handshakeTimeout` seconds (30 by
 * default), whose connection is closed. With `handshakeTimeout: null` the
 * port runs on `Deno.listenTls` (faster, no timeout: see the module doc).
 *
 * Its use is {@linkcode DenoReactor.listenSSL}'s: see the tests for a full
 * loopback server and client (they make a certificate with openssl).
 *
 * @example A certificate that cannot be used is refused when listening
 * ```ts
 * import assert from "node:assert/strict";
 * import { CannotListenError, DenoReactor } from "@twisted-deno/core/reactor";
 * import { TLSServerPort } from "@twisted-deno/core/reactor/net";
 * import { Factory, Protocol } from "@twisted-deno/core/protocols";
 *
 * const tls = { cert: "not a PEM certificate", key: "not a PEM key" };
 * const port = new TLSServerPort(0, Factory.forProtocol(Protocol), tls, { interface: "127.0.0.1" }, new DenoReactor());
 * assert.throws(() => port.startListening(), CannotListenError);
 * assert.throws(
 *   () => new TLSServerPort(0, Factory.forProtocol(Protocol), {} as never, {}, new DenoReactor()),
 *   /a PEM certificate \(cert\) and private key \(key\) are required/,
 * );
 * ```
 */
export class TLSServerPort extends TCPPort {
  /** The certificate, key and ALPN protocols. */
  readonly tls: TLSServerOptions;
  /** Seconds a client has to complete its handshake; null: no limit. */
  readonly handshakeTimeout: number | null;

  /**
   * Makes a port, not yet listening: call `startListening()`.
   *
   * @param port The port (0: any free one).
   * @param factory Builds a protocol per connection.
   * @param tls The PEM certificate chain and key, ALPN protocols, and
   *   `handshakeTimeout` (seconds, 30; null: none).
   * @param options Interface, backlog, reusePort.
   * @param reactor Times backoffs, tracks the port and its connections.
   * @throws {TypeError} When `cert` or `key` is missing.
   * @throws {RangeError} When `port`, `backlog` or `tls.handshakeTimeout`
   *   is out of range.
   */
  constructor(
    port: number,
    factory: IProtocolFactory,
    tls: TLSServerOptions,
    options: ListenTCPOptions,
    reactor: StreamReactor,
  ) {
    checkServerTLS(tls, "listen with TLS");
    const timeout = handshakeTimeoutOf(
      tls.handshakeTimeout,
      "listen with TLS",
    );
    super(port, factory, options, reactor);
    this.tls = tls;
    this.handshakeTimeout = timeout;
  }

  /**
   * Binds and accepts only handshaken connections: over a plain TCP
   * listener with `node:tls` server sockets when there is a handshake
   * timeout, else with `Deno.listenTls`.
   */
  protected override _listen(): Deno.Listener {
    const tls = this.tls;
    if (this.handshakeTimeout === null) {
      const inner = Deno.listenTls({
        transport: "tcp",
        hostname: this.interface,
        port: this.port,
        tcpBacklog: this.backlog,
        reusePort: this.reusePort,
        cert: tls.cert,
        key: tls.key,
        alpnProtocols: tls.alpnProtocols,
      });
      return new HandshakingListener(
        inner,
        (conn) => Promise.resolve(conn as Deno.TlsConn),
        null,
      ) as unknown as Deno.Listener;
    }
    // Refuse a certificate or key that does not parse now, as
    // Deno.listenTls would, rather than at each connection.
    Deno.createHttpClient({ cert: tls.cert, key: tls.key }).close();
    let context: SecureContext | undefined; // parsed once, at the first client
    loadNodeTLSServer().catch(() => {}); // start loading before any client
    const inner = Deno.listen({
      transport: "tcp",
      hostname: this.interface,
      port: this.port,
      tcpBacklog: this.backlog,
      reusePort: this.reusePort,
    } as Deno.TcpListenOptions);
    return new HandshakingListener(
      inner,
      async (conn) => {
        const { makeSecureContext, NodeTLSServerConn } =
          await loadNodeTLSServer();
        context ??= makeSecureContext(tls);
        return new NodeTLSServerConn(conn, tls, context);
      },
      this.handshakeTimeout,
    ) as unknown as Deno.Listener;
  }

  /** A {@linkcode TLSTransport} over the handshaken conn. */
  protected override _makeTransport(conn: Deno.Conn): StreamTransport {
    return new TLSTransport(conn, this.reactor);
  }
}

function checkServerTLS(
  tls: { cert?: string; key?: string } | undefined,
  action: string,
): void {
  if (typeof tls?.cert !== "string" || typeof tls?.key !== "string") {
    throw new TypeError(
      `Cannot ${action}: a PEM certificate (cert) and private key (key) are required`,
    );
  }
}

// ---------------------------------------------------------------- connectors

/**
 * An outgoing TLS connection (what `reactor.connectSSL` returns): a
 * {@linkcode TCPConnector} whose attempt goes on, after `Deno.connect`,
 * with `Deno.startTls` and the handshake, all before the factory builds a
 * protocol. The certificate is verified against the system store, or
 * `caCerts` when given, for `hostname` (default: `host`). A failed
 * handshake reaches `clientConnectionFailed` as a
 * {@linkcode TLSHandshakeError}; the timeout covers the handshake too.
 *
 * @example A failed handshake: a plain TCP server is no TLS server
 * ```ts
 * import assert from "node:assert/strict";
 * import { DenoReactor, TLSHandshakeError } from "@twisted-deno/core/reactor";
 * import { TLSConnector } from "@twisted-deno/core/reactor/net";
 * import { ClientFactory } from "@twisted-deno/core/protocols";
 * import type { Failure } from "@twisted-deno/core/deferred";
 *
 * const plain = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const failed = Promise.withResolvers<Failure>();
 * class Report extends ClientFactory {
 *   override clientConnectionFailed(_c: unknown, reason: Failure): void {
 *     failed.resolve(reason);
 *   }
 * }
 * const connector = new TLSConnector("127.0.0.1", plain.addr.port, new Report(), {}, {}, new DenoReactor());
 * connector.connect();
 * const server = await plain.accept();
 * await server.write(new TextEncoder().encode("hello, not TLS\r\n"));
 * const reason = await failed.promise;
 * assert.ok(reason.check(TLSHandshakeError));
 * server.close();
 * plain.close();
 * ```
 */
export class TLSConnector extends TCPConnector {
  /** CA certificates, the name to verify, ALPN protocols. */
  readonly tls: TLSClientOptions;

  /**
   * Makes a connector, not yet connecting: call `connect()`.
   *
   * @param host A host name or numeric address.
   * @param port The port.
   * @param factory The client factory.
   * @param tls `caCerts`, `hostname`, `alpnProtocols`.
   * @param options `timeout` (seconds, 30, covering the handshake) and a
   *   wildcard `bindAddress`.
   * @param reactor Times the attempt, tracks the connection.
   * @throws {TypeError} When `host` is not a non-empty string.
   * @throws {RangeError} When `port` or `timeout` is out of range.
   */
  constructor(
    host: string,
    port: number,
    factory: IClientFactory,
    tls: TLSClientOptions,
    options: ConnectTCPOptions,
    reactor: StreamReactor,
  ) {
    super(host, port, factory, options, reactor);
    this.tls = tls;
  }

  /** Connects, upgrades and shakes hands; `signal` abandons any step. */
  protected override async _connect(signal: AbortSignal): Promise<Deno.Conn> {
    const tcp = await super._connect(signal) as Deno.TcpConn;
    const peer = `${this.host}:${this.port}`;
    let conn: Deno.TlsConn;
    try {
      conn = withTCPAddresses(
        await Deno.startTls(tcp, {
          hostname: this.tls.hostname ?? this.host,
          caCerts: this.tls.caCerts,
          alpnProtocols: this.tls.alpnProtocols,
        }),
      );
    } catch (e) {
      try {
        tcp.close();
      } catch {
        // consumed by startTls
      }
      throw new TLSHandshakeError(peer, messageOf(e), { cause: e });
    }
    const abort = () => conn.close();
    signal.addEventListener("abort", abort, { once: true });
    try {
      await handshake(conn, peer);
    } catch (e) {
      if (!signal.aborted) conn.close();
      throw e;
    } finally {
      signal.removeEventListener("abort", abort);
    }
    return conn;
  }

  /** A {@linkcode TLSTransport} over the handshaken conn. */
  protected override _makeTransport(
    conn: Deno.Conn,
    onLost: (reason: Failure) => void,
  ): StreamTransport {
    return new TLSTransport(conn, this.reactor, onLost);
  }
}
