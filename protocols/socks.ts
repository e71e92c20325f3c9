/**
 * A SOCKS v4 and v4a proxy server, as Twisted's `twisted.protocols.socks`:
 * {@linkcode SOCKSv4Factory} serves {@linkcode SOCKSv4}, which reads one
 * request, connects (or listens) on the client's behalf, answers with
 * "granted" (90, `0x5A`) or "rejected" (91, `0x5B`), and then relays bytes
 * both ways until either side closes.
 *
 * A request is `VN=4, CD, DSTPORT (2), DSTIP (4), USERID, NUL`; in v4a the
 * address is `0.0.0.x` (x ≠ 0) and a host name and NUL follow the user id.
 * Unlike Twisted, the parser is bounded: a user id over
 * `MAX_USERID_LENGTH` bytes or a host name over `MAX_HOSTNAME_LENGTH` is
 * rejected instead of buffered without end, and a version other than 4
 * closes the connection without a reply (the client speaks another
 * protocol, such as SOCKS 5). The relay registers each side as the
 * other's producer, so a slow reader pauses the fast writer.
 *
 * The server connects outward through an `IReactorTCP`, given to the
 * constructor; v4a host names are handed to `connectTCP`, which resolves
 * them (an unresolvable name is rejected like a refused connection).
 *
 * @module
 */

import type { Failure } from "../deferred/failure.ts";
import { Logger } from "../log/mod.ts";
import { getGlobalReactor } from "../reactor/global.ts";
import type {
  IAddress,
  IConnector,
  IListeningPort,
  IReactorTCP,
  ITransport,
} from "../reactor/interfaces.ts";
import { ClientFactory, Factory, Protocol } from "./protocol.ts";

const log = new Logger("protocols.socks");

/**
 * The reply code for a granted request (90).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SOCKS_GRANTED } from "@twisted-deno/core/protocols";
 *
 * assert.equal(SOCKS_GRANTED, 90);
 * ```
 */
export const SOCKS_GRANTED = 0x5a;
/**
 * The reply code for a rejected or failed request (91).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SOCKS_REJECTED } from "@twisted-deno/core/protocols";
 *
 * assert.equal(SOCKS_REJECTED, 91);
 * ```
 */
export const SOCKS_REJECTED = 0x5b;

/**
 * What a SOCKS server needs of a reactor: connecting out, and BIND's
 * listening.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { SOCKSReactor } from "@twisted-deno/core/protocols";
 * import { MemoryReactor } from "@twisted-deno/core/testing";
 *
 * const reactor: SOCKSReactor = new MemoryReactor();
 * assert.equal(typeof reactor.connectTCP, "function");
 * ```
 */
export type SOCKSReactor = Pick<IReactorTCP, "connectTCP" | "listenTCP">;

const CONNECT = 1;
const BIND = 2;
const HEADER = 8;

function requireReactor(what: string, reactor: SOCKSReactor | undefined) {
  if (
    typeof reactor?.connectTCP !== "function" ||
    typeof reactor?.listenTCP !== "function"
  ) {
    throw new TypeError(
      `Cannot make ${what}: the reactor given has no connectTCP/listenTCP; pass an IReactorTCP as the second argument`,
    );
  }
  return reactor;
}

function isIPv4(host: string): boolean {
  const parts = host.split(".");
  return parts.length === 4 &&
    parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255);
}

/** How a relay and the factories report back to their SOCKS connection. */
interface RelayOwner {
  /** The relay connected (to the destination, or from BIND's peer). */
  made(relay: SOCKSv4Relay, onConnect: boolean): void;
  /** CONNECT could not connect. */
  failed(reason: Failure): void;
  /** BIND's connection came from another host. */
  refused(host: string, expected: string): void;
  /** The relay's connection closed. */
  lost(relay: SOCKSv4Relay): void;
  /** Bytes from the destination, for the client. */
  write(data: Uint8Array): void;
  /** Logs bytes going to the destination. */
  log(relay: SOCKSv4Relay, data: Uint8Array): void;
}

/**
 * One side of a relay: the connection to the destination (CONNECT) or
 * from it (BIND). Not exported: {@linkcode SOCKSv4} makes them.
 */
