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
import { Logger } from "../log/mod.ts";
import { Failure } from "../deferred/failure.ts";
import { DelayedCall, type DelayedCallOwner } from "./delayed_call.ts";
import { TimerHeap } from "./_timer_heap.ts";
import { UDPPort } from "./udp.ts";

const log = new Logger("reactor");

/** The longest delay a host timer accepts (2^31 - 1 ms, about 24.8 days). */
const MAX_TIMER_MS = 0x7fffffff;

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

  // ---- time: one host timer armed for the earliest call of the heap.
  #heap = new TimerHeap();
  #seq = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** When (in `seconds()`) the host timer fires; Infinity when unarmed. */
  #timerAt = Infinity;
  /**
   * Whether the host timer keeps the process alive: true until shutdown
   * completes (or `crash()`), true again on `run()`.
   */
  #keepAlive = true;
  #timeOwner: DelayedCallOwner = {
    seconds: () => this.seconds(),
    callCancelled: (call) => {
      this.#heap.remove(call);
      this.#arm();
    },
    callRescheduled: (call) => {
      this.#heap.update(call);
      this.#arm();
    },
  };
  #onTimer = (): void => {
    this.#timer = undefined;
    this.#timerAt = Infinity;
    this.#runDueCalls();
  };

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

  /**
   * The current time in seconds: monotonic wall-clock time
   * (`performance.timeOrigin + performance.now()`), so it never goes back
   * when the system clock is set.
   *
   * @returns Seconds since the Unix epoch, with sub-millisecond precision.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { reactor } from "@twisted-deno/core/reactor";
   *
   * const a = reactor.seconds();
   * assert.ok(Math.abs(a - Date.now() / 1000) < 5);
   * assert.ok(reactor.seconds() >= a);
   * ```
   */
  seconds(): number {
    return (performance.timeOrigin + performance.now()) / 1000;
  }

  /**
   * Calls `fn(...args)` after `delay` seconds. Calls run in time order,
   * those due at the same time in the order they were scheduled; an error
   * one throws (or a Promise it returns rejects with) is logged and the
   * others still run. A call scheduled while due calls run waits for the
   * next turn of the loop, so `callLater(0, ...)` chains cannot starve I/O.
   *
   * Calls live in a binary heap with one host timer armed for the earliest;
   * scheduling, cancelling and re-timing cost O(log n) and no host timer
   * each. The timer keeps the process alive from creation (Deno's loop is
   * always turning, `run()` or not) until the reactor has shut down; after
   * that, leftover calls still run if the process lives on, but do not keep
   * it alive.
   *
   * @param delay Seconds from now, `>= 0`.
   * @param fn What to call.
   * @param args Its arguments.
   * @returns A handle to cancel, delay or reset the call.
   * @throws {TypeError} When `fn` is not a function.
   * @throws {RangeError} When `delay` is negative or not a number.
   *
   * @example Run a call and cancel another
   * ```ts
   * import assert from "node:assert/strict";
   * import { reactor } from "@twisted-deno/core/reactor";
   *
   * const order: string[] = [];
   * const cancelled = reactor.callLater(0, () => order.push("cancelled"));
   * const done = Promise.withResolvers<void>();
   * reactor.callLater(0, (what: string) => {
   *   order.push(what);
   *   done.resolve();
   * }, "ran");
   * cancelled.cancel();
   * await done.promise;
   * assert.deepEqual(order, ["ran"]);
   * assert.equal(cancelled.active(), false);
   * ```
   */
  // deno-lint-ignore no-explicit-any
  callLater<A extends any[]>(
    delay: number,
    fn: (...args: A) => unknown,
    ...args: A
  ): IDelayedCall {
    if (typeof fn !== "function") {
      throw new TypeError(
        `Cannot schedule a call: ${String(fn)} is not a function`,
      );
    }
    if (!(delay >= 0)) {
      throw new RangeError(
        `Cannot schedule a call ${delay} seconds from now: the delay must be a number of seconds >= 0`,
      );
    }
    const call = new DelayedCall(
      this.seconds() + delay,
      fn as (...args: never[]) => unknown,
      args,
      this.#seq++,
      this.#timeOwner,
    );
    this.#heap.push(call);
    // Only a new earliest call can need the host timer moved.
    if (call.index === 0) this.#arm();
    return call;
  }

  /**
   * Every call that is scheduled and still active, in no particular order.
   *
   * @returns A fresh array of the pending calls.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DenoReactor } from "@twisted-deno/core/reactor";
   *
   * const r = new DenoReactor();
   * const call = r.callLater(30, () => {});
   * assert.deepEqual(r.getDelayedCalls(), [call]);
   * call.cancel();
   * assert.deepEqual(r.getDelayedCalls(), []);
   * ```
   */
  getDelayedCalls(): IDelayedCall[] {
    return [...this.#heap.items];
  }

  /**
   * Makes the host timer fire no later than the earliest call. A timer
   * armed earlier than needed (the earliest call was cancelled or moved
   * later) is left alone: it wakes, finds nothing due and re-arms, which is
   * cheaper than clearing and re-creating it on every change.
   */
  #arm(): void {
    const top = this.#heap.peek();
    if (top === undefined) {
      // Nothing pending: a stale timer must not keep the process alive.
      if (this.#timer !== undefined) {
        clearTimeout(this.#timer);
        this.#timer = undefined;
        this.#timerAt = Infinity;
      }
      return;
    }
    if (this.#timer !== undefined && this.#timerAt <= top.time) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    const now = this.seconds();
    // Round up: a timer that wakes a hair early only re-arms itself.
    const ms = Math.min(
      MAX_TIMER_MS,
      Math.max(0, Math.ceil((top.time - now) * 1000)),
    );
    this.#timer = setTimeout(this.#onTimer, ms);
    this.#timerAt = Math.min(top.time, now + ms / 1000);
    if (!this.#keepAlive) Deno.unrefTimer(this.#timer);
  }

  /** Runs every call due now, in (time, seq) order, then re-arms. */
  #runDueCalls(): void {
    const heap = this.#heap;
    const now = this.seconds();
    // Calls scheduled from here on wait for the next turn (see callLater).
    const limit = this.#seq;
    for (;;) {
      const call = heap.peek();
      if (call === undefined || call.time > now || call.seq >= limit) break;
      heap.pop();
      call.called = true;
      try {
        const result = call.invoke();
        if (result instanceof Promise) {
          result.catch((error) => this.#callFailed(call, error));
        }
      } catch (error) {
        this.#callFailed(call, error);
      }
    }
    this.#arm();
  }

  #callFailed(call: DelayedCall, error: unknown): void {
    const failure = new Failure(error);
    const fields = { call: String(call) };
    log.failure("Unhandled error in {call}", failure, "critical", fields);
  }

  /** Whether pending timers keep the process alive (see `callLater`). */
  #setKeepAlive(on: boolean): void {
    this.#keepAlive = on;
    if (this.#timer === undefined) return;
    if (on) Deno.refTimer(this.#timer);
    else Deno.unrefTimer(this.#timer);
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
    port: number,
    protocol: IDatagramProtocol,
    options?: ListenUDPOptions,
  ): IListeningPort {
    const udp = new UDPPort(port, protocol, { ...options, reactor: this });
    udp.startListening();
    return udp;
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
