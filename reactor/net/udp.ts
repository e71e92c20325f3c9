/**
 * UDP ports on `Deno.listenDatagram`: {@linkcode UDPPort} is both the
 * listening port `listenUDP` returns and the datagram transport its
 * protocol writes to, as in Twisted.
 *
 * What Deno 2.9 does, measured on Linux, and what this module makes of it:
 *
 * - **Oversized datagrams are cut, and that is logged.**
 *   `DatagramConn.receive(buffer)` silently cuts a datagram longer than
 *   `buffer` (it does not expose `MSG_TRUNC`). So every receive here gets a
 *   window one byte larger than `maxPacketSize`: a datagram that fills it
 *   was longer. Datagrams up to `maxPacketSize` arrive whole (ask for up to
 *   65 535), and a longer one is delivered cut to
 *   `maxPacketSize` bytes (as Twisted's `recvfrom(maxPacketSize)` does)
 *   with a warning naming `maxPacketSize`, logged once per port.
 * - **It needs `--unstable-net`.** `Deno.listenDatagram` exists only with
 *   the flag or `"unstable": ["net"]` in deno.json (the package's own
 *   deno.json has it, a script of yours may not): without it,
 *   `startListening()` throws a {@linkcode UDPUnavailableError} saying so.
 * - **ICMP "port unreachable" is never reported.** `DatagramConn` has no
 *   `connect()`, so the socket stays unconnected at the OS level, and Linux
 *   reports ICMP errors only on connected sockets: a `send` to a closed
 *   loopback port resolves normally and the next `receive` sees nothing.
 *   (Deno's `node:dgram` `connect()` is emulated the same way and reports no
 *   `ECONNREFUSED` either, where Node's does.) `connect(host, port)` here is
 *   therefore a filter plus a default destination; `connectionRefused()` is
 *   called only if a `send` or `receive` ever rejects with
 *   `Deno.errors.ConnectionRefused`, which Deno 2.9 on Linux does not do.
 * - **Concurrent sends are reordered.** Several `send()` calls in flight at
 *   once went out in reverse order, so writes are queued and sent one at a
 *   time, preserving order.
 * - **No broadcast switch.** Deno has no `SO_BROADCAST` setting, so there is
 *   no `setBroadcastAllowed`.
 * - **Multicast options live on memberships.** Deno sets the multicast TTL
 *   and loopback flag through the object `joinMulticastV4` returns, so
 *   `setTTL`/`setLoopbackMode` apply to the current memberships, and are
 *   remembered and applied at the next `joinGroup` when there is none. IPv6
 *   memberships have no TTL setting in Deno.
 *
 * @module
 */

import { Deferred } from "../../deferred/deferred.ts";
import { Failure } from "../../deferred/failure.ts";
import { Logger } from "../../log/mod.ts";
import { CannotListenError } from "../errors.ts";
import {
  InvalidAddressError,
  MessageLengthError,
  MulticastJoinError,
  UDPUnavailableError,
} from "./udp_errors.ts";
import {
  canonicalIPv6,
  checkPort,
  IPV4,
  MAX_IPV4_PAYLOAD,
  MAX_IPV6_PAYLOAD,
} from "./_udp_addresses.ts";
import type {
  DatagramDestination,
  IAddress,
  IDatagramProtocol,
  IListeningPort,
  IReactorResources,
  IUDPTransport,
  ListenUDPOptions,
  ReactorResource,
  UDPAddress,
} from "../interfaces.ts";

const log = new Logger("reactor.udp");
const encoder = new TextEncoder();

/**
 * The smallest receive slab (see `UDPPort`'s read loop); it holds at least
 * four receive windows. A window is only `maxPacketSize + 1` bytes: Deno
 * fills (and copies) the whole window per receive, so a 64 KiB one for
 * every 64-byte datagram cost 7% of UDP echo throughput.
 */
const SLAB_SIZE = 64 * 1024;

/**
 * A UDP transport that can join multicast groups. {@linkcode UDPPort}
 * implements it; the membership options are Deno's (see the module doc).
 */
