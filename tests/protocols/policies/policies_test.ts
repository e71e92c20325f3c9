import assert from "node:assert/strict";
import { Deferred } from "../../../deferred/deferred.ts";
import { Failure } from "../../../deferred/failure.ts";
import {
  LimitConnectionsByPeer,
  LimitTotalConnectionsFactory,
  type ProtocolWrapper,
  ThrottlingFactory,
  WrappingFactory,
} from "../../../protocols/policies/mod.ts";
import {
  ClientFactory,
  Factory,
  Protocol,
  ServerFactory,
} from "../../../protocols/protocol.ts";
import { ConnectionDone } from "../../../reactor/errors.ts";
import type {
  IAddress,
  IConnector,
  IProtocol,
  IProtocolFactory,
} from "../../../reactor/interfaces.ts";
import { isHalfCloseable } from "../../../reactor/interfaces.ts";
import { reactor } from "../../../reactor/reactor.ts";
import { Clock } from "../../../testing/clock.ts";
import { captureLogs } from "../../../testing/logs.ts";
import {
  StringTransport,
  StringTransportWithDisconnection,
} from "../../../testing/string_transport.ts";
import { decode, encode, readExactly, within } from "../../_helpers.ts";

const ADDR: IAddress = { type: "TCP", host: "127.0.0.1", port: 35 };
const done = () => new Failure(new ConnectionDone());

/** Records its life, like Twisted's SimpleProtocol. */
class SimpleProtocol extends Protocol {
  connectedCount = 0;
  disconnected = false;
  buffer = "";
  reasons: Failure[] = [];
  override connectionMade(): void {
    this.connectedCount++;
  }
  override connectionLost(reason: Failure): void {
    this.disconnected = true;
    this.reasons.push(reason);
  }
  override dataReceived(data: Uint8Array): void {
    this.buffer += decode(data);
  }
}

/** An echo that is also a push producer, like Twisted's EchoProtocol. */
class EchoProtocol extends Protocol {
  paused = false;
  pauseProducing(): void {
    this.paused = true;
  }
  resumeProducing(): void {
    this.paused = false;
  }
  stopProducing(): void {}
  override dataReceived(data: Uint8Array): void {
    this.transport.write(data);
  }
}

class Server extends ServerFactory {
  override protocol = EchoProtocol;
}

function connectedWrapper(
  factory: WrappingFactory,
): [ProtocolWrapper, StringTransportWithDisconnection] {
  const proto = factory.buildProtocol(ADDR)!;
  const transport = new StringTransportWithDisconnection({ protocol: proto });
  proto.makeConnection(transport);
  return [proto, transport];
}

// ----------------------------------------------------------------- wrapper

Deno.test("WrappingFactory leaves the wrapped protocol's factory as the wrapped factory", () => {
  const f = new Server();
  const p = new WrappingFactory(f).buildProtocol(ADDR)!;
  assert.equal((p.wrappedProtocol as Protocol).factory, f);
});

Deno.test("WrappingFactory and ProtocolWrapper log prefixes name both, with fallbacks", () => {
  const factory = new WrappingFactory(new Server());
  assert.equal(factory.logPrefix(), "Server (WrappingFactory)");
  assert.equal(
    factory.buildProtocol(ADDR)!.logPrefix(),
    "EchoProtocol (ProtocolWrapper)",
  );
  class NoFactory {
    buildProtocol(): IProtocol {
      return new NoProtocol() as unknown as IProtocol;
    }
    doStart(): void {}
    doStop(): void {}
  }
  class NoProtocol {}
  const bare = new WrappingFactory(new NoFactory());
  assert.equal(bare.logPrefix(), "NoFactory (WrappingFactory)");
  assert.equal(
    bare.buildProtocol(ADDR)!.logPrefix(),
    "NoProtocol (ProtocolWrapper)",
  );
});

