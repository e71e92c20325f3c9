import assert from "node:assert/strict";
import { Deferred } from "../../../deferred/deferred.ts";
import { DatagramProtocol } from "../../../protocols/protocol.ts";
import { DenoReactor, reactor } from "../../../reactor/reactor.ts";
import { UDPPort } from "../../../reactor/net/udp.ts";
import {
  InvalidAddressError,
  MessageLengthError,
  MulticastJoinError,
} from "../../../reactor/net/udp_errors.ts";
import { CannotListenError } from "../../../reactor/errors.ts";
import type {
  IAddress,
  ListenUDPOptions,
  UDPAddress,
} from "../../../reactor/interfaces.ts";
import { captureLogs } from "../../../testing/logs.ts";
import { decode, encode, within } from "../../_helpers.ts";

const LOOPBACK = "127.0.0.1";

/** Records every event, and lets a test await the next datagram. */
class Recorder extends DatagramProtocol {
  events: string[] = [];
  datagrams: Array<[Uint8Array, IAddress]> = [];
  #waiters: Array<(d: [Uint8Array, IAddress]) => void> = [];
  #unread = 0;

  override startProtocol(): void {
    this.events.push("start");
  }
  override stopProtocol(): void {
    this.events.push("stop");
  }
  override connectionRefused(): void {
    this.events.push("refused");
  }
  override datagramReceived(data: Uint8Array, addr: IAddress): void {
    this.events.push(`datagram ${decode(data)}`);
    this.datagrams.push([data, addr]);
    const waiter = this.#waiters.shift();
    if (waiter) waiter([data, addr]);
    else this.#unread++;
  }
  /** The next datagram not yet awaited. */
  next(what = "a datagram"): Promise<[Uint8Array, IAddress]> {
    if (this.#unread > 0) {
      const d = this.datagrams[this.datagrams.length - this.#unread--];
      return Promise.resolve(d);
    }
    return within(
      2_000,
      what,
      new Promise<[Uint8Array, IAddress]>((r) => this.#waiters.push(r)),
    );
  }
}

function udpHost(port: { getHost(): IAddress }): UDPAddress {
  const addr = port.getHost();
  assert.equal(addr.type, "UDP");
  return addr as UDPAddress;
}

function raw(): Deno.DatagramConn {
  return Deno.listenDatagram({
    transport: "udp",
    hostname: LOOPBACK,
    port: 0,
  });
}

function netAddr(addr: UDPAddress): Deno.NetAddr {
  return { transport: "udp", hostname: addr.host, port: addr.port };
}

/**
 * Listens with `proto` on loopback, opens a raw sender socket, runs
 * `body` with the port, the sender and the port's address, then closes
 * the sender and stops listening, whatever happened.
 */
async function withSender(
  proto: DatagramProtocol,
  options: ListenUDPOptions,
  body: (
    port: UDPPort,
    sender: Deno.DatagramConn,
    to: Deno.NetAddr,
  ) => Promise<void>,
): Promise<void> {
  const port = reactor.listenUDP(0, proto, options);
  const sender = raw();
  try {
    await body(port, sender, netAddr(udpHost(port)));
  } finally {
    sender.close();
    await port.stopListening();
  }
}

Deno.test("listenUDP binds a free port at once and getHost names it", async () => {
  const proto = new Recorder();
  const port = reactor.listenUDP(0, proto, { interface: LOOPBACK });
  try {
    const host = udpHost(port);
    assert.equal(host.host, LOOPBACK);
    assert.ok(host.port > 0);
    assert.deepEqual(proto.events, ["start"], "startProtocol runs on bind");
    assert.equal(proto.transport, port);
  } finally {
    await port.stopListening();
  }
  assert.deepEqual(proto.events, ["start", "stop"]);
});

Deno.test("datagrams travel both ways with the sender's address", async () => {
  class Echo extends Recorder {
    override datagramReceived(data: Uint8Array, addr: IAddress): void {
      super.datagramReceived(data, addr);
      this.transport!.write(data, addr as UDPAddress);
    }
  }
  const server = new Echo();
  const client = new Recorder();
  const serverPort = reactor.listenUDP(0, server, { interface: LOOPBACK });
  const clientPort = reactor.listenUDP(0, client, { interface: LOOPBACK });
  try {
    client.transport!.write("ping", udpHost(serverPort));
    const [got, from] = await server.next("the server's datagram");
    assert.equal(decode(got), "ping");
    assert.deepEqual(from, udpHost(clientPort));
    const [back, backFrom] = await client.next("the echo");
    assert.equal(decode(back), "ping");
    assert.deepEqual(backFrom, udpHost(serverPort));
  } finally {
    await serverPort.stopListening();
    await clientPort.stopListening();
  }
});

Deno.test("datagramReceived gets bytes it may keep", async () => {
  const proto = new Recorder();
  await withSender(
    proto,
    { interface: LOOPBACK },
    async (_port, sender, to) => {
      await sender.send(encode("first"), to);
      await sender.send(encode("second"), to);
      const [a] = await proto.next("first");
      const [b] = await proto.next("second");
      assert.equal(decode(a), "first", "the first array was not overwritten");
      assert.equal(decode(b), "second");
    },
  );
});

Deno.test("datagrams kept across receive slabs stay intact", async () => {
  // 60 000-byte datagrams: each receive takes a 64 KiB window of a
  // 256 KiB slab, so four fit in a slab and ten of them span three slabs.
  const proto = new Recorder();
  await withSender(proto, {
    interface: LOOPBACK,
    maxPacketSize: 65535,
  }, async (_port, sender, to) => {
    const sent = Array.from(
      { length: 10 },
      (_, i) => new Uint8Array(60000).fill(i + 1),
    );
    for (const d of sent) {
      await sender.send(d, to);
      await proto.next(`datagram ${d[0]}`);
    }
    assert.equal(proto.datagrams.length, 10);
    proto.datagrams.forEach(([d], i) => {
      assert.deepEqual(d, sent[i], `datagram ${i + 1} was overwritten`);
    });
  });
});

Deno.test("writes go out in the order they were made", async () => {
  const sender = new Recorder();
  const port = reactor.listenUDP(0, sender, { interface: LOOPBACK });
  const receiver = raw();
  try {
    const to = receiver.addr as Deno.NetAddr;
    for (let i = 0; i < 50; i++) {
      port.write(new Uint8Array([i]), { host: to.hostname, port: to.port });
    }
    const got: number[] = [];
    for (let i = 0; i < 50; i++) {
      const [d] = await within(2_000, `datagram ${i}`, receiver.receive());
      got.push(d[0]);
    }
    assert.deepEqual(got, Array.from({ length: 50 }, (_, i) => i));
  } finally {
    receiver.close();
    await port.stopListening();
  }
});

Deno.test("a string is written as UTF-8", async () => {
  const port = reactor.listenUDP(0, new Recorder(), { interface: LOOPBACK });
  const receiver = raw();
  try {
    const to = receiver.addr as Deno.NetAddr;
    port.write("héllo ✓", { host: to.hostname, port: to.port });
    const [d] = await within(2_000, "the datagram", receiver.receive());
    assert.deepEqual(d, encode("héllo ✓"));
  } finally {
    receiver.close();
    await port.stopListening();
  }
});

Deno.test("write refuses bad destinations and oversized datagrams synchronously", async () => {
  const port = reactor.listenUDP(0, new Recorder(), { interface: LOOPBACK });
  try {
    assert.throws(() => port.write("x"), TypeError);
    assert.throws(
      () => port.write("x", { host: "localhost", port: 9 }),
      InvalidAddressError,
    );
    assert.throws(
      () => port.write("x", { host: "::1", port: 9 }),
      /an IPv4 port cannot send to an IPv6 address/,
    );
    assert.throws(
      () => port.write("x", { host: LOOPBACK, port: 70000 }),
      RangeError,
    );
    assert.throws(
      () => port.write(new Uint8Array(65508), { host: LOOPBACK, port: 9 }),
      (e: unknown) =>
        e instanceof MessageLengthError && e.length === 65508 &&
        e.limit === 65507,
    );
  } finally {
    await port.stopListening();
  }
});

Deno.test("connected UDP drops datagrams from other addresses", async () => {
  const proto = new Recorder();
  const port = reactor.listenUDP(0, proto, { interface: LOOPBACK });
  const peer = raw();
  const stranger = raw();
  try {
    const peerAddr = peer.addr as Deno.NetAddr;
    port.connect(peerAddr.hostname, peerAddr.port);
    const to = netAddr(udpHost(port));
    await stranger.send(encode("from stranger"), to);
    await peer.send(encode("from peer"), to);
    const [got, from] = await proto.next("the peer's datagram");
    assert.equal(decode(got), "from peer");
    assert.deepEqual(from, {
      type: "UDP",
      host: peerAddr.hostname,
      port: peerAddr.port,
    });
    // The stranger's datagram was read first (same queue) and dropped.
    assert.deepEqual(proto.events, ["start", "datagram from peer"]);
  } finally {
    peer.close();
    stranger.close();
    await port.stopListening();
  }
});

Deno.test("a connected transport writes to its peer without an address", async () => {
  const proto = new Recorder();
  const port = reactor.listenUDP(0, proto, { interface: LOOPBACK });
  const peer = raw();
  try {
    const peerAddr = peer.addr as Deno.NetAddr;
    port.connect(peerAddr.hostname, peerAddr.port);
    port.write("one");
    port.write("two", { host: peerAddr.hostname, port: peerAddr.port });
    const [a, from] = await within(2_000, "one", peer.receive());
    const [b] = await within(2_000, "two", peer.receive());
    assert.deepEqual([decode(a), decode(b)], ["one", "two"]);
    assert.equal((from as Deno.NetAddr).port, udpHost(port).port);
    assert.throws(
      () => port.write("x", { host: LOOPBACK, port: peerAddr.port + 1 }),
      /is connected to/,
    );
  } finally {
    peer.close();
    await port.stopListening();
  }
});

Deno.test("connecting twice, or to a host name, throws", async () => {
  const port = reactor.listenUDP(0, new Recorder(), { interface: LOOPBACK });
  try {
    assert.throws(() => port.connect("localhost", 9), InvalidAddressError);
    port.connect(LOOPBACK, 9);
    assert.throws(() => port.connect(LOOPBACK, 10), /already connected/);
  } finally {
    await port.stopListening();
  }
});

Deno.test("a send to a closed port is not reported and the port keeps working", async () => {
  // Deno 2.9's DatagramConn is never OS-connected, so Linux reports no ICMP
  // "port unreachable": the send succeeds and nothing reaches the protocol.
  using logs = captureLogs();
  const proto = new Recorder();
  const port = reactor.listenUDP(0, proto, { interface: LOOPBACK });
  const gone = raw();
  const goneAddr = gone.addr as Deno.NetAddr;
  gone.close();
  try {
    port.write("lost", { host: goneAddr.hostname, port: goneAddr.port });
    port.write("lost again", { host: goneAddr.hostname, port: goneAddr.port });
    port.write("to self", udpHost(port));
    const [got] = await proto.next("our own datagram");
    assert.equal(decode(got), "to self");
    assert.deepEqual(proto.events, ["start", "datagram to self"]);
    assert.equal(logs.failures().length, 0);
  } finally {
    await port.stopListening();
  }
});

Deno.test("a refusal Deno reports reaches connectionRefused on a connected transport", async () => {
  // Deno on Linux never reports one (see above); a socket whose send
  // rejects with ConnectionRefused, as other platforms may, checks the path.
  const refused = new Deferred<void>();
  class Refusable extends Recorder {
    override connectionRefused(): void {
      super.connectionRefused();
      refused.callback(undefined);
    }
  }
  const proto = new Refusable();
  const port = new UDPPort(0, proto, {
    interface: LOOPBACK,
    listenDatagram: (opts) => {
      const conn = Deno.listenDatagram(opts);
      conn.send = () =>
        Promise.reject(new Deno.errors.ConnectionRefused("refused"));
      return conn;
    },
  });
  port.startListening();
  try {
    port.write("unconnected", { host: LOOPBACK, port: 9 });
    port.connect(LOOPBACK, 9);
    port.write("connected");
    await within(2_000, "connectionRefused", refused);
  } finally {
    await port.stopListening();
  }
  // The unconnected write's refusal is ignored, as in Twisted.
  assert.deepEqual(proto.events, ["start", "refused", "stop"]);
});

Deno.test("an error thrown by datagramReceived is logged and the port keeps receiving", async () => {
  using logs = captureLogs();
  class Fragile extends Recorder {
    override datagramReceived(data: Uint8Array, addr: IAddress): void {
      super.datagramReceived(data, addr);
      if (decode(data) === "bad") throw new RangeError("cannot take it");
    }
  }
  const proto = new Fragile();
  await withSender(
    proto,
    { interface: LOOPBACK },
    async (_port, sender, to) => {
      await sender.send(encode("bad"), to);
      await sender.send(encode("good"), to);
      await proto.next("bad");
      const [got] = await proto.next("good");
      assert.equal(decode(got), "good");
      const logged = logs.flushLoggedErrors(RangeError);
      assert.equal(logged.length, 1);
      assert.equal(logged[0].getErrorMessage(), "cannot take it");
    },
  );
});

Deno.test("a datagram over maxPacketSize is cut to maxPacketSize bytes, and the first cut is logged", async () => {
  using logs = captureLogs();
  const proto = new Recorder();
  await withSender(proto, {
    interface: LOOPBACK,
    maxPacketSize: 16,
  }, async (_port, sender, to) => {
    const long = encode("0123456789abcdefTRUNCATED-TAIL");
    await sender.send(long, to);
    await sender.send(encode("0123456789abcdef"), to);
    await sender.send(encode("0123456789abcdef-again-too-long"), to);
    const [cut] = await proto.next("the long datagram");
    const [whole] = await proto.next("the exact datagram");
    const [cutAgain] = await proto.next("the second long datagram");
    assert.deepEqual(cut, long.subarray(0, 16));
    assert.equal(decode(whole), "0123456789abcdef");
    assert.equal(decode(cutAgain), "0123456789abcdef");
    const warnings = logs.messages.filter((m) => /maxPacketSize/.test(m));
    assert.equal(warnings.length, 1, `one warning: ${logs.messages}`);
    assert.match(
      warnings[0],
      /a datagram longer than 16 bytes from 127\.0\.0\.1:\d+ was cut to maxPacketSize \(16 bytes\)/,
    );
  });
});

Deno.test("a 65 507-byte datagram arrives whole with maxPacketSize 65535, and an empty one as empty", async () => {
  using logs = captureLogs();
  const proto = new Recorder();
  await withSender(proto, {
    interface: LOOPBACK,
    maxPacketSize: 65535,
  }, async (_port, sender, to) => {
    const big = new Uint8Array(65507).map((_, i) => i % 253);
    await sender.send(big, to);
    await sender.send(new Uint8Array(0), to);
    const [got] = await proto.next("the big datagram");
    const [empty] = await proto.next("the empty datagram");
    assert.deepEqual(got, big);
    assert.equal(empty.length, 0);
    assert.deepEqual(logs.messages.filter((m) => /cut/.test(m)), []);
  });
});

Deno.test("maxPacketSize and port are range-checked", () => {
  const proto = new Recorder();
  assert.throws(
    () => reactor.listenUDP(0, proto, { maxPacketSize: 0 }),
    RangeError,
  );
  assert.throws(() => reactor.listenUDP(-1, proto), RangeError);
  assert.deepEqual(proto.events, []);
});

Deno.test("binding a port in use raises CannotListenError", async () => {
  const first = reactor.listenUDP(0, new Recorder(), { interface: LOOPBACK });
  const proto = new Recorder();
  try {
    const taken = udpHost(first).port;
    assert.throws(
      () => reactor.listenUDP(taken, proto, { interface: LOOPBACK }),
      (e: unknown) =>
        e instanceof CannotListenError &&
        e.message.startsWith(`Cannot listen on ${LOOPBACK}:${taken}: `),
    );
    assert.deepEqual(proto.events, [], "the protocol was never started");
  } finally {
    await first.stopListening();
  }
});

Deno.test("stopListening stops delivery at once, then stopProtocol, close, and the Deferred", async () => {
  const order: string[] = [];
  class StopOnFirst extends Recorder {
    override datagramReceived(data: Uint8Array, addr: IAddress): void {
      super.datagramReceived(data, addr);
      if (this.datagrams.length === 1) {
        const d = this.transport!.stopListening();
        assert.equal(this.transport!.stopListening(), d, "the same again");
        d.addCallback(() => {
          order.push("fired");
        });
        order.push("asked");
      }
    }
    override stopProtocol(): void {
      super.stopProtocol();
      order.push("stopProtocol");
    }
  }
  const proto = new StopOnFirst();
  const port = reactor.listenUDP(0, proto, { interface: LOOPBACK });
  const to = netAddr(udpHost(port));
  const sender = raw();
  try {
    for (let i = 0; i < 5; i++) await sender.send(encode(`d${i}`), to);
    await proto.next("the first datagram");
    await within(2_000, "the port to stop", port.stopListening());
    assert.deepEqual(order, ["asked", "stopProtocol", "fired"]);
    assert.deepEqual(proto.events, ["start", "datagram d0", "stop"]);
    // The socket is closed: its port can be bound again.
    const again = Deno.listenDatagram(
      to as Deno.NetAddr & { transport: "udp" },
    );
    again.close();
  } finally {
    sender.close();
  }
});

Deno.test("datagrams written before and during stopListening are sent", async () => {
  const receiver = raw();
  const to = receiver.addr as Deno.NetAddr;
  class Goodbye extends Recorder {
    override stopProtocol(): void {
      this.transport!.write("bye", { host: to.hostname, port: to.port });
    }
  }
  const port = reactor.listenUDP(0, new Goodbye(), { interface: LOOPBACK });
  try {
    port.write("last", { host: to.hostname, port: to.port });
    const stopped = port.stopListening();
    port.write("after stop", { host: to.hostname, port: to.port });
    await stopped;
    port.write("after close", { host: to.hostname, port: to.port });
    const got: string[] = [];
    for (let i = 0; i < 3; i++) {
      const [d] = await within(2_000, `datagram ${i}`, receiver.receive());
      got.push(decode(d));
    }
    assert.deepEqual(got, ["last", "after stop", "bye"]);
  } finally {
    receiver.close();
  }
});

Deno.test("reactor shutdown stops every UDP port", async () => {
  const r = new DenoReactor();
  const a = new Recorder();
  const b = new Recorder();
  const portA = r.listenUDP(0, a, { interface: LOOPBACK });
  const portB = r.listenUDP(0, b, { interface: LOOPBACK });
  const addrA = netAddr(udpHost(portA)) as Deno.NetAddr & { transport: "udp" };
  r.callWhenRunning(() => r.stop());
  await within(2_000, "the reactor to stop", r.run());
  assert.deepEqual(a.events, ["start", "stop"]);
  assert.deepEqual(b.events, ["start", "stop"]);
  Deno.listenDatagram(addrA).close(); // closed: rebinding works
  await portB.stopListening(); // already stopped: fires at once
});

// ---------------------------------------------------------------- multicast

interface FakeMembership {
  group: string;
  iface: string | number;
  calls: string[];
}

/** A real loopback socket whose multicast calls are recorded, not made. */
function fakeMulticast(memberships: FakeMembership[], failJoin = false) {
  return (opts: Deno.UdpListenOptions & { transport: "udp" }) => {
    const conn = Deno.listenDatagram(opts);
    const join = (group: string, iface: string | number) => {
      if (failJoin) return Promise.reject(new Error("No such device"));
      const m: FakeMembership = { group, iface, calls: [] };
      memberships.push(m);
      return Promise.resolve({
        leave: () => {
          m.calls.push("leave");
          return Promise.resolve();
        },
        setLoopback: (on: boolean) => {
          m.calls.push(`loopback ${on}`);
          return Promise.resolve();
        },
        setTTL: (ttl: number) => {
          m.calls.push(`ttl ${ttl}`);
          return Promise.resolve();
        },
      });
    };
    conn.joinMulticastV4 = join;
    conn.joinMulticastV6 = (group: string, index: number) =>
      join(group, index).then(({ leave, setLoopback }) => ({
        leave,
        setLoopback,
      }));
    return conn;
  };
}

Deno.test("joinGroup and leaveGroup use Deno's membership API", async () => {
  const memberships: FakeMembership[] = [];
  const port = new UDPPort(0, new Recorder(), {
    interface: LOOPBACK,
    listenDatagram: fakeMulticast(memberships),
  });
  port.startListening();
  try {
    await port.joinGroup("239.1.2.3");
    await port.joinGroup("239.1.2.4", "127.0.0.1");
    assert.deepEqual(
      memberships.map((m) => [m.group, m.iface]),
      [["239.1.2.3", "0.0.0.0"], ["239.1.2.4", "127.0.0.1"]],
    );
    await assert.rejects(
      port.joinGroup("239.1.2.3").asPromise(),
      (e: unknown) =>
        e instanceof MulticastJoinError && /already a member/.test(e.message),
    );
    await port.leaveGroup("239.1.2.3");
    assert.deepEqual(memberships[0].calls, ["leave"]);
    await assert.rejects(
      port.leaveGroup("239.1.2.3").asPromise(),
      /239\.1\.2\.3: not a member/,
    );
  } finally {
    await port.stopListening();
  }
});

Deno.test("setTTL and setLoopbackMode apply now, and to later joins", async () => {
  const memberships: FakeMembership[] = [];
  const port = new UDPPort(0, new Recorder(), {
    interface: LOOPBACK,
    listenDatagram: fakeMulticast(memberships),
  });
  port.startListening();
  try {
    assert.equal(port.getTTL(), 1);
    assert.equal(port.getLoopbackMode(), false);
    await port.setTTL(4);
    await port.setLoopbackMode(true);
    await port.joinGroup("239.1.2.3");
    assert.deepEqual(memberships[0].calls, ["loopback true", "ttl 4"]);
    await port.setTTL(8);
    await port.setLoopbackMode(false);
    assert.deepEqual(memberships[0].calls, [
      "loopback true",
      "ttl 4",
      "ttl 8",
      "loopback false",
    ]);
    assert.equal(port.getTTL(), 8);
    assert.equal(port.getLoopbackMode(), false);
    assert.throws(() => port.setTTL(256), RangeError);
  } finally {
    await port.stopListening();
  }
});

Deno.test("an IPv6 group is joined by interface index", async () => {
  const memberships: FakeMembership[] = [];
  const port = new UDPPort(0, new Recorder(), {
    interface: LOOPBACK,
    listenDatagram: fakeMulticast(memberships),
  });
  port.startListening();
  try {
    await port.joinGroup("ff02::1:3", "1");
    assert.deepEqual(memberships.map((m) => [m.group, m.iface]), [[
      "ff02::1:3",
      1,
    ]]);
    await assert.rejects(
      port.joinGroup("ff02::1:4", "eth0").asPromise(),
      /invalid IPv6 interface index "eth0"/,
    );
  } finally {
    await port.stopListening();
  }
});

Deno.test("a failed join fails with MulticastJoinError naming the reason", async () => {
  const port = new UDPPort(0, new Recorder(), {
    interface: LOOPBACK,
    listenDatagram: fakeMulticast([], true),
  });
  port.startListening();
  try {
    await assert.rejects(
      port.joinGroup("239.9.9.9").asPromise(),
      (e: unknown) =>
        e instanceof MulticastJoinError &&
        e.message ===
          "Cannot change membership of multicast group 239.9.9.9: No such device",
    );
  } finally {
    await port.stopListening();
  }
});

Deno.test("UDPPort can be stopped before it starts", async () => {
  const proto = new Recorder();
  const port = new UDPPort(0, proto);
  await port.stopListening();
  assert.deepEqual(proto.events, []);
  assert.throws(() => port.getHost(), /not listening/);
});

// ----------------------------------------------------------------- examples

Deno.test("examples/udp_echo.ts echoes each datagram to its sender", async () => {
  const { UDPEcho } = await import("../../../examples/udp_echo.ts");
  const port = reactor.listenUDP(0, new UDPEcho(), { interface: LOOPBACK });
  const a = raw();
  const b = raw();
  try {
    const to = netAddr(udpHost(port));
    await a.send(encode("from a"), to);
    await b.send(encode("from b"), to);
    const [gotA, fromA] = await within(2_000, "a's echo", a.receive());
    const [gotB] = await within(2_000, "b's echo", b.receive());
    assert.equal(decode(gotA), "from a");
    assert.equal(decode(gotB), "from b");
    assert.equal((fromA as Deno.NetAddr).port, to.port);
  } finally {
    a.close();
    b.close();
    await port.stopListening();
  }
});

Deno.test("examples/udp_time.ts serves RFC 868 time to its client", async () => {
  const { RFC868_OFFSET, UDPTimeClient, UDPTimeServer } = await import(
    "../../../examples/udp_time.ts"
  );
  const when = Date.UTC(2030, 5, 15, 12, 30, 45);
  const server = reactor.listenUDP(0, new UDPTimeServer(() => when + 999), {
    interface: LOOPBACK,
  });
  const at = udpHost(server);
  const client = new UDPTimeClient(at.host, at.port);
  const clientPort = reactor.listenUDP(0, client, { interface: LOOPBACK });
  const probe = raw();
  try {
    const time = await within(2_000, "the time", client.time.asPromise());
    assert.equal(time.toISOString(), "2030-06-15T12:30:45.000Z");
    // On the wire: 4 bytes, big-endian seconds since 1900.
    await probe.send(new Uint8Array(), netAddr(at));
    const [wire] = await within(2_000, "the raw answer", probe.receive());
    assert.equal(wire.length, 4);
    assert.equal(
      new DataView(wire.buffer, wire.byteOffset).getUint32(0),
      Math.floor(when / 1000) + RFC868_OFFSET,
    );
  } finally {
    probe.close();
    await clientPort.stopListening();
    await server.stopListening();
  }
});

Deno.test("the RFC 868 client fails on an answer that is not 4 bytes", async () => {
  const { UDPTimeClient } = await import("../../../examples/udp_time.ts");
  const fake = raw();
  const at = fake.addr as Deno.NetAddr;
  const client = new UDPTimeClient(at.hostname, at.port);
  const port = reactor.listenUDP(0, client, { interface: LOOPBACK });
  try {
    const [, from] = await within(2_000, "the request", fake.receive());
    await fake.send(new Uint8Array([1, 2, 3]), from);
    await assert.rejects(
      within(2_000, "the failure", client.time.asPromise()),
      /expected 4 bytes, got 3/,
    );
  } finally {
    fake.close();
    await port.stopListening();
  }
});

Deno.test("listenUDP without --unstable-net says which flag or config is missing", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-config",
      "--quiet",
      new URL("./_udp_no_flag.ts", import.meta.url).pathname,
    ],
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const text = decode(out.stdout);
  assert.ok(out.success, decode(out.stderr));
  assert.match(text, /^UDPUnavailableError: Cannot listen on UDP: /);
  assert.match(text, /--unstable-net/);
  assert.match(text, /"unstable": \["net"\]/);
});
