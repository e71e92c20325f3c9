/**
 * Client-side helpers: {@linkcode ReconnectingClientFactory}, a client
 * factory that reconnects with Twisted's exponential back-off, and
 * {@linkcode ClientCreator}, which connects one protocol instance and hands
 * it back in a Deferred, for clients that need no factory of their own.
 *
 * Both take their reactor or clock as a value, so tests drive them with a
 * `MemoryReactorClock`; the reconnecting factory falls back to the global
 * reactor only when it first needs a clock.
 *
 * @module
 */

import { Deferred } from "../deferred/deferred.ts";
import type { Failure } from "../deferred/failure.ts";
import { Logger } from "../log/mod.ts";
import type {
  ConnectTCPOptions,
  ConnectUNIXOptions,
  IAddress,
  IConnector,
  IDelayedCall,
  IProtocol,
  IReactorSSL,
  IReactorTCP,
  IReactorTime,
  IReactorUNIX,
  TLSClientOptions,
} from "../reactor/interfaces.ts";
// Read only inside methods (never at module evaluation), so even a future
// import cycle through the reactor module would stay harmless.
import { globalClock } from "../reactor/global.ts";
import { transportOf } from "./_transport.ts";
import { ClientFactory } from "./protocol.ts";

const log = new Logger("protocols.client");

/** A sample of a normal distribution (Box-Muller), from a uniform source. */
function normalVariate(
  mean: number,
  sigma: number,
  random: () => number,
): number {
  const u1 = 1 - random(); // in (0, 1]: log(0) is -Infinity
  const u2 = random();
  const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
  return mean + sigma * z;
}

/**
 * A client factory that reconnects after a failed attempt or a lost
 * connection, waiting longer each time: the delay is multiplied by
 * `factor` (e) per retry, capped at `maxDelay`, then jittered by a normal
 * distribution with relative deviation `jitter`, so many clients do not
 * stampede a restarted server. Call `resetDelay()` once connected (usually
 * from the protocol's `connectionMade`), and `stopTrying()` to give up.
 * After `maxRetries` consecutive retries it gives up by itself.
 *
 * Retries are scheduled on `clock` (an `IReactorTime`; the global reactor
 * unless set), which tests replace with a `Clock`.
 *
 * @example Back off, with a fake reactor and fake time
 * ```ts
 * import assert from "node:assert/strict";
 * import { Failure } from "@twisted-deno/core/deferred";
 * import { ReconnectingClientFactory } from "@twisted-deno/core/protocols";
 * import { ConnectionRefusedError } from "@twisted-deno/core/reactor";
 * import { MemoryReactorClock } from "@twisted-deno/core/testing";
 *
 * const reactor = new MemoryReactorClock();
 * const factory = new ReconnectingClientFactory();
 * factory.clock = reactor;
 * factory.jitter = 0;
 * factory.noisy = false;
 * const connector = reactor.connectTCP("127.0.0.1", 7, factory);
 * factory.clientConnectionFailed(connector, new Failure(new ConnectionRefusedError()));
 * assert.equal(factory.delay, Math.E);
 * reactor.advance(Math.E);
 * assert.equal(reactor.connectors[0].connectCount, 2);
 * factory.stopTrying();
 * assert.equal(connector.stoppedConnecting, true);
 * ```
 */
export class ReconnectingClientFactory extends ClientFactory {
  /** The longest wait between attempts, in seconds (before jitter). */
  maxDelay = 3600;
  /** The delay `resetDelay()` restores, in seconds. */
  initialDelay = 1.0;
  /** How much the delay grows per retry (e, as in Twisted). */
  factor = 2.7182818284590451;
  /** The relative standard deviation of the random jitter (0 turns it off). */
  jitter = 0.119626565582;
  /** The current delay: the wait before the last scheduled retry. */
  delay: number = this.initialDelay;
  /** Consecutive retries since the last `resetDelay()`. */
  retries = 0;
  /** Give up after this many consecutive retries (no limit when undefined). */
  maxRetries: number | undefined = undefined;
  /** False once `stopTrying()` was called (until `resetDelay()`). */
  continueTrying = true;
  /** The connector of the last failure or loss, which `retry()` reuses. */
  connector: IConnector | undefined = undefined;
  /** The uniform random source in [0, 1) behind the jitter. */
  random: () => number = Math.random;
  #clock: IReactorTime | undefined;
  #callID: IDelayedCall | undefined;

