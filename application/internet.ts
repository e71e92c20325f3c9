/**
 * Services over the reactor: servers ({@linkcode TCPServer},
 * {@linkcode SSLServer}, {@linkcode UNIXServer}, {@linkcode UDPServer},
 * {@linkcode StreamServerEndpointService}), clients ({@linkcode TCPClient},
 * and {@linkcode ClientService}, which keeps one connection up with a
 * back-off policy), and {@linkcode TimerService}, which calls a function
 * every few seconds. Each starts its port, connection or loop when the
 * service starts and closes it when the service stops; `stopService()`
 * returns a Deferred that fires once it is closed.
 *
 * @module
 */

import {
  Deferred,
  fail,
  maybeDeferred,
  succeed,
} from "../deferred/deferred.ts";
import { CancelledError } from "../deferred/errors.ts";
import { Failure } from "../deferred/failure.ts";
import { Logger } from "../log/mod.ts";
import type {
  ConnectTCPOptions,
  IAddress,
  IClientFactory,
  IConnector,
  IDatagramProtocol,
  IDelayedCall,
  IListeningPort,
  IProtocol,
  IProtocolFactory,
  IReactorSSL,
  IReactorTCP,
  IReactorTime,
  IReactorUDP,
  IReactorUNIX,
  IStreamClientEndpoint,
  IStreamServerEndpoint,
  ITransport,
  ListenTCPOptions,
  ListenUDPOptions,
  ListenUNIXOptions,
  TLSServerOptions,
} from "../reactor/interfaces.ts";
import { reactor as globalReactor } from "../reactor/reactor.ts";
import { LoopingCall } from "../reactor/task.ts";
import { Service } from "./service.ts";
import { runnerState } from "./_runner_state.ts";

const log = new Logger("application");

/** A name for an endpoint in log lines: its own toString, or its class. */
function describe(value: object): string {
  if (value.toString !== Object.prototype.toString) return String(value);
  return value.constructor?.name ?? "endpoint";
}

// ------------------------------------------------------------- servers

/**
 * A service holding one listening port, made by `listen()` when the
 * service starts (in `privilegedStartService`, so a runner can bind a low
 * port before dropping privileges) and closed when it stops. The base of
 * {@linkcode TCPServer}, {@linkcode SSLServer}, {@linkcode UNIXServer} and
 * {@linkcode UDPServer}; a listen error is thrown from the start call.
 *
 * @example A port from any listen call
 * ```ts
 * import assert from "node:assert/strict";
 * import { PortService } from "@twisted-deno/core/application";
 * import { Factory, Protocol } from "@twisted-deno/core/protocols";
 * import { MemoryReactor } from "@twisted-deno/core/testing";
 *
 * const reactor = new MemoryReactor();
 * const service = new PortService(() =>
 *   reactor.listenTCP(8080, Factory.forProtocol(Protocol))
 * );
 * service.startService();
 * assert.equal(reactor.tcpServers[0].port, 8080);
 * await service.stopService();
 * assert.equal(service.port, undefined);
 * ```
 */
export class PortService extends Service {
  #listen: () => IListeningPort;
  #port: IListeningPort | undefined;

  /**
   * Makes a PortService.
   *
   * @param listen Makes the port (called once per start).
   */
  constructor(listen: () => IListeningPort) {
    super();
    this.#listen = listen;
  }

  /** The listening port while the service runs. */
  get port(): IListeningPort | undefined {
    return this.#port;
  }

  /** The port's address (with the real port number when 0 was asked). */
  getHost(): IAddress {
    if (this.#port === undefined) {
      throw new Error(
        `Cannot get the address of service ${
          JSON.stringify(this.name ?? this.constructor.name)
        }: it is not listening`,
      );
    }
    return this.#port.getHost();
  }

  /** Listens now (it may need privileges). */
  override privilegedStartService(): void {
    super.privilegedStartService();
    this.#port ??= this.#listen();
  }

  /** Listens, unless `privilegedStartService` did already. */
  override startService(): void {
    this.#port ??= this.#listen();
    super.startService();
  }