Deno.test("ProtocolWrapper relays addresses, producers and transport settings to the real transport", () => {
  const [wrapper, transport] = connectedWrapper(
    new WrappingFactory(new Server()),
  );
  assert.deepEqual(wrapper.getHost(), transport.getHost());
  assert.deepEqual(wrapper.getPeer(), transport.getPeer());
  const producer = new EchoProtocol();
  wrapper.registerProducer(producer, true);
  assert.equal(transport.producer, producer);
  assert.equal(transport.streaming, true);
  wrapper.unregisterProducer();
  assert.equal(transport.producer, undefined);
  assert.equal(transport.streaming, undefined);
  wrapper.setTcpNoDelay(true);
  wrapper.setTcpKeepAlive(true);
  assert.equal(transport.tcpNoDelay, true);
  assert.equal(transport.tcpKeepAlive, true);
  wrapper.startTLS({ hostname: "example.com" });
  assert.deepEqual(transport.tlsStarts, [{ hostname: "example.com" }]);
  wrapper.pauseProducing();
  assert.equal(transport.producerState, "paused");
  wrapper.resumeProducing();
  assert.equal(transport.producerState, "producing");
});

Deno.test("ProtocolWrapper passes data both ways and closes through the real transport", () => {
  const [wrapper, transport] = connectedWrapper(
    new WrappingFactory(new Server()),
  );
  wrapper.dataReceived(encode("ping"));
  wrapper.writeSequence(["a", encode("b")]);
  assert.equal(decode(transport.value()), "pingab");
  assert.equal(wrapper.disconnecting, false);
  wrapper.loseWriteConnection();
  assert.equal(transport.writeDisconnected, true);
  wrapper.loseConnection();
  assert.equal(wrapper.disconnecting, true);
  assert.equal(transport.disconnecting, true);
});

Deno.test("ProtocolWrapper registers on connect and unregisters on loss, passing the reason on", () => {
  const inner = Factory.forProtocol(SimpleProtocol);
  const factory = new WrappingFactory(inner);
  const [wrapper, transport] = connectedWrapper(factory);
  const simple = wrapper.wrappedProtocol as SimpleProtocol;
  assert.equal(simple.transport, wrapper);
  assert.equal(simple.connectedCount, 1);
  assert.deepEqual([...factory.protocols], [wrapper]);
  transport.loseConnection();
  assert.equal(factory.protocols.size, 0);
  assert.equal(simple.disconnected, true);
  assert.ok(simple.reasons[0].check(ConnectionDone));
});

Deno.test("ProtocolWrapper.abortConnection aborts the real transport", () => {
  const [wrapper, transport] = connectedWrapper(
    new WrappingFactory(Factory.forProtocol(SimpleProtocol)),
  );
  wrapper.abortConnection();
  assert.equal(transport.disconnected, true);
  assert.equal(wrapper.disconnecting, true);
});

Deno.test("ProtocolWrapper is half-closeable exactly when the wrapped protocol is", () => {
  class HalfClose extends Protocol {
    calls: string[] = [];
    readConnectionLost(): void {
      this.calls.push("read");
    }
    writeConnectionLost(): void {
      this.calls.push("write");
    }
  }
  const factory = new WrappingFactory(Factory.forProtocol(HalfClose));
  const wrapper = factory.buildProtocol(ADDR)!;
  assert.equal(isHalfCloseable(wrapper), true);
  (wrapper as unknown as HalfClose).readConnectionLost();
  (wrapper as unknown as HalfClose).writeConnectionLost();
  assert.deepEqual((wrapper.wrappedProtocol as HalfClose).calls, [
    "read",
    "write",
  ]);
  const plain = new WrappingFactory(new Server()).buildProtocol(ADDR)!;
  assert.equal(isHalfCloseable(plain), false);
});

Deno.test("WrappingFactory passes start, stop and client events to the wrapped factory", () => {
  const events: string[] = [];
  class Recording extends ClientFactory {
    override startFactory(): void {
      events.push("start");
    }
    override stopFactory(): void {
      events.push("stop");
    }
    override startedConnecting(_c: IConnector): void {
      events.push("connecting");
    }
    override clientConnectionFailed(_c: IConnector, r: Failure): void {
      events.push(`failed ${r.getErrorMessage()}`);
    }
    override clientConnectionLost(_c: IConnector, r: Failure): void {
      events.push(`lost ${r.getErrorMessage()}`);
    }
  }
  const factory = new WrappingFactory(new Recording());
  const connector = {} as IConnector;
  factory.doStart();
  factory.startedConnecting(connector);
  factory.clientConnectionFailed(connector, new Failure(new Error("refused")));
  factory.clientConnectionLost(connector, new Failure(new Error("reset")));
  factory.doStop();
  assert.deepEqual(events, [
    "start",
    "connecting",
    "failed refused",
    "lost reset",
    "stop",
  ]);
  // A server factory has no client events: they are ignored.
  const server = new WrappingFactory(new Server());
  server.startedConnecting(connector);
});