export interface IMulticastTransport extends IUDPTransport {
  /**
   * Joins the group `addr` on `iface` (an IPv4 interface address, `""` for
   * any; for an IPv6 group, the interface index as a string).
   */
  joinGroup(addr: string, iface?: string): Deferred<void>;
  /** Leaves a group joined with `joinGroup`. */
  leaveGroup(addr: string, iface?: string): Deferred<void>;
  /** Sets the TTL of outgoing IPv4 multicast datagrams. */
  setTTL(ttl: number): Deferred<void>;
  /** The TTL last set (1, the OS default, until then). */
  getTTL(): number;
  /** Whether this host's own multicast datagrams are looped back to it. */
  setLoopbackMode(mode: boolean): Deferred<void>;
  /** The loopback mode last set (false, Deno's default, until then). */
  getLoopbackMode(): boolean;
}

/** Options of {@linkcode UDPPort}. */
export interface UDPPortOptions extends ListenUDPOptions {
  /** Where to register the port so that shutdown stops it. */
  reactor?: IReactorResources;
  /** Let other sockets bind the same address (`SO_REUSEADDR`), for multicast. */
  reuseAddress?: boolean;
  /**
   * Opens the socket: `Deno.listenDatagram` by default. Tests pass a fake
   * here to exercise multicast without traffic off the machine.
   */
  listenDatagram?: (
    options: Deno.UdpListenOptions & { transport: "udp" },
  ) => Deno.DatagramConn;
}

type Membership = Deno.MulticastV4Membership | Deno.MulticastV6Membership;

/**
 * A bound UDP socket: the `IListeningPort` that `reactor.listenUDP`
 * returns, and the `IUDPTransport` its protocol gets.
 *
 * - On `startListening()` the socket is bound (port 0 picks a free port,
 *   `getHost()` tells which) and `protocol.makeConnection(port)` runs, which
 *   calls `startProtocol()`.
 * - Each datagram reaches `datagramReceived(data, addr)` with bytes the
 *   protocol may keep and the sender as a `"UDP"` address. An error it
 *   throws is logged and the port keeps receiving. The bytes are a view
 *   into a receive slab (64 KiB, or four `maxPacketSize` windows) that is
 *   never reused: keeping one
 *   datagram keeps its slab alive, so copy (`data.slice()`) datagrams you
 *   keep for long in large numbers.
 * - A datagram longer than `maxPacketSize` (8192 by default) is delivered
 *   cut to `maxPacketSize` bytes, and the first such cut on a port is
 *   logged as a warning naming `maxPacketSize`; zero-length datagrams are
 *   delivered as empty arrays.
 * - `write(data, addr?)` queues one datagram; queued datagrams go out in
 *   order, one `send` at a time.
 * - `connect(host, port)` makes it connected UDP: datagrams from any other
 *   address are dropped, `write(data)` needs no address.
 * - `stopListening()` stops delivery at once; then `stopProtocol()` runs,
 *   datagrams already written are sent, the socket closes, and the
 *   returned Deferred fires.
 *
 * @example Two ports talking over loopback
 * ```ts
 * import assert from "node:assert/strict";
 * import { Deferred } from "@twisted-deno/core/deferred";
 * import { DatagramProtocol } from "@twisted-deno/core/protocols";
 * import { type IAddress } from "@twisted-deno/core/reactor";
 * import { UDPPort } from "@twisted-deno/core/reactor/net";
 *
 * const got = new Deferred<string>();
 * class Receiver extends DatagramProtocol {
 *   override datagramReceived(data: Uint8Array, _addr: IAddress): void {
 *     got.callback(new TextDecoder().decode(data));
 *   }
 * }
 * const a = new UDPPort(0, new Receiver(), { interface: "127.0.0.1" });
 * const b = new UDPPort(0, new DatagramProtocol(), { interface: "127.0.0.1" });
 * a.startListening();
 * b.startListening();
 * const to = a.getHost();
 * assert.equal(to.type, "UDP");
 * if (to.type === "UDP") b.write("hello", to);
 * assert.equal(await got, "hello");
 * await a.stopListening();
 * await b.stopListening();
 * ```
 */