  /** The clock retries are scheduled on: the global reactor unless set. */
  get clock(): IReactorTime {
    return this.#clock ??= globalClock;
  }
  set clock(clock: IReactorTime) {
    this.#clock = clock;
  }

  /** Retries, unless `stopTrying()` was called. */
  override clientConnectionFailed(
    connector: IConnector,
    _reason: Failure,
  ): void {
    if (this.continueTrying) {
      this.connector = connector;
      this.retry();
    }
  }

  /** Retries, unless `stopTrying()` was called. */
  override clientConnectionLost(connector: IConnector, _reason: Failure): void {
    if (this.continueTrying) {
      this.connector = connector;
      this.retry();
    }
  }

  /**
   * Schedules `connector.connect()` after the next, longer delay, unless
   * trying was stopped or `maxRetries` is exceeded.
   *
   * @param connector What to reconnect; the last one seen by default.
   * @throws {TypeError} When there is no connector to retry.
   */
  retry(connector?: IConnector): void {
    if (!this.continueTrying) {
      if (this.noisy) {
        log.info("Abandoning {connector} on explicit request", {
          connector: describe(connector ?? this.connector),
        });
      }
      return;
    }
    const target = connector ?? this.connector;
    if (target === undefined) {
      throw new TypeError(
        "Cannot retry: no connector to retry (pass one, or wait for a failed or lost connection)",
      );
    }
    this.retries++;
    if (this.maxRetries !== undefined && this.retries > this.maxRetries) {
      if (this.noisy) {
        log.info("Abandoning {connector} after {retries} retries", {
          connector: describe(target),
          retries: this.retries,
        });
      }
      return;
    }
    this.delay = Math.min(this.delay * this.factor, this.maxDelay);
    if (this.jitter) {
      this.delay = Math.max(
        0,
        normalVariate(this.delay, this.delay * this.jitter, this.random),
      );
    }
    if (this.noisy) {
      log.info("{connector} will retry in {delay} seconds", {
        connector: describe(target),
        delay: Math.floor(this.delay),
      });
    }
    this.#callID = this.clock.callLater(this.delay, () => {
      this.#callID = undefined;
      target.connect();
    });
  }

  /**
   * Gives up: cancels a scheduled retry and stops a connection attempt in
   * progress. `resetDelay()` allows trying again.
   */
  stopTrying(): void {
    const call = this.#callID;
    this.#callID = undefined;
    if (call?.active()) call.cancel();
    this.continueTrying = false;
    try {
      this.connector?.stopConnecting();
    } catch (e) {
      // As in Twisted: a connector that is not connecting has nothing to stop.
      if ((e as Error)?.name !== "NotConnectingError") throw e;
    }
  }

  /**
   * Call after a successful connection: restores `initialDelay`, zeroes
   * `retries` and allows trying again.
   */
  resetDelay(): void {
    this.delay = this.initialDelay;
    this.retries = 0;
    this.#callID = undefined;
    this.continueTrying = true;
  }
}

function describe(connector: IConnector | undefined): string {
  if (connector === undefined) return "connector";
  const dest = connector.getDestination();
  return dest.type === "UNIX"
    ? `connector to ${dest.name}`
    : `connector to ${dest.host}:${dest.port}`;
}

function closeTransportOf(proto: IProtocol): void {
  transportOf(proto)?.loseConnection();
}

/** What a {@linkcode ClientCreator} needs of its reactor. */
export type ClientCreatorReactor =
  & IReactorTime
  & Partial<IReactorTCP & IReactorUNIX & IReactorSSL>;

/** The one-connection factory behind {@linkcode ClientCreator}. */
class InstanceFactory extends ClientFactory {
  override noisy = false;
  pending: IDelayedCall | undefined;
  built = false;

  constructor(
    readonly clock: IReactorTime,
    readonly instance: IProtocol,
    readonly deferred: Deferred<IProtocol>,
  ) {
    super();
  }

  override buildProtocol(_addr: IAddress): IProtocol | null {
    // Cancelled while connecting: refuse the connection nobody wants.
    if (this.deferred.called) return null;
    this.built = true;
    // Fire on the next turn: by then the transport has called
    // makeConnection, so the user gets a connected protocol.
    this.pending = this.clock.callLater(0, () => {
      this.pending = undefined;
      this.deferred.callback(this.instance);
    });
    return this.instance;
  }

