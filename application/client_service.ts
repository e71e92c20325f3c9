/**
 * {@linkcode ClientService}: a service that keeps one connection to an
 * endpoint up while it runs, reconnecting after failures and lost
 * connections with the delays of a {@linkcode backoffPolicy}, and hands the
 * current protocol to whoever asks with `whenConnected()`. As Twisted's
 * `twisted.application.internet.ClientService`.
 *
 * @module
 */

import { Deferred } from "../deferred/deferred.ts";
import { fail, maybeDeferred, succeed } from "../deferred/helpers.ts";
import { CancelledError } from "../deferred/errors.ts";
import { Failure } from "../deferred/failure.ts";
import { Logger } from "../log/mod.ts";
import type {
  IAddress,
  IDelayedCall,
  IProtocol,
  IProtocolFactory,
  IReactorTime,
  IStreamClientEndpoint,
  ITransport,
} from "../reactor/interfaces.ts";
import { reactor as globalReactor } from "../reactor/reactor.ts";
import { Service } from "./service.ts";
import { describe } from "./_describe.ts";

const log = new Logger("application");

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
    options?: ClientServiceOptions,
  ) {
    options ??= {};
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
  whenConnected(options?: WhenConnectedOptions): Deferred<IProtocol> {
    options ??= {};
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
