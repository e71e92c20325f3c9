/**
 * {@linkcode AccumulatingProtocol}: a protocol that only remembers what
 * happened to it (connected, bytes received, closed and why), and its
 * {@linkcode AccumulatingFactory}, for testing transports, loopbacks and
 * anything else that drives a protocol.
 *
 * @module
 */

import type { Deferred } from "../deferred/deferred.ts";
import type { Failure } from "../deferred/failure.ts";
import { Factory, Protocol } from "../protocols/protocol.ts";

/**
 * Records its connection's events: `made`, `data` (every byte received,
 * in order), `closed` and `closedReason`. Deferreds, when set, fire as the
 * events happen, once each:
 * - `madeDeferred` (on the protocol) and the factory's
 *   `protocolConnectionMade` fire with the protocol on `connectionMade`;
 * - `closedDeferred` (on the protocol) and the factory's
 *   `protocolConnectionLost` fire with the protocol on `connectionLost`
 *   (the reason is in `closedReason`: a Deferred fired with a Failure
 *   would take its errback path).
 *
 * The factory Deferreds are taken (reset to undefined) by the first
 * protocol that fires them, as in Twisted, so a test sets a fresh one per
 * connection it waits for.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { AccumulatingProtocol, StringTransportWithDisconnection } from "@twisted-deno/core/testing";
 *
 * const proto = new AccumulatingProtocol();
 * const transport = new StringTransportWithDisconnection({ protocol: proto });
 * proto.makeConnection(transport);
 * proto.dataReceived(new TextEncoder().encode("ab"));
 * proto.dataReceived(new TextEncoder().encode("c"));
 * transport.loseConnection();
 * assert.equal(proto.made, true);
 * assert.equal(new TextDecoder().decode(proto.data), "abc");
 * assert.equal(proto.closed, true);
 * assert.equal(proto.closedReason?.getErrorMessage(), "Connection was closed cleanly");
 * ```
 */
export class AccumulatingProtocol extends Protocol {
  /** Whether `connectionMade` was called. */
  made = false;
  /** Whether `connectionLost` was called. */
  closed = false;
  /** The reason given to `connectionLost`. */
  closedReason: Failure | undefined = undefined;
  /** Fired with this protocol on `connectionMade`, then cleared. */
  madeDeferred: Deferred<AccumulatingProtocol> | undefined = undefined;
  /** Fired with this protocol on `connectionLost`, then cleared. */
  closedDeferred: Deferred<AccumulatingProtocol> | undefined = undefined;
  #chunks: Uint8Array[] = [];
  #length = 0;
  #data: Uint8Array | undefined = new Uint8Array(0);

  /** Every byte received so far, in one array. */
  get data(): Uint8Array {
    if (this.#data === undefined) {
      const all = new Uint8Array(this.#length);
      let at = 0;
      for (const chunk of this.#chunks) {
        all.set(chunk, at);
        at += chunk.length;
      }
      this.#chunks = [all];
      this.#data = all;
    }
    return this.#data;
  }

  /** Sets `made` and fires the "made" Deferreds. */
  override connectionMade(): void {
    this.made = true;
    const own = this.madeDeferred;
    this.madeDeferred = undefined;
    own?.callback(this);
    const factory = this.factory;
    if (factory instanceof AccumulatingFactory) {
      const d = factory.protocolConnectionMade;
      factory.protocolConnectionMade = undefined;
      d?.callback(this);
    }
  }

  /** Appends `data` to `data`. */
  override dataReceived(data: Uint8Array): void {
    this.#chunks.push(data);
    this.#length += data.length;
    this.#data = undefined;
  }

  /** Sets `closed` and `closedReason` and fires the "closed" Deferreds. */
  override connectionLost(reason: Failure): void {
    this.closed = true;
    this.closedReason = reason;
    const own = this.closedDeferred;
    this.closedDeferred = undefined;
    own?.callback(this);
    const factory = this.factory;
    if (factory instanceof AccumulatingFactory) {
      const d = factory.protocolConnectionLost;
      factory.protocolConnectionLost = undefined;
      d?.callback(this);
    }
  }
}

/**
 * Builds {@linkcode AccumulatingProtocol}s and remembers them in
 * `protocols`; set `protocolConnectionMade` or `protocolConnectionLost` to
 * a Deferred to wait for the next connection's event.
 *
 * @example Wait for a connection
 * ```ts
 * import assert from "node:assert/strict";
 * import { Deferred } from "@twisted-deno/core/deferred";
 * import { AccumulatingFactory, AccumulatingProtocol, StringTransport } from "@twisted-deno/core/testing";
 *
 * const factory = new AccumulatingFactory();
 * const made = new Deferred<AccumulatingProtocol>();
 * factory.protocolConnectionMade = made;
 * const proto = factory.buildProtocol({ type: "TCP", host: "127.0.0.1", port: 1 });
 * proto.makeConnection(new StringTransport());
 * let seen: AccumulatingProtocol | undefined;
 * made.addCallback((p) => { seen = p; });
 * assert.equal(seen, proto);
 * assert.deepEqual(factory.protocols, [proto]);
 * ```
 */
export class AccumulatingFactory extends Factory {
  /** Fired with the next protocol whose connection is made. */
  protocolConnectionMade: Deferred<AccumulatingProtocol> | undefined =
    undefined;
  /** Fired with the protocol whose connection is lost next. */
  protocolConnectionLost: Deferred<AccumulatingProtocol> | undefined =
    undefined;
  /** Every protocol built, in order. */
  readonly protocols: AccumulatingProtocol[] = [];

  constructor() {
    super();
    this.protocol = AccumulatingProtocol;
  }

  /** Builds an {@linkcode AccumulatingProtocol} (or `protocol`'s class). */
  override buildProtocol(
    addr: Parameters<Factory["buildProtocol"]>[0],
  ): AccumulatingProtocol {
    const proto = super.buildProtocol(addr) as AccumulatingProtocol;
    this.protocols.push(proto);
    return proto;
  }
}
