/**
 * Services over the reactor: servers ({@linkcode TCPServer},
 * {@linkcode SSLServer}, {@linkcode UNIXServer}, {@linkcode UDPServer},
 * {@linkcode StreamServerEndpointService}), the client {@linkcode TCPClient},
 * and {@linkcode TimerService}, which calls a function every few seconds.
 * Each starts its port, connection or loop when the service starts and
 * closes it when the service stops; `stopService()` returns a Deferred that
 * fires once it is closed. `ClientService`, which keeps one connection up
 * with a back-off policy, lives in `client_service.ts`.
 *
 * @module
 */

import { Deferred } from "../deferred/deferred.ts";
import { fail, maybeDeferred, succeed } from "../deferred/helpers.ts";
import { CancelledError } from "../deferred/errors.ts";
import type { Failure } from "../deferred/failure.ts";
import { Logger } from "../log/mod.ts";
import type {
  ConnectTCPOptions,
  IAddress,
  IClientFactory,
  IConnector,
  IDatagramProtocol,
  IListeningPort,
  IProtocolFactory,
  IReactorSSL,
  IReactorTCP,
  IReactorTime,
  IReactorUDP,
  IReactorUNIX,
  IStreamServerEndpoint,
  ListenTCPOptions,
  ListenUDPOptions,
  ListenUNIXOptions,
  TLSServerOptions,
} from "../reactor/interfaces.ts";
import { reactor as globalReactor } from "../reactor/reactor.ts";
import { LoopingCall } from "../reactor/task.ts";
import { Service } from "./service.ts";
import { describe } from "./_describe.ts";

const log = new Logger("application");

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
  #listen: (runner: RunnerOptions) => IListeningPort;
  #port: IListeningPort | undefined;
  #runner: RunnerOptions = { reusePort: false };

  /**
   * Makes a PortService.
   *
   * @param listen Makes the port (called once per start) with what the
   *   runner asked of this process's servers.
   */
  constructor(listen: (runner: RunnerOptions) => IListeningPort) {
    super();
    this.#listen = listen;
  }

  /**
   * Takes what the runner asks of the servers it runs (`twistd --workers N`
   * asks for `reusePort`); the runner calls it on every service of the tree
   * before starting it.
   *
   * @param options The runner's options.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { TCPServer } from "@twisted-deno/core/application";
   * import { Factory, Protocol } from "@twisted-deno/core/protocols";
   * import { MemoryReactor } from "@twisted-deno/core/testing";
   *
   * const reactor = new MemoryReactor();
   * const service = new TCPServer(8080, Factory.forProtocol(Protocol), { reactor });
   * service.applyRunnerOptions({ reusePort: true });
   * service.startService();
   * assert.equal(reactor.tcpServers[0].options.reusePort, true);
   * await service.stopService();
   * ```
   */
  applyRunnerOptions(options: RunnerOptions): void {
    this.#runner = { ...options };
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
    this.#port ??= this.#listen(this.#runner);
  }

  /** Listens, unless `privilegedStartService` did already. */
  override startService(): void {
    this.#port ??= this.#listen(this.#runner);
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
 * What the runner (`twistd`) asks of the servers it runs, handed to each
 * service of the tree that has an `applyRunnerOptions` method before it
 * starts: under `--workers N`, every process listens on the same port with
 * `reusePort`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { RunnerOptions } from "@twisted-deno/core/application";
 *
 * const options: RunnerOptions = { reusePort: true };
 * assert.equal(options.reusePort, true);
 * ```
 */
export interface RunnerOptions {
  /** Listen with `reusePort` unless a server's own options say otherwise. */
  reusePort: boolean;
}

/**
 * Under the runner's `--workers N`, every process listens on the same
 * port: `reusePort` is on unless the options say otherwise.
 */
function withRunnerDefaults(
  options: ListenTCPOptions,
  runner: RunnerOptions,
): ListenTCPOptions {
  if (!runner.reusePort || options.reusePort !== undefined) return options;
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
    options?: TCPServerOptions,
  ) {
    options ??= {};
    const { reactor = globalReactor, ...listen } = options;
    super((runner) =>
      reactor.listenTCP(port, factory, withRunnerDefaults(listen, runner))
    );
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
    options?: SSLServerOptions,
  ) {
    options ??= {};
    const { reactor = globalReactor, ...listen } = options;
    super((runner) =>
      reactor.listenSSL(port, factory, tls, withRunnerDefaults(listen, runner))
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
    options?: UNIXServerOptions,
  ) {
    options ??= {};
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
    options?: UDPServerOptions,
  ) {
    options ??= {};
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
    options?: TCPClientOptions,
  ) {
    options ??= {};
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