export class UDPPort
  implements
    IListeningPort,
    IUDPTransport,
    IMulticastTransport,
    ReactorResource {
  /** The port asked for (0: any). */
  readonly port: number;
  /** The interface asked for. */
  readonly interface: string;
  /** The largest datagram delivered whole; longer ones are cut (logged once). */
  readonly maxPacketSize: number;
  /** The protocol datagrams are delivered to. */
  readonly protocol: IDatagramProtocol;

  #reactor?: IReactorResources;
  #reuseAddress: boolean;
  #open: UDPPortOptions["listenDatagram"];
  #v6: boolean;
  #conn?: Deno.DatagramConn;
  #host?: UDPAddress;
  #started = false;
  /** Delivery has stopped (stopListening was called or the socket died). */
  #stopping = false;
  #stopped?: Deferred<void>;
  /** The socket is closed (or closing): writes are ignored. */
  #closed = false;
  #readLoop?: Promise<void>;
  #warnedCut = false;

  #connectedHost?: string;
  #connectedPort = 0;
  #connectedAddr?: Deno.NetAddr;

  // Write queue: sent one at a time because Deno reorders concurrent sends.
  // Pairs of (bytes, address) from #head on; no Promise or async frame per
  // datagram beyond the send's own.
  #queue: Array<Uint8Array | Deno.NetAddr | undefined> = [];
  #head = 0;
  #sending = false; // a send is in flight
  #sendingTo: Deno.NetAddr | undefined;
  #drained: PromiseWithResolvers<void> | undefined;
  #onSent = (): void => this.#sendNext();
  #onSendFailed = (e: unknown): void => this.#sendFailed(e);
  /** The last destination, reused while writes go to the same place. */
  #lastTo: Deno.NetAddr | undefined;

  #memberships = new Map<string, Membership>();
  #ttl = 1;
  #ttlSet = false;
  #loopback = false;
  #loopbackSet = false;

  /**
   * Makes a port, not yet bound: call `startListening()`.
   *
   * @param port The port to bind, 0 for any free one.
   * @param protocol The protocol to deliver datagrams to.
   * @param options Interface, packet size, and where to register.
   * @throws {RangeError} When `port` or `maxPacketSize` is out of range.
   */
  constructor(
    port: number,
    protocol: IDatagramProtocol,
    options: UDPPortOptions = {},
  ) {
    checkPort(port, "UDP port");
    const size = options.maxPacketSize ?? 8192;
    if (!Number.isInteger(size) || size < 1 || size > 65535) {
      throw new RangeError(
        `Invalid maxPacketSize ${size}: expected an integer from 1 to 65535`,
      );
    }
    this.port = port;
    this.protocol = protocol;
    this.interface = options.interface ?? "";
    this.maxPacketSize = size;
    this.#reactor = options.reactor;
    this.#reuseAddress = options.reuseAddress ?? false;
    this.#open = options.listenDatagram;
    this.#v6 = this.interface.includes(":");
  }

  /**
   * Binds the socket, attaches the protocol (`startProtocol()` runs now)
   * and starts receiving.
   *
   * @throws {CannotListenError} When the address cannot be bound.
   * @throws {UDPUnavailableError} When Deno runs without `--unstable-net`.
   * @throws {Error} When called twice.
   */
  startListening(): void {
    if (this.#started) {
      throw new Error("Cannot start listening: this UDP port already started");
    }
    this.#started = true;
    const hostname = this.interface || "0.0.0.0";
    let conn: Deno.DatagramConn;
    try {
      const opts = {
        transport: "udp" as const,
        hostname,
        port: this.port,
        reuseAddress: this.#reuseAddress,
      };
      if (!this.#open && typeof Deno.listenDatagram !== "function") {
        throw new UDPUnavailableError();
      }
      conn = this.#open ? this.#open(opts) : Deno.listenDatagram(opts);
    } catch (e) {
      if (e instanceof UDPUnavailableError) throw e;
      throw new CannotListenError(hostname, this.port, { cause: e });
    }
    this.#conn = conn;
    const addr = conn.addr as Deno.NetAddr;
    this.#host = { type: "UDP", host: addr.hostname, port: addr.port };
    this.#reactor?.trackResource(this);
    try {
      this.protocol.makeConnection(this);
    } catch (e) {
      this.#protocolFailed("startProtocol", e);
    }
    // A startProtocol may already have stopped the port.
    if (!this.#stopping) this.#readLoop = this.#read(conn);
  }

  /** The bound address, with the real port when 0 was asked for. */
  getHost(): IAddress {
    if (this.#host === undefined) {
      throw new Error("Cannot get the host: this UDP port is not listening");
    }
    return { ...this.#host };
  }

  /**
   * Queues one datagram. A string is UTF-8 encoded; the bytes must not be
   * changed until sent. Ignored once the socket is closed.
   *
   * @param data The datagram.
   * @param addr Where to: required unless connected, and then omitted or
   *   equal to the connected address.
   * @throws {TypeError} When `addr` is missing, or differs from the
   *   connected address.
   * @throws {InvalidAddressError} When `addr.host` is not an IP address of
   *   the port's family.
   * @throws {MessageLengthError} When `data` is longer than a UDP payload.
   */
  write(data: Uint8Array | string, addr?: DatagramDestination): void {
    const bytes = typeof data === "string" ? encoder.encode(data) : data;
    const limit = this.#v6 ? MAX_IPV6_PAYLOAD : MAX_IPV4_PAYLOAD;
    if (bytes.length > limit) throw new MessageLengthError(bytes.length, limit);
    let to: Deno.NetAddr;
    if (this.#connectedAddr !== undefined) {
      if (
        addr !== undefined &&
        (this.#canonical(addr.host) !== this.#connectedHost ||
          addr.port !== this.#connectedPort)
      ) {
        throw new TypeError(
          `Cannot write to ${addr.host}:${addr.port}: this UDP transport is connected to ${this.#connectedHost}:${this.#connectedPort}`,
        );
      }
      to = this.#connectedAddr;
    } else {
      if (addr === undefined) {
        throw new TypeError(
          "Cannot write a datagram without an address: this UDP transport is not connected",
        );
      }
      const last = this.#lastTo;
      if (
        last !== undefined && last.hostname === addr.host &&
        last.port === addr.port
      ) {
        to = last;
      } else {
        this.#canonical(addr.host);
        checkPort(addr.port, "destination port");
        to = this.#lastTo = {
          transport: "udp",
          hostname: addr.host,
          port: addr.port,
        };
      }
    }
    const conn = this.#conn;
    if (conn === undefined || this.#closed) return;
    if (this.#sending) this.#queue.push(bytes, to);
    else this.#send(conn, bytes, to);
  }

  /**
   * Makes this a connected UDP transport: datagrams from other addresses
   * are dropped and `write(data)` goes to `host:port`. See the module doc
   * for why Deno never reports an ICMP refusal here.
   *
   * @param host A numeric IP address (no host names, as in Twisted).
   * @param port The peer's port.
   * @throws {Error} When already connected.
   * @throws {InvalidAddressError} When `host` is not an IP address of the
   *   port's family.
   */
  connect(host: string, port: number): void {
    if (this.#connectedAddr !== undefined) {
      throw new Error(
        `Cannot connect to ${host}:${port}: already connected to ${this.#connectedHost}:${this.#connectedPort}, and reconnecting is not supported`,
      );
    }
    const canonical = this.#canonical(host);
    checkPort(port, "destination port");
    if (port === 0) {
      throw new RangeError(`Cannot connect to ${host}:0: port 0 is not a peer`);
    }
    this.#connectedHost = canonical;
    this.#connectedPort = port;
    this.#connectedAddr = { transport: "udp", hostname: host, port };
  }

  /** Same as {@linkcode UDPPort.stopListening}. */
  loseConnection(): Deferred<void> {
    return this.stopListening();
  }

  /**
   * Stops delivery now; then `stopProtocol()` runs, written datagrams are
   * sent, and the socket is closed. The Deferred fires after that, and no
   * datagram is delivered after this call. Calling it again returns the
   * same Deferred.
   */
  stopListening(): Deferred<void> {
    if (this.#stopped !== undefined) return this.#stopped;
    const stopped = this.#stopped = new Deferred<void>();
    this.#stopping = true;
    if (this.#conn === undefined) {
      stopped.callback(undefined);
      return stopped;
    }
    this.#close(this.#conn).then(
      () => stopped.callback(undefined),
      (e) => stopped.errback(e),
    );
    return stopped;
  }

  /** Stops the port at reactor shutdown. */
  shutdown(): Promise<void> {
    return this.stopListening().asPromise();
  }

  // ------------------------------------------------------------- multicast

  /**
   * Joins a multicast group (Deno's `joinMulticastV4`, or
   * `joinMulticastV6` for an IPv6 group). Applies a TTL or loopback mode set
   * before the first membership.
   *
   * @param addr The group address.
   * @param iface The interface: an IPv4 address (`""`: any), or for IPv6 an
   *   interface index (`""`: 0, the default).
   * @returns Fires once joined, or fails with `MulticastJoinError`.
   *
   * @example Joining a group on a fake socket (no traffic leaves the host)
   * ```ts
   * import assert from "node:assert/strict";
   * import { DatagramProtocol } from "@twisted-deno/core/protocols";
   * import { UDPPort } from "@twisted-deno/core/reactor/net";
   *
   * const joined: string[] = [];
   * const real = Deno.listenDatagram;
   * const port = new UDPPort(0, new DatagramProtocol(), {
   *   interface: "127.0.0.1",
   *   listenDatagram: (opts) => {
   *     const conn = real(opts);
   *     conn.joinMulticastV4 = (group: string, iface: string) => {
   *       joined.push(`${group} on ${iface}`);
   *       return Promise.resolve({
   *         leave: () => Promise.resolve(),
   *         setLoopback: () => Promise.resolve(),
   *         setTTL: () => Promise.resolve(),
   *       });
   *     };
   *     return conn;
   *   },
   * });
   * port.startListening();
   * await port.joinGroup("239.1.2.3");
   * assert.deepEqual(joined, ["239.1.2.3 on 0.0.0.0"]);
   * await port.stopListening();
   * ```
   */
  joinGroup(addr: string, iface = ""): Deferred<void> {
    const key = `${addr}|${iface}`;
    return Deferred.fromPromise((async () => {
      const conn = this.#liveConn(`join multicast group ${addr}`);
      if (this.#memberships.has(key)) {
        throw new MulticastJoinError(addr, "already a member");
      }
      let membership: Membership;
      try {
        if (addr.includes(":")) {
          const index = iface === "" ? 0 : Number(iface);
          if (!Number.isInteger(index) || index < 0) {
            throw new RangeError(
              `invalid IPv6 interface index ${JSON.stringify(iface)}`,
            );
          }
          membership = await conn.joinMulticastV6(addr, index);
        } else {
          membership = await conn.joinMulticastV4(addr, iface || "0.0.0.0");
        }
      } catch (e) {
        throw new MulticastJoinError(addr, (e as Error)?.message ?? String(e), {
          cause: e,
        });
      }
      this.#memberships.set(key, membership);
      if (this.#loopbackSet) await membership.setLoopback(this.#loopback);
      if (this.#ttlSet && "setTTL" in membership) {
        await membership.setTTL(this.#ttl);
      }
    })());
  }

  /**
   * Leaves a group joined with {@linkcode UDPPort.joinGroup} (same `addr`
   * and `iface`).
   *
   * @returns Fires once left, or fails with `MulticastJoinError` when not a
   *   member.
   */
  leaveGroup(addr: string, iface = ""): Deferred<void> {
    const key = `${addr}|${iface}`;
    return Deferred.fromPromise((async () => {
      const membership = this.#memberships.get(key);
      if (membership === undefined) {
        throw new MulticastJoinError(addr, "not a member");
      }
      this.#memberships.delete(key);
      try {
        await membership.leave();
      } catch (e) {
        throw new MulticastJoinError(addr, (e as Error)?.message ?? String(e), {
          cause: e,
        });
      }
    })());
  }

  /**
   * Sets the TTL of outgoing IPv4 multicast datagrams: applied through the
   * current memberships, or remembered for the next `joinGroup`.
   *
   * @throws {RangeError} When `ttl` is not an integer from 0 to 255.
   */
  setTTL(ttl: number): Deferred<void> {
    if (!Number.isInteger(ttl) || ttl < 0 || ttl > 255) {
      throw new RangeError(
        `Invalid multicast TTL ${ttl}: expected an integer from 0 to 255`,
      );
    }
    this.#ttl = ttl;
    this.#ttlSet = true;
    const jobs: Promise<void>[] = [];
    for (const m of this.#memberships.values()) {
      if ("setTTL" in m) jobs.push(m.setTTL(ttl));
    }
    return Deferred.fromPromise(Promise.all(jobs).then(() => {}));
  }

  /** The multicast TTL last set. */
  getTTL(): number {
    return this.#ttl;
  }

  /**
   * Sets whether our own multicast datagrams loop back to this host:
   * applied through the current memberships, or remembered for the next
   * `joinGroup`.
   */
  setLoopbackMode(mode: boolean): Deferred<void> {
    this.#loopback = mode;
    this.#loopbackSet = true;
    const jobs: Promise<void>[] = [];
    for (const m of this.#memberships.values()) jobs.push(m.setLoopback(mode));
    return Deferred.fromPromise(Promise.all(jobs).then(() => {}));
  }

  /** The loopback mode last set. */
  getLoopbackMode(): boolean {
    return this.#loopback;
  }

  /** A short name for log lines. */
  logPrefix(): string {
    return `${this.#protocolName()} (UDP)`;
  }

  // --------------------------------------------------------------- private

  #protocolName(): string {
    const p = this.protocol as { logPrefix?: () => string };
    return typeof p.logPrefix === "function"
      ? p.logPrefix()
      : this.protocol.constructor.name;
  }

  /** Logs `error`, thrown by the protocol's `method`. */
  #protocolFailed(method: string, error: unknown): void {
    log.failure(
      `Unhandled error in ${method} of {protocol}`,
      new Failure(error),
      "error",
      { protocol: this.#protocolName() },
    );
  }

  #liveConn(action: string): Deno.DatagramConn {
    if (this.#conn === undefined || this.#stopping) {
      throw new Error(`Cannot ${action}: this UDP port is not listening`);
    }
    return this.#conn;
  }

  /** Validates `host` for this port's family; returns its canonical form. */
  #canonical(host: string): string {
    if (IPV4.test(host)) {
      if (this.#v6) {
        throw new InvalidAddressError(
          host,
          "an IPv6 port cannot send to an IPv4 address",
        );
      }
      return host;
    }
    const v6 = canonicalIPv6(host);
    if (v6 === null) {
      throw new InvalidAddressError(
        host,
        "not an IPv4 or IPv6 address (UDP transports take no host names)",
      );
    }
    if (!this.#v6) {
      throw new InvalidAddressError(
        host,
        "an IPv4 port cannot send to an IPv6 address",
      );
    }
    return v6;
  }

  /**
   * The read loop. Datagrams are received into a slab, each into the part
   * after the previous one, and delivered as views of it: no copy, and no
   * allocation per datagram (copying 64 bytes out with `slice()` cost more
   * than the rest of the delivery). A slab is never written twice, so a
   * protocol may keep what it gets; a new slab is taken when less than a
   * receive window is left. The window is larger than any datagram, so the
   * real length is known and a cut to `maxPacketSize` is never silent.
   */
  async #read(conn: Deno.DatagramConn): Promise<void> {
    const size = this.maxPacketSize;
    const window = size + 1; // a datagram that fills it was longer than size
    const slabSize = Math.max(SLAB_SIZE, window * 4);
    let slab = new Uint8Array(slabSize);
    let offset = 0;
    const protocol = this.protocol;
    while (!this.#stopping) {
      let data: Uint8Array;
      let from: Deno.NetAddr;
      if (slab.length - offset < window) {
        slab = new Uint8Array(slabSize);
        offset = 0;
      }
      try {
        const got = await conn.receive(slab.subarray(offset, offset + window));
        data = got[0];
        from = got[1] as Deno.NetAddr;
        offset += data.length;
        if (data.length > size) {
          this.#cut(from);
          data = data.subarray(0, size);
        }
      } catch (e) {
        if (this.#stopping) return;
        if (e instanceof Deno.errors.ConnectionRefused) {
          if (this.#connectedAddr !== undefined) this.#refused();
          continue;
        }
        if (e instanceof Deno.errors.BadResource) {
          // The socket was closed under us: nothing more can arrive.
          log.failure(
            "UDP port {port} lost its socket",
            new Failure(e),
            "error",
            { port: this.#host?.port },
          );
          this.stopListening();
          return;
        }
        log.failure(
          "Error receiving on UDP port {port}",
          new Failure(e),
          "error",
          { port: this.#host?.port },
        );
        continue;
      }
      if (this.#stopping) return;
      if (
        this.#connectedAddr !== undefined &&
        (from.port !== this.#connectedPort ||
          from.hostname !== this.#connectedHost)
      ) {
        continue; // connected UDP: not from our peer
      }
      try {
        protocol.datagramReceived(data, {
          type: "UDP",
          host: from.hostname,
          port: from.port,
        });
      } catch (e) {
        this.#protocolFailed("datagramReceived", e);
      }
    }
  }

  /** A datagram was cut to `maxPacketSize`: warn, once per port. */
  #cut(from: Deno.NetAddr): void {
    if (this.#warnedCut) return;
    this.#warnedCut = true;
    log.warn(
      "UDP port {port}: a datagram longer than {max} bytes from {from} was cut to maxPacketSize ({max} bytes); pass a larger maxPacketSize to listenUDP to receive it whole (further cuts on this port are not logged)",
      {
        port: this.#host?.port,
        from: `${from.hostname}:${from.port}`,
        max: this.maxPacketSize,
      },
    );
  }

  #refused(): void {
    if (this.#stopping) return; // the protocol has been told to stop
    try {
      this.protocol.connectionRefused();
    } catch (e) {
      this.#protocolFailed("connectionRefused", e);
    }
  }

  #send(conn: Deno.DatagramConn, data: Uint8Array, to: Deno.NetAddr): void {
    this.#sending = true;
    this.#sendingTo = to;
    conn.send(data, to).then(this.#onSent, this.#onSendFailed);
  }

  /** The send in flight is done: send the next queued datagram, if any. */
  #sendNext(): void {
    const queue = this.#queue;
    const head = this.#head;
    if (head < queue.length && !this.#closed) {
      const data = queue[head] as Uint8Array;
      const to = queue[head + 1] as Deno.NetAddr;
      queue[head] = queue[head + 1] = undefined;
      this.#head = head + 2;
      this.#send(this.#conn!, data, to);
      return;
    }
    queue.length = 0;
    this.#head = 0;
    this.#sending = false;
    this.#sendingTo = undefined;
    const drained = this.#drained;
    this.#drained = undefined;
    drained?.resolve();
  }

  #sendFailed(e: unknown): void {
    const to = this.#sendingTo!;
    if (e instanceof Deno.errors.ConnectionRefused) {
      // Only a datagram sent while connected reports refusal.
      if (to === this.#connectedAddr) this.#refused();
    } else if (e instanceof Deno.errors.BadResource) {
      // Closed under us (the read loop reports it): drop what is queued.
      this.#queue.length = 0;
      this.#head = 0;
    } else {
      log.failure(
        "Cannot send a datagram to {host}:{port}",
        new Failure(e),
        "error",
        { host: to.hostname, port: to.port },
      );
    }
    this.#sendNext();
  }

  /** Resolves once nothing is queued or in flight. */
  #whenDrained(): Promise<void> {
    if (!this.#sending) return Promise.resolve();
    this.#drained ??= Promise.withResolvers<void>();
    return this.#drained.promise;
  }

  async #close(conn: Deno.DatagramConn): Promise<void> {
    // Let the caller's frame finish first, as Twisted's callLater(0) does.
    await Promise.resolve();
    try {
      this.protocol.doStop();
    } catch (e) {
      this.#protocolFailed("stopProtocol", e);
    }
    // Written datagrams (including any from stopProtocol) go out first.
    await this.#whenDrained();
    this.#memberships.clear();
    this.#closed = true;
    try {
      conn.close();
    } catch (e) {
      if (!(e instanceof Deno.errors.BadResource)) throw e;
    }
    await this.#readLoop;
    this.#reactor?.untrackResource(this);
  }
}
