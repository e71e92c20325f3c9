/**
 * Idle timeouts, Twisted's two ways:
 *
 * - {@linkcode TimeoutFactory} wraps a factory: each connection is closed
 *   once it has neither read nor written for a period, without the
 *   protocol knowing (a {@linkcode ProtocolWrapper} policy, like those in
 *   `policies.ts`).
 * - {@linkcode TimeoutMixin} gives a protocol class `setTimeout(period)`,
 *   `resetTimeout()` and a `timeoutConnection()` hook, for protocols that
 *   decide themselves what counts as activity.
 *
 * Both are timed by an `IReactorTime` (`clock`, the global reactor by
 * default), so tests drive them with a `Clock`.
 *
 * @module
 */

import type { Failure } from "../../deferred/failure.ts";
import type {
  IDelayedCall,
  IProtocol,
  IProtocolFactory,
  IReactorTime,
  ITransport,
} from "../../reactor/interfaces.ts";
import { globalClock } from "../../reactor/global.ts";
import { ProtocolWrapper, WrappingFactory } from "./wrapper.ts";
import { cancelCall } from "../_helpers.ts";
import { transportOf } from "../_transport.ts";

/**
 * The wrapper {@linkcode TimeoutFactory} uses: calls `timeoutFunc()` (by
 * default, closes the connection) once `timeoutPeriod` seconds pass with
 * nothing read or written.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Echo, Factory, TimeoutFactory, TimeoutProtocol } from "@twisted-deno/core/protocols";
 * import { Clock, StringTransport } from "@twisted-deno/core/testing";
 *
 * const clock = new Clock();
 * const factory = new TimeoutFactory(Factory.forProtocol(Echo), { timeoutPeriod: 3, clock });
 * const proto = factory.buildProtocol({ type: "TCP", host: "127.0.0.1", port: 1 }) as TimeoutProtocol;
 * const transport = new StringTransport();
 * proto.makeConnection(transport);
 * proto.cancelTimeout();
 * clock.advance(10);
 * assert.equal(transport.disconnecting, false);
 * proto.setTimeout(1);
 * clock.advance(1);
 * assert.equal(transport.disconnecting, true);
 * ```
 */
export class TimeoutProtocol extends ProtocolWrapper<TimeoutFactory> {
  /** The pending timeout, if any. */
  timeoutCall: IDelayedCall | undefined = undefined;
  /** The idle period in seconds, or null when no timeout is set. */
  timeoutPeriod: number | null = null;

  /**
   * Wraps `wrappedProtocol`, starting a timeout of `timeoutPeriod`.
   *
   * @param factory The factory, whose `clock` times the idle period.
   * @param wrappedProtocol The protocol to wrap.
   * @param timeoutPeriod Seconds of idleness allowed; null for none.
   */
  constructor(
    factory: TimeoutFactory,
    wrappedProtocol: IProtocol,
    timeoutPeriod: number | null,
  ) {
    super(factory, wrappedProtocol);
    this.setTimeout(timeoutPeriod);
  }

  /** Replaces any timeout with one of `timeoutPeriod` seconds (none for null). */
  setTimeout(timeoutPeriod: number | null = null): void {
    this.cancelTimeout();
    this.timeoutPeriod = timeoutPeriod;
    if (timeoutPeriod !== null) {
      this.timeoutCall = this.factory.clock.callLater(timeoutPeriod, () => {
        this.timeoutCall = undefined;
        this.timeoutFunc();
      });
    }
  }

  /** Cancels the timeout, if any (also when it already ran or was cancelled). */
  cancelTimeout(): void {
    this.timeoutPeriod = null;
    cancelCall(this.timeoutCall);
    this.timeoutCall = undefined;
  }

  /** Restarts the countdown: something happened. */
  resetTimeout(): void {
    if (this.timeoutCall?.active() && this.timeoutPeriod !== null) {
      this.timeoutCall.reset(this.timeoutPeriod);
    }
  }

  /** Resets the countdown, then writes. */
  override write(data: Uint8Array | string): void {
    this.resetTimeout();
    super.write(data);
  }

  /** Resets the countdown, then writes. */
  override writeText(text: string, suffix = ""): void {
    this.resetTimeout();
    super.writeText(text, suffix);
  }

  /** Resets the countdown, then writes. */
  override writeSequence(chunks: Iterable<Uint8Array | string>): void {
    this.resetTimeout();
    super.writeSequence(chunks);
  }

  /** Resets the countdown, then passes the data on. */
  override dataReceived(data: Uint8Array): void {
    this.resetTimeout();
    super.dataReceived(data);
  }

  /** Cancels the timeout, then passes the news on. */
  override connectionLost(reason: Failure): void {
    this.cancelTimeout();
    super.connectionLost(reason);
  }

  /** The period passed idle: closes the connection. Override to do otherwise. */
  timeoutFunc(): void {
    this.loseConnection();
  }
}

/** Options of {@linkcode TimeoutFactory}. */
export interface TimeoutFactoryOptions {
  /** Seconds a connection may stay idle (30 minutes by default); null for no timeout. */
  timeoutPeriod?: number | null;
  /** The clock (the global reactor by default). */
  clock?: IReactorTime;
}

/**
 * Closes connections that neither read nor write for `timeoutPeriod`
 * seconds.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Echo, Factory, TimeoutFactory } from "@twisted-deno/core/protocols";
 * import { Clock, StringTransport } from "@twisted-deno/core/testing";
 *
 * const clock = new Clock();
 * const factory = new TimeoutFactory(Factory.forProtocol(Echo), { timeoutPeriod: 3, clock });
 * const proto = factory.buildProtocol({ type: "TCP", host: "127.0.0.1", port: 1 })!;
 * const transport = new StringTransport();
 * proto.makeConnection(transport);
 * clock.advance(2);
 * proto.dataReceived(new TextEncoder().encode("still here"));
 * clock.advance(2);
 * assert.equal(transport.disconnecting, false);
 * clock.advance(1);
 * assert.equal(transport.disconnecting, true);
 * ```
 */