  override clientConnectionFailed(_c: IConnector, reason: Failure): void {
    this.pending = this.clock.callLater(0, () => {
      this.pending = undefined;
      if (!this.deferred.called) this.deferred.errback(reason);
    });
  }
}

/**
 * Connects one instance of a protocol class without a factory of your
 * own: each `connect*` method makes `new ProtocolClass(...args)`, connects
 * it, and returns a Deferred that fires with it once connected (after its
 * `connectionMade`), or fails with the connection error. Cancelling the
 * Deferred abandons the attempt (or drops the connection if it was just
 * made) and fails it with `CancelledError`.
 *
 * The Deferred fires on the reactor's next turn (`callLater(0)`), as in
 * Twisted; with a `MemoryReactorClock`, `advance(0)` is that turn.
 *
 * @example Against a fake reactor
 * ```ts
 * import assert from "node:assert/strict";
 * import { ClientCreator, Protocol } from "@twisted-deno/core/protocols";
 * import { MemoryReactorClock, StringTransport, successResultOf } from "@twisted-deno/core/testing";
 *
 * class Greeter extends Protocol {
 *   constructor(readonly greeting: string) {
 *     super();
 *   }
 *   override connectionMade(): void {
 *     this.transport.write(this.greeting);
 *   }
 * }
 * const reactor = new MemoryReactorClock();
 * const d = new ClientCreator(reactor, Greeter, "hi").connectTCP("127.0.0.1", 1079);
 * const { factory } = reactor.tcpClients[0];
 * const transport = new StringTransport();
 * factory.buildProtocol({ type: "TCP", host: "127.0.0.1", port: 1079 })!.makeConnection(transport);
 * reactor.advance(0);
 * const proto = successResultOf(d);
 * assert.ok(proto instanceof Greeter);
 * assert.equal(new TextDecoder().decode(transport.value()), "hi");
 * ```
 */
export class ClientCreator<P extends IProtocol, A extends unknown[]> {
  /** The arguments for each new protocol. */
  readonly args: A;

  /**
   * Makes a creator of `new protocolClass(...args)` connections.
   *
   * @param reactor Where to connect (and whose clock fires the Deferreds).
   * @param protocolClass The protocol to instantiate per connection.
   * @param args Arguments for `protocolClass`'s constructor.
   */
  constructor(
    readonly reactor: ClientCreatorReactor,
    readonly protocolClass: new (...args: A) => P,
    ...args: A
  ) {
    this.args = args;
  }

  /** Connects over TCP; the options are those of `connectTCP`. */
  connectTCP(
    host: string,
    port: number,
    options?: ConnectTCPOptions,
  ): Deferred<P> {
    const connect = this.#method("connectTCP");
    return this.#connect((f) => connect(host, port, f, options));
  }

  /** Connects to a UNIX socket; the options are those of `connectUNIX`. */
  connectUNIX(path: string, options?: ConnectUNIXOptions): Deferred<P> {
    const connect = this.#method("connectUNIX");
    return this.#connect((f) => connect(path, f, options));
  }

  /** Connects over TLS; `tls` and the options are those of `connectSSL`. */
  connectSSL(
    host: string,
    port: number,
    tls?: TLSClientOptions,
    options?: ConnectTCPOptions,
  ): Deferred<P> {
    const connect = this.#method("connectSSL");
    return this.#connect((f) => connect(host, port, f, tls, options));
  }

  #method<K extends "connectTCP" | "connectUNIX" | "connectSSL">(
    name: K,
  ): NonNullable<ClientCreatorReactor[K]> {
    const method = this.reactor[name];
    if (typeof method !== "function") {
      throw new TypeError(
        `Cannot ${name}: the reactor given to ClientCreator has no ${name} method`,
      );
    }
    return method.bind(this.reactor) as NonNullable<ClientCreatorReactor[K]>;
  }

  #connect(start: (factory: InstanceFactory) => IConnector): Deferred<P> {
    const attempt: { connector?: IConnector; factory?: InstanceFactory } = {};
    const d = new Deferred<IProtocol>(() => {
      const { connector, factory } = attempt;
      connector?.disconnect();
      const pending = factory?.pending;
      if (pending?.active()) pending.cancel();
      // Connected already: drop the connection nobody will get.
      if (factory?.built) closeTransportOf(factory.instance);
    });
    const factory = new InstanceFactory(
      this.reactor,
      new this.protocolClass(...this.args),
      d,
    );
    attempt.factory = factory;
    attempt.connector = start(factory);
    return d as Deferred<P>;
  }
}
