/**
 * Throttling, as Twisted's `ThrottlingFactory`: a cap on connections and
 * on the bytes read and written per second over all of them. Timed by an
 * `IReactorTime` (`clock`, the global reactor by default), so tests drive
 * it with a `Clock`.
 *
 * @module
 */

import { Failure } from "../../deferred/failure.ts";
import { Logger } from "../../log/mod.ts";
import type {
  IAddress,
  IDelayedCall,
  IProducer,
  IProtocol,
  IProtocolFactory,
  IReactorTime,
  ITransport,
} from "../../reactor/interfaces.ts";
import { globalClock } from "../../reactor/global.ts";
import { bytesOf, cancelCall, encodeUtf8, hostOf } from "../_helpers.ts";
import { transportOf } from "../_transport.ts";
import { ProtocolWrapper, WrappingFactory } from "./wrapper.ts";

const log = new Logger("protocols.policies");

/**
 * The wrapper {@linkcode ThrottlingFactory} uses: counts bytes read and
 * written, and pauses reading (the transport) or writing (the registered
 * producer) when told to.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Echo, Factory, ThrottlingFactory, ThrottlingProtocol } from "@twisted-deno/core/protocols";
 * import { Clock, StringTransport } from "@twisted-deno/core/testing";
 *
 * const factory = new ThrottlingFactory(Factory.forProtocol(Echo), { clock: new Clock() });
 * const proto = factory.buildProtocol({ type: "TCP", host: "127.0.0.1", port: 1 })!;
 * assert.ok(proto instanceof ThrottlingProtocol);
 * const transport = new StringTransport();
 * proto.makeConnection(transport);
 * proto.throttleReads();
 * assert.equal(transport.producerState, "paused");
 * proto.unthrottleReads();
 * assert.equal(transport.producerState, "producing");
 * ```
 */
export class ThrottlingProtocol extends ProtocolWrapper<ThrottlingFactory> {
  /** The producer writing through this connection, if any. */
  producer: IProducer | undefined = undefined;

  /** Connects, starting paused if the factory is throttling reads. */
  override makeConnection(transport: ITransport): void {
    super.makeConnection(transport);
    if (this.factory.readsThrottled) this.throttleReads();
  }

  /** Counts the bytes, then writes them. */
  override write(data: Uint8Array | string): void {
    const bytes = bytesOf(data);
    this.factory.registerWritten(bytes.length);
    super.write(bytes);
  }

  /** Counts the bytes, then writes them. */
  override writeSequence(chunks: Iterable<Uint8Array | string>): void {
    const all: Uint8Array[] = [];
    let total = 0;
    for (const chunk of chunks) {
      const bytes = bytesOf(chunk);
      all.push(bytes);
      total += bytes.length;
    }
    this.factory.registerWritten(total);
    super.writeSequence(all);
  }

  /** Counts the bytes (encoded), then writes them. */
  override writeText(text: string, suffix = ""): void {
    const bytes = encodeUtf8(text + suffix);
    this.factory.registerWritten(bytes.length);
    super.write(bytes);
  }

  /** Counts the bytes, then passes them on. */
  override dataReceived(data: Uint8Array): void {
    this.factory.registerRead(data.length);
    super.dataReceived(data);
  }

  /** Remembers the producer (to throttle it), then registers it. */
  override registerProducer(producer: IProducer, streaming: boolean): void {
    super.registerProducer(producer, streaming);
    this.producer = producer;
    if (this.factory.writesThrottled) this.throttleWrites();
  }

  /** Forgets the producer, then unregisters it. */
  override unregisterProducer(): void {
    this.producer = undefined;
    super.unregisterProducer();
  }

  /** Pauses reading. */
  throttleReads(): void {
    if (!this.disconnecting) transportOf(this)?.pauseProducing();
  }

  /** Resumes reading. */
  unthrottleReads(): void {
    if (!this.disconnecting) transportOf(this)?.resumeProducing();
  }

  /** Pauses the producer, if it can be paused. */
  throttleWrites(): void {
    const p = this.producer as Partial<{ pauseProducing(): void }> | undefined;
    p?.pauseProducing?.();
  }

  /** Resumes the producer. */
  unthrottleWrites(): void {
    this.producer?.resumeProducing();
  }
}

