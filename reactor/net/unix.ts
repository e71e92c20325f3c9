/**
 * UNIX-domain stream sockets on `Deno.listen`/`Deno.connect` with
 * `transport: "unix"`: {@linkcode UNIXPort} and {@linkcode UNIXConnector}.
 * Their connections are {@linkcode StreamTransport}s (where
 * `setTcpNoDelay` and `setTcpKeepAlive` do nothing).
 *
 * @module
 */

import type { Failure } from "../../deferred/failure.ts";
import { CannotListenError, ConnectError } from "../errors.ts";
import type {
  ConnectUNIXOptions,
  IAddress,
  IClientFactory,
  IProtocolFactory,
  ListenUNIXOptions,
} from "../interfaces.ts";
import { StreamTransport } from "./stream.ts";
import { StreamConnector } from "./stream_connector.ts";
import { type StreamReactor, StreamServerPort } from "./stream_port.ts";

function checkPath(path: string, what: string): void {
  if (typeof path !== "string" || path === "" || path.includes("\0")) {
    throw new TypeError(
      `Cannot ${what} ${
        JSON.stringify(path)
      }: a UNIX socket path is a non-empty string without NUL`,
    );
  }
}

/**
 * A listening UNIX socket (Twisted's `unix.Port`). The socket file is
 * created by `startListening()` (an existing file makes it fail with
 * `CannotListenError`) and removed once the port has stopped. Deno's UNIX
 * listener takes no backlog: `backlog` is accepted for compatibility and
 * the system's default applies.
 *
 * Listening on a UNIX socket needs `--allow-net=unix:<path>` (besides
 * read and write access to its directory).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DenoReactor } from "@twisted-deno/core/reactor";
 * import { UNIXPort } from "@twisted-deno/core/reactor/net";
 * import { Factory, Protocol } from "@twisted-deno/core/protocols";
 *
 * const port = new UNIXPort("/run/app.sock", Factory.forProtocol(Protocol), {}, new DenoReactor());
 * assert.equal(port.path, "/run/app.sock");
 * // port.startListening() would create the socket file.
 * assert.throws(() => port.getHost(), /not listening/);
 * ```
 */
export class UNIXPort extends StreamServerPort {
  /** The socket file's path. */
  readonly path: string;

  /**
   * Makes a port that is not listening yet (`listenUNIX` also starts it).
   *
   * @param path The socket file to create.
   * @param factory Builds a protocol per connection.
   * @param _options Accepted for compatibility (see the class doc).
   * @param reactor Tracks the port and its connections.
   * @throws {TypeError} When `path` is empty or holds a NUL.
   */
  constructor(
    path: string,
    factory: IProtocolFactory,
    _options: ListenUNIXOptions,
    reactor: StreamReactor,
  ) {
    checkPath(path, "listen on");
    super(factory, reactor);
    this.path = path;
  }

  /** Binds with `Deno.listen({ transport: "unix" })`. */
  protected _listen(): Deno.Listener {
    return Deno.listen({ transport: "unix", path: this.path });
  }

  /** Names the path that could not be bound. */
  protected override _cannotListen(error: unknown): Error {
    return new CannotListenError("", this.path, { cause: error });
  }

  /** A {@linkcode StreamTransport} over the accepted conn. */
  protected _makeTransport(conn: Deno.Conn): StreamTransport {
    return new StreamTransport(conn, this.reactor);
  }

  /** Removes the socket file. */
  protected override _closed(): void {
    try {
      Deno.removeSync(this.path);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
}

/**
 * An outgoing UNIX-socket connection; see {@linkcode StreamConnector} for
 * the calls the factory gets. A missing socket file or no listener fails
 * with a `ConnectError` (`ConnectionRefusedError` when refused). Needs
 * `--allow-net=unix:<path>`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DenoReactor } from "@twisted-deno/core/reactor";
 * import { UNIXConnector } from "@twisted-deno/core/reactor/net";
 * import { ClientFactory } from "@twisted-deno/core/protocols";
 *
 * const connector = new UNIXConnector("/run/app.sock", new ClientFactory(), { timeout: 5 }, new DenoReactor());
 * assert.deepEqual(connector.getDestination(), { type: "UNIX", name: "/run/app.sock" });
 * assert.equal(connector.state, "disconnected"); // until connect()
 * ```
 */
export class UNIXConnector extends StreamConnector {
  /** The socket file to connect to. */
  readonly path: string;

  /**
   * Makes a connector; `connect()` (which `connectUNIX` calls) starts it.
   *
   * @param path The socket file.
   * @param factory The client factory.
   * @param options `timeout` in seconds (30).
   * @param reactor Times the attempt, tracks the connection.
   * @throws {TypeError} When `path` is empty or holds a NUL.
   */
  constructor(
    path: string,
    factory: IClientFactory,
    options: ConnectUNIXOptions,
    reactor: StreamReactor,
  ) {
    checkPath(path, "connect to");
    super(factory, reactor, options.timeout ?? 30);
    this.path = path;
  }

  /** Connects with `Deno.connect({ transport: "unix" })` (no signal). */
  protected _connect(_signal: AbortSignal): Promise<Deno.Conn> {
    return Deno.connect({ transport: "unix", path: this.path });
  }

  /** `Deno.connect` takes no abort signal for UNIX sockets. */
  protected override get _abortable(): boolean {
    return false;
  }

  /** A {@linkcode StreamTransport} over the connected conn. */
  protected _makeTransport(
    conn: Deno.Conn,
    onLost: (reason: Failure) => void,
  ): StreamTransport {
    return new StreamTransport(conn, this.reactor, onLost);
  }

  /** Like the base, naming the path. */
  protected override _timeoutError(timeout: number): Error {
    return new ConnectError(
      `connecting to ${this.path} timed out after ${timeout} s`,
    );
  }

  /** `{ type: "UNIX", name: path }`. */
  getDestination(): IAddress {
    return { type: "UNIX", name: this.path };
  }
}
