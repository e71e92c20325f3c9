/**
 * Serving behind a proxy that speaks the PROXY protocol (HAProxy's
 * `send-proxy` and `send-proxy-v2`): {@linkcode HAProxyWrappingFactory}
 * wraps a factory so that each connection first reads the header the
 * proxy sends, then hands the rest of the stream to the wrapped protocol,
 * whose transport's `getPeer()` is now the original client and `getHost()`
 * the address the client connected to.
 *
 * @module
 */

import type { Failure } from "../../deferred/failure.ts";
import { Logger } from "../../log/mod.ts";
import {
  type IAddress,
  type IDelayedCall,
  type IProtocol,
  type IProtocolFactory,
  type IReactorTime,
  isHalfCloseable,
  type ITransport,
} from "../../reactor/interfaces.ts";
import { globalClock } from "../../reactor/global.ts";
import { ProtocolWrapper, WrappingFactory } from "../policies/mod.ts";
import { Protocol } from "../protocol.ts";
import { InvalidProxyHeader, type ProxyInfo } from "./info.ts";
import { V1Parser } from "./v1.ts";
import { V2Parser } from "./v2.ts";

const log = new Logger("protocols.haproxy");

function describe(addr: IAddress): string {
  if (addr.type === "UNIX") return addr.name || "(unnamed UNIX socket)";
  return addr.host.includes(":")
    ? `[${addr.host}]:${addr.port}`
    : `${addr.host}:${addr.port}`;
}

/** Options of {@linkcode HAProxyWrappingFactory}. */
export interface HAProxyOptions {
  /**
   * Seconds a connection may take to send its whole header before it is
   * dropped (10); 0 waits for ever.
   */
  headerTimeout?: number;
  /** The clock for the header timeout (the global reactor by default). */
  clock?: IReactorTime;
}

/**
 * The wrapper {@linkcode HAProxyWrappingFactory} puts around each
 * protocol. It reads the PROXY header (v1 or v2, told apart by the first
 * byte), and only then connects the wrapped protocol, so that already in
 * its `connectionMade` `transport.getPeer()` and `getHost()` are the
 * addresses the header gives (or the real connection's when the header
 * gives none: v1 `UNKNOWN`, v2 `LOCAL` or `UNSPEC`). A missing, malformed
 * or slow header closes the connection with a warning in the log naming
 * the reason; the wrapped protocol never sees that connection.
 *
 * The parsed header, v2 TLVs included, is `proxyInfo`.
 *
 * The wrapped factory's `buildProtocol` is called when the connection is
 * accepted, before the header, so it gets the proxy's address.
 *
 * Differences from Twisted: Twisted connects the wrapped protocol before
 * the header arrives (so `getPeer()` in `connectionMade` is the proxy) and
 * has no header timeout.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Echo, Factory, HAProxyProtocolWrapper, HAProxyWrappingFactory } from "@twisted-deno/core/protocols";
 * import { Clock, StringTransport } from "@twisted-deno/core/testing";
 *
 * const factory = new HAProxyWrappingFactory(Factory.forProtocol(Echo), { clock: new Clock() });
 * const proto = factory.buildProtocol({ type: "TCP", host: "127.0.0.1", port: 5 }) as HAProxyProtocolWrapper;
 * const transport = new StringTransport();
 * proto.makeConnection(transport);
 * assert.equal((proto.wrappedProtocol as Echo).connected, false);
 * proto.dataReceived(new TextEncoder().encode("PROXY TCP4 198.51.100.9 127.0.0.1 4000 80\r\nhi"));
 * assert.equal((proto.wrappedProtocol as Echo).connected, true);
 * assert.deepEqual(proto.getPeer(), { type: "TCP", host: "198.51.100.9", port: 4000 });
 * assert.equal(new TextDecoder().decode(transport.value()), "hi");
 * ```
 */
export class HAProxyProtocolWrapper extends ProtocolWrapper {
  /** The factory that built it. */
  declare factory: HAProxyWrappingFactory;
  /** The parsed header; null until it has arrived. */
  proxyInfo: ProxyInfo | null = null;
  #parser: V1Parser | V2Parser | null = null;
  #timer: IDelayedCall | undefined = undefined;
  #dropped = false;

  /**
   * Wraps `wrappedProtocol` for `factory`.
   *
   * @param factory The factory, with the header timeout and clock.
   * @param wrappedProtocol The protocol that gets the stream after the
   *   header.
   */
  constructor(factory: HAProxyWrappingFactory, wrappedProtocol: IProtocol) {
    super(factory, wrappedProtocol);
    const self = this as unknown as { readConnectionLost?: () => void };
    const passOn = self.readConnectionLost;
    if (isHalfCloseable(wrappedProtocol) && passOn !== undefined) {
      // The peer may half-close before the header is complete: that
      // connection is dropped, and the wrapped protocol hears nothing.
      self.readConnectionLost = () => {
        if (this.proxyInfo !== null) return passOn();
        this.#drop("the connection closed before the whole PROXY header");
      };
    }
  }

  /** "Wrapped (PROXY)". */
  override logPrefix(): string {
    return `${
      (this.wrappedProtocol as Partial<Protocol>).logPrefix?.() ??
        this.wrappedProtocol.constructor.name
    } (PROXY)`;
  }

