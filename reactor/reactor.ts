/**
 * {@linkcode DenoReactor}: the one event loop of a process, on Deno's own.
 * "You don't call Twisted, Twisted calls you": the reactor owns the life
 * cycle (startup and shutdown triggers, signals, `run()`'s Promise), a timer
 * heap, and the ports and connections to close on shutdown.
 *
 * @module
 */

import { installReactor } from "./global.ts";
import type {
  IDelayedCall,
  IProcessProtocol,
  IReactorCore,
  IReactorProcess,
  IReactorResources,
  IReactorSSL,
  IReactorTCP,
  IReactorThreads,
  IReactorTime,
  IReactorUDP,
  IReactorUNIX,
  ReactorResource,
  SpawnProcessOptions,
  TriggerId,
  TriggerPhase,
} from "./interfaces.ts";
import { Logger } from "../log/mod.ts";
import { checkCallLater } from "./delayed_call.ts";
import { HostTimer, MAX_TIMER_MS } from "./_host_timer.ts";
import { closeResources } from "./_resources.ts";
import { SignalHandlers } from "./_signals.ts";
import { SystemEvents } from "./_three_phase.ts";
import {
  ReactorAlreadyRunning,
  ReactorNotRestartable,
  ReactorNotRunning,
} from "./errors.ts";
import { threadPoolFor } from "./threads/_thread_pools.ts";
import type { ThreadPool } from "./threads/threads.ts";
import { Process } from "./process.ts";
import { NetworkReactor } from "./net/network_reactor.ts";

const log = new Logger("reactor");

/**
 * Options of {@linkcode DenoReactor.run}.
 *
 * @example Run without signal handlers (tests, embedded reactors)
 * ```ts
 * import assert from "node:assert/strict";
 * import { DenoReactor, type ReactorRunOptions } from "@twisted-deno/core/reactor";
 *
 * const options: ReactorRunOptions = { installSignalHandlers: false };
 * const r = new DenoReactor();
 * r.callWhenRunning(() => r.stop());
 * await r.run(options);
 * assert.equal(r.running, false);
 * ```
 */
export interface ReactorRunOptions {
  /**
   * Stop the reactor on SIGINT and SIGTERM (default true). The listeners
   * are removed when the reactor stops, so the process can exit.
   */
  installSignalHandlers?: boolean;
}

/**
 * The reactor. Use the global {@linkcode reactor}; make a new one only for
 * isolation in tests.
 *
 * @example Schedule a call and stop
 * ```ts
 * import assert from "node:assert/strict";
 * import { DenoReactor } from "@twisted-deno/core/reactor";
 *
 * const r = new DenoReactor();
 * const seen: string[] = [];
 * r.callWhenRunning(() => r.callLater(0, () => r.stop()));
 * r.addSystemEventTrigger("after", "shutdown", () => seen.push("stopped"));
 * await r.run({ installSignalHandlers: false });
 * assert.deepEqual(seen, ["stopped"]);
 * ```
 */
