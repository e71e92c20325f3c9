/**
 * {@linkcode StreamConnector}: the client side shared by TCP, UNIX and TLS
 * connections. It runs one connection attempt at a time, tells the client
 * factory how it went, and can try again (`connect()`), which is what
 * `ReconnectingClientFactory` builds on.
 *
 * @module
 */

import { logFactoryError } from "./_factory_errors.ts";
import { Failure } from "../../deferred/failure.ts";
import { Logger } from "../../log/mod.ts";
import {
  ConnectError,
  ConnectionRefusedError,
  DNSLookupError,
  TCPTimedOutError,
} from "../errors.ts";
import type {
  IAddress,
  IClientFactory,
  IConnector,
  IDelayedCall,
  IProtocol,
  ITransport,
  ReactorResource,
} from "../interfaces.ts";
import type { StreamTransport } from "./stream.ts";
import type { StreamReactor } from "./stream_port.ts";

const log = new Logger("reactor.connector");

/**
 * `stopConnecting()` was called on a connector that was not connecting.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NotConnectingError } from "@twisted-deno/core/reactor";
 *
 * assert.match(new NotConnectingError("disconnected").message, /not connecting/);
 * ```
 */
export class NotConnectingError extends Error {
  /** Always `"NotConnectingError"`. */
  override readonly name: string = "NotConnectingError";
  /**
   * Makes one.
   *
   * @param state The connector's state at the time.
   */
  constructor(state: string, options?: ErrorOptions) {
    super(
      `Cannot stop connecting: the connector is not connecting (it is ${state})`,
      options,
    );
  }
}

/**
 * The connection attempt was abandoned by `stopConnecting()` (Twisted's
 * `UserError`): the reason `clientConnectionFailed` gets then.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ConnectError, UserError } from "@twisted-deno/core/reactor";
 *
 * assert.ok(new UserError() instanceof ConnectError);
 * assert.match(new UserError().message, /User aborted connection/);
 * ```
 */
export class UserError extends ConnectError {
  /** Always `"UserError"`. */
  override readonly name: string = "UserError";
  /**
   * Makes one.
   *
   * @param options The cause, if any.
   */
  constructor(options?: ErrorOptions) {
    super("User aborted connection", options);
  }
}

/** Where a connector is in its life. */
export type ConnectorState = "disconnected" | "connecting" | "connected";

/** One connection attempt. */
interface Attempt {
  readonly controller: AbortController;
  /** Why it was abandoned (timeout, stopConnecting, shutdown). */
  reason: Error | undefined;
  /** The factory has been told how it ended. */
  done: boolean;
  /** Resolved once reported (only made for reactor shutdown). */
  settled: PromiseWithResolvers<void> | undefined;
}

/** Stands in when a client factory's `buildProtocol` returns null. */
class NullProtocol implements IProtocol {
  makeConnection(_transport: ITransport): void {}
  connectionMade(): void {}
  dataReceived(_data: Uint8Array): void {}
  connectionLost(_reason: Failure): void {}
}

function describe(addr: IAddress): string {
  return addr.type === "UNIX" ? addr.name : `${addr.host}:${addr.port}`;
}

function nameOf(object: unknown): string {
  return (object as object)?.constructor?.name ?? String(object);
}

/**
 * An outgoing stream connection and its attempts, as Twisted's
 * `BaseConnector`: `connect()` starts an attempt (the factory sees
 * `startedConnecting`, then either `buildProtocol` and the protocol's
 * `connectionMade`, or `clientConnectionFailed`); a connection made is
 * reported lost with `clientConnectionLost(connector, reason)`; either
 * report may call `connect()` again. The factory gets `doStart()` on the
 * first attempt and `doStop()` once a failure or loss leaves the connector
 * disconnected.
 *
 * `stopConnecting()` and the timeout abandon the attempt;
 * `clientConnectionFailed` follows once the attempt has wound down (in a
 * later turn, not inside the call), with `UserError` or the timeout error.
 * The connector stays `"connecting"` until then.
 *
 * A subclass implements {@linkcode StreamConnector._connect},
 * {@linkcode StreamConnector._makeTransport} and
 * {@linkcode StreamConnector.getDestination} (TLS: `Deno.connectTls`).
 *
 * @example Connect to a local listener and see it made
 * ```ts
 * import assert from "node:assert/strict";
 * import { DenoReactor, type IAddress } from "@twisted-deno/core/reactor";
 * import { StreamConnector, StreamTransport } from "@twisted-deno/core/reactor/net";
 * import { ClientFactory, Protocol } from "@twisted-deno/core/protocols";
 * import type { Failure } from "@twisted-deno/core/deferred";
 *
 * const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
 * const reactor = new DenoReactor();
 * class Loopback extends StreamConnector {
 *   protected _connect(signal: AbortSignal): Promise<Deno.Conn> {
 *     return Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port, signal });
 *   }
 *   protected _makeTransport(
 *     conn: Deno.Conn,
 *     onLost: (reason: Failure) => void,
 *   ): StreamTransport {
 *     return new StreamTransport(conn, this.reactor, onLost);
 *   }
 *   getDestination(): IAddress {
 *     return { type: "TCP", host: "127.0.0.1", port: listener.addr.port };
 *   }
 * }
 * const made = Promise.withResolvers<void>();
 * const lost = Promise.withResolvers<void>();
 * class Quit extends Protocol {
 *   override connectionMade(): void {
 *     made.resolve();
 *     this.transport!.loseConnection();
 *   }
 * }
 * class Watch extends ClientFactory {
 *   override clientConnectionLost(): void {
 *     lost.resolve();
 *   }
 * }
 * const connector = new Loopback(Watch.forProtocol(Quit), reactor, 5);
 * connector.connect();
 * const server = await listener.accept();
 * await made.promise;
 * await lost.promise;
 * assert.equal(connector.state, "disconnected");
 * server.close();
 * listener.close();
 * ```
 */