/** Options of {@linkcode ThrottlingFactory}. */
export interface ThrottlingOptions {
  /** The most simultaneous connections (unlimited by default). */
  maxConnectionCount?: number;
  /** The most bytes read per second, over all connections (unlimited by default). */
  readLimit?: number;
  /** The most bytes written per second, over all connections (unlimited by default). */
  writeLimit?: number;
  /** The clock for the per-second checks (the global reactor by default). */
  clock?: IReactorTime;
}

/**
 * Limits the number of connections, and the bytes read and written per
 * second over all of them, as Twisted's `ThrottlingFactory` does: once a
 * second it compares the bytes counted with the limit, and if over, pauses
 * all reading (or all producers) for as long as the excess would take at
 * the limit (`bytes / limit - 1` seconds). Writes are only throttled for
 * connections with a registered producer. A connection made while
 * throttled starts paused; the checks run only while connections exist.
 *
 * @example At most two connections
 * ```ts
 * import assert from "node:assert/strict";
 * import { Echo, Factory, ThrottlingFactory } from "@twisted-deno/core/protocols";
 * import { Clock } from "@twisted-deno/core/testing";
 *
 * const factory = new ThrottlingFactory(Factory.forProtocol(Echo), {
 *   maxConnectionCount: 2,
 *   clock: new Clock(),
 * });
 * const addr = { type: "TCP" as const, host: "127.0.0.1", port: 1 };
 * assert.notEqual(factory.buildProtocol(addr), null);
 * assert.notEqual(factory.buildProtocol(addr), null);
 * assert.equal(factory.buildProtocol(addr), null);
 * ```
 */
export class ThrottlingFactory extends WrappingFactory {
  /** Current connections. */
  connectionCount = 0;
  /** The most simultaneous connections. */
  maxConnectionCount: number;
  /** Bytes per second read limit, or undefined. */
  readLimit: number | undefined;
  /** Bytes per second write limit, or undefined. */
  writeLimit: number | undefined;
  /** Bytes read since the last check. */
  readThisSecond = 0;
  /** Bytes written since the last check. */
  writtenThisSecond = 0;
  /** The clock for the checks. */
  clock: IReactorTime;

  #checkRead: IDelayedCall | undefined;
  #checkWrite: IDelayedCall | undefined;
  #unthrottleRead: IDelayedCall | undefined;
  #unthrottleWrite: IDelayedCall | undefined;

  /**
   * Throttles `wrappedFactory`'s connections.
   *
   * @param wrappedFactory The factory whose protocols are throttled.
   * @param options Limits and clock.
   */
  constructor(
    wrappedFactory: IProtocolFactory,
    options: ThrottlingOptions = {},
  ) {
    super(wrappedFactory);
    this.maxConnectionCount = options.maxConnectionCount ?? Infinity;
    this.readLimit = options.readLimit;
    this.writeLimit = options.writeLimit;
    this.clock = options.clock ?? globalClock;
  }

  /** Whether reading is paused for being over `readLimit`. */
  get readsThrottled(): boolean {
    return this.#unthrottleRead?.active() ?? false;
  }

  /** Whether producers are paused for being over `writeLimit`. */
  get writesThrottled(): boolean {
    return this.#unthrottleWrite?.active() ?? false;
  }

  /** Wraps in a {@linkcode ThrottlingProtocol}. */
  override wrapProtocol(wrapped: IProtocol): ThrottlingProtocol {
    return new ThrottlingProtocol(this, wrapped);
  }

  /** A throttled protocol, or null when `maxConnectionCount` is reached. */
  override buildProtocol(addr: IAddress): ProtocolWrapper | null {
    if (this.connectionCount >= this.maxConnectionCount) {
      log.info("Max connection count reached: refusing {addr}", {
        addr: hostOf(addr),
      });
      return null;
    }
    const proto = super.buildProtocol(addr);
    if (proto === null) return null;
    this.connectionCount++;
    if (this.connectionCount === 1) {
      if (this.readLimit !== undefined && this.#checkRead === undefined) {
        this.checkReadBandwidth();
      }
      if (this.writeLimit !== undefined && this.#checkWrite === undefined) {
        this.checkWriteBandwidth();
      }
    }
    return proto;
  }