  /** Stops listening; fires once the socket is closed. */
  override stopService(): Deferred<void> {
    super.stopService();
    const port = this.#port;
    this.#port = undefined;
    if (port === undefined) return succeed(undefined);
    return port.stopListening();
  }
}

/**
 * Under the runner's `--workers N`, every process listens on the same
 * port: `reusePort` is on unless the options say otherwise.
 */
function withRunnerDefaults(options: ListenTCPOptions): ListenTCPOptions {
  if (!runnerState.reusePort || options.reusePort !== undefined) return options;
  return { ...options, reusePort: true };
}

/** Options of {@linkcode TCPServer}. */
export interface TCPServerOptions extends ListenTCPOptions {
  /** The reactor to listen with (the global one by default). */
  reactor?: IReactorTCP;
}

/**
 * Serves TCP: `reactor.listenTCP(port, factory, options)` when the service
 * starts, `stopListening()` when it stops. Run by `twistd --workers N`, it
 * listens with `reusePort` (unless `options.reusePort` is given), so the N
 * processes share the port.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TCPServer } from "@twisted-deno/core/application";
 * import { Factory, Protocol } from "@twisted-deno/core/protocols";
 * import { MemoryReactor } from "@twisted-deno/core/testing";
 *
 * const reactor = new MemoryReactor();
 * const service = new TCPServer(1079, Factory.forProtocol(Protocol), {
 *   interface: "127.0.0.1",
 *   reactor,
 * });
 * service.startService();
 * assert.equal(reactor.tcpServers[0].options.interface, "127.0.0.1");
 * await service.stopService();
 * ```
 */
export class TCPServer extends PortService {
  /**
   * Makes a TCPServer.
   *
   * @param port The port (0: any free port; see `getHost()`).
   * @param factory Makes a protocol per connection.
   * @param options `listenTCP` options and the reactor.
   */
  constructor(
    port: number,
    factory: IProtocolFactory,
    options: TCPServerOptions = {},
  ) {
    const { reactor = globalReactor, ...listen } = options;
    super(() => reactor.listenTCP(port, factory, withRunnerDefaults(listen)));
  }
}

/** Options of {@linkcode SSLServer}. */
export interface SSLServerOptions extends ListenTCPOptions {
  /** The reactor to listen with (the global one by default). */
  reactor?: IReactorSSL;
}

/**
 * Serves TLS: `reactor.listenSSL(port, factory, tls, options)` when the
 * service starts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SSLServer } from "@twisted-deno/core/application";
 * import { Factory, Protocol } from "@twisted-deno/core/protocols";
 * import { MemoryReactor } from "@twisted-deno/core/testing";
 *
 * const reactor = new MemoryReactor();
 * const tls = { cert: "-----BEGIN CERTIFICATE-----...", key: "-----BEGIN PRIVATE KEY-----..." };
 * const service = new SSLServer(8443, Factory.forProtocol(Protocol), tls, { reactor });
 * service.startService();
 * assert.equal(reactor.sslServers[0].tls, tls);
 * await service.stopService();
 * ```
 */
export class SSLServer extends PortService {
  /**
   * Makes an SSLServer.
   *
   * @param port The port.
   * @param factory Makes a protocol per connection.
   * @param tls The PEM certificate and key.
   * @param options `listenSSL` options and the reactor.
   */
  constructor(
    port: number,
    factory: IProtocolFactory,
    tls: TLSServerOptions,
    options: SSLServerOptions = {},
  ) {
    const { reactor = globalReactor, ...listen } = options;
    super(() =>
      reactor.listenSSL(port, factory, tls, withRunnerDefaults(listen))
    );
  }
}

/** Options of {@linkcode UNIXServer}. */
export interface UNIXServerOptions extends ListenUNIXOptions {
  /** The reactor to listen with (the global one by default). */
  reactor?: IReactorUNIX;
}

/**
 * Serves a UNIX-domain socket: `reactor.listenUNIX(path, factory, options)`
 * when the service starts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { UNIXServer } from "@twisted-deno/core/application";
 * import { Factory, Protocol } from "@twisted-deno/core/protocols";
 * import { MemoryReactor } from "@twisted-deno/core/testing";
 *
 * const reactor = new MemoryReactor();
 * const service = new UNIXServer("/tmp/app.sock", Factory.forProtocol(Protocol), { reactor });
 * service.startService();
 * assert.equal(reactor.unixServers[0].path, "/tmp/app.sock");
 * await service.stopService();
 * ```
 */
