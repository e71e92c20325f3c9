/**
 * {@linkcode DenoReactor}: the one event loop of a process, on Deno's own.
 * "You don't call Twisted, Twisted calls you": the reactor owns the life
 * cycle (startup and shutdown triggers, signals, `run()`'s Promise), a timer
 * heap, and the ports and connections to close on shutdown.
 *
 * @module
 */

import type {
  ConnectTCPOptions,
  ConnectUNIXOptions,
  IClientFactory,
  IConnector,
  IDatagramProtocol,
  IDelayedCall,
  IListeningPort,
  IProcessProtocol,
  IProcessTransport,
  IProtocolFactory,
  IReactorCore,
  IReactorProcess,
  IReactorResources,
  IReactorSSL,
  IReactorTCP,
  IReactorThreads,
  IReactorTime,
  IReactorUDP,
  IReactorUNIX,
  IThreadPool,
  ListenTCPOptions,
  ListenUDPOptions,
  ListenUNIXOptions,
  ReactorResource,
  SpawnProcessOptions,
  TLSClientOptions,
  TLSServerOptions,
  TriggerId,
  TriggerPhase,
} from "./interfaces.ts";

function notYet(what: string): never {
  throw new Error(`${what} is not implemented yet`);
}

/**
 * The reactor. Use the global {@linkcode reactor}; make a new one only for
 * isolation in tests.
 *
 * @example Schedule a call and stop
 * ```ts
 * import { DenoReactor } from "@twisted-deno/core/reactor";
 *
 * const r = new DenoReactor();
 * r.callWhenRunning(() => r.callLater(0, () => r.stop()));
 * await r.run();
 * ```
 */
export class DenoReactor
  implements
    IReactorCore,
    IReactorTime,
    IReactorTCP,
    IReactorSSL,
    IReactorUNIX,
    IReactorUDP,
    IReactorThreads,
    IReactorProcess,
    IReactorResources {
  #resources = new Set<ReactorResource>();

  /** Whether the reactor is running. */
  get running(): boolean {
    return notYet("running");
  }

  /** Runs the reactor until `stop()`; resolves after shutdown. */
  run(): Promise<void> {
    return notYet("run");
  }

  /** Begins shutdown. */
  stop(): void {
    notYet("stop");
  }

  /** Stops at once without the shutdown event. */
  crash(): void {
    notYet("crash");
  }

  /** Lets I/O and timers run for up to `delay` seconds. */
  iterate(_delay = 0): Promise<void> {
    return notYet("iterate");
  }

  /** Calls `fn` once running. */
  // deno-lint-ignore no-explicit-any
  callWhenRunning<A extends any[]>(
    _fn: (...args: A) => unknown,
    ..._args: A
  ): TriggerId | undefined {
    return notYet("callWhenRunning");
  }

  /** Adds a system event trigger. */
  // deno-lint-ignore no-explicit-any
  addSystemEventTrigger<A extends any[]>(
    _phase: TriggerPhase,
    _event: string,
    _fn: (...args: A) => unknown,
    ..._args: A
  ): TriggerId {
    return notYet("addSystemEventTrigger");
  }

  /** Removes a system event trigger. */
  removeSystemEventTrigger(_id: TriggerId): void {
    notYet("removeSystemEventTrigger");
  }

  /** Fires a system event. */
  fireSystemEvent(_event: string): void {
    notYet("fireSystemEvent");
  }

  /** The current time in seconds. */
  seconds(): number {
    return notYet("seconds");
  }

  /** Schedules a call. */
  // deno-lint-ignore no-explicit-any
  callLater<A extends any[]>(
    _delay: number,
    _fn: (...args: A) => unknown,
    ..._args: A
  ): IDelayedCall {
    return notYet("callLater");
  }

  /** Every active delayed call. */
  getDelayedCalls(): IDelayedCall[] {
    return notYet("getDelayedCalls");
  }

  /** Closes `resource` at shutdown unless untracked first. */
  trackResource(resource: ReactorResource): void {
    this.#resources.add(resource);
  }

  /** Forgets a resource that closed by itself. */
  untrackResource(resource: ReactorResource): void {
    this.#resources.delete(resource);
  }

  /** Listens for TCP connections. */
  listenTCP(
    _port: number,
    _factory: IProtocolFactory,
    _options?: ListenTCPOptions,
  ): IListeningPort {
    return notYet("listenTCP");
  }

  /** Connects over TCP. */
  connectTCP(
    _host: string,
    _port: number,
    _factory: IClientFactory,
    _options?: ConnectTCPOptions,
  ): IConnector {
    return notYet("connectTCP");
  }

  /** Listens for TLS connections. */
  listenSSL(
    _port: number,
    _factory: IProtocolFactory,
    _tls: TLSServerOptions,
    _options?: ListenTCPOptions,
  ): IListeningPort {
    return notYet("listenSSL");
  }

  /** Connects over TLS. */
  connectSSL(
    _host: string,
    _port: number,
    _factory: IClientFactory,
    _tls?: TLSClientOptions,
    _options?: ConnectTCPOptions,
  ): IConnector {
    return notYet("connectSSL");
  }

  /** Listens on a UNIX socket. */
  listenUNIX(
    _path: string,
    _factory: IProtocolFactory,
    _options?: ListenUNIXOptions,
  ): IListeningPort {
    return notYet("listenUNIX");
  }

  /** Connects to a UNIX socket. */
  connectUNIX(
    _path: string,
    _factory: IClientFactory,
    _options?: ConnectUNIXOptions,
  ): IConnector {
    return notYet("connectUNIX");
  }

  /** Binds a UDP port. */
  listenUDP(
    _port: number,
    _protocol: IDatagramProtocol,
    _options?: ListenUDPOptions,
  ): IListeningPort {
    return notYet("listenUDP");
  }

  /** Runs a module's export in the thread pool. */
  callInThread(
    _moduleUrl: string | URL,
    _exportName: string,
    ..._args: unknown[]
  ): void {
    notYet("callInThread");
  }

  /** Calls `fn` in the reactor's thread, soon. */
  // deno-lint-ignore no-explicit-any
  callFromThread<A extends any[]>(
    _fn: (...args: A) => unknown,
    ..._args: A
  ): void {
    notYet("callFromThread");
  }

  /** The thread pool. */
  getThreadPool(): IThreadPool {
    return notYet("getThreadPool");
  }

  /** Starts a child process. */
  spawnProcess(
    _processProtocol: IProcessProtocol,
    _executable: string,
    _args: string[],
    _options?: SpawnProcessOptions,
  ): IProcessTransport {
    return notYet("spawnProcess");
  }
}

/**
 * The process's reactor.
 *
 * @example
 * ```ts
 * import { reactor } from "@twisted-deno/core/reactor";
 *
 * const call = reactor.callLater(60, () => {});
 * call.cancel();
 * ```
 */
export const reactor: DenoReactor = new DenoReactor();
