/**
 * {@linkcode MemoryReactor}: a reactor that records every listen and connect
 * call in plain lists and opens nothing, so code that takes a reactor (a
 * service, a client factory, an endpoint) can be tested for what it asks of
 * the reactor. {@linkcode MemoryReactorClock} adds a {@linkcode Clock}.
 *
 * As in Twisted's `twisted.internet.testing`, connection attempts never
 * succeed by themselves: a test completes them by hand, by building a
 * protocol from the recorded factory and connecting it to a
 * `StringTransport`, or fails them with `clientConnectionFailed`.
 *
 * @module
 */

import { Deferred } from "../deferred/deferred.ts";
import { succeed } from "../deferred/helpers.ts";
import { Failure } from "../deferred/failure.ts";
import { Logger } from "../log/mod.ts";
import {
  ReactorAlreadyRunning,
  ReactorNotRestartable,
  ReactorNotRunning,
} from "../reactor/errors.ts";
import type {
  ConnectTCPOptions,
  ConnectUNIXOptions,
  IAddress,
  IClientFactory,
  IConnector,
  IDatagramProtocol,
  IDelayedCall,
  IListeningPort,
  IProtocolFactory,
  IReactorCore,
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
  TriggerId,
  TriggerPhase,
} from "../reactor/interfaces.ts";
import { Clock } from "./clock.ts";
import { checkTrigger } from "../reactor/_three_phase.ts";
import { isThenable } from "../deferred/_thenable.ts";

const log = new Logger("testing.memory_reactor");

/**
 * The {@linkcode IListeningPort} a {@linkcode MemoryReactor} returns: it
 * listens on nothing and records whether it was stopped.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Factory, Protocol } from "@twisted-deno/core/protocols";
 * import { MemoryReactor } from "@twisted-deno/core/testing";
 *
 * const reactor = new MemoryReactor();
 * const port = reactor.listenTCP(8080, Factory.forProtocol(Protocol));
 * assert.deepEqual(port.getHost(), { type: "TCP", host: "0.0.0.0", port: 8080 });
 * port.stopListening();
 * assert.equal(reactor.tcpServers[0].listeningPort.listening, false);
 * ```
 */
export class FakePort implements IListeningPort {
  /** Test-only: false once `stopListening()` was called. */
  listening = true;

  /**
   * Makes a port that reports `address`.
   *
   * @param address What `getHost()` returns.
   */
  constructor(readonly address: IAddress) {}

  /** Marks the port listening again. */
  startListening(): void {
    this.listening = true;
  }

  /** Marks the port stopped; the Deferred has already fired. */
  stopListening(): Deferred<void> {
    this.listening = false;
    return succeed(undefined);
  }

  /** The address given to the constructor. */
  getHost(): IAddress {
    return this.address;
  }
}

/**
 * The {@linkcode IConnector} a {@linkcode MemoryReactor} returns. It records
 * what is asked of it; `connect()` (a retry) counts the attempt and tells the
 * factory `startedConnecting`, as a real connector does.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ClientFactory } from "@twisted-deno/core/protocols";
 * import { MemoryReactor } from "@twisted-deno/core/testing";
 *
 * const reactor = new MemoryReactor();
 * const connector = reactor.connectTCP("127.0.0.1", 7, new ClientFactory());
 * assert.deepEqual(connector.getDestination(), { type: "TCP", host: "127.0.0.1", port: 7 });
 * connector.connect();
 * assert.equal(reactor.connectors[0].connectCount, 2);
 * ```
 */
export class FakeConnector implements IConnector {
  /** Test-only: whether `stopConnecting()` was called. */
  stoppedConnecting = false;
  /** Test-only: whether `disconnect()` was called. */
  disconnected = false;
  /** Test-only: how many attempts were started (the first, plus each `connect()`). */
  connectCount = 1;

  /**
   * Makes a connector that pretends to connect to `address`.
   *
   * @param address Where it pretends to connect.
   * @param factory The factory told `startedConnecting` on each `connect()`.
   */
  constructor(readonly address: IAddress, readonly factory?: IClientFactory) {}

  /** Records the call in `stoppedConnecting`. */
  stopConnecting(): void {
    this.stoppedConnecting = true;
  }

  /** Records the call in `disconnected`. */
  disconnect(): void {
    this.disconnected = true;
  }

  /** Counts another attempt and calls the factory's `startedConnecting`. */
  connect(): void {
    this.connectCount++;
    this.stoppedConnecting = false;
    this.disconnected = false;
    this.factory?.startedConnecting(this);
  }