export class UNIXServer extends PortService {
  /**
   * Makes a UNIXServer.
   *
   * @param path The socket file.
   * @param factory Makes a protocol per connection.
   * @param options `listenUNIX` options and the reactor.
   */
  constructor(
    path: string,
    factory: IProtocolFactory,
    options: UNIXServerOptions = {},
  ) {
    const { reactor = globalReactor, ...listen } = options;
    super(() => reactor.listenUNIX(path, factory, listen));
  }
}

/** Options of {@linkcode UDPServer}. */
export interface UDPServerOptions extends ListenUDPOptions {
  /** The reactor to listen with (the global one by default). */
  reactor?: IReactorUDP;
}

/**
 * Serves UDP: `reactor.listenUDP(port, protocol, options)` when the
 * service starts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { UDPServer } from "@twisted-deno/core/application";
 * import { DatagramProtocol } from "@twisted-deno/core/protocols";
 * import { MemoryReactor } from "@twisted-deno/core/testing";
 *
 * const reactor = new MemoryReactor();
 * const service = new UDPServer(5353, new DatagramProtocol(), { reactor });
 * service.startService();
 * assert.equal(reactor.udpPorts[0].port, 5353);
 * await service.stopService();
 * ```
 */
export class UDPServer extends PortService {
  /**
   * Makes a UDPServer.
   *
   * @param port The port.
   * @param protocol Receives the datagrams.
   * @param options `listenUDP` options and the reactor.
   */
  constructor(
    port: number,
    protocol: IDatagramProtocol,
    options: UDPServerOptions = {},
  ) {
    const { reactor = globalReactor, ...listen } = options;
    super(() => reactor.listenUDP(port, protocol, listen));
  }
}

// ------------------------------------------------------------- clients

/** Options of {@linkcode TCPClient}. */
export interface TCPClientOptions extends ConnectTCPOptions {
  /** The reactor to connect with (the global one by default). */
  reactor?: IReactorTCP;
}

/**
 * Connects over TCP when the service starts
 * (`reactor.connectTCP(host, port, factory, options)`) and disconnects
 * when it stops. It does not reconnect by itself: use a
 * `ReconnectingClientFactory`, or {@linkcode ClientService}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TCPClient } from "@twisted-deno/core/application";
 * import { ClientFactory } from "@twisted-deno/core/protocols";
 * import { MemoryReactor } from "@twisted-deno/core/testing";
 *
 * const reactor = new MemoryReactor();
 * const service = new TCPClient("127.0.0.1", 1079, new ClientFactory(), { reactor });
 * service.startService();
 * assert.equal(reactor.tcpClients[0].port, 1079);
 * service.stopService();
 * assert.equal(service.connector, undefined);
 * ```
 */
export class TCPClient extends Service {
  #connect: () => IConnector;
  #connector: IConnector | undefined;

  /**
   * Makes a TCPClient.
   *
   * @param host The host to connect to.
   * @param port The port.
   * @param factory Hears how the connection goes.
   * @param options `connectTCP` options and the reactor.
   */
  constructor(
    host: string,
    port: number,
    factory: IClientFactory,
    options: TCPClientOptions = {},
  ) {
    super();
    const { reactor = globalReactor, ...connect } = options;
    this.#connect = () => reactor.connectTCP(host, port, factory, connect);
  }

  /** The connector while the service runs. */
  get connector(): IConnector | undefined {
    return this.#connector;
  }

  /** Connects. */
  override startService(): void {
    super.startService();
    this.#connector = this.#connect();
  }

  /** Disconnects (or stops the attempt). */
  override stopService(): void {
    super.stopService();
    const connector = this.#connector;
    this.#connector = undefined;
    connector?.disconnect();
  }
}

// --------------------------------------------------------------- timer