class SOCKSv4Relay extends Protocol {
  constructor(readonly owner: RelayOwner, readonly onConnect: boolean) {
    super();
  }

  override connectionMade(): void {
    this.owner.made(this, this.onConnect);
  }

  override dataReceived(data: Uint8Array): void {
    this.owner.write(data);
  }

  override connectionLost(_reason: Failure): void {
    this.owner.lost(this);
  }

  /** Sends `data` to the destination. */
  write(data: Uint8Array): void {
    this.owner.log(this, data);
    this.transport?.write(data);
  }
}

/** Reports a CONNECT attempt's failure back to the SOCKS connection. */
class OutgoingFactory extends ClientFactory {
  override noisy = false;
  constructor(readonly owner: RelayOwner) {
    super();
  }
  override buildProtocol(_addr: IAddress): SOCKSv4Relay {
    return new SOCKSv4Relay(this.owner, true);
  }
  override clientConnectionFailed(_c: IConnector, reason: Failure): void {
    this.owner.failed(reason);
  }
}

/** Accepts BIND's one incoming connection, from the expected host only. */
class IncomingFactory extends Factory {
  override noisy = false;
  #expected: string;
  constructor(readonly owner: RelayOwner, expected: string) {
    super();
    this.#expected = expected;
  }
  override buildProtocol(addr: IAddress): SOCKSv4Relay | null {
    const expected = this.#expected;
    this.#expected = ""; // one connection per BIND, as in Twisted
    if (expected === "") return null;
    const host = addr.type === "UNIX" ? addr.name : addr.host;
    if (host !== expected) {
      this.owner.refused(host, expected);
      return null;
    }
    return new SOCKSv4Relay(this.owner, false);
  }
}

/**
 * One SOCKS v4/v4a client connection (Twisted's `SOCKSv4`).
 *
 * Override `authorize` to decide who may go where. `makeReply` writes the
 * 8-byte reply (and closes after a rejection). CONNECT replies after the
 * outgoing connection is up, with its address; BIND listens on a free port
 * of the address the client reached this server on, replies with it, then
 * replies again when the host named in the request connects (a connection
 * from any other host is rejected) and relays that connection.
 *
 * @example A CONNECT, driven without sockets
 * ```ts
 * import assert from "node:assert/strict";
 * import { SOCKSv4 } from "@twisted-deno/core/protocols";
 * import { MemoryReactor, StringTransport } from "@twisted-deno/core/testing";
 *
 * const reactor = new MemoryReactor();
 * const socks = new SOCKSv4(null, reactor);
 * const client = new StringTransport();
 * socks.makeConnection(client);
 * // CONNECT 127.0.0.1:8080, user "me"
 * socks.dataReceived(new Uint8Array([4, 1, 0x1f, 0x90, 127, 0, 0, 1, 0x6d, 0x65, 0]));
 * const { host, port, factory } = reactor.tcpClients[0];
 * assert.deepEqual([host, port], ["127.0.0.1", 8080]);
 * // The destination answers: the client is told, then bytes flow.
 * const dest = new StringTransport({ peerAddress: { type: "TCP", host: "127.0.0.1", port: 8080 } });
 * factory.buildProtocol({ type: "TCP", host: "127.0.0.1", port: 8080 })!.makeConnection(dest);
 * assert.deepEqual([...client.value()], [0, 0x5a, 0x1f, 0x90, 127, 0, 0, 1]);
 * socks.dataReceived(new TextEncoder().encode("GET /"));
 * assert.equal(new TextDecoder().decode(dest.value()), "GET /");
 * ```
 */
export class SOCKSv4 extends Protocol {
  /** The longest user id accepted, in bytes. */
  MAX_USERID_LENGTH = 255;
  /** The longest v4a host name accepted, in bytes. */
  MAX_HOSTNAME_LENGTH = 255;
  /** A file to append a hex dump of relayed data to, or null. */
  readonly logging: string | null;
  /** Connects (and listens, for BIND) on the client's behalf. */
  readonly reactor: SOCKSReactor;
  #relay: SOCKSv4Relay | undefined;