Deno.test("WrappingFactory refuses a connection when the wrapped factory does", () => {
  const refusing: IProtocolFactory = {
    buildProtocol: () => null,
    doStart() {},
    doStop() {},
  };
  assert.equal(new WrappingFactory(refusing).buildProtocol(ADDR), null);
});

// -------------------------------------------------------------- throttling

Deno.test("ThrottlingFactory counts the bytes of writeSequence", () => {
  const tServer = new ThrottlingFactory(new Server(), { clock: new Clock() });
  const [proto, transport] = connectedWrapper(tServer);
  proto.writeSequence([encode("bytes"), "bytes", encode("bytes"), "bytés"]);
  assert.equal(decode(transport.value()), "bytesbytesbytesbytés");
  assert.equal(tServer.writtenThisSecond, 21);
});

Deno.test("ThrottlingFactory pauses the producer when over writeLimit, and resumes it", () => {
  const clock = new Clock();
  const tServer = new ThrottlingFactory(new Server(), {
    writeLimit: 10,
    clock,
  });
  const [port, tr] = connectedWrapper(tServer);
  const echo = port.wrappedProtocol as EchoProtocol;
  port.registerProducer(echo, true);
  port.dataReceived(encode("0123456789"));
  port.dataReceived(encode("abcdefghij"));
  assert.equal(decode(tr.value()), "0123456789abcdefghij");
  assert.equal(tServer.writtenThisSecond, 20);
  assert.equal(echo.paused, false);
  // 20 bytes against a limit of 10: paused from the check at 1 s for 1 s.
  clock.advance(1.05);
  assert.equal(tServer.writtenThisSecond, 0);
  assert.equal(echo.paused, true);
  assert.equal(tServer.writesThrottled, true);
  clock.advance(1.05);
  assert.equal(tServer.writtenThisSecond, 0);
  assert.equal(echo.paused, false);
  assert.equal(tServer.writesThrottled, false);
});

Deno.test("ThrottlingFactory: a producer that throws is logged, and the other connections and the checks go on", () => {
  using logs = captureLogs();
  const clock = new Clock();
  const tServer = new ThrottlingFactory(new Server(), {
    writeLimit: 10,
    clock,
  });
  const [broken] = connectedWrapper(tServer);
  const [good] = connectedWrapper(tServer);
  broken.registerProducer({
    pauseProducing() {
      throw new RangeError("cannot pause");
    },
    resumeProducing() {
      throw new RangeError("cannot resume");
    },
    stopProducing() {},
  }, true);
  const echo = good.wrappedProtocol as EchoProtocol;
  good.registerProducer(echo, true);
  for (let round = 0; round < 2; round++) {
    good.dataReceived(encode("0123456789abcdefghij"));
    clock.advance(1.05);
    assert.equal(echo.paused, true, `round ${round}: paused despite the other`);
    clock.advance(1.05);
    assert.equal(echo.paused, false, `round ${round}: resumed`);
  }
  const errors = logs.flushLoggedErrors(RangeError);
  assert.deepEqual(errors.map((f) => f.getErrorMessage()), [
    "cannot pause",
    "cannot resume",
    "cannot pause",
    "cannot resume",
  ]);
});

Deno.test("ThrottlingFactory pauses reading when over readLimit, and resumes it", () => {
  const clock = new Clock();
  const tServer = new ThrottlingFactory(new Server(), { readLimit: 10, clock });
  const [port, tr] = connectedWrapper(tServer);
  for (let round = 0; round < 2; round++) {
    tr.clear();
    port.dataReceived(encode("0123456789"));
    port.dataReceived(encode("abcdefghij"));
    assert.equal(decode(tr.value()), "0123456789abcdefghij");
    assert.equal(tServer.readThisSecond, 20);
    clock.advance(1.05);
    assert.equal(tServer.readThisSecond, 0);
    assert.equal(tr.producerState, "paused", `round ${round}`);
    clock.advance(1.05);
    assert.equal(tServer.readThisSecond, 0);
    assert.equal(tr.producerState, "producing", `round ${round}`);
  }
});