/**
 * Calls `fn(...args)` every `step` seconds while the service runs (the
 * first call when it starts), with a {@linkcode LoopingCall}. A call that
 * throws (or fails) stops the loop and is logged; the service stays
 * "running" until stopped. `stopService()` waits for a call in progress
 * (one that returned a Deferred or Promise).
 *
 * @example Tick on a test clock
 * ```ts
 * import assert from "node:assert/strict";
 * import { TimerService } from "@twisted-deno/core/application";
 * import { Clock } from "@twisted-deno/core/testing";
 *
 * const clock = new Clock();
 * const ticks: number[] = [];
 * const timer = new TimerService(10, () => ticks.push(clock.seconds()));
 * timer.clock = clock;
 * timer.startService();
 * clock.pump([10, 10]);
 * await timer.stopService();
 * clock.advance(10);
 * assert.deepEqual(ticks, [0, 10, 20]);
 * ```
 */
export class TimerService extends Service {
  /** Seconds between calls. */
  readonly step: number;
  /** The clock (the global reactor unless set before `startService`). */
  clock: IReactorTime = globalReactor;
  #fn: (...args: never[]) => unknown;
  #args: unknown[];
  #loop: LoopingCall | undefined;
  #finished: Deferred<unknown> | undefined;

  /**
   * Makes a TimerService.
   *
   * @param step Seconds between calls.
   * @param fn The function to call.
   * @param args Its arguments.
   */
  constructor(
    step: number,
    fn: (...args: never[]) => unknown,
    ...args: unknown[]
  ) {
    super();
    this.step = step;
    this.#fn = fn;
    this.#args = args;
  }

  /** The loop while the service runs (a new one per start). */
  get loop(): LoopingCall | undefined {
    return this.#loop;
  }

  /** Starts the loop, calling `fn` at once. */
  override startService(): void {
    super.startService();
    const loop = new LoopingCall(this.#fn, ...this.#args);
    loop.clock = this.clock;
    this.#loop = loop;
    this.#finished = loop.start(this.step, true).addErrback((failure) => {
      log.failure(
        "TimerService {service} stopped: its call failed",
        failure,
        "error",
        { service: this.name ?? this.#fn.name ?? "anonymous" },
      );
    });
  }

  /** Stops the loop; fires once a call in progress is done. */
  override stopService(): Deferred<void> {
    const loop = this.#loop;
    const finished = this.#finished;
    if (loop === undefined || finished === undefined) {
      super.stopService();
      return succeed(undefined);
    }
    if (loop.running) loop.stop();
    const done = new Deferred<void>();
    finished.addBoth(() => {
      this.#loop = undefined;
      this.#finished = undefined;
      super.stopService();
      done.callback(undefined);
    });
    return done;
  }
}

// ------------------------------------------------------- endpoint server

/**
 * Listens on a server endpoint while the service runs. A listen error does
 * not throw: it reaches {@linkcode StreamServerEndpointService.whenListening}
 * and the log (unless `raiseSynchronously` is set and the endpoint failed
 * at once, when `privilegedStartService` throws it).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { StreamServerEndpointService } from "@twisted-deno/core/application";
 * import { succeed } from "@twisted-deno/core/deferred";
 * import { Factory, Protocol } from "@twisted-deno/core/protocols";
 * import type { IListeningPort } from "@twisted-deno/core/reactor";
 *
 * let stopped = false;
 * const port: IListeningPort = {
 *   startListening() {},
 *   stopListening() { stopped = true; return succeed(undefined); },
 *   getHost: () => ({ type: "TCP", host: "127.0.0.1", port: 1079 }),
 * };
 * const service = new StreamServerEndpointService(
 *   { listen: () => succeed(port) },
 *   Factory.forProtocol(Protocol),
 * );
 * service.startService();
 * assert.equal(await service.whenListening(), port);
 * await service.stopService();
 * assert.equal(stopped, true);
 * ```
 */
export class StreamServerEndpointService extends Service {
  /** Throw a synchronous listen failure from `privilegedStartService`. */
  raiseSynchronously = false;
  #waiting: Deferred<IListeningPort | null> | undefined;
  #port: IListeningPort | undefined;
  #error: Failure | undefined;
  #listeners: Deferred<IListeningPort>[] = [];