  /** The address given to the constructor. */
  getDestination(): IAddress {
    return this.address;
  }
}

/** A recorded `listenTCP` call. */
export interface TCPServerRecord {
  /** The port asked for. */
  port: number;
  /** The factory to serve. */
  factory: IProtocolFactory;
  /** The options given (an empty object when none). */
  options: ListenTCPOptions;
  /** The port returned. */
  listeningPort: FakePort;
}

/** A recorded `connectTCP` call. */
export interface TCPClientRecord {
  /** The host asked for. */
  host: string;
  /** The port asked for. */
  port: number;
  /** The client factory. */
  factory: IClientFactory;
  /** The options given (an empty object when none). */
  options: ConnectTCPOptions;
  /** The connector returned. */
  connector: FakeConnector;
}

/** A recorded `listenSSL` call. */
export interface SSLServerRecord extends TCPServerRecord {
  /** The TLS settings. */
  tls: TLSServerOptions;
}

/** A recorded `connectSSL` call. */
export interface SSLClientRecord extends TCPClientRecord {
  /** The TLS settings (an empty object when none). */
  tls: TLSClientOptions;
}

/** A recorded `listenUNIX` call. */
export interface UNIXServerRecord {
  /** The socket path. */
  path: string;
  /** The factory to serve. */
  factory: IProtocolFactory;
  /** The options given. */
  options: ListenUNIXOptions;
  /** The port returned. */
  listeningPort: FakePort;
}

/** A recorded `connectUNIX` call. */
export interface UNIXClientRecord {
  /** The socket path. */
  path: string;
  /** The client factory. */
  factory: IClientFactory;
  /** The options given. */
  options: ConnectUNIXOptions;
  /** The connector returned. */
  connector: FakeConnector;
}

/** A recorded `listenUDP` call. */
export interface UDPPortRecord {
  /** The port asked for. */
  port: number;
  /** The datagram protocol. */
  protocol: IDatagramProtocol;
  /** The options given. */
  options: ListenUDPOptions;
  /** The port returned. */
  listeningPort: FakePort;
}

/** A recorded system event trigger or `callWhenRunning` hook. */
export interface TriggerRecord {
  /** The function. */
  // deno-lint-ignore no-explicit-any
  fn: (...args: any[]) => unknown;
  /** Its arguments. */
  args: unknown[];
  /** The id `removeSystemEventTrigger` takes. */
  id: TriggerId;
}

function listenAddress(port: number, iface: string | undefined): IAddress {
  return { type: "TCP", host: iface || "0.0.0.0", port };
}

/**
 * A fake reactor for tests: IReactorCore, TCP, SSL, UNIX and UDP, recording
 * every call and opening nothing.
 *
 * - Listening and connecting: each call is appended to `tcpServers`,
 *   `tcpClients`, `sslServers`, `sslClients`, `unixServers`, `unixClients`
 *   or `udpPorts` with its arguments and the {@linkcode FakePort} or
 *   {@linkcode FakeConnector} returned; connects also go to `connectors`
 *   and call the factory's `startedConnecting`.
 * - Life cycle, simplified but as strict as the real reactor: `run()` sets
 *   `running`, fires the `startup` triggers, runs the `callWhenRunning`
 *   hooks and returns a Promise that resolves after `stop()` has fired the
 *   `shutdown` triggers (a `before` trigger returning a Deferred delays the
 *   rest). Running twice throws `ReactorAlreadyRunning`, `stop()` while not
 *   running throws `ReactorNotRunning`, running again after a stop throws
 *   `ReactorNotRestartable`. `crash()` stops at once without `shutdown`.
 * - Triggers are kept in `triggers[phase][event]`; hooks added before
 *   `run()` in `whenRunningHooks` (once running, `callWhenRunning` calls at
 *   once, as the real reactor does). An error a trigger throws is logged.
 *
 * @example Check what a service asked for
 * ```ts
 * import assert from "node:assert/strict";
 * import { Factory, Protocol } from "@twisted-deno/core/protocols";
 * import { MemoryReactor } from "@twisted-deno/core/testing";
 *
 * const reactor = new MemoryReactor();
 * const factory = Factory.forProtocol(Protocol);
 * reactor.listenTCP(1079, factory, { interface: "127.0.0.1" });
 * assert.equal(reactor.tcpServers.length, 1);
 * assert.equal(reactor.tcpServers[0].port, 1079);
 * assert.equal(reactor.tcpServers[0].factory, factory);
 * assert.equal(reactor.tcpServers[0].options.interface, "127.0.0.1");
 * ```
 */