Deno.test("ThrottlingFactory pauses for longer the further over the limit, and starts new connections paused", () => {
  const clock = new Clock();
  const tServer = new ThrottlingFactory(new Server(), { readLimit: 10, clock });
  const [port, tr] = connectedWrapper(tServer);
  port.dataReceived(new Uint8Array(45)); // 4.5x the limit: 3.5 s paused
  clock.advance(1);
  assert.equal(tr.producerState, "paused");
  const [late, lateTr] = connectedWrapper(tServer);
  assert.equal(lateTr.producerState, "paused", "new connection starts paused");
  clock.advance(3.4);
  assert.equal(tr.producerState, "paused");
  clock.advance(0.2);
  assert.equal(tr.producerState, "producing");
  assert.equal(lateTr.producerState, "producing");
  late.loseConnection();
});

Deno.test("ThrottlingFactory refuses connections over maxConnectionCount and stops its checks after the last", () => {
  const clock = new Clock();
  const tServer = new ThrottlingFactory(new Server(), {
    maxConnectionCount: 2,
    readLimit: 100,
    writeLimit: 100,
    clock,
  });
  assert.equal(clock.calls.length, 0, "no checks before a connection");
  const [a, ta] = connectedWrapper(tServer);
  const [, tb] = connectedWrapper(tServer);
  assert.equal(tServer.buildProtocol(ADDR), null);
  assert.equal(tServer.connectionCount, 2);
  assert.equal(clock.calls.length, 2, "one read and one write check");
  ta.loseConnection();
  assert.equal(tServer.connectionCount, 1);
  assert.notEqual(tServer.buildProtocol(ADDR), null);
  a.dataReceived(new Uint8Array(0));
  tb.loseConnection();
  // The protocol built above never connected, so one is still counted.
  assert.equal(tServer.connectionCount, 1);
});

Deno.test("ThrottlingFactory stops its timers when the last connection closes", () => {
  const clock = new Clock();
  const tServer = new ThrottlingFactory(new Server(), { readLimit: 1, clock });
  const [port, tr] = connectedWrapper(tServer);
  port.dataReceived(new Uint8Array(10));
  clock.advance(1);
  assert.equal(clock.calls.length, 2, "the next check and the unthrottle");
  tr.loseConnection();
  assert.equal(clock.calls.length, 0);
});

/**
 * Twisted's test_limit, on real sockets, for any limiting factory: two
 * connections are served, a third is closed at once, and once one closes
 * a new one is served.
 */
async function limitOverTCP(
  wrap: (inner: IProtocolFactory) => WrappingFactory,
): Promise<void> {
  const served: Tracked[] = [];
  let onMade: (() => void) | undefined;
  class Tracked extends EchoProtocol {
    readonly lost = new Deferred<void>();
    override connectionMade(): void {
      served.push(this);
      onMade?.();
    }
    override connectionLost(): void {
      this.lost.callback(undefined);
    }
  }
  const servedCount = (n: number) =>
    within(
      5_000,
      `server connection ${n}`,
      new Promise<void>((resolve) => {
        onMade = () => {
          if (served.length >= n) resolve();
        };
        onMade();
      }),
    );
  const factory = wrap(Factory.forProtocol(Tracked));
  const port = reactor.listenTCP(0, factory, { interface: "127.0.0.1" });
  const at = port.getHost();
  assert(at.type === "TCP");
  const conns: Deno.TcpConn[] = [];
  const connect = async () => {
    const conn = await Deno.connect({ hostname: "127.0.0.1", port: at.port });
    conns.push(conn);
    return conn;
  };
  try {
    await connect();
    await servedCount(1);
    await connect();
    await servedCount(2);
    assert.equal(factory.protocols.size, 2);
    // The third is refused: the server closes it without serving it.
    const third = await connect();
    const eof = await within(
      5_000,
      "the refused connection to close",
      third.read(new Uint8Array(1)),
    );
    assert.equal(eof, null);
    assert.equal(served.length, 2);
    assert.equal(factory.protocols.size, 2);
    // One closes: a new one is served.
    conns[0].close();
    conns.shift();
    await within(5_000, "the first connection to be lost", served[0].lost);
    const fourth = await connect();
    await servedCount(3);
    await fourth.write(encode("ping"));
    const echoed = await within(5_000, "the echo", readExactly(fourth, 4));
    assert.equal(decode(echoed), "ping");
  } finally {
    for (const c of conns) c.close();
    for (const p of served) {
      await within(5_000, "the server sides to close", p.lost);
    }
    await port.stopListening();
  }
}

