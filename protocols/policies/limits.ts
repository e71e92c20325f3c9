/**
 * Connection caps: {@linkcode LimitConnectionsByPeer} (at most N per peer
 * host) and {@linkcode LimitTotalConnectionsFactory} (at most N in all,
 * with an optional protocol that answers the ones over the limit), as in
 * Twisted's `policies` module.
 *
 * @module
 */

import type { IAddress, IProtocolFactory } from "../../reactor/interfaces.ts";
import { hostOf, noProtocolClass } from "../_helpers.ts";
import { type ProtocolClass, ServerFactory } from "../protocol.ts";
import {
  type IWrappingFactory,
  ProtocolWrapper,
  WrappingFactory,
} from "./wrapper.ts";

/**
 * Allows at most `maxConnectionsPerPeer` simultaneous connections from
 * each peer host (the peer's address, or the socket path for UNIX
 * sockets); more are refused. Unlike Twisted's, it needs no
 * `startFactory()` first, and counts a connection off by the host it was
 * counted under.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Failure } from "@twisted-deno/core/deferred";
 * import { Echo, Factory, LimitConnectionsByPeer } from "@twisted-deno/core/protocols";
 * import { ConnectionDone } from "@twisted-deno/core/reactor";
 * import { StringTransport } from "@twisted-deno/core/testing";
 *
 * const factory = new LimitConnectionsByPeer(Factory.forProtocol(Echo));
 * factory.maxConnectionsPerPeer = 1;
 * const from = (host: string) => ({ type: "TCP" as const, host, port: 40000 });
 * const first = factory.buildProtocol(from("10.0.0.1"))!;
 * first.makeConnection(new StringTransport());
 * assert.equal(factory.buildProtocol(from("10.0.0.1")), null);
 * assert.notEqual(factory.buildProtocol(from("10.0.0.2")), null);
 * first.connectionLost(new Failure(new ConnectionDone()));
 * assert.notEqual(factory.buildProtocol(from("10.0.0.1")), null);
 * ```
 */
export class LimitConnectionsByPeer extends WrappingFactory {
  /** The most connections from one host. */
  maxConnectionsPerPeer = 5;
  /** Connections counted per peer host. */
  readonly peerConnections: Map<string, number> = new Map();
  #hostOf = new WeakMap<ProtocolWrapper, string>();

  /** A wrapped protocol, or null when `addr`'s host is at its limit. */
  override buildProtocol(addr: IAddress): ProtocolWrapper | null {
    const host = hostOf(addr);
    const count = this.peerConnections.get(host) ?? 0;
    if (count >= this.maxConnectionsPerPeer) return null;
    const proto = super.buildProtocol(addr);
    if (proto === null) return null;
    this.peerConnections.set(host, count + 1);
    this.#hostOf.set(proto, host);
    return proto;
  }

  /** Counts the connection off its host. */
  override unregisterProtocol(protocol: ProtocolWrapper): void {
    super.unregisterProtocol(protocol);
    const host = this.#hostOf.get(protocol);
    if (host === undefined) return;
    this.#hostOf.delete(protocol);
    const left = (this.peerConnections.get(host) ?? 1) - 1;
    if (left > 0) this.peerConnections.set(host, left);
    else this.peerConnections.delete(host);
  }
}

/**
 * A server factory that allows at most `connectionLimit` simultaneous
 * connections (unlimited when undefined). Over the limit, a connection
 * gets an `overflowProtocol` if one is set (it counts too), or is refused.
 * Set `protocol` as for any factory.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LimitTotalConnectionsFactory, Protocol } from "@twisted-deno/core/protocols";
 * import { StringTransport } from "@twisted-deno/core/testing";
 *
 * class Busy extends Protocol {
 *   override connectionMade(): void {
 *     this.transport.write("busy, try later\r\n");
 *     this.transport.loseConnection();
 *   }
 * }
 * const factory = LimitTotalConnectionsFactory.forProtocol(Protocol);
 * factory.connectionLimit = 1;
 * const addr = { type: "TCP" as const, host: "127.0.0.1", port: 1 };
 * factory.buildProtocol(addr)!.makeConnection(new StringTransport());
 * assert.equal(factory.buildProtocol(addr), null);
 * factory.overflowProtocol = Busy;
 * const transport = new StringTransport();
 * factory.buildProtocol(addr)!.makeConnection(transport);
 * assert.equal(new TextDecoder().decode(transport.value()), "busy, try later\r\n");
 * assert.equal(factory.connectionCount, 2);
 * ```
 */
export class LimitTotalConnectionsFactory extends ServerFactory
  implements IWrappingFactory {
  /** Current connections (overflow ones included). */
  connectionCount = 0;
  /** The most connections served by `protocol`; undefined for no limit. */
  connectionLimit: number | undefined = undefined;
  /** Serves connections over the limit; undefined to refuse them. */
  overflowProtocol: ProtocolClass | undefined = undefined;

  /** A wrapped `protocol` (or `overflowProtocol`) instance, or null. */
  override buildProtocol(_addr: IAddress): ProtocolWrapper | null {
    let Cls: ProtocolClass | undefined;
    if (
      this.connectionLimit === undefined ||
      this.connectionCount < this.connectionLimit
    ) {
      Cls = this.protocol;
      if (Cls === undefined) {
        throw noProtocolClass(this.logPrefix());
      }
    } else if (this.overflowProtocol === undefined) {
      return null;
    } else {
      Cls = this.overflowProtocol;
    }
    const wrapped = new Cls();
    (wrapped as { factory?: IProtocolFactory }).factory = this;
    this.connectionCount++;
    return new ProtocolWrapper(this, wrapped);
  }

  /** Nothing to do: counted when built. */
  registerProtocol(_protocol: ProtocolWrapper): void {}

  /** Counts a connection off. */
  unregisterProtocol(_protocol: ProtocolWrapper): void {
    this.connectionCount = Math.max(0, this.connectionCount - 1);
  }
}