export class MemoryReactor
  implements
    IReactorCore,
    IReactorTCP,
    IReactorSSL,
    IReactorUNIX,
    IReactorUDP,
    IReactorResources {
  /** Whether `run()` was called and `stop()`/`crash()` have not completed. */
  running = false;
  /** Test-only: whether `run()` was ever called. */
  hasRun = false;
  /** Test-only: whether a `stop()` completed. */
  hasStopped = false;
  /** Test-only: whether `crash()` was called. */
  hasCrashed = false;
  /** Test-only: `callWhenRunning` hooks waiting for `run()`. */
  readonly whenRunningHooks: TriggerRecord[] = [];
  /** Test-only: system event triggers by phase, then by event. */
  readonly triggers: Record<TriggerPhase, Record<string, TriggerRecord[]>> = {
    before: {},
    during: {},
    after: {},
  };
  /** Test-only: `listenTCP` calls. */
  readonly tcpServers: TCPServerRecord[] = [];
  /** Test-only: `connectTCP` calls. */
  readonly tcpClients: TCPClientRecord[] = [];
  /** Test-only: `listenSSL` calls. */
  readonly sslServers: SSLServerRecord[] = [];
  /** Test-only: `connectSSL` calls. */
  readonly sslClients: SSLClientRecord[] = [];
  /** Test-only: `listenUNIX` calls. */
  readonly unixServers: UNIXServerRecord[] = [];
  /** Test-only: `connectUNIX` calls. */
  readonly unixClients: UNIXClientRecord[] = [];
  /** Test-only: `listenUDP` calls. */
  readonly udpPorts: UDPPortRecord[] = [];
  /** Test-only: every connector returned, in order. */
  readonly connectors: FakeConnector[] = [];
  /** Test-only: resources registered with `trackResource`. */
  readonly resources: Set<ReactorResource> = new Set();

  #stopping = false;
  #runDone: (() => void) | undefined;

  // ----------------------------------------------------------- life cycle

  /**
   * Sets `running`, fires `startup`, runs the `callWhenRunning` hooks.
   *
   * @returns A Promise resolved once `stop()` has fired `shutdown`.
   * @throws {ReactorAlreadyRunning} When running.
   * @throws {ReactorNotRestartable} After a stop.
   */
  run(): Promise<void> {
    if (this.running) throw new ReactorAlreadyRunning();
    if (this.hasStopped) throw new ReactorNotRestartable();
    this.running = true;
    this.hasRun = true;
    const done = new Promise<void>((resolve) => {
      this.#runDone = resolve;
    });
    this.#fire("startup", () => {
      // As in the real reactor, the hooks run after the startup triggers.
      while (this.whenRunningHooks.length > 0) {
        this.#call("callWhenRunning hook", this.whenRunningHooks.shift()!);
      }
    });
    return done;
  }

  /**
   * Fires `shutdown`, then clears `running` and resolves `run()`'s Promise.
   *
   * @throws {ReactorNotRunning} When not running, or already stopping.
   */
  stop(): void {
    if (!this.running || this.#stopping) throw new ReactorNotRunning();
    this.#stopping = true;
    this.#fire("shutdown", () => {
      this.#stopping = false;
      this.running = false;
      this.hasStopped = true;
      this.#finishRun();
    });
  }

  /** Clears `running` at once, without the shutdown event. */
  crash(): void {
    this.running = false;
    this.hasCrashed = true;
    this.#finishRun();
  }

  /** Does nothing: there is no I/O to wait for. */
  iterate(_delay?: number): Promise<void> {
    return Promise.resolve();
  }

  /**
   * Calls `fn(...args)` now when running, or records it in
   * `whenRunningHooks` for `run()`.
   *
   * @returns The hook's id when it was recorded, or undefined when it ran.
   */
  // deno-lint-ignore no-explicit-any
  callWhenRunning<A extends any[]>(
    fn: (...args: A) => unknown,
    ...args: A
  ): TriggerId | undefined {
    if (this.running) {
      fn(...args);
      return undefined;
    }
    const id: TriggerId = Object.freeze({ phase: "after", event: "startup" });
    this.whenRunningHooks.push({ fn, args, id });
    return id;
  }

  /** Records `fn(...args)` in `triggers[phase][event]`. */
  // deno-lint-ignore no-explicit-any
  addSystemEventTrigger<A extends any[]>(
    phase: TriggerPhase,
    event: string,
    fn: (...args: A) => unknown,
    ...args: A
  ): TriggerId {
    checkTrigger(phase, fn);
    const id: TriggerId = Object.freeze({ phase, event });
    (this.triggers[phase][event] ??= []).push({ fn, args, id });
    return id;
  }

  /**
   * Removes a trigger or a pending `callWhenRunning` hook.
   *
   * @throws {RangeError} When `id` is not registered (or was removed).
   */
  removeSystemEventTrigger(id: TriggerId): void {
    const hook = this.whenRunningHooks.findIndex((h) => h.id === id);
    if (hook !== -1) {
      this.whenRunningHooks.splice(hook, 1);
      return;
    }
    const list = this.triggers[id?.phase]?.[id?.event];
    const i = list?.findIndex((t) => t.id === id) ?? -1;
    if (i === -1) {
      throw new RangeError(
        "Cannot remove the system event trigger: it is not registered (removed already?)",
      );
    }
    list!.splice(i, 1);
  }

  /**
   * Runs the `before`, `during` and `after` triggers of `event`; `during`
   * waits for Deferreds (or Promises) returned by `before` triggers. Each
   * trigger runs once: the lists are emptied as they fire.
   */
  fireSystemEvent(event: string): void {
    this.#fire(event, () => {});
  }

  #fire(event: string, done: () => void): void {
    // Each phase's list stays registered while it fires, so a trigger may
    // remove one not yet run (it then never runs) or add one (it runs).
    const drain = (phase: TriggerPhase, each: (t: TriggerRecord) => void) => {
      const lists = this.triggers[phase];
      let list: TriggerRecord[] | undefined;
      while ((list = lists[event]) !== undefined && list.length > 0) {
        each(list.shift()!);
      }
      delete lists[event];
    };
    let waiting = 1;
    const rest = () => {
      if (--waiting > 0) return;
      drain("during", (t) => this.#call(`during ${event}`, t));
      drain("after", (t) => this.#call(`after ${event}`, t));
      done();
    };
    drain("before", (t) => {
      const result = this.#call(`before ${event}`, t);
      if (result instanceof Deferred) {
        waiting++;
        result.addBoth((r: unknown) => {
          if (r instanceof Failure) this.#logFailure(`before ${event}`, r);
          rest();
          return null;
        });
      } else if (isThenable(result)) {
        waiting++;
        result.then(rest, (e: unknown) => {
          this.#logFailure(`before ${event}`, new Failure(e));
          rest();
        });
      }
    });
    rest();
  }

  #call(what: string, t: TriggerRecord): unknown {
    try {
      return t.fn(...t.args);
    } catch (e) {
      this.#logFailure(what, new Failure(e));
      return undefined;
    }
  }

  #logFailure(what: string, failure: Failure): void {
    log.failure(
      "Error in {what} trigger of a MemoryReactor",
      failure,
      "error",
      {
        what,
      },
    );
  }

  #finishRun(): void {
    const resolve = this.#runDone;
    this.#runDone = undefined;
    resolve?.();
  }

  // ------------------------------------------------------------ resources

  /** Records `resource` in `resources`. */
  trackResource(resource: ReactorResource): void {
    this.resources.add(resource);
  }

  /** Removes `resource` from `resources`. */
  untrackResource(resource: ReactorResource): void {
    this.resources.delete(resource);
  }

  // ------------------------------------------------------- listen/connect

  /** Records the call in `tcpServers` and returns a {@linkcode FakePort}. */
  listenTCP(
    port: number,
    factory: IProtocolFactory,
    options: ListenTCPOptions = {},
  ): FakePort {
    const listeningPort = new FakePort(listenAddress(port, options.interface));
    this.tcpServers.push({ port, factory, options, listeningPort });
    return listeningPort;
  }

  /**
   * Records the call in `tcpClients` and `connectors`, calls
   * `factory.startedConnecting`, and returns a {@linkcode FakeConnector}.
   */
  connectTCP(
    host: string,
    port: number,
    factory: IClientFactory,
    options: ConnectTCPOptions = {},
  ): FakeConnector {
    const connector = this.#connector({ type: "TCP", host, port }, factory);
    this.tcpClients.push({ host, port, factory, options, connector });
    factory.startedConnecting(connector);
    return connector;
  }

  /** Records the call in `sslServers` and returns a {@linkcode FakePort}. */
  listenSSL(
    port: number,
    factory: IProtocolFactory,
    tls: TLSServerOptions,
    options: ListenTCPOptions = {},
  ): FakePort {
    const listeningPort = new FakePort(listenAddress(port, options.interface));
    this.sslServers.push({ port, factory, tls, options, listeningPort });
    return listeningPort;
  }

  /**
   * Records the call in `sslClients` and `connectors`, calls
   * `factory.startedConnecting`, and returns a {@linkcode FakeConnector}.
   */
  connectSSL(
    host: string,
    port: number,
    factory: IClientFactory,
    tls: TLSClientOptions = {},
    options: ConnectTCPOptions = {},
  ): FakeConnector {
    const connector = this.#connector({ type: "TCP", host, port }, factory);
    this.sslClients.push({ host, port, factory, tls, options, connector });
    factory.startedConnecting(connector);
    return connector;
  }

  /** Records the call in `unixServers` and returns a {@linkcode FakePort}. */
  listenUNIX(
    path: string,
    factory: IProtocolFactory,
    options: ListenUNIXOptions = {},
  ): FakePort {
    const listeningPort = new FakePort({ type: "UNIX", name: path });
    this.unixServers.push({ path, factory, options, listeningPort });
    return listeningPort;
  }

  /**
   * Records the call in `unixClients` and `connectors`, calls
   * `factory.startedConnecting`, and returns a {@linkcode FakeConnector}.
   */
  connectUNIX(
    path: string,
    factory: IClientFactory,
    options: ConnectUNIXOptions = {},
  ): FakeConnector {
    const connector = this.#connector({ type: "UNIX", name: path }, factory);
    this.unixClients.push({ path, factory, options, connector });
    factory.startedConnecting(connector);
    return connector;
  }

  /** Records the call in `udpPorts` and returns a {@linkcode FakePort}. */
  listenUDP(
    port: number,
    protocol: IDatagramProtocol,
    options: ListenUDPOptions = {},
  ): FakePort {
    const listeningPort = new FakePort({
      type: "UDP",
      host: options.interface || "0.0.0.0",
      port,
    });
    this.udpPorts.push({ port, protocol, options, listeningPort });
    return listeningPort;
  }

  #connector(address: IAddress, factory: IClientFactory): FakeConnector {
    const connector = new FakeConnector(address, factory);
    this.connectors.push(connector);
    return connector;
  }
}