Deno.test("ThrottlingFactory serves at most maxConnectionCount connections over TCP", async () => {
  await limitOverTCP((inner) =>
    new ThrottlingFactory(inner, { maxConnectionCount: 2 })
  );
});

// ---------------------------------------------------------- connection caps

Deno.test("LimitConnectionsByPeer counts connections per host and counts them off when lost", () => {
  const factory = new LimitConnectionsByPeer(
    Factory.forProtocol(SimpleProtocol),
  );
  factory.maxConnectionsPerPeer = 2;
  const from = (host: string): IAddress => ({ type: "TCP", host, port: 50000 });
  const open: StringTransportWithDisconnection[] = [];
  for (let i = 0; i < 2; i++) {
    const p = factory.buildProtocol(from("10.0.0.1"))!;
    const t = new StringTransportWithDisconnection({ protocol: p });
    p.makeConnection(t);
    open.push(t);
  }
  assert.equal(factory.buildProtocol(from("10.0.0.1")), null);
  const other = factory.buildProtocol(from("10.0.0.2"));
  assert.notEqual(other, null);
  assert.deepEqual([...factory.peerConnections], [["10.0.0.1", 2], [
    "10.0.0.2",
    1,
  ]]);
  open[0].loseConnection();
  assert.equal(factory.peerConnections.get("10.0.0.1"), 1);
  assert.notEqual(factory.buildProtocol(from("10.0.0.1")), null);
  open[1].loseConnection();
  assert.equal(
    factory.peerConnections.get("10.0.0.1"),
    1,
    "the one just built",
  );
  const unix = factory.buildProtocol({ type: "UNIX", name: "/run/app.sock" });
  assert.notEqual(unix, null);
  assert.equal(factory.peerConnections.get("/run/app.sock"), 1);
});

Deno.test("LimitConnectionsByPeer limits connections from one host over TCP", async () => {
  await limitOverTCP((inner) => {
    const f = new LimitConnectionsByPeer(inner);
    f.maxConnectionsPerPeer = 2;
    return f;
  });
});

Deno.test("LimitTotalConnectionsFactory counts connections as they are made and lost", () => {
  const factory = LimitTotalConnectionsFactory.forProtocol(Protocol);
  assert.equal(factory.connectionCount, 0);
  const p1 = factory.buildProtocol(ADDR)!;
  assert.equal(factory.connectionCount, 1);
  const p2 = factory.buildProtocol(ADDR)!;
  assert.equal(factory.connectionCount, 2);
  p1.connectionLost(done());
  assert.equal(factory.connectionCount, 1);
  p2.connectionLost(done());
  assert.equal(factory.connectionCount, 0);
});

Deno.test("LimitTotalConnectionsFactory refuses or overflows connections over the limit", () => {
  const factory = LimitTotalConnectionsFactory.forProtocol(Protocol);
  factory.connectionLimit = 1;
  const p = factory.buildProtocol(ADDR)!;
  assert.notEqual(p, null);
  assert.equal(factory.connectionCount, 1);
  assert.equal(factory.buildProtocol(ADDR), null);
  assert.equal(factory.connectionCount, 1);
  let overflowed = false;
  class OverflowProtocol extends Protocol {
    override connectionMade(): void {
      overflowed = true;
    }
  }
  factory.overflowProtocol = OverflowProtocol;
  const op = factory.buildProtocol(ADDR)!;
  op.makeConnection(new StringTransport());
  assert.equal(overflowed, true);
  assert.equal((op.wrappedProtocol as Protocol).factory, factory);
  assert.equal(factory.connectionCount, 2);
  p.connectionLost(done());
  assert.equal(factory.connectionCount, 1);
  op.connectionLost(done());
  assert.equal(factory.connectionCount, 0);
});

Deno.test("LimitTotalConnectionsFactory without a protocol throws a TypeError", () => {
  assert.throws(
    () => new LimitTotalConnectionsFactory().buildProtocol(ADDR),
    TypeError,
  );
});