  /**
   * Makes a StreamServerEndpointService.
   *
   * @param endpoint Where to listen.
   * @param factory Makes a protocol per connection.
   */
  constructor(
    readonly endpoint: IStreamServerEndpoint,
    readonly factory: IProtocolFactory,
  ) {
    super();
  }

  /** Starts listening on the endpoint. */
  override privilegedStartService(): void {
    super.privilegedStartService();
    this.#port = undefined;
    this.#error = undefined;
    let raisedNow: Failure | undefined;
    let sync = true;
    const waiting = maybeDeferred(() => this.endpoint.listen(this.factory));
    this.#waiting = waiting.addCallbacks(
      (port) => {
        this.#port = port;
        for (const d of this.#listeners.splice(0)) d.callback(port);
        return port;
      },
      (failure) => {
        this.#error = failure;
        for (const d of this.#listeners.splice(0)) d.errback(failure);
        if (sync && this.raiseSynchronously) {
          raisedNow = failure;
        } else if (failure.check(CancelledError) === null) {
          log.failure(
            "Cannot listen on {endpoint}",
            failure,
            "error",
            { endpoint: describe(this.endpoint) },
          );
        }
        return null;
      },
    );
    sync = false;
    if (raisedNow !== undefined) {
      this.raiseSynchronously = false;
      raisedNow.raiseException();
    }
    this.raiseSynchronously = false;
  }

  /** Listens, unless `privilegedStartService` did already. */
  override startService(): void {
    super.startService();
    if (this.#waiting === undefined) this.privilegedStartService();
  }

  /**
   * Fires with the port once listening, or fails with the listen error
   * (also for a call made after it failed).
   */
  whenListening(): Deferred<IListeningPort> {
    if (this.#port !== undefined) return succeed(this.#port);
    if (this.#error !== undefined) return fail(this.#error);
    const d = new Deferred<IListeningPort>();
    this.#listeners.push(d);
    return d;
  }

  /**
   * Stops listening, or cancels a listen still under way; fires once the
   * port is closed.
   */
  override stopService(): Deferred<void> {
    const waiting = this.#waiting;
    this.#waiting = undefined;
    if (waiting === undefined) {
      super.stopService();
      return succeed(undefined);
    }
    waiting.cancel();
    return waiting.addCallback((port) => {
      this.#port = undefined;
      if (port !== null) return port.stopListening();
    }).addBoth((result) => {
      super.stopService();
      return result;
    }) as Deferred<void>;
  }
}

// ------------------------------------------------------- client service

/**
 * A retry policy for {@linkcode ClientService}: the delay before attempt
 * number `attempt` (1 after the first failure) grows from `initialDelay`
 * by `factor` up to `maxDelay`, plus `jitter()` (0 to 1 second by
 * default) so that many clients do not reconnect in step.
 *
 * @param initialDelay Seconds before the first retry (1).
 * @param maxDelay Most seconds between attempts, before jitter (60).
 * @param factor Growth per failed attempt (1.5).
 * @param jitter Noise added to each delay (`Math.random`).
 * @returns attempt number → seconds.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { backoffPolicy } from "@twisted-deno/core/application";
 *
 * const policy = backoffPolicy(1, 10, 2, () => 0);
 * assert.deepEqual([1, 2, 3, 4, 5].map(policy), [2, 4, 8, 10, 10]);
 * ```
 */
export function backoffPolicy(
  initialDelay = 1,
  maxDelay = 60,
  factor = 1.5,
  jitter: () => number = Math.random,
): (attempt: number) => number {
  return (attempt) => {
    const grown = initialDelay * factor ** Math.min(100, attempt);
    const delay = Number.isFinite(grown) ? Math.min(grown, maxDelay) : maxDelay;
    return delay + jitter();
  };
}

const defaultPolicy = backoffPolicy();

/** Options of {@linkcode ClientService}. */
export interface ClientServiceOptions {
  /** Seconds to wait before attempt `n` (default `backoffPolicy()`). */
  retryPolicy?: (failedAttempts: number) => number;
  /** The clock for retries (the global reactor by default). */
  clock?: IReactorTime;
  /**
   * Called with each new protocol before it is handed out; it may return
   * a Deferred or Promise. If it throws or fails, the connection is closed
   * and counts as a failed attempt.
   */
  prepareConnection?: (protocol: IProtocol) => unknown;
}

/** Options of {@linkcode ClientService.whenConnected}. */
export interface WhenConnectedOptions {
  /**
   * Fail after this many failed attempts in a row (1: the first failure
   * fails it). Without it, it fails only when the service stops.
   */
  failAfterFailures?: number;
}

type ClientState =
  | "init"
  | "connecting"
  | "waiting"
  | "connected"
  | "disconnecting"
  | "restarting"
  | "stopped";

/** Relays `connectionLost` to the service; everything else to `wrapped`. */
class ReconnectingProtocolProxy implements IProtocol {
  transport?: ITransport;
  constructor(
    readonly wrapped: IProtocol,
    readonly lost: (proxy: ReconnectingProtocolProxy, reason: Failure) => void,
  ) {
    const inner = wrapped as IProtocol & Partial<Record<string, unknown>>;
    // Keep half-close support visible to the transport.
    if (typeof inner.readConnectionLost === "function") {
      Object.assign(this, {
        readConnectionLost: () =>
          (inner.readConnectionLost as () => void).call(inner),
        writeConnectionLost: () =>
          (inner.writeConnectionLost as (() => void) | undefined)?.call(inner),
      });
    }
  }
  makeConnection(transport: ITransport): void {
    this.transport = transport;
    this.wrapped.makeConnection(transport);
  }
  connectionMade(): void {}
  dataReceived(data: Uint8Array): void {
    this.wrapped.dataReceived(data);
  }
  connectionLost(reason: Failure): void {
    try {
      this.wrapped.connectionLost(reason);
    } finally {
      this.lost(this, reason);
    }
  }
  toString(): string {
    return `ReconnectingProtocolProxy(${String(this.wrapped)})`;
  }
}

/** Wraps each protocol the application's factory builds. */
class DisconnectFactory implements IProtocolFactory {
  constructor(
    readonly wrapped: IProtocolFactory,
    readonly lost: (proxy: ReconnectingProtocolProxy, reason: Failure) => void,
  ) {}
  buildProtocol(addr: IAddress): IProtocol | null {
    const built = this.wrapped.buildProtocol(addr);
    return built === null
      ? null
      : new ReconnectingProtocolProxy(built, this.lost);
  }
  doStart(): void {
    this.wrapped.doStart();
  }
  doStop(): void {
    this.wrapped.doStop();
  }
  toString(): string {
    return `DisconnectFactory(${this.wrapped.constructor.name})`;
  }
}

/**
 * Keeps one outgoing connection to `endpoint` up while the service runs:
 * it connects when started, and after a failed attempt or a lost
 * connection waits `retryPolicy(failures)` seconds and tries again.
 * `whenConnected()` gives the current protocol or the next one;
 * `stopService()` cancels a pending attempt or retry, closes the
 * connection, and fires once it is gone. A service stopped while
 * disconnecting and started again reconnects once the old connection has
 * closed.
 *
 * @example Reconnect after a loss, on a test clock and endpoint
 * ```ts
 * import assert from "node:assert/strict";
 * import { backoffPolicy, ClientService } from "@twisted-deno/core/application";
 * import { Deferred, Failure } from "@twisted-deno/core/deferred";
 * import { ConnectionLost, type IProtocol, type IProtocolFactory } from "@twisted-deno/core/reactor";
 * import { Factory, Protocol } from "@twisted-deno/core/protocols";
 * import { Clock, StringTransport, successResultOf } from "@twisted-deno/core/testing";
 *
 * const built: IProtocol[] = [];
 * const endpoint = {
 *   connect(factory: IProtocolFactory): Deferred<IProtocol> {
 *     const p = factory.buildProtocol({ type: "TCP", host: "127.0.0.1", port: 1 })!;
 *     p.makeConnection(new StringTransport());
 *     built.push(p);
 *     const d = new Deferred<IProtocol>();
 *     d.callback(p);
 *     return d;
 *   },
 * };
 * const clock = new Clock();
 * const service = new ClientService(endpoint, Factory.forProtocol(Protocol), {
 *   clock,
 *   retryPolicy: backoffPolicy(1, 60, 1.5, () => 0),
 * });
 * service.startService();
 * const first = successResultOf(service.whenConnected());
 * built[0].connectionLost(new Failure(new ConnectionLost()));
 * clock.advance(1.5);
 * const second = successResultOf(service.whenConnected());
 * assert.notEqual(second, first);
 * const stopped = service.stopService();
 * built[1].connectionLost(new Failure(new ConnectionLost()));
 * successResultOf(stopped);
 * ```
 */
export class ClientService extends Service {
  readonly #endpoint: IStreamClientEndpoint;
  readonly #factory: IProtocolFactory;
  readonly #policy: (failedAttempts: number) => number;
  readonly #clock: IReactorTime;
  readonly #prepare: ((protocol: IProtocol) => unknown) | undefined;
  #state: ClientState = "init";
  #failedAttempts = 0;
  #attempt: Deferred<unknown> | undefined;
  #preparing: ReconnectingProtocolProxy | undefined;
  #retry: IDelayedCall | undefined;
  #protocol: ReconnectingProtocolProxy | undefined;
  #stopWaiters: Deferred<void>[] = [];
  #awaiting: { d: Deferred<IProtocol>; remaining: number | undefined }[] = [];

  /**
   * Makes a ClientService.
   *
   * @param endpoint Where to connect.
   * @param factory Makes the protocol for each connection.
   * @param options Retry policy, clock and `prepareConnection`.
   */
  constructor(
    endpoint: IStreamClientEndpoint,
    factory: IProtocolFactory,
    options: ClientServiceOptions = {},
  ) {
    super();
    this.#endpoint = endpoint;
    this.#factory = factory;
    this.#policy = options.retryPolicy ?? defaultPolicy;
    this.#clock = options.clock ?? globalReactor;
    this.#prepare = options.prepareConnection;
  }

  /** Failed attempts in a row (0 once connected). */
  get failedAttempts(): number {
    return this.#failedAttempts;
  }

  /**
   * The connected protocol, or the next one to connect.
   *
   * @returns Fires with the protocol the factory built; fails with
   *   `CancelledError` when the service stops first, or with the connection
   *   error after `failAfterFailures` failed attempts in a row.
   */
  whenConnected(options: WhenConnectedOptions = {}): Deferred<IProtocol> {
    const remaining = options.failAfterFailures;
    if (
      remaining !== undefined && (!Number.isInteger(remaining) || remaining < 1)
    ) {
      throw new RangeError(
        `Cannot wait for a connection: failAfterFailures must be a whole number >= 1, got ${remaining}`,
      );
    }
    switch (this.#state) {
      case "connected":
        return succeed(this.#protocol!.wrapped);
      case "stopped":
        return fail(new CancelledError("The ClientService is stopped"));
      default: {
        const d = new Deferred<IProtocol>();
        this.#awaiting.push({ d, remaining });
        return d;
      }
    }
  }

  /** Starts connecting (a second start while running only logs). */
  override startService(): void {
    if (this.running) {
      log.warn("Duplicate ClientService.startService {service}", {
        service: this.name ?? "ClientService",
      });
      return;
    }
    super.startService();
    switch (this.#state) {
      case "init":
      case "stopped":
        this.#connect();
        return;
      case "disconnecting":
        this.#state = "restarting";
        return;
      default:
        return;
    }
  }

  /**
   * Stops: cancels a pending attempt or retry and closes the connection.
   *
   * @returns Fires once the connection is closed and no attempt is left.
   */
  override stopService(): Deferred<void> {
    super.stopService();
    switch (this.#state) {
      case "init":
      case "stopped":
        this.#state = "stopped";
        return succeed(undefined);
      case "connecting": {
        this.#state = "disconnecting";
        const waited = this.#waitForStop();
        this.#attempt?.cancel();
        return waited;
      }
      case "waiting": {
        this.#state = "stopped";
        const waited = this.#waitForStop();
        this.#cancelWaiters();
        this.#retry?.cancel();
        this.#retry = undefined;
        this.#finishStopping();
        return waited;
      }
      case "connected": {
        this.#state = "disconnecting";
        const waited = this.#waitForStop();
        this.#protocol!.transport?.loseConnection();
        return waited;
      }
      case "restarting":
        this.#state = "disconnecting";
        return this.#waitForStop();
      case "disconnecting":
        return this.#waitForStop();
    }
  }

  #waitForStop(): Deferred<void> {
    const d = new Deferred<void>();
    this.#stopWaiters.push(d);
    return d;
  }

  #finishStopping(): void {
    for (const d of this.#stopWaiters.splice(0)) d.callback(undefined);
  }

  #cancelWaiters(): void {
    const failure = new Failure(
      new CancelledError("The ClientService stopped before connecting"),
    );
    for (const { d } of this.#awaiting.splice(0)) d.errback(failure);
  }

  #connect(): void {
    this.#state = "connecting";
    const factory = new DisconnectFactory(
      this.#factory,
      (proxy, reason) => this.#lost(proxy, reason),
    );
    const attempt = maybeDeferred(() => this.#endpoint.connect(factory));
    this.#attempt = attempt;
    attempt.addCallback((protocol) => {
      const proxy = protocol as ReconnectingProtocolProxy;
      if (this.#prepare === undefined) return proxy;
      this.#preparing = proxy;
      return maybeDeferred(this.#prepare, proxy.wrapped).addBoth((result) => {
        this.#preparing = undefined;
        if (result instanceof Failure) {
          // A rejected connection is closed and counts as a failure.
          proxy.transport?.loseConnection();
          return result;
        }
        return proxy;
      });
    }).addCallbacks(
      (proxy) => this.#connectionMade(proxy as ReconnectingProtocolProxy),
      (failure) => this.#connectionFailed(failure),
    );
  }

  #connectionMade(proxy: ReconnectingProtocolProxy): void {
    if (this.#attempt === undefined) return;
    this.#attempt = undefined;
    if (this.#state !== "connecting") {
      // Stopped while preparing: this connection is not wanted.
      proxy.transport?.loseConnection();
      this.#afterStopped();
      return;
    }
    this.#state = "connected";
    this.#protocol = proxy;
    this.#failedAttempts = 0;
    const protocol = proxy.wrapped;
    for (const { d } of this.#awaiting.splice(0)) d.callback(protocol);
  }

  #connectionFailed(failure: Failure): void {
    this.#attempt = undefined;
    if (this.#state === "connecting") {
      const ready: Deferred<IProtocol>[] = [];
      this.#awaiting = this.#awaiting.filter((w) => {
        if (w.remaining === undefined) return true;
        if (w.remaining <= 1) {
          ready.push(w.d);
          return false;
        }
        w.remaining--;
        return true;
      });
      for (const d of ready) d.errback(failure);
      this.#waitToRetry(failure);
    } else {
      this.#afterStopped();
    }
  }

  /** An attempt ended while stopping: finish the stop (or restart). */
  #afterStopped(): void {
    if (this.#state === "disconnecting") {
      this.#state = "stopped";
      this.#cancelWaiters();
      this.#finishStopping();
    } else if (this.#state === "restarting") {
      this.#finishStopping();
      this.#connect();
    }
  }

  #waitToRetry(failure?: Failure): void {
    this.#state = "waiting";
    this.#failedAttempts++;
    const delay = this.#policy(this.#failedAttempts);
    log.info(
      "Scheduling retry {attempt} to connect {endpoint} in {delay} seconds{why}",
      {
        attempt: this.#failedAttempts,
        endpoint: describe(this.#endpoint),
        delay,
        why: failure ? ` (${failure.getErrorMessage()})` : "",
      },
    );
    this.#retry = this.#clock.callLater(delay, () => {
      this.#retry = undefined;
      if (this.#state === "waiting") this.#connect();
    });
  }

  #lost(proxy: ReconnectingProtocolProxy, _reason: Failure): void {
    if (proxy === this.#preparing) {
      // Lost while prepareConnection was at work: give up on it.
      this.#attempt?.cancel();
      return;
    }
    if (proxy !== this.#protocol) return; // a connection we closed ourselves
    this.#protocol = undefined;
    switch (this.#state) {
      case "connected":
        this.#waitToRetry();
        return;
      case "disconnecting":
      case "restarting":
        this.#afterStopped();
        return;
    }
  }
}