export class TimeoutFactory extends WrappingFactory {
  /** Seconds a connection may stay idle. */
  timeoutPeriod: number | null;
  /** The clock. */
  clock: IReactorTime;

  /**
   * Times out `wrappedFactory`'s connections.
   *
   * @param wrappedFactory The factory whose connections time out.
   * @param options Period and clock.
   */
  constructor(
    wrappedFactory: IProtocolFactory,
    options: TimeoutFactoryOptions = {},
  ) {
    super(wrappedFactory);
    this.timeoutPeriod = options.timeoutPeriod === undefined
      ? 30 * 60
      : options.timeoutPeriod;
    this.clock = options.clock ?? globalClock;
  }

  /** Wraps in a {@linkcode TimeoutProtocol} with this factory's period. */
  override wrapProtocol(wrapped: IProtocol): TimeoutProtocol {
    return new TimeoutProtocol(this, wrapped, this.timeoutPeriod);
  }
}

// ------------------------------------------------------------ TimeoutMixin

/** What {@linkcode TimeoutMixin} adds to a protocol class. */
export interface TimeoutMixinMembers {
  /** The timeout period in seconds, or null when none is set. */
  timeOut: number | null;
  /** The clock that times it (the global reactor by default). */
  clock: IReactorTime;
  /**
   * Sets the period to `period` seconds and (re)starts the countdown, or
   * with null cancels it.
   *
   * @returns The previous period.
   */
  setTimeout(period: number | null): number | null;
  /** Restarts the countdown (call it on meaningful activity). Does nothing when no timeout is set or it already fired. */
  resetTimeout(): void;
  /** Called when the countdown runs out. By default, closes the connection. */
  timeoutConnection(): void;
}

/** A class {@linkcode TimeoutMixin} can extend: a protocol. */
// deno-lint-ignore no-explicit-any
export type TimeoutMixinBase = new (...args: any[]) => {
  transport?: ITransport;
  connectionLost(reason: Failure): void;
};

/**
 * Gives a protocol class Twisted's `TimeoutMixin` methods:
 * `setTimeout(period)`, `resetTimeout()` and the `timeoutConnection()`
 * hook, timed by `clock`. Its `connectionLost` cancels the countdown, then
 * calls the base class's, so no timer outlives a connection (a subclass
 * overriding `connectionLost` calls `super.connectionLost(reason)`).
 *
 * Why a class mixin rather than a helper object: the Twisted shape — the
 * protocol calls `this.resetTimeout()` and overrides `timeoutConnection()`
 * — carries over unchanged, works with any protocol class
 * (`TimeoutMixin(LineReceiver)`), and needs no wiring of callbacks or of
 * `connectionLost`. The alternative, a `Timeout` object held in a field,
 * would need the protocol to forward its close and pass a callback; the
 * mixin does both once, here.
 *
 * @param Base The protocol class to extend.
 * @returns A subclass of `Base` with the timeout methods.
 *
 * @example An idle line protocol
 * ```ts
 * import assert from "node:assert/strict";
 * import { LineReceiver, TimeoutMixin } from "@twisted-deno/core/protocols";
 * import { Clock, StringTransport } from "@twisted-deno/core/testing";
 * import type { IReactorTime } from "@twisted-deno/core/reactor";
 *
 * class IdleLines extends TimeoutMixin(LineReceiver) {
 *   constructor(clock: IReactorTime, readonly period: number) {
 *     super();
 *     this.clock = clock;
 *   }
 *   override connectionMade(): void {
 *     this.setTimeout(this.period);
 *   }
 *   override lineReceived(_line: string): void {
 *     this.resetTimeout();
 *   }
 * }
 * const clock = new Clock();
 * const transport = new StringTransport();
 * const proto = new IdleLines(clock, 30);
 * proto.makeConnection(transport);
 * clock.advance(29);
 * proto.dataReceived(new TextEncoder().encode("still here\r\n"));
 * clock.advance(29);
 * assert.equal(transport.disconnecting, false);
 * clock.advance(1);
 * assert.equal(transport.disconnecting, true);
 * ```
 */
export function TimeoutMixin<B extends TimeoutMixinBase>(
  Base: B,
  // deno-lint-ignore no-explicit-any
): B & (new (...args: any[]) => TimeoutMixinMembers) {
  class Timed extends Base implements TimeoutMixinMembers {
    timeOut: number | null = null;
    clock: IReactorTime = globalClock;
    #call: IDelayedCall | undefined;

    setTimeout(period: number | null): number | null {
      const previous = this.timeOut;
      this.timeOut = period;
      const call = this.#call;
      if (call !== undefined && call.active()) {
        if (period === null) {
          call.cancel();
          this.#call = undefined;
        } else {
          call.reset(period);
        }
      } else if (period !== null) {
        this.#call = this.clock.callLater(period, () => {
          this.#call = undefined;
          this.timeoutConnection();
        });
      } else {
        this.#call = undefined;
      }
      return previous;
    }

    resetTimeout(): void {
      if (this.#call?.active() && this.timeOut !== null) {
        this.#call.reset(this.timeOut);
      }
    }

    timeoutConnection(): void {
      transportOf(this)?.loseConnection();
    }

    override connectionLost(reason: Failure): void {
      cancelCall(this.#call);
      this.#call = undefined;
      super.connectionLost(reason);
    }
  }
  return Timed;
}