  /**
   * Saves the real transport and registers with the factory; the wrapped
   * protocol is connected once the header has arrived.
   */
  override makeConnection(transport: ITransport): void {
    Protocol.prototype.makeConnection.call(this, transport);
    this.factory.registerProtocol(this);
    const timeout = this.factory.headerTimeout;
    if (timeout > 0) {
      this.#timer = this.factory.clock.callLater(timeout, () => {
        this.#timer = undefined;
        this.#drop(`no complete PROXY header within ${timeout} s`, true);
      });
    }
  }

  /** Parses the header, then passes everything after it on. */
  override dataReceived(data: Uint8Array): void {
    if (this.proxyInfo !== null) {
      this.wrappedProtocol.dataReceived(data);
      return;
    }
    if (this.#dropped || data.length === 0) return;
    let result;
    try {
      if (this.#parser === null) {
        if (data[0] === V1Parser.SIGNATURE[0]) this.#parser = new V1Parser();
        else if (data[0] === V2Parser.SIGNATURE[0]) {
          this.#parser = new V2Parser();
        } else {
          throw new InvalidProxyHeader(
            `the first byte is 0x${
              data[0].toString(16).padStart(2, "0")
            }, neither "P" (v1) nor 0x0d (v2)`,
          );
        }
      }
      result = this.#parser.feed(data);
    } catch (error) {
      if (!(error instanceof InvalidProxyHeader)) throw error;
      this.#drop(error.message);
      return;
    }
    if (result === null) return;
    this.#cancelTimer();
    this.#parser = null;
    this.proxyInfo = result.info;
    this.wrappedProtocol.makeConnection(this);
    if (result.rest.length > 0 && this.connected) {
      this.wrappedProtocol.dataReceived(result.rest);
    }
  }

  /** Tells the wrapped protocol, if it was connected. */
  override connectionLost(reason: Failure): void {
    this.connected = false;
    this.#cancelTimer();
    this.factory.unregisterProtocol(this);
    if (this.proxyInfo !== null) this.wrappedProtocol.connectionLost(reason);
  }

  /** The original client, or the real peer when the header names none. */
  override getPeer(): IAddress {
    return this.proxyInfo?.source ?? this.transport!.getPeer();
  }

  /**
   * Where the client connected to, or the real local address when the
   * header names none.
   */
  override getHost(): IAddress {
    return this.proxyInfo?.destination ?? this.transport!.getHost();
  }

  #cancelTimer(): void {
    if (this.#timer?.active()) this.#timer.cancel();
    this.#timer = undefined;
  }

  #drop(reason: string, abort = false): void {
    if (this.#dropped) return;
    this.#dropped = true;
    this.#cancelTimer();
    log.warn("Dropping the connection from {peer}: {reason}", {
      peer: describe(this.transport!.getPeer()),
      reason,
    });
    if (abort) this.transport!.abortConnection();
    else this.transport!.loseConnection();
  }
}

/**
 * Wraps a factory so that its protocols serve connections that begin with
 * a PROXY protocol header, v1 or v2 (see
 * {@linkcode HAProxyProtocolWrapper}); as Twisted's
 * `HAProxyWrappingFactory`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Echo, Factory, HAProxyWrappingFactory } from "@twisted-deno/core/protocols";
 *
 * const factory = new HAProxyWrappingFactory(Factory.forProtocol(Echo), { headerTimeout: 5 });
 * assert.equal(factory.headerTimeout, 5);
 * assert.equal(factory.logPrefix(), "Factory (PROXY)");
 * ```
 */
export class HAProxyWrappingFactory extends WrappingFactory {
  /** Seconds allowed for the header (0: no limit). */
  readonly headerTimeout: number;
  /** The clock for the header timeout. */
  readonly clock: IReactorTime;

  /**
   * Wraps `wrappedFactory`.
   *
   * @param wrappedFactory The factory whose protocols serve the streams.
   * @param options The header timeout and its clock.
   * @throws {RangeError} For a negative or non-numeric header timeout.
   */
  constructor(wrappedFactory: IProtocolFactory, options: HAProxyOptions = {}) {
    super(wrappedFactory);
    const timeout = options.headerTimeout ?? 10;
    if (typeof timeout !== "number" || !(timeout >= 0)) {
      throw new RangeError(
        `Cannot wrap a factory for the PROXY protocol: headerTimeout ${
          String(timeout)
        } is not a number of seconds >= 0`,
      );
    }
    this.headerTimeout = timeout;
    this.clock = options.clock ?? globalClock;
  }

  /** "Wrapped (PROXY)". */
  override logPrefix(): string {
    const wrapped = this.wrappedFactory as { logPrefix?: () => string };
    return `${
      typeof wrapped.logPrefix === "function"
        ? wrapped.logPrefix()
        : this.wrappedFactory.constructor.name
    } (PROXY)`;
  }

  /** An {@linkcode HAProxyProtocolWrapper} around `wrapped`. */
  override wrapProtocol(wrapped: IProtocol): HAProxyProtocolWrapper {
    return new HAProxyProtocolWrapper(this, wrapped);
  }
}