export abstract class StreamConnector implements IConnector, ReactorResource {
  /** The factory told about each attempt. */
  readonly factory: IClientFactory;
  /** Times the attempts; tracks them for shutdown. */
  readonly reactor: StreamReactor;
  /** Seconds before an attempt fails, or undefined for no limit. */
  timeout: number | undefined;
  /** Where the connector is. */
  state: ConnectorState = "disconnected";
  /** The connection, while connected. */
  transport: StreamTransport | undefined = undefined;

  #factoryStarted = false;
  #attempt: Attempt | undefined = undefined;
  #timeoutCall: IDelayedCall | undefined = undefined;

  /**
   * Makes a disconnected connector; `connect()` starts an attempt.
   *
   * @param factory The client factory.
   * @param reactor Times attempts; tracks connections for shutdown.
   * @param timeout Seconds per attempt (30); `undefined` or 0: no limit.
   * @throws {RangeError} When `timeout` is negative or not a number.
   */
  constructor(
    factory: IClientFactory,
    reactor: StreamReactor,
    timeout: number | undefined = 30,
  ) {
    if (timeout !== undefined && !(timeout >= 0)) {
      throw new RangeError(
        `Cannot connect with a timeout of ${timeout}: it must be a number of seconds >= 0`,
      );
    }
    this.factory = factory;
    this.reactor = reactor;
    this.timeout = timeout === 0 ? undefined : timeout;
  }

  /**
   * Starts connecting. `signal` aborts the attempt.
   *
   * @param signal Fires on timeout, `stopConnecting()` or shutdown.
   * @returns The connected socket.
   */
  protected abstract _connect(signal: AbortSignal): Promise<Deno.Conn>;

  /**
   * Wraps a connected socket in its transport.
   *
   * @param conn The socket.
   * @param onLost Must be passed to the transport: reports the loss.
   * @returns The transport.
   */
  protected abstract _makeTransport(
    conn: Deno.Conn,
    onLost: (reason: Failure) => void,
  ): StreamTransport;

  /**
   * Whether aborting `_connect`'s signal ends the attempt promptly. When
   * false (UNIX: `Deno.connect` takes no signal there), an abandoned
   * attempt is reported at once and a connection made later is closed.
   */
  protected get _abortable(): boolean {
    return true;
  }

  /** Where the connector connects to. */
  abstract getDestination(): IAddress;

  /**
   * The error a failed attempt reports: refused, timed out, DNS, or a
   * generic `ConnectError` naming the cause.
   *
   * @param error What `_connect` rejected with.
   * @returns A `ConnectError`.
   */
  protected _connectError(error: unknown): Error {
    const where = describe(this.getDestination());
    if (error instanceof ConnectError) return error;
    if (error instanceof Deno.errors.ConnectionRefused) {
      return new ConnectionRefusedError(where, { cause: error });
    }
    if (error instanceof Deno.errors.TimedOut) {
      return new TCPTimedOutError(where, undefined, { cause: error });
    }
    const message = error instanceof Error ? error.message : String(error);
    const dest = this.getDestination();
    if (
      dest.type !== "UNIX" &&
      /lookup address|resolve|name or service|nodename|no address/i.test(
        message,
      )
    ) {
      return new DNSLookupError(dest.host, { cause: error });
    }
    return new ConnectError(`${where}: ${message}`, { cause: error });
  }

  /**
   * The error an attempt that ran out of time reports.
   *
   * @param timeout The timeout, in seconds.
   * @returns `TCPTimedOutError` naming the destination.
   */
  protected _timeoutError(timeout: number): Error {
    return new TCPTimedOutError(describe(this.getDestination()), timeout);
  }