/**
 * A {@linkcode MemoryReactor} that is also an {@linkcode IReactorTime}: its
 * time methods are those of a {@linkcode Clock}, so `advance()` runs what
 * the code under test scheduled.
 *
 * @example Retry logic against a fake reactor and fake time
 * ```ts
 * import assert from "node:assert/strict";
 * import { ClientFactory } from "@twisted-deno/core/protocols";
 * import { MemoryReactorClock } from "@twisted-deno/core/testing";
 *
 * const reactor = new MemoryReactorClock();
 * reactor.callLater(5, () => reactor.connectTCP("127.0.0.1", 7, new ClientFactory()));
 * reactor.advance(4);
 * assert.equal(reactor.tcpClients.length, 0);
 * reactor.advance(1);
 * assert.equal(reactor.tcpClients.length, 1);
 * assert.equal(reactor.seconds(), 5);
 * ```
 */
export class MemoryReactorClock extends MemoryReactor implements IReactorTime {
  /** The clock behind the time methods. */
  readonly clock: Clock = new Clock();

  /** The current time (starts at 0). */
  get rightNow(): number {
    return this.clock.rightNow;
  }

  /** Pending calls, sorted by time. */
  get calls(): IDelayedCall[] {
    return this.clock.calls;
  }

  /** The clock's current time in seconds. */
  seconds(): number {
    return this.clock.seconds();
  }

  /** Schedules `fn(...args)` `delay` seconds from now on the clock. */
  // deno-lint-ignore no-explicit-any
  callLater<A extends any[]>(
    delay: number,
    fn: (...args: A) => unknown,
    ...args: A
  ): IDelayedCall {
    return this.clock.callLater(delay, fn, ...args);
  }

  /** Every pending call. */
  getDelayedCalls(): IDelayedCall[] {
    return this.clock.getDelayedCalls();
  }

  /** Moves time forward, running what is due (see {@linkcode Clock.advance}). */
  advance(amount: number): void {
    this.clock.advance(amount);
  }

  /** Advances by each amount in turn. */
  pump(timings: Iterable<number>): void {
    this.clock.pump(timings);
  }
}