export class DenoReactor extends NetworkReactor
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
  #timers = new HostTimer(() => this.seconds(), log, () => {
    if (this.#iterateWaiters.size > 0) {
      for (const wake of [...this.#iterateWaiters]) wake();
    }
  });

  // ---- life cycle
  #events = new SystemEvents(log);
  /** Bumped by run() and crash(): a step of an older run sees it and quits. */
  #generation = 0;
  /** run() was called and neither shutdown completed nor crash() came. */
  #started = false;
  #running = false;
  #startupDone = false;
  #stopRequested = false;
  /** stop() was called once: run() may never be called again. */
  #stoppedBefore = false;
  #finishRun: (() => void) | undefined;
  /** A ref'd timer that keeps the process alive while the reactor runs. */
  #holdOpen: ReturnType<typeof setInterval> | undefined;
  #signals = new SignalHandlers(log, (signal) => this.#onSignal(signal));
  #iterateWaiters = new Set<() => void>();

  /**
   * Whether the reactor is running: true from the 'during' phase of
   * `startup` (so `callWhenRunning` hooks see it) until the 'during' phase
   * of `shutdown`, or `crash()`.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DenoReactor } from "@twisted-deno/core/reactor";
   *
   * const r = new DenoReactor();
   * assert.equal(r.running, false);
   * r.callWhenRunning(() => {
   *   assert.equal(r.running, true);
   *   r.stop();
   * });
   * await r.run({ installSignalHandlers: false });
   * assert.equal(r.running, false);
   * ```
   */
  get running(): boolean {
    return this.#running;
  }

  /**
   * Runs the reactor: fires `startup` now (its 'after' phase runs the
   * `callWhenRunning` hooks), stops on SIGINT or SIGTERM, and keeps the
   * process alive until `stop()`. Shutdown then runs 'before shutdown'
   * triggers (waiting for the Deferreds or Promises they return), 'during
   * shutdown' triggers, closes every tracked port and connection (waiting
   * for each), runs 'after shutdown' triggers, stops pending timers from
   * keeping the process alive, and resolves the Promise.
   *
   * Timers and sockets work without `run()`: Deno's loop is always turning.
   *
   * @param options Whether to install the SIGINT/SIGTERM handlers.
   * @returns A Promise that resolves once shutdown is complete; it rejects
   * with ReactorAlreadyRunning while the reactor runs, and with
   * ReactorNotRestartable once it has been stopped.
   *
   * @example Run until a call stops the reactor
   * ```ts
   * import assert from "node:assert/strict";
   * import { DenoReactor } from "@twisted-deno/core/reactor";
   *
   * const r = new DenoReactor();
   * const log: string[] = [];
   * r.addSystemEventTrigger("before", "shutdown", () => log.push("shutdown"));
   * r.callWhenRunning(() => r.callLater(0, () => r.stop()));
   * await r.run({ installSignalHandlers: false });
   * assert.deepEqual(log, ["shutdown"]);
   * ```
   */
  run(options?: ReactorRunOptions): Promise<void> {
    if (this.#started) return Promise.reject(new ReactorAlreadyRunning());
    if (this.#stoppedBefore) {
      return Promise.reject(new ReactorNotRestartable());
    }
    const generation = ++this.#generation;
    this.#started = true;
    this.#startupDone = false;
    this.#stopRequested = false;
    this.#timers.setKeepAlive(true);
    this.#holdOpen = setInterval(() => {}, MAX_TIMER_MS);
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#finishRun = resolve;
    const installSignals = options?.installSignalHandlers ?? true;
    this.#events.event("startup").fire({
      beforeDuring: () => {
        if (generation !== this.#generation) return;
        this.#running = true;
        if (installSignals) this.#signals.install();
      },
      done: () => {
        if (generation !== this.#generation) return;
        this.#startupDone = true;
        if (this.#stopRequested) this.#shutdown(generation);
      },
    });
    return promise;
  }

  /**
   * Begins shutdown (see `run()`), on the next microtask: the caller's
   * current work finishes first. Called during startup, shutdown begins
   * once startup is complete.
   *
   * @throws {ReactorNotRunning} When the reactor is not running, or is
   * already stopping.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DenoReactor, ReactorNotRunning } from "@twisted-deno/core/reactor";
   *
   * const r = new DenoReactor();
   * assert.throws(() => r.stop(), ReactorNotRunning);
   * r.callWhenRunning(() => r.stop());
   * await r.run({ installSignalHandlers: false });
   * assert.throws(() => r.stop(), ReactorNotRunning);
   * ```
   */
  stop(): void {
    if (!this.#started || this.#stopRequested) throw new ReactorNotRunning();
    this.#stopRequested = true;
    this.#stoppedBefore = true;
    if (!this.#startupDone) return; // run()'s startup 'done' hook shuts down
    const generation = this.#generation;
    queueMicrotask(() => {
      if (generation === this.#generation) this.#shutdown(generation);
    });
  }

  /**
   * Stops at once, without the shutdown event: `run()`'s Promise resolves
   * now, signal handlers are removed, timers stop keeping the process alive.
   * Unlike after `stop()`, the reactor may be run again. Does nothing when
   * the reactor is not running.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DenoReactor } from "@twisted-deno/core/reactor";
   *
   * const r = new DenoReactor();
   * let shutdownRan = false;
   * r.addSystemEventTrigger("during", "shutdown", () => shutdownRan = true);
   * r.callWhenRunning(() => r.crash());
   * await r.run({ installSignalHandlers: false });
   * assert.equal(shutdownRan, false);
   * assert.equal(r.running, false);
   * ```
   */
  crash(): void {
    if (!this.#started) return;
    this.#generation++;
    this.#endRun();
  }

  /**
   * Lets I/O and timers run for up to `delay` seconds: resolves after
   * `delay`, or sooner, right after the reactor next runs due delayed
   * calls. `iterate()` (0) yields one turn of Deno's event loop.
   *
   * @param delay The longest wait, in seconds (default 0).
   * @returns A Promise that resolves when the wait is over.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DenoReactor } from "@twisted-deno/core/reactor";
   *
   * const r = new DenoReactor();
   * let ran = false;
   * r.callLater(0, () => ran = true);
   * await r.iterate(5); // returns as soon as the call has run
   * assert.equal(ran, true);
   * ```
   */
  iterate(delay?: number): Promise<void> {
    delay ??= 0;
    if (!(delay >= 0)) {
      return Promise.reject(
        new RangeError(
          `Cannot iterate for ${delay} seconds: the delay must be >= 0`,
        ),
      );
    }
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.#iterateWaiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(
        wake,
        Math.min(MAX_TIMER_MS, Math.ceil(delay * 1000)),
      );
      this.#iterateWaiters.add(wake);
    });
  }

  /**
   * Calls `fn(...args)` now if the reactor is running (an error it throws
   * propagates), else as an 'after startup' trigger.
   *
   * @returns The trigger's id when deferred (to remove it), else undefined.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DenoReactor } from "@twisted-deno/core/reactor";
   *
   * const r = new DenoReactor();
   * const seen: string[] = [];
   * const id = r.callWhenRunning((what: string) => seen.push(what), "later");
   * assert.notEqual(id, undefined);
   * r.callWhenRunning(() => {
   *   r.callWhenRunning((what: string) => seen.push(what), "now");
   *   r.stop();
   * });
   * await r.run({ installSignalHandlers: false });
   * assert.deepEqual(seen, ["later", "now"]);
   * ```
   */
  // deno-lint-ignore no-explicit-any
  callWhenRunning<A extends any[]>(
    fn: (...args: A) => unknown,
    ...args: A
  ): TriggerId | undefined {
    if (this.#running) {
      fn(...args);
      return undefined;
    }
    return this.addSystemEventTrigger("after", "startup", fn, ...args);
  }

  /**
   * Adds a trigger: `fn(...args)` runs once, in the given phase, the next
   * time `event` fires. 'before' triggers run first; the Deferreds or
   * Promises they return are waited for; then 'during', then 'after'
   * triggers run. An error a trigger throws, or a failure its Deferred
   * fires with, is logged and the other triggers still run.
   *
   * @param phase `"before"`, `"during"` or `"after"`.
   * @param event The event: `"startup"`, `"shutdown"` or any custom name.
   * @param fn The trigger.
   * @param args Its arguments.
   * @returns An id for {@linkcode DenoReactor.removeSystemEventTrigger}.
   * @throws {RangeError} When `phase` is not one of the three.
   * @throws {TypeError} When `fn` is not a function.
   *
   * @example A 'before' trigger's Deferred delays 'during'
   * ```ts
   * import assert from "node:assert/strict";
   * import { Deferred } from "@twisted-deno/core/deferred";
   * import { DenoReactor } from "@twisted-deno/core/reactor";
   *
   * const r = new DenoReactor();
   * const order: string[] = [];
   * const ready = new Deferred<void>();
   * r.addSystemEventTrigger("during", "flush", () => order.push("during"));
   * r.addSystemEventTrigger("before", "flush", () => ready);
   * r.fireSystemEvent("flush");
   * assert.deepEqual(order, []);
   * ready.callback();
   * assert.deepEqual(order, ["during"]);
   * ```
   */
  // deno-lint-ignore no-explicit-any
  addSystemEventTrigger<A extends any[]>(
    phase: TriggerPhase,
    event: string,
    fn: (...args: A) => unknown,
    ...args: A
  ): TriggerId {
    return this.#events.addTrigger(
      phase,
      event,
      fn as (...args: never[]) => unknown,
      args,
    );
  }

  /**
   * Removes a trigger that has not run yet; it works while its event is
   * firing (a removed trigger whose turn has not come does not run).
   *
   * @param id What `addSystemEventTrigger` (or `callWhenRunning`) returned.
   * @throws {TypeError} When `id` is not a trigger of this reactor.
   * @throws {RangeError} When the trigger was already removed or has run.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DenoReactor } from "@twisted-deno/core/reactor";
   *
   * const r = new DenoReactor();
   * let ran = false;
   * const id = r.addSystemEventTrigger("during", "custom", () => ran = true);
   * r.removeSystemEventTrigger(id);
   * assert.throws(() => r.removeSystemEventTrigger(id), RangeError);
   * r.fireSystemEvent("custom");
   * assert.equal(ran, false);
   * ```
   */
  removeSystemEventTrigger(id: TriggerId): void {
    this.#events.removeTrigger(id);
  }

  /**
   * Fires `event`: runs its pending triggers phase by phase (see
   * `addSystemEventTrigger`). Each trigger runs once; firing again runs
   * only triggers added since.
   *
   * @param event The event's name.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DenoReactor } from "@twisted-deno/core/reactor";
   *
   * const r = new DenoReactor();
   * const order: string[] = [];
   * for (const phase of ["after", "during", "before"] as const) {
   *   r.addSystemEventTrigger(phase, "custom", () => order.push(phase));
   * }
   * r.fireSystemEvent("custom");
   * r.fireSystemEvent("custom");
   * assert.deepEqual(order, ["before", "during", "after"]);
   * ```
   */
  fireSystemEvent(event: string): void {
    this.#events.fire(event);
  }

  #shutdown(generation: number): void {
    this.#events.event("shutdown").fire({
      beforeDuring: () => {
        if (generation === this.#generation) this.#running = false;
      },
      afterDuring: () => closeResources(this.#resources, log),
      done: () => {
        if (generation === this.#generation) this.#endRun();
      },
    });
  }

  /** The end of a run, by shutdown or crash(). */
  #endRun(): void {
    this.#started = false;
    this.#running = false;
    this.#signals.remove();
    clearInterval(this.#holdOpen);
    this.#holdOpen = undefined;
    this.#timers.setKeepAlive(false);
    const finish = this.#finishRun;
    this.#finishRun = undefined;
    finish?.();
  }

  #onSignal(signal: Deno.Signal): void {
    if (!this.#started || this.#stopRequested) return; // already stopping
    log.info("Received {signal}, shutting down", { signal });
    this.stop();
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
    checkCallLater(delay, fn);
    return this.#timers.schedule(
      this.seconds() + delay,
      fn as (...args: never[]) => unknown,
      args,
    );
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
    return this.#timers.pending();
  }

  /**
   * Registers `resource` to be shut down (and waited for) when the reactor
   * shuts down, after the 'during shutdown' triggers, unless it is
   * untracked first. For transport authors: ports and connections track
   * themselves.
   *
   * @param resource What to close at shutdown.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DenoReactor } from "@twisted-deno/core/reactor";
   *
   * const r = new DenoReactor();
   * let closed = false;
   * r.trackResource({ shutdown: () => { closed = true; } });
   * r.callWhenRunning(() => r.stop());
   * await r.run({ installSignalHandlers: false });
   * assert.equal(closed, true);
   * ```
   */
  trackResource(resource: ReactorResource): void {
    this.#resources.add(resource);
  }

  /**
   * Forgets a resource that closed by itself: shutdown will not close it.
   *
   * @param resource A resource given to `trackResource`.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DenoReactor } from "@twisted-deno/core/reactor";
   *
   * const r = new DenoReactor();
   * let closed = false;
   * const resource = { shutdown: () => { closed = true; } };
   * r.trackResource(resource);
   * r.untrackResource(resource);
   * r.callWhenRunning(() => r.stop());
   * await r.run({ installSignalHandlers: false });
   * assert.equal(closed, false);
   * ```
   */
  untrackResource(resource: ReactorResource): void {
    this.#resources.delete(resource);
  }

  /**
   * The resources tracked now (ports, connections, thread pools, child
   * processes): for runners and diagnostics, e.g. to wait for live
   * connections to finish before shutting down.
   *
   * @returns A snapshot; changing it changes nothing.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DenoReactor } from "@twisted-deno/core/reactor";
   *
   * const r = new DenoReactor();
   * const resource = { shutdown() {} };
   * r.trackResource(resource);
   * assert.deepEqual(r.getTrackedResources(), [resource]);
   * r.untrackResource(resource);
   * assert.deepEqual(r.getTrackedResources(), []);
   * ```
   */
  getTrackedResources(): ReactorResource[] {
    return [...this.#resources];
  }

  /**
   * Runs `exportName` of `moduleUrl` in the thread pool with `args`
   * (structured-cloned), ignoring the result; a failure is logged. Workers
   * share no objects with the reactor, hence a module and an export name
   * rather than a function (see `threads.ts`).
   */
  callInThread(
    moduleUrl: string | URL,
    exportName: string,
    ...args: unknown[]
  ): void {
    this.getThreadPool().callInThread(moduleUrl, exportName, ...args);
  }

  /**
   * Calls `fn(...args)` on the reactor's thread, soon (`callLater(0)`).
   * From inside a thread-pool worker use the `callFromThread` function,
   * which takes a module URL and an export name.
   */
  // deno-lint-ignore no-explicit-any
  callFromThread<A extends any[]>(
    fn: (...args: A) => unknown,
    ...args: A
  ): void {
    this.callLater(0, fn, ...args);
  }

  /** The reactor's thread pool, made on first use, stopped at shutdown. */
  getThreadPool(): ThreadPool {
    return threadPoolFor(this);
  }

  /**
   * Starts `executable` with `args` (`args[0]` is the program's name, not
   * passed on: Deno cannot set argv[0]) and connects its stdin, stdout and
   * stderr to `processProtocol`. A bare name is looked up on PATH. The
   * process is signalled and reaped at shutdown. See `process.ts`.
   *
   * @throws {Deno.errors.NotFound} When the executable does not exist.
   */
  spawnProcess(
    processProtocol: IProcessProtocol,
    executable: string,
    args: string[],
    options?: SpawnProcessOptions,
  ): Process {
    return new Process(this, processProtocol, executable, args, options);
  }
}

/**
 * The process's reactor: `run()` it once, from the program's entry point
 * (or let `react()` or the runner do it); use it everywhere else.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { reactor } from "@twisted-deno/core/reactor";
 *
 * const call = reactor.callLater(60, () => {});
 * assert.equal(call.active(), true);
 * call.cancel();
 * assert.equal(call.active(), false);
 * ```
 */
export const reactor: DenoReactor = new DenoReactor();
installReactor(reactor);