  #request = new Uint8Array(HEADER + 2 * 256);
  #length = 0;
  #scan = HEADER;
  #userEnd = -1;
  #state: "request" | "waiting" | "relaying" | "done" = "request";
  #early: Uint8Array[] = [];
  #connector: IConnector | undefined;
  #bindPort: IListeningPort | undefined;

  #owner: RelayOwner = {
    made: (relay, onConnect) => this.#relayMade(relay, onConnect),
    failed: (reason) => this.#connectFailed(reason),
    refused: (host, expected) => this.#bindRefused(host, expected),
    lost: (relay) => this.#relayLost(relay),
    write: (data) => this.write(data),
    log: (relay, data) => this.log(relay, data),
  };

  /**
   * Makes the protocol.
   *
   * @param logging A file to append relayed data to (hex dump), or null.
   * @param reactor Connects on the client's behalf (the global reactor by
   *   default).
   * @throws {TypeError} When no reactor is given.
   */
  constructor(logging: string | null = null, reactor?: SOCKSReactor) {
    super();
    this.logging = logging;
    this.reactor = requireReactor("SOCKSv4", reactor ?? getGlobalReactor());
  }

  /** Parses the request, or relays once connected. */
  override dataReceived(data: Uint8Array): void {
    if (this.#state === "relaying") return this.#relay!.write(data);
    if (this.#state === "waiting") {
      this.#early.push(data); // forwarded once connected
      return;
    }
    if (this.#state === "done" || data.length === 0) return;
    const request = this.#request;
    const room = request.length - this.#length;
    const taken = Math.min(room, data.length);
    request.set(data.subarray(0, taken), this.#length);
    this.#length += taken;
    if (request[0] !== 4) {
      log.info("Closing a SOCKS connection: version {version} is not 4", {
        version: request[0],
      });
      this.#state = "done";
      this.transport?.loseConnection();
      return;
    }
    if (this.#length < HEADER) return;
    if (this.#userEnd < 0) {
      this.#userEnd = this.#findNul(HEADER, this.MAX_USERID_LENGTH, "user id");
      if (this.#userEnd < 0) return;
    }
    const userEnd = this.#userEnd;
    const user = new TextDecoder().decode(request.subarray(HEADER, userEnd));
    const code = request[1];
    const port = (request[2] << 8) | request[3];
    let server = request.subarray(4, HEADER).join(".");
    let end = userEnd + 1;
    if (
      request[4] === 0 && request[5] === 0 && request[6] === 0 && request[7]
    ) {
      // 0.0.0.x: SOCKS 4a, a host name follows the user id.
      const hostEnd = this.#findNul(end, this.MAX_HOSTNAME_LENGTH, "host name");
      if (hostEnd < 0) return;
      server = new TextDecoder().decode(request.subarray(end, hostEnd));
      end = hostEnd + 1;
      if (server === "") return this.#reject("the v4a host name is empty");
    }
    // Bytes after the request (taken from this chunk or not) come later.
    const extra = request.slice(end, this.#length);
    if (extra.length > 0) this.#early.push(extra);
    if (taken < data.length) this.#early.push(data.subarray(taken));
    this.#state = "waiting";
    this.transport?.pauseProducing(); // until the other side is up
    this.#request = new Uint8Array(0);
    this.#start(code, server, port, user);
  }

  /**
   * The index of the NUL ending a field that starts at `from`, or -1 when
   * it has not arrived (or was too long, which rejects the request).
   */
  #findNul(from: number, max: number, what: string): number {
    const request = this.#request;
    for (let i = Math.max(from, this.#scan); i < this.#length; i++) {
      if (request[i] === 0) {
        this.#scan = i + 1;
        return i;
      }
      if (i - from >= max) {
        this.#reject(`the ${what} is over ${max} bytes`);
        return -1;
      }
    }
    this.#scan = this.#length;
    return -1;
  }

  #reject(why: string): void {
    log.info("Rejecting a SOCKS request: {why}", { why });
    this.makeReply(SOCKS_REJECTED);
  }

  #start(code: number, server: string, port: number, user: string): void {
    if (code !== CONNECT && code !== BIND) {
      return this.#reject(
        `command ${code} is neither CONNECT (1) nor BIND (2)`,
      );
    }
    if (!this.authorize(code, server, port, user)) {
      return this.#reject(`${server}:${port} is not authorized for ${user}`);
    }
    if (code === CONNECT) {
      try {
        this.#connector = this.reactor.connectTCP(
          server,
          port,
          new OutgoingFactory(this.#owner),
        );
      } catch (error) {
        this.#reject(`cannot connect to ${server}:${port}: ${error}`);
      }
      return;
    }
    if (!isIPv4(server)) {
      return this.#reject(`BIND names host ${server}, not an IPv4 address`);
    }
    const host = this.transport?.getHost();
    const iface = host?.type === "TCP" ? host.host : "127.0.0.1";
    try {
      this.#bindPort = this.reactor.listenTCP(
        0,
        new IncomingFactory(this.#owner, server),
        { interface: iface },
      );
    } catch (error) {
      return this.#reject(`cannot listen for BIND: ${error}`);
    }
    const bound = this.#bindPort.getHost();
    if (bound.type !== "TCP") return this.#reject("BIND did not listen on TCP");
    this.makeReply(SOCKS_GRANTED, 0, bound.port, bound.host);
  }

  /**
   * Whether `user` may reach `server:port` with command `code` (1 CONNECT,
   * 2 BIND). `server` is a dotted quad, or the v4a host name. Logs and
   * allows everything by default, as Twisted.
   */
  authorize(code: number, server: string, port: number, user: string): boolean {
    log.info(
      "code {code} connection to {server}:{port} (user {user}) authorized",
      {
        code,
        server,
        port,
        user,
      },
    );
    return true;
  }

  /**
   * Writes the 8-byte reply: version 0, `reply`, `port`, `ip` (a dotted
   * quad; anything else is sent as 0.0.0.0). Anything but a grant closes
   * the connection.
   */
  makeReply(reply: number, version = 0, port = 0, ip = "0.0.0.0"): void {
    const quad = isIPv4(ip) ? ip.split(".").map(Number) : [0, 0, 0, 0];
    this.transport?.write(
      new Uint8Array([version, reply, port >> 8, port & 0xff, ...quad]),
    );
    if (reply !== SOCKS_GRANTED) {
      this.#state = "done";
      this.#stopWaiting();
      this.transport?.loseConnection();
    }
  }

  /** The connection to the destination, once it is up (Twisted's name). */
  get otherConn(): Protocol | undefined {
    return this.#relay;
  }

  /** A relay connected: reply, link the two, forward early bytes. */
  #relayMade(relay: SOCKSv4Relay, onConnect: boolean): void {
    const transport = this.transport;
    if (this.#state !== "waiting" || transport === undefined) {
      relay.transport?.loseConnection();
      return;
    }
    this.#connector = undefined;
    if (!onConnect) {
      this.#bindPort?.stopListening();
      this.#bindPort = undefined;
    }
    const peer = relay.transport!.getPeer();
    const [host, port] = peer.type === "TCP" ? [peer.host, peer.port] : ["", 0];
    this.makeReply(SOCKS_GRANTED, 0, port, host);
    this.#relay = relay;
    this.#state = "relaying";
    // Each side pauses the other when its write buffer fills.
    relay.transport!.registerProducer(transport, true);
    transport.registerProducer(relay.transport!, true);
    const early = this.#early;
    this.#early = [];
    for (const data of early) relay.write(data);
    transport.resumeProducing();
  }

  #connectFailed(reason: Failure): void {
    this.#connector = undefined;
    if (this.#state !== "waiting") return;
    this.#reject(`cannot connect: ${reason.getErrorMessage()}`);
  }

  #bindRefused(host: string, expected: string): void {
    if (this.#state !== "waiting") return;
    this.#reject(`BIND expected a connection from ${expected}, got ${host}`);
  }

  /** The destination closed: close the client's side. */
  #relayLost(relay: SOCKSv4Relay): void {
    if (this.#relay !== relay) return;
    this.#relay = undefined;
    this.#state = "done";
    unlink(this.transport, relay.transport);
  }

  /** Writes `data` (from the destination) to the client. */
  write(data: Uint8Array): void {
    this.log(this, data);
    this.transport?.write(data);
  }

  /** Closes the destination side when the client goes. */
  override connectionLost(_reason: Failure): void {
    this.#state = "done";
    this.#early = [];
    this.#stopWaiting();
    const other = this.#relay;
    this.#relay = undefined;
    if (other !== undefined) unlink(other.transport, this.transport);
  }

  #stopWaiting(): void {
    this.#connector?.disconnect();
    this.#connector = undefined;
    this.#bindPort?.stopListening();
    this.#bindPort = undefined;
  }

  /**
   * Appends a hex dump of `data` to the `logging` file, if any: one
   * header line (`>` client to destination, `<` back), 16 bytes a line.
   */
  log(proto: Protocol, data: Uint8Array): void {
    if (!this.logging) return;
    const peer = describe(this.transport?.getPeer());
    const their = describe(this.#relay?.transport?.getPeer());
    const arrow = proto === this ? "<" : ">";
    let text = `${new Date().toISOString()}\t${peer} ${arrow} ${their}\n`;
    for (let i = 0; i < data.length; i += 16) {
      const row = data.subarray(i, i + 16);
      const hex = [...row].map((b) => b.toString(16).padStart(2, "0"));
      const chars = [...row].map((b) =>
        b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : "."
      );
      text += `${hex.join(" ").padEnd(48)} ${chars.join("")}\n`;
    }
    Deno.writeTextFileSync(this.logging, text + "\n", { append: true });
  }
}

function describe(addr: IAddress | undefined): string {
  if (addr === undefined) return "?";
  return addr.type === "UNIX" ? addr.name : `${addr.host}:${addr.port}`;
}

/** `lost` closed: detach the producers and close `other` once flushed. */
function unlink(
  other: ITransport | undefined,
  lost: ITransport | undefined,
): void {
  if (other === undefined) return;
  try {
    other.unregisterProducer();
    lost?.unregisterProducer();
  } catch { /* not linked yet: nothing to detach */ }
  other.loseConnection();
}

/**
 * Serves {@linkcode SOCKSv4} (Twisted's `SOCKSv4Factory`).
 *
 * @example Listen with the reactor
 * ```ts ignore
 * import { reactor } from "@twisted-deno/core/reactor";
 * import { SOCKSv4Factory } from "@twisted-deno/core/protocols";
 *
 * reactor.listenTCP(1080, new SOCKSv4Factory(null, reactor), { interface: "127.0.0.1" });
 * // curl --socks4a 127.0.0.1:1080 http://example.com/
 * ```
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { SOCKSv4, SOCKSv4Factory } from "@twisted-deno/core/protocols";
 * import { MemoryReactor } from "@twisted-deno/core/testing";
 *
 * const factory = new SOCKSv4Factory(null, new MemoryReactor());
 * const proto = factory.buildProtocol({ type: "TCP", host: "127.0.0.1", port: 5000 });
 * assert.ok(proto instanceof SOCKSv4);
 * ```
 */
export class SOCKSv4Factory extends Factory {
  /** A file to append relayed data to, or null. */
  readonly logging: string | null;
  /** The reactor each connection connects with. */
  readonly reactor: SOCKSReactor;

  /**
   * Makes the factory.
   *
   * @param logging A file to append a hex dump of relayed data to, or null.
   * @param reactor Connects on the clients' behalf (the global reactor by
   *   default).
   * @throws {TypeError} When no reactor is given.
   */
  constructor(logging: string | null = null, reactor?: SOCKSReactor) {
    super();
    this.logging = logging;
    this.reactor = requireReactor(
      "SOCKSv4Factory",
      reactor ?? getGlobalReactor(),
    );
  }

  /** A {@linkcode SOCKSv4} for each connection. */
  override buildProtocol(_addr: IAddress): SOCKSv4 {
    const proto = new SOCKSv4(this.logging, this.reactor);
    proto.factory = this;
    return proto;
  }
}