  /**
   * Starts an attempt (again, after a failure or a loss).
   *
   * @throws {Error} When already connecting or connected.
   */
  connect(): void {
    if (this.state !== "disconnected") {
      throw new Error(
        `Cannot connect to ${
          describe(this.getDestination())
        }: the connector is already ${this.state}`,
      );
    }
    this.state = "connecting";
    if (!this.#factoryStarted) {
      this.factory.doStart();
      this.#factoryStarted = true;
    }
    const attempt: Attempt = {
      controller: new AbortController(),
      reason: undefined,
      done: false,
      settled: undefined,
    };
    this.#attempt = attempt;
    this.reactor.trackResource(this);
    let pending: Promise<Deno.Conn>;
    try {
      pending = this._connect(attempt.controller.signal);
    } catch (error) {
      pending = Promise.reject(error);
    }
    const timeout = this.timeout;
    if (timeout !== undefined) {
      this.#timeoutCall = this.reactor.callLater(
        timeout,
        () => this.#abandon(attempt, this._timeoutError(timeout)),
      );
    }
    pending.then(
      (conn) => this.#settled(attempt, conn, undefined),
      (error) => this.#settled(attempt, undefined, error),
    );
    try {
      this.factory.startedConnecting(this);
    } catch (error) {
      logFactoryError(log, nameOf(this.factory), "startedConnecting", error);
    }
  }

  /**
   * Abandons the attempt in progress; `clientConnectionFailed` follows
   * with `UserError`.
   *
   * @throws {NotConnectingError} When not connecting.
   */
  stopConnecting(): void {
    const attempt = this.#attempt;
    if (this.state !== "connecting" || attempt === undefined) {
      throw new NotConnectingError(this.state);
    }
    this.#abandon(attempt, new UserError());
  }

  /** Stops the attempt, or closes the connection (`loseConnection()`). */
  disconnect(): void {
    if (this.state === "connecting") {
      if (this.#attempt?.reason === undefined) this.stopConnecting();
    } else if (this.state === "connected") {
      this.transport?.loseConnection();
    }
  }

  /**
   * Abandons the attempt in progress at reactor shutdown.
   *
   * @returns Resolves once the factory has been told.
   */
  shutdown(): Promise<void> {
    const attempt = this.#attempt;
    if (attempt === undefined || attempt.done) return Promise.resolve();
    attempt.settled ??= Promise.withResolvers<void>();
    this.#abandon(
      attempt,
      new ConnectError("the reactor is shutting down"),
    );
    return attempt.settled.promise;
  }

  #abandon(attempt: Attempt, reason: Error): void {
    if (attempt.done || attempt.reason !== undefined) return;
    attempt.reason = reason;
    this.#cancelTimeout();
    attempt.controller.abort(reason);
    if (!this._abortable) this.#report(attempt, undefined);
  }

  #cancelTimeout(): void {
    if (this.#timeoutCall?.active()) this.#timeoutCall.cancel();
    this.#timeoutCall = undefined;
  }

  #settled(
    attempt: Attempt,
    conn: Deno.Conn | undefined,
    error: unknown,
  ): void {
    if (attempt.done) {
      conn?.close(); // abandoned and already reported
      return;
    }
    if (conn !== undefined && attempt.reason !== undefined) {
      conn.close(); // made just as it was abandoned
      conn = undefined;
    }
    this.#report(attempt, conn, error);
  }

  #report(attempt: Attempt, conn: Deno.Conn | undefined, error?: unknown) {
    attempt.done = true;
    this.#cancelTimeout();
    this.#attempt = undefined;
    this.reactor.untrackResource(this);
    try {
      if (conn !== undefined) this.#connected(conn);
      else this.#failed(attempt.reason ?? this._connectError(error));
    } finally {
      attempt.settled?.resolve();
    }
  }

  #failed(reason: Error): void {
    this.state = "disconnected";
    try {
      this.factory.clientConnectionFailed(this, new Failure(reason));
    } catch (error) {
      logFactoryError(
        log,
        nameOf(this.factory),
        "clientConnectionFailed",
        error,
      );
    }
    if (this.state === "disconnected") this.#stopFactory();
  }

  #connected(conn: Deno.Conn): void {
    this.state = "connected";
    const transport: StreamTransport = this._makeTransport(
      conn,
      (reason) => this.#lost(transport, reason),
    );
    let protocol: IProtocol | null;
    try {
      protocol = this.factory.buildProtocol(transport.getPeer());
    } catch (error) {
      logFactoryError(log, nameOf(this.factory), "buildProtocol", error);
      conn.close();
      this.#failed(
        error instanceof Error ? error : new ConnectError(String(error)),
      );
      return;
    }
    this.transport = transport;
    if (protocol === null || protocol === undefined) {
      // As Twisted: a stand-in protocol, and the connection is dropped.
      transport.connectProtocol(new NullProtocol(), "client");
      transport.loseConnection();
      return;
    }
    transport.connectProtocol(protocol, "client");
  }

  #lost(transport: StreamTransport, reason: Failure): void {
    if (this.transport !== transport) return;
    this.transport = undefined;
    this.state = "disconnected";
    try {
      this.factory.clientConnectionLost(this, reason);
    } catch (error) {
      logFactoryError(log, nameOf(this.factory), "clientConnectionLost", error);
    }
    if (this.state === "disconnected") this.#stopFactory();
  }

  #stopFactory(): void {
    if (!this.#factoryStarted) return;
    this.#factoryStarted = false;
    try {
      this.factory.doStop();
    } catch (error) {
      logFactoryError(log, nameOf(this.factory), "doStop", error);
    }
  }
}