  /** Counts a connection off; stops the checks after the last. */
  override unregisterProtocol(protocol: ProtocolWrapper): void {
    super.unregisterProtocol(protocol);
    this.connectionCount = Math.max(0, this.connectionCount - 1);
    if (this.connectionCount === 0) {
      for (
        const call of [
          this.#checkRead,
          this.#checkWrite,
          this.#unthrottleRead,
          this.#unthrottleWrite,
        ]
      ) cancelCall(call);
      this.#checkRead = this.#checkWrite = undefined;
      this.#unthrottleRead = this.#unthrottleWrite = undefined;
    }
  }

  /** Called by the protocols: `length` more bytes were written. */
  registerWritten(length: number): void {
    this.writtenThisSecond += length;
  }

  /** Called by the protocols: `length` more bytes were read. */
  registerRead(length: number): void {
    this.readThisSecond += length;
  }

  /** The per-second read check: throttles when over the limit, and reschedules itself. */
  checkReadBandwidth(): void {
    const limit = this.readLimit!;
    if (this.readThisSecond > limit) {
      this.throttleReads();
      this.#unthrottleRead = this.#extend(
        this.#unthrottleRead,
        this.readThisSecond / limit - 1,
        () => this.unthrottleReads(),
      );
    }
    this.readThisSecond = 0;
    this.#checkRead = this.clock.callLater(1, () => this.checkReadBandwidth());
  }

  /** The per-second write check: throttles when over the limit, and reschedules itself. */
  checkWriteBandwidth(): void {
    const limit = this.writeLimit!;
    if (this.writtenThisSecond > limit) {
      this.throttleWrites();
      this.#unthrottleWrite = this.#extend(
        this.#unthrottleWrite,
        this.writtenThisSecond / limit - 1,
        () => this.unthrottleWrites(),
      );
    }
    this.writtenThisSecond = 0;
    this.#checkWrite = this.clock.callLater(
      1,
      () => this.checkWriteBandwidth(),
    );
  }

  /** A pending unthrottle moves later if need be, never earlier. */
  #extend(
    pending: IDelayedCall | undefined,
    seconds: number,
    fn: () => void,
  ): IDelayedCall {
    if (pending?.active()) {
      const at = this.clock.seconds() + seconds;
      if (at > pending.getTime()) pending.reset(seconds);
      return pending;
    }
    return this.clock.callLater(seconds, fn);
  }

  /** Pauses reading on every connection. */
  throttleReads(): void {
    log.debug("Throttling reads on {factory}", { factory: this.logPrefix() });
    this.#eachProtocol("throttleReads", (p) => p.throttleReads());
  }

  /** Resumes reading on every connection. */
  unthrottleReads(): void {
    cancelCall(this.#unthrottleRead);
    this.#unthrottleRead = undefined;
    log.debug("Stopped throttling reads on {factory}", {
      factory: this.logPrefix(),
    });
    this.#eachProtocol("unthrottleReads", (p) => p.unthrottleReads());
  }

  /** Pauses every connection's producer. */
  throttleWrites(): void {
    log.debug("Throttling writes on {factory}", { factory: this.logPrefix() });
    this.#eachProtocol("throttleWrites", (p) => p.throttleWrites());
  }

  /** Resumes every connection's producer. */
  unthrottleWrites(): void {
    cancelCall(this.#unthrottleWrite);
    this.#unthrottleWrite = undefined;
    log.debug("Stopped throttling writes on {factory}", {
      factory: this.logPrefix(),
    });
    this.#eachProtocol("unthrottleWrites", (p) => p.unthrottleWrites());
  }

  /**
   * Calls `fn` for every connection. A producer or transport that throws
   * is logged and the others are still paused or resumed: one broken
   * connection must neither leave the rest paused nor stop the checks.
   */
  #eachProtocol(what: string, fn: (p: ThrottlingProtocol) => void): void {
    for (const p of [...this.protocols]) {
      try {
        fn(p as ThrottlingProtocol);
      } catch (error) {
        log.failure(
          "Unhandled error in {protocol}.{what}",
          new Failure(error),
          "critical",
          { protocol: p.logPrefix(), what },
        );
      }
    }
  }
}
