// TCP ports, connectors and the stream transport, on loopback sockets.

import assert from "node:assert/strict";
import { LineReceiver } from "../../../protocols/basic.ts";
import { ClientFactory, Factory } from "../../../protocols/protocol.ts";
import {
  ClientCreator,
  ReconnectingClientFactory,
} from "../../../protocols/client.ts";
import type { Failure } from "../../../deferred/failure.ts";
import { DenoReactor, reactor } from "../../../reactor/reactor.ts";
import {
  CannotListenError,
  ConnectError,
  ConnectionAborted,
  ConnectionDone,
  ConnectionLost,
  ConnectionRefusedError,
  DNSLookupError,
  TCPTimedOutError,
} from "../../../reactor/errors.ts";
import type {
  IAddress,
  IConnector,
  IProtocol,
  IPullProducer,
  IPushProducer,
} from "../../../reactor/interfaces.ts";
import type { StreamTransport } from "../../../reactor/net/stream.ts";
import { UserError } from "../../../reactor/net/stream_connector.ts";
import { TCPConnector } from "../../../reactor/net/tcp.ts";
import { captureLogs } from "../../../testing/logs.ts";
import {
  decode,
  encode,
  readAll,
  readExactly,
  within,
} from "../../_helpers.ts";
import {
  concat,
  EchoRecorder,
  freePort,
  pattern,
  portOf,
  Recorder,
  sameBytes,
} from "./_stream_helpers.ts";

const WAIT = 10_000;

/** A server factory that remembers the protocols it built, in order. */
class Keeping<P extends IProtocol> extends Factory {
  built: P[] = [];
  #waiting = new Map<number, PromiseWithResolvers<P>>();
  constructor(public make: () => P) {
    super();
  }
  override buildProtocol(_addr: IAddress): IProtocol | null {
    const p = this.make();
    this.built.push(p);
    this.#waiting.get(this.built.length - 1)?.resolve(p);
    return p;
  }
  /** The `i`-th protocol built (from 0), once it is. */
  nth(i: number): Promise<P> {
    if (i < this.built.length) return Promise.resolve(this.built[i]);
    let w = this.#waiting.get(i);
    if (w === undefined) this.#waiting.set(i, w = Promise.withResolvers<P>());
    return w.promise;
  }
}

/** A client factory that records its calls and builds one protocol. */
class ClientRecorder<P extends IProtocol> extends ClientFactory {
  calls: string[] = [];
  connectors: IConnector[] = [];
  failed = Promise.withResolvers<Failure>();
  lostReason = Promise.withResolvers<Failure>();
  protocols: P[] = [];
  #waiting = new Map<number, PromiseWithResolvers<P>>();
  constructor(readonly make: () => P) {
    super();
  }
  override startFactory(): void {
    this.calls.push("startFactory");
  }
  override stopFactory(): void {
    this.calls.push("stopFactory");
  }
  override startedConnecting(c: IConnector): void {
    this.calls.push("startedConnecting");
    this.connectors.push(c);
  }
  override buildProtocol(_addr: IAddress): IProtocol | null {
    this.calls.push("buildProtocol");
    const p = this.make();
    this.protocols.push(p);
    this.#waiting.get(this.protocols.length - 1)?.resolve(p);
    return p;
  }
  /** The `i`-th protocol built (from 0), once it is. */
  nth(i: number): Promise<P> {
    if (i < this.protocols.length) return Promise.resolve(this.protocols[i]);
    let w = this.#waiting.get(i);
    if (w === undefined) this.#waiting.set(i, w = Promise.withResolvers<P>());
    return w.promise;
  }
  override clientConnectionFailed(c: IConnector, reason: Failure): void {
    this.calls.push("clientConnectionFailed");
    this.connectors.push(c);
    this.failed.resolve(reason);
  }
  override clientConnectionLost(c: IConnector, reason: Failure): void {
    this.calls.push("clientConnectionLost");
    this.connectors.push(c);
    this.lostReason.resolve(reason);
  }
}

/**
 * A listener that never accepts, with its accept queue full: the kernel
 * drops the SYNs of further connections, so connecting to it hangs.
 */
async function fullListener() {
  const listener = Deno.listen({
    hostname: "127.0.0.1",
    port: 0,
    tcpBacklog: 0,
  });
  const fillers: Deno.Conn[] = [];
  for (let i = 0; i < 3; i++) {
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), 300);
    try {
      fillers.push(
        await Deno.connect({
          hostname: "127.0.0.1",
          port: listener.addr.port,
          signal: ac.signal,
        }),
      );
    } catch {
      break; // the queue is full
    } finally {
      clearTimeout(timer);
    }
  }
  return { listener, fillers };
}

function listenEcho<P extends IProtocol>(make: () => P) {
  const factory = new Keeping(make);
  const port = reactor.listenTCP(0, factory, { interface: "127.0.0.1" });
  return { factory, port, portNumber: portOf(port.getHost()) };
}

Deno.test("listenTCP on port 0 reports the bound port and stopListening fires once closed", async () => {
  using _logs = captureLogs();
  const factory = new Keeping(() => new Recorder());
  const calls: string[] = [];
  factory.startFactory = () => calls.push("start");
  factory.stopFactory = () => calls.push("stop");
  const a = reactor.listenTCP(0, factory, { interface: "127.0.0.1" });
  const b = reactor.listenTCP(0, factory, { interface: "127.0.0.1" });
  const addr = a.getHost();
  assert.equal(addr.type, "TCP");
  assert.equal(addr.type === "TCP" && addr.host, "127.0.0.1");
  assert.ok(portOf(addr) > 0);
  assert.notEqual(portOf(addr), portOf(b.getHost()));
  assert.deepEqual(calls, ["start"], "doStart runs once for the first port");
  await a.stopListening();
  assert.deepEqual(calls, ["start"]);
  await b.stopListening();
  assert.deepEqual(calls, ["start", "stop"], "doStop after the last port");
  await assert.rejects(
    Deno.connect({ hostname: "127.0.0.1", port: portOf(addr) }),
    Deno.errors.ConnectionRefused,
  );
  // A second stopListening fires at once.
  await within(WAIT, "a second stopListening", b.stopListening().asPromise());
});

Deno.test("listenTCP on a port in use raises CannotListenError naming the address", async () => {
  using _logs = captureLogs();
  const { port, portNumber } = listenEcho(() => new Recorder());
  try {
    assert.throws(
      () =>
        reactor.listenTCP(portNumber, new Factory(), {
          interface: "127.0.0.1",
        }),
      (e: unknown) =>
        e instanceof CannotListenError &&
        e.message.startsWith(`Cannot listen on 127.0.0.1:${portNumber}:`) &&
        e.cause instanceof Deno.errors.AddrInUse,
    );
    assert.throws(
      () => reactor.listenTCP(70000, new Factory()),
      RangeError,
    );
  } finally {
    await port.stopListening();
  }
});

Deno.test("TCP carries several MB intact in both directions through an echo", async () => {
  using _logs = captureLogs();
  const { factory, port, portNumber } = listenEcho(() => new EchoRecorder());
  const payload = pattern(6 * 1024 * 1024, 7);
  const client = new ClientRecorder(() => new Recorder());
  const connector = reactor.connectTCP("127.0.0.1", portNumber, client);
  try {
    const proto = await within(WAIT, "buildProtocol", client.nth(0));
    await within(WAIT, "connectionMade", proto.made.promise);
    // Odd-sized writes, several per turn, so coalescing and partial writes
    // both happen.
    for (let off = 0; off < payload.length;) {
      const size = Math.min(payload.length - off, 1 + (off % 100_003));
      proto.transport!.write(payload.subarray(off, off + size));
      off += size;
    }
    await within(WAIT, "the echo of 6 MB", proto.bytes(payload.length));
    sameBytes(proto.data(), payload);
    const server = factory.built[0];
    sameBytes(server.data(), payload);
    proto.transport!.loseConnection();
    const [c, s] = await within(
      WAIT,
      "both sides to close",
      Promise.all([proto.lost.promise, server.lost.promise]),
    );
    assert.ok(c.check(ConnectionDone), c.getErrorMessage());
    assert.ok(s.check(ConnectionDone), s.getErrorMessage());
    assert.equal(proto.lostCount, 1);
    assert.equal(server.lostCount, 1);
    assert.equal(connector.state, "disconnected");
  } finally {
    await port.stopListening();
  }
});

Deno.test("loseConnection sends everything queued first, then both sides get ConnectionDone", async () => {
  using _logs = captureLogs();
  const payload = pattern(3 * 1024 * 1024, 3);
  class Sender extends Recorder {
    override connectionMade(): void {
      super.connectionMade();
      this.transport!.write(payload.subarray(0, 1000));
      this.transport!.writeSequence([
        payload.subarray(1000, 5000),
        payload.subarray(5000),
      ]);
      this.transport!.loseConnection();
      assert.equal(this.transport!.disconnecting, true);
      // Writes after loseConnection() but before the close still go out
      // (as in Twisted); nothing is lost.
      this.transport!.write("!");
    }
  }
  const { factory, port, portNumber } = listenEcho(() => new Sender());
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: portNumber });
  try {
    const got = await within(WAIT, "everything until EOF", readAll(conn));
    sameBytes(got, concat([payload, encode("!")]));
    const server = await within(WAIT, "the server protocol", factory.nth(0));
    const reason = await within(WAIT, "connectionLost", server.lost.promise);
    assert.ok(reason.check(ConnectionDone));
    assert.equal(server.lostCount, 1);
    // Ignored after close: no error, nothing sent.
    server.transport!.write("late");
  } finally {
    conn.close();
    await port.stopListening();
  }
});

Deno.test("the peer closing gives ConnectionDone; a reset gives ConnectionLost", async () => {
  using _logs = captureLogs();
  const { factory, port, portNumber } = listenEcho(() => new Recorder());
  try {
    const a = await Deno.connect({ hostname: "127.0.0.1", port: portNumber });
    const serverA = await within(WAIT, "server A", factory.nth(0));
    a.close();
    const done = await within(
      WAIT,
      "connectionLost after EOF",
      serverA.lost.promise,
    );
    assert.ok(done.check(ConnectionDone), done.getErrorMessage());

    // Closing a socket with unread bytes makes the kernel send a reset.
    // Deno reports it to a read as EOF, to a write as an error.
    class Talker extends Recorder {
      override connectionMade(): void {
        super.connectionMade();
        this.transport!.write(pattern(64 * 1024));
      }
      override dataReceived(data: Uint8Array): void {
        super.dataReceived(data);
        this.transport!.write(pattern(64 * 1024));
      }
    }
    factory.make = () => new Talker();
    const b = await Deno.connect({ hostname: "127.0.0.1", port: portNumber });
    const serverB = await within(WAIT, "server B", factory.nth(1));
    await within(WAIT, "a first byte", readExactly(b, 1));
    await b.write(encode("x")); // the server writes to the reset socket
    b.close();
    const lost = await within(
      WAIT,
      "connectionLost after a reset",
      serverB.lost.promise,
    );
    assert.ok(lost.check(ConnectionLost), lost.getErrorMessage());
    assert.ok(!lost.check(ConnectionAborted));
    assert.equal(serverB.lostCount, 1);
  } finally {
    await port.stopListening();
  }
});

Deno.test("abortConnection during a large write drops the rest: ConnectionAborted, later, once", async () => {
  using _logs = captureLogs();
  const big = pattern(32 * 1024 * 1024, 5);
  class BigWriter extends Recorder {
    override connectionMade(): void {
      super.connectionMade();
      this.transport!.write(big);
    }
    override connectionLost(reason: Failure): void {
      this.events.push(`lost while aborting: ${aborting}`);
      super.connectionLost(reason);
    }
  }
  let aborting = false;
  const { factory, port, portNumber } = listenEcho(() => new BigWriter());
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: portNumber });
  try {
    const server = await within(WAIT, "the server protocol", factory.nth(0));
    await within(WAIT, "some bytes", readExactly(conn, 1024));
    const transport = server.transport! as StreamTransport;
    assert.ok(transport.bufferedAmount > 0, "the write is still in progress");
    aborting = true;
    transport.abortConnection();
    transport.abortConnection(); // a second call does nothing
    transport.loseConnection(); // nor does this
    aborting = false;
    assert.equal(transport.disconnecting, true);
    assert.equal(transport.bufferedAmount, 0, "the queue is dropped");
    const reason = await within(WAIT, "connectionLost", server.lost.promise);
    assert.ok(reason.check(ConnectionAborted), reason.getErrorMessage());
    assert.deepEqual(server.events, [
      "connectionMade",
      "lost while aborting: false",
      "connectionLost",
    ]);
    const rest = await within(WAIT, "EOF on the client", readAll(conn));
    assert.ok(rest.length + 1024 < big.length, "the rest was not sent");
    sameBytes(rest, big.subarray(1024, 1024 + rest.length));
  } finally {
    conn.close();
    await port.stopListening();
  }
});

Deno.test("abortConnection inside dataReceived is not re-entrant", async () => {
  using _logs = captureLogs();
  class AbortOnData extends Recorder {
    override dataReceived(data: Uint8Array): void {
      this.events.push("dataReceived start");
      this.transport!.abortConnection();
      this.transport!.write("ignored");
      this.events.push("dataReceived end");
      super.dataReceived(data);
    }
  }
  const { factory, port, portNumber } = listenEcho(() => new AbortOnData());
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: portNumber });
  try {
    await conn.write(encode("hello"));
    const server = await within(WAIT, "the server protocol", factory.nth(0));
    const reason = await within(WAIT, "connectionLost", server.lost.promise);
    assert.ok(reason.check(ConnectionAborted));
    assert.deepEqual(server.events, [
      "connectionMade",
      "dataReceived start",
      "dataReceived end",
      "dataReceived",
      "connectionLost",
    ]);
    assert.equal(decode(await within(WAIT, "EOF", readAll(conn))), "");
  } finally {
    conn.close();
    await port.stopListening();
  }
});

Deno.test("connectTCP reports startedConnecting, buildProtocol, then clientConnectionLost with the same connector", async () => {
  using _logs = captureLogs();
  const { factory, port, portNumber } = listenEcho(() => new EchoRecorder());
  const client = new ClientRecorder(() => new Recorder());
  const connector = reactor.connectTCP("127.0.0.1", portNumber, client);
  try {
    assert.equal(connector.state, "connecting");
    assert.deepEqual(client.calls, ["startFactory", "startedConnecting"]);
    assert.deepEqual(connector.getDestination(), {
      type: "TCP",
      host: "127.0.0.1",
      port: portNumber,
    });
    const proto = await within(WAIT, "buildProtocol", client.nth(0));
    await proto.made.promise;
    assert.equal(connector.state, "connected");
    const server = await within(WAIT, "the server protocol", factory.nth(0));
    // Each side's peer is the other's host.
    const clientHost = proto.transport!.getHost();
    const serverPeer = server.transport!.getPeer();
    assert.deepEqual(serverPeer, clientHost);
    assert.deepEqual(proto.transport!.getPeer(), server.transport!.getHost());
    proto.transport!.setTcpNoDelay(true);
    proto.transport!.setTcpKeepAlive(true);
    proto.transport!.write("ping");
    await within(WAIT, "the echo", proto.bytes(4));
    assert.equal(decode(proto.data()), "ping");
    server.transport!.loseConnection();
    const reason = await within(
      WAIT,
      "clientConnectionLost",
      client.lostReason.promise,
    );
    assert.ok(reason.check(ConnectionDone));
    assert.deepEqual(client.calls, [
      "startFactory",
      "startedConnecting",
      "buildProtocol",
      "clientConnectionLost",
      "stopFactory",
    ]);
    assert.ok(client.connectors.every((c) => c === connector));
    assert.equal(connector.state, "disconnected");
    await within(WAIT, "server connectionLost", server.lost.promise);
  } finally {
    await port.stopListening();
  }
});

Deno.test("connector.connect() reconnects after a loss, and disconnect() closes", async () => {
  using _logs = captureLogs();
  const { factory, port, portNumber } = listenEcho(() => new Recorder());
  class Again extends ClientRecorder<Recorder> {
    override clientConnectionLost(c: IConnector, reason: Failure): void {
      super.clientConnectionLost(c, reason);
      if (this.protocols.length === 1) c.connect(); // once
    }
  }
  const client = new Again(() => new Recorder());
  const connector = reactor.connectTCP("127.0.0.1", portNumber, client);
  try {
    const first = await within(WAIT, "first connection", client.nth(0));
    const server1 = await within(WAIT, "server 1", factory.nth(0));
    const second = client.nth(1);
    server1.transport!.loseConnection();
    const p2 = await within(WAIT, "second connection", second);
    await p2.made.promise;
    assert.notEqual(p2, first);
    assert.equal(connector.state, "connected");
    const server2 = await within(WAIT, "server 2", factory.nth(1));
    connector.disconnect();
    await within(WAIT, "client connectionLost", p2.lost.promise);
    await within(WAIT, "server connectionLost", server2.lost.promise);
    assert.deepEqual(client.calls, [
      "startFactory",
      "startedConnecting",
      "buildProtocol",
      "clientConnectionLost",
      "startedConnecting",
      "buildProtocol",
      "clientConnectionLost",
      "stopFactory",
    ]);
    assert.throws(() => connector.stopConnecting(), /not connecting/);
  } finally {
    await port.stopListening();
  }
});

Deno.test("connectTCP to a closed port fails with ConnectionRefusedError", async () => {
  using _logs = captureLogs();
  const port = freePort();
  const client = new ClientRecorder(() => new Recorder());
  const connector = reactor.connectTCP("127.0.0.1", port, client, {
    timeout: 5,
  });
  const reason = await within(
    WAIT,
    "clientConnectionFailed",
    client.failed.promise,
  );
  assert.ok(reason.check(ConnectionRefusedError), reason.getErrorMessage());
  assert.match(reason.getErrorMessage(), new RegExp(`127\\.0\\.0\\.1:${port}`));
  assert.deepEqual(client.calls, [
    "startFactory",
    "startedConnecting",
    "clientConnectionFailed",
    "stopFactory",
  ]);
  assert.equal(client.connectors[1], connector);
  assert.equal(connector.state, "disconnected");
  assert.deepEqual(reactor.getDelayedCalls(), [], "the timeout was cancelled");
});

Deno.test("connectTCP times out with TCPTimedOutError when the listener's backlog is full", async () => {
  using _logs = captureLogs();
  // A listener that never accepts, with room for one queued connection:
  // the kernel drops the SYNs of the next ones, so they hang.
  const { listener, fillers } = await fullListener();
  try {
    const client = new ClientRecorder(() => new Recorder());
    const connector = reactor.connectTCP(
      "127.0.0.1",
      listener.addr.port,
      client,
      {
        timeout: 0.2,
      },
    );
    const reason = await within(
      WAIT,
      "clientConnectionFailed",
      client.failed.promise,
    );
    assert.ok(reason.check(TCPTimedOutError), reason.getErrorMessage());
    assert.match(reason.getErrorMessage(), /timed out after 0\.2 s/);
    assert.equal(connector.state, "disconnected");
    assert.deepEqual(client.calls, [
      "startFactory",
      "startedConnecting",
      "clientConnectionFailed",
      "stopFactory",
    ]);
  } finally {
    for (const c of fillers) c.close();
    listener.close();
  }
});

Deno.test("stopConnecting abandons the attempt with UserError", async () => {
  using _logs = captureLogs();
  const { listener, fillers } = await fullListener();
  try {
    const client = new ClientRecorder(() => new Recorder());
    const connector = reactor.connectTCP(
      "127.0.0.1",
      listener.addr.port,
      client,
    );
    connector.stopConnecting();
    assert.equal(
      client.calls.includes("clientConnectionFailed"),
      false,
      "reported later",
    );
    assert.throws(() => connector.connect(), /already connecting/);
    const reason = await within(
      WAIT,
      "clientConnectionFailed",
      client.failed.promise,
    );
    assert.ok(reason.check(UserError));
    assert.ok(reason.check(ConnectError));
    assert.equal(connector.state, "disconnected");
    assert.deepEqual(reactor.getDelayedCalls(), []);
  } finally {
    for (const c of fillers) c.close();
    listener.close();
  }
});

Deno.test("connectTCP rejects bad arguments clearly", () => {
  const f = new ClientFactory();
  assert.throws(() => reactor.connectTCP("", 80, f), TypeError);
  assert.throws(() => reactor.connectTCP("127.0.0.1", -1, f), RangeError);
  assert.throws(
    () => reactor.connectTCP("127.0.0.1", 80, f, { timeout: -1 }),
    RangeError,
  );
  assert.throws(
    () =>
      reactor.connectTCP("127.0.0.1", 80, f, {
        bindAddress: ["127.0.0.2", 0],
      }),
    /cannot bind the local address/,
  );
  assert.deepEqual(reactor.getDelayedCalls(), []);
});

Deno.test("a half-closeable protocol gets readConnectionLost and may still write", async () => {
  using _logs = captureLogs();
  class HalfServer extends Recorder {
    readConnectionLost(): void {
      this.events.push("readConnectionLost");
      this.transport!.write(`got ${this.received} bytes`);
      this.transport!.loseConnection();
    }
    writeConnectionLost(): void {
      this.events.push("writeConnectionLost");
    }
  }
  class HalfClient extends Recorder {
    override connectionMade(): void {
      super.connectionMade();
      this.transport!.write("12345");
      this.transport!.loseWriteConnection();
      this.transport!.write("ignored after the writing half is shut?");
    }
    readConnectionLost(): void {
      this.events.push("readConnectionLost");
    }
    writeConnectionLost(): void {
      this.events.push("writeConnectionLost");
    }
  }
  const { factory, port, portNumber } = listenEcho(() => new HalfServer());
  const client = new ClientRecorder(() => new HalfClient());
  reactor.connectTCP("127.0.0.1", portNumber, client);
  try {
    const proto = await within(WAIT, "buildProtocol", client.nth(0));
    const server = await within(WAIT, "the server protocol", factory.nth(0));
    const [c, s] = await within(
      WAIT,
      "both to close",
      Promise.all([proto.lost.promise, server.lost.promise]),
    );
    // The write after loseWriteConnection was queued before the half-close
    // happened, so it was sent: Twisted shuts the half after the flush.
    assert.equal(
      decode(server.data()),
      "12345ignored after the writing half is shut?",
    );
    assert.equal(decode(proto.data()), "got 44 bytes");
    assert.ok(c.check(ConnectionDone));
    assert.ok(s.check(ConnectionDone));
    assert.deepEqual(server.events, [
      "connectionMade",
      "dataReceived",
      "readConnectionLost",
      "connectionLost",
    ]);
    assert.deepEqual(proto.events, [
      "connectionMade",
      "writeConnectionLost",
      "dataReceived",
      "readConnectionLost",
      "connectionLost",
    ]);
  } finally {
    await port.stopListening();
  }
});

Deno.test("a protocol that is not half-closeable is flushed and closed on EOF", async () => {
  using _logs = captureLogs();
  const { factory, port, portNumber } = listenEcho(() => new EchoRecorder());
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: portNumber });
  try {
    const payload = pattern(200_000, 9);
    await conn.write(payload);
    await conn.closeWrite();
    const echoed = await within(WAIT, "the echo, then EOF", readAll(conn));
    sameBytes(echoed, payload);
    const server = factory.built[0];
    const reason = await within(WAIT, "connectionLost", server.lost.promise);
    assert.ok(reason.check(ConnectionDone));
  } finally {
    conn.close();
    await port.stopListening();
  }
});

Deno.test("pauseProducing stops delivery until resumeProducing", async () => {
  using _logs = captureLogs();
  class Pausing extends EchoRecorder {
    override connectionMade(): void {
      super.connectionMade();
      if (factory.built.length === 1) this.transport!.pauseProducing();
    }
  }
  const { factory, port, portNumber } = listenEcho(() => new Pausing());
  const paused = await Deno.connect({
    hostname: "127.0.0.1",
    port: portNumber,
  });
  try {
    const server = await within(WAIT, "the paused protocol", factory.nth(0));
    await paused.write(encode("held back"));
    // Several full round trips on another connection to the same process:
    // had reading not stopped, the bytes above would have arrived by now.
    const other = await Deno.connect({
      hostname: "127.0.0.1",
      port: portNumber,
    });
    for (let i = 0; i < 5; i++) {
      await other.write(encode("x"));
      await within(
        WAIT,
        "an echo on the other connection",
        readExactly(other, 1),
      );
    }
    other.close();
    assert.equal(server.received, 0, "nothing delivered while paused");
    server.transport!.resumeProducing();
    await within(WAIT, "the held bytes", server.bytes(9));
    assert.equal(decode(server.data()), "held back");
    assert.equal(
      decode(await within(WAIT, "the echo", readExactly(paused, 9))),
      "held back",
    );
  } finally {
    paused.close();
    await within(
      WAIT,
      "connectionLost",
      factory.nth(0).then((p) => p.lost.promise),
    );
    await within(
      WAIT,
      "the other connectionLost",
      factory.nth(1).then((p) => p.lost.promise),
    );
    await port.stopListening();
  }
});

Deno.test("a streaming producer is paused past 64 KiB and resumed on drain, under a slow reader", async () => {
  using _logs = captureLogs();
  const total = 24 * 1024 * 1024;
  const chunk = pattern(16 * 1024, 11);
  const firstPause = Promise.withResolvers<void>();
  let maxBuffered = 0;
  class Streamer extends Recorder implements IPushProducer {
    sent = 0;
    pauses = 0;
    resumes = 0;
    paused = false;
    override connectionMade(): void {
      super.connectionMade();
      this.transport!.registerProducer(this, true);
      this.pump();
    }
    pump(): void {
      const transport = this.transport as StreamTransport;
      while (!this.paused && this.sent < total) {
        transport.write(chunk);
        this.sent += chunk.length;
        maxBuffered = Math.max(maxBuffered, transport.bufferedAmount);
      }
      if (this.sent >= total && !this.paused) {
        transport.unregisterProducer();
        transport.loseConnection();
      }
    }
    pauseProducing(): void {
      assert.equal(this.paused, false, "paused twice in a row");
      this.paused = true;
      this.pauses++;
      firstPause.resolve();
    }
    resumeProducing(): void {
      assert.equal(this.paused, true, "resumed while not paused");
      this.paused = false;
      this.resumes++;
      this.pump();
    }
    stopProducing(): void {
      this.events.push("stopProducing");
    }
  }
  const { factory, port, portNumber } = listenEcho(() => new Streamer());
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: portNumber });
  try {
    const server = await within(WAIT, "the server protocol", factory.nth(0));
    await within(WAIT, "the first pause", firstPause.promise);
    // A slow reader: small reads, each its own turn of the loop.
    const got = new Uint8Array(total);
    let n = 0;
    const small = new Uint8Array(4096);
    await within(
      WAIT * 3,
      "24 MiB read slowly",
      (async () => {
        for (;;) {
          const r = await conn.read(small);
          if (r === null) break;
          got.set(small.subarray(0, r), n);
          n += r;
        }
      })(),
    );
    assert.equal(n, total);
    for (let off = 0; off < total; off += chunk.length) {
      sameBytes(got.subarray(off, off + chunk.length), chunk);
    }
    assert.ok(server.pauses >= 2, `paused ${server.pauses} times`);
    assert.equal(
      server.resumes,
      server.pauses,
      "every pause is paired with a resume",
    );
    assert.ok(
      maxBuffered <= 64 * 1024 + chunk.length,
      `the queue peaked at ${maxBuffered} bytes`,
    );
    const reason = await within(WAIT, "connectionLost", server.lost.promise);
    assert.ok(reason.check(ConnectionDone));
    assert.deepEqual(server.events, ["connectionMade", "connectionLost"]);
  } finally {
    conn.close();
    await port.stopListening();
  }
});

Deno.test("a pull producer is asked for one chunk per drain; loseConnection waits for unregisterProducer", async () => {
  using _logs = captureLogs();
  const chunks = 20;
  const chunk = pattern(100_000, 13);
  class Puller extends Recorder implements IPullProducer {
    calls = 0;
    override connectionMade(): void {
      super.connectionMade();
      this.transport!.registerProducer(this, false);
      assert.equal(
        this.calls,
        1,
        "registering a pull producer resumes it at once",
      );
      // Asked early: the close waits for the producer to unregister.
      this.transport!.loseConnection();
    }
    resumeProducing(): void {
      const transport = this.transport as StreamTransport;
      assert.equal(transport.bufferedAmount, 0, "asked only once drained");
      this.calls++;
      if (this.calls > chunks) {
        transport.unregisterProducer();
        return;
      }
      transport.write(chunk);
    }
    stopProducing(): void {
      this.events.push("stopProducing");
    }
  }
  const { factory, port, portNumber } = listenEcho(() => new Puller());
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: portNumber });
  try {
    const got = await within(WAIT, "everything until EOF", readAll(conn));
    assert.equal(got.length, chunks * chunk.length);
    for (let i = 0; i < chunks; i++) {
      sameBytes(got.subarray(i * chunk.length, (i + 1) * chunk.length), chunk);
    }
    const server = await factory.nth(0);
    await within(WAIT, "connectionLost", server.lost.promise);
    assert.equal(server.calls, chunks + 1);
    assert.deepEqual(server.events, ["connectionMade", "connectionLost"]);
  } finally {
    conn.close();
    await port.stopListening();
  }
});

Deno.test("a registered producer is stopped when the connection is lost, and a second one is refused", async () => {
  using _logs = captureLogs();
  const stopped = Promise.withResolvers<void>();
  const producer = {
    pauseProducing() {},
    resumeProducing() {},
    stopProducing() {
      stopped.resolve();
    },
  };
  class Holder extends Recorder {
    override connectionMade(): void {
      super.connectionMade();
      this.transport!.registerProducer(producer, true);
      assert.throws(
        () => this.transport!.registerProducer(producer, true),
        /was never unregistered/,
      );
    }
  }
  const { factory, port, portNumber } = listenEcho(() => new Holder());
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: portNumber });
  try {
    const server = await within(WAIT, "the server protocol", factory.nth(0));
    conn.close();
    await within(WAIT, "stopProducing", stopped.promise);
    await within(WAIT, "connectionLost", server.lost.promise);
    // Registering on a closed transport stops the producer at once.
    let stops = 0;
    server.transport!.registerProducer({
      resumeProducing() {},
      stopProducing: () => stops++,
    }, false);
    assert.equal(stops, 1);
  } finally {
    await port.stopListening();
  }
});

Deno.test("an error in dataReceived is logged and closes that connection with it; the port keeps accepting", async () => {
  using logs = captureLogs();
  class Boom extends EchoRecorder {
    override dataReceived(data: Uint8Array): void {
      if (decode(data).includes("boom")) {
        throw new TypeError("boom in dataReceived");
      }
      super.dataReceived(data);
    }
  }
  const { factory, port, portNumber } = listenEcho(() => new Boom());
  const a = await Deno.connect({ hostname: "127.0.0.1", port: portNumber });
  const b = await Deno.connect({ hostname: "127.0.0.1", port: portNumber });
  try {
    await a.write(encode("boom"));
    const server = await factory.nth(0);
    const reason = await within(WAIT, "connectionLost", server.lost.promise);
    assert.ok(reason.check(TypeError));
    assert.equal(reason.getErrorMessage(), "boom in dataReceived");
    assert.equal((await within(WAIT, "EOF", readAll(a))).length, 0);
    const logged = logs.flushLoggedErrors(TypeError);
    assert.equal(logged.length, 1);
    assert.equal(logged[0].value, reason.value);
    // Another connection, made before and after, still works.
    await b.write(encode("fine"));
    assert.equal(
      decode(await within(WAIT, "an echo", readExactly(b, 4))),
      "fine",
    );
    const c = await Deno.connect({ hostname: "127.0.0.1", port: portNumber });
    await c.write(encode("still"));
    assert.equal(
      decode(await within(WAIT, "an echo", readExactly(c, 5))),
      "still",
    );
    c.close();
    await within(
      WAIT,
      "third connectionLost",
      factory.nth(2).then((p) => p.lost.promise),
    );
  } finally {
    a.close();
    b.close();
    await within(
      WAIT,
      "b's connectionLost",
      factory.nth(1).then((p) => p.lost.promise),
    );
    await port.stopListening();
  }
});

Deno.test("a server connectionMade error is only logged; the connection goes on", async () => {
  using logs = captureLogs();
  class BadStart extends EchoRecorder {
    override connectionMade(): void {
      super.connectionMade();
      throw new RangeError("bad start");
    }
  }
  const { factory, port, portNumber } = listenEcho(() => new BadStart());
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: portNumber });
  try {
    await conn.write(encode("echo?"));
    assert.equal(
      decode(await within(WAIT, "an echo", readExactly(conn, 5))),
      "echo?",
    );
    assert.equal(logs.flushLoggedErrors(RangeError).length, 1);
  } finally {
    conn.close();
    await within(
      WAIT,
      "connectionLost",
      factory.nth(0).then((p) => p.lost.promise),
    );
    await port.stopListening();
  }
});

Deno.test("a client connectionMade error is logged and closes the connection with it", async () => {
  using logs = captureLogs();
  const { factory, port, portNumber } = listenEcho(() => new Recorder());
  class BadClient extends Recorder {
    override connectionMade(): void {
      super.connectionMade();
      this.transport!.write("never sent");
      throw new RangeError("bad client start");
    }
  }
  const client = new ClientRecorder(() => new BadClient());
  reactor.connectTCP("127.0.0.1", portNumber, client);
  try {
    const reason = await within(
      WAIT,
      "clientConnectionLost",
      client.lostReason.promise,
    );
    assert.ok(reason.check(RangeError));
    const proto = await client.nth(0);
    assert.equal(proto.reason, reason);
    assert.equal(logs.flushLoggedErrors(RangeError).length, 1);
    const server = await factory.nth(0);
    await within(WAIT, "server connectionLost", server.lost.promise);
    assert.equal(server.received, 0, "the queued write was dropped");
  } finally {
    await port.stopListening();
  }
});

Deno.test("buildProtocol returning null or throwing closes that socket; the port keeps accepting", async () => {
  using logs = captureLogs();
  let mode: "null" | "throw" | "ok" = "null";
  class Picky extends Factory {
    made: EchoRecorder[] = [];
    override buildProtocol(): IProtocol | null {
      if (mode === "null") return null;
      if (mode === "throw") throw new SyntaxError("no protocol for you");
      const p = new EchoRecorder();
      this.made.push(p);
      return p;
    }
  }
  const factory = new Picky();
  const port = reactor.listenTCP(0, factory, { interface: "127.0.0.1" });
  const portNumber = portOf(port.getHost());
  try {
    for (const m of ["null", "throw"] as const) {
      mode = m;
      const conn = await Deno.connect({
        hostname: "127.0.0.1",
        port: portNumber,
      });
      try {
        const rest = await within(
          WAIT,
          `EOF after ${m}`,
          readAll(conn).catch(() => new Uint8Array()),
        );
        assert.equal(rest.length, 0);
      } finally {
        conn.close();
      }
    }
    assert.equal(logs.flushLoggedErrors(SyntaxError).length, 1);
    mode = "ok";
    const conn = await Deno.connect({
      hostname: "127.0.0.1",
      port: portNumber,
    });
    await conn.write(encode("served"));
    assert.equal(
      decode(await within(WAIT, "an echo", readExactly(conn, 6))),
      "served",
    );
    conn.close();
    await within(WAIT, "connectionLost", factory.made[0].lost.promise);
  } finally {
    await port.stopListening();
  }
});

Deno.test("a client factory's buildProtocol returning null drops the connection with ConnectionDone", async () => {
  using _logs = captureLogs();
  const { factory, port, portNumber } = listenEcho(() => new Recorder());
  class Refusing extends ClientRecorder<Recorder> {
    override buildProtocol(addr: IAddress): IProtocol | null {
      super.buildProtocol(addr);
      return null;
    }
  }
  const client = new Refusing(() => new Recorder());
  reactor.connectTCP("127.0.0.1", portNumber, client);
  try {
    const reason = await within(
      WAIT,
      "clientConnectionLost",
      client.lostReason.promise,
    );
    assert.ok(reason.check(ConnectionDone));
    await within(
      WAIT,
      "server connectionLost",
      factory.nth(0).then((p) => p.lost.promise),
    );
  } finally {
    await port.stopListening();
  }
});

Deno.test("write rejects values that are not bytes or strings, and encodes strings as UTF-8", async () => {
  using _logs = captureLogs();
  const { factory, port, portNumber } = listenEcho(() => new Recorder());
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: portNumber });
  try {
    const server = await within(WAIT, "the server protocol", factory.nth(0));
    const t = server.transport!;
    assert.throws(() => t.write(42 as unknown as string), TypeError);
    assert.throws(
      () => t.writeSequence(["ok", {} as unknown as string]),
      TypeError,
    );
    t.write("héllo ");
    t.writeSequence(["wörld", new Uint8Array([33])]);
    const expected = encode("héllo wörld!");
    sameBytes(
      await within(WAIT, "the bytes", readExactly(conn, expected.length)),
      expected,
    );
  } finally {
    conn.close();
    await within(
      WAIT,
      "connectionLost",
      factory.nth(0).then((p) => p.lost.promise),
    );
    await port.stopListening();
  }
});

/** Answers each chunk with text and bytes interleaved, in one callback. */
class MixedWriter extends Recorder {
  override dataReceived(data: Uint8Array): void {
    super.dataReceived(data);
    const t = this.transport as StreamTransport;
    t.writeText("a\ud83d", "\ude00é"); // lone surrogates, each its own U+FFFD
    t.write(new Uint8Array([0x21]));
    t.writeText("b\ud83d");
    t.writeText("\ude00c"); // does not join the previous call's surrogate
    t.writeText("\u{1F600}", "\r\n");
    t.write("ü");
    t.writeText("x".repeat(40_000), "|"); // past a batch and half a slab
    t.writeText("", "");
    t.writeSequence(["y", new Uint8Array([0x7a])]);
  }
}

Deno.test("writeText sends text and bytes in call order, each call encoded on its own", async () => {
  using _logs = captureLogs();
  const { factory, port, portNumber } = listenEcho(() => new MixedWriter());
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: portNumber });
  try {
    const server = await within(WAIT, "the server protocol", factory.nth(0));
    const t = server.transport as StreamTransport;
    assert.throws(() => t.writeText(1 as unknown as string), TypeError);
    assert.throws(() => t.writeText("a", null as unknown as string), TypeError);
    await conn.write(encode("go"));
    const expected = encode(
      "a\ufffd\ufffdé!b\ufffd\ufffdc\u{1F600}\r\nü" + "x".repeat(40_000) +
        "|yz",
    );
    sameBytes(
      await within(WAIT, "the bytes", readExactly(conn, expected.length)),
      expected,
    );
    assert.equal(t.bufferedAmount, 0);
  } finally {
    conn.close();
    await within(
      WAIT,
      "connectionLost",
      factory.nth(0).then((p) => p.lost.promise),
    );
    await port.stopListening();
  }
});

/** A LineReceiver echo, as bench/line_server.ts runs it. */
class LineEcho extends LineReceiver {
  lost = Promise.withResolvers<Failure>();
  override lineReceived(line: string): void {
    this.sendLine(line);
    if (line === "bytes") this.sendLine(encode("raw ü"));
  }
  override connectionLost(reason: Failure): void {
    this.lost.resolve(reason);
  }
}

Deno.test("LineReceiver.sendLine over TCP echoes many pipelined lines in order, UTF-8 intact", async () => {
  using _logs = captureLogs();
  const { factory, port, portNumber } = listenEcho(() => new LineEcho());
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: portNumber });
  try {
    const lines: string[] = [];
    for (let i = 0; i < 2000; i++) {
      lines.push(i % 7 === 0 ? `línea ${i} \u{1F600}` : `line ${i}`);
    }
    lines.push("bytes");
    const wire = encode(lines.map((l) => l + "\r\n").join(""));
    await conn.write(wire);
    const expected = encode(
      lines.map((l) => l + "\r\n").join("") + "raw ü\r\n",
    );
    sameBytes(
      await within(WAIT, "the echo", readExactly(conn, expected.length)),
      expected,
    );
  } finally {
    conn.close();
    await within(
      WAIT,
      "connectionLost",
      factory.nth(0).then((p) => p.lost.promise),
    );
    await port.stopListening();
  }
});

Deno.test("reactor shutdown stops every port and closes every connection once, before run() resolves", async () => {
  using _logs = captureLogs();
  const r = new DenoReactor();
  const factory = new Keeping(() => new EchoRecorder());
  const port = r.listenTCP(0, factory, { interface: "127.0.0.1" });
  const portNumber = portOf(port.getHost());
  const client = new ClientRecorder(() => new Recorder());
  r.connectTCP("127.0.0.1", portNumber, client);
  const proto = await within(WAIT, "buildProtocol", client.nth(0));
  await within(WAIT, "connectionMade", proto.made.promise);
  const server = await within(WAIT, "the server protocol", factory.nth(0));
  proto.transport!.write("queued at shutdown");
  const done = r.run({ installSignalHandlers: false });
  r.callWhenRunning(() => r.stop());
  await within(WAIT, "run() to resolve", done);
  assert.equal(proto.lostCount, 1);
  assert.equal(server.lostCount, 1);
  assert.ok(proto.reason!.check(ConnectionLost));
  assert.ok(server.reason!.check(ConnectionLost, ConnectionDone));
  await assert.rejects(
    Deno.connect({ hostname: "127.0.0.1", port: portNumber }),
    Deno.errors.ConnectionRefused,
  );
  assert.deepEqual(client.calls.at(-1), "stopFactory");
});

Deno.test("ReconnectingClientFactory reconnects to a server that comes back", async () => {
  using _logs = captureLogs();
  // Listen, learn the port, stop: the first attempts are refused.
  const probe = reactor.listenTCP(0, new Factory(), { interface: "127.0.0.1" });
  const portNumber = portOf(probe.getHost());
  await probe.stopListening();
  const made = Promise.withResolvers<Recorder>();
  const failures: string[] = [];
  class Retrying extends ReconnectingClientFactory {
    override buildProtocol(_addr: IAddress): IProtocol | null {
      const p = new Recorder();
      p.factory = this;
      made.resolve(p);
      this.resetDelay();
      return p;
    }
    override clientConnectionFailed(c: IConnector, reason: Failure): void {
      failures.push(reason.type?.name ?? "?");
      if (failures.length === 2) {
        // The server comes back before the next retry.
        server = reactor.listenTCP(portNumber, serverFactory, {
          interface: "127.0.0.1",
        });
      }
      super.clientConnectionFailed(c, reason);
    }
  }
  const serverFactory = new Keeping(() => new Recorder());
  let server: ReturnType<typeof reactor.listenTCP> | undefined;
  const rcf = new Retrying();
  rcf.initialDelay = 0.01;
  rcf.maxDelay = 0.05;
  rcf.jitter = 0;
  const connector = reactor.connectTCP("127.0.0.1", portNumber, rcf);
  try {
    const proto = await within(
      WAIT,
      "a connection after retries",
      made.promise,
    );
    await within(WAIT, "connectionMade", proto.made.promise);
    assert.deepEqual(failures, [
      "ConnectionRefusedError",
      "ConnectionRefusedError",
    ]);
    const serverProto = await within(
      WAIT,
      "the server protocol",
      serverFactory.nth(0),
    );
    rcf.stopTrying();
    connector.disconnect();
    await within(WAIT, "client connectionLost", proto.lost.promise);
    await within(WAIT, "server connectionLost", serverProto.lost.promise);
    assert.deepEqual(reactor.getDelayedCalls(), [], "no retry left scheduled");
  } finally {
    rcf.stopTrying();
    await server?.stopListening();
  }
});

Deno.test("accept errors (EMFILE) are logged and accepting resumes once descriptors are free", async () => {
  // A child echo server with a low open-file limit: Deno needs about 25
  // descriptors itself, so it can serve about 15 connections.
  const child = new Deno.Command("sh", {
    args: [
      "-c",
      `ulimit -n 40 && exec "$0" run --allow-net=127.0.0.1 "$1"`,
      Deno.execPath(),
      new URL("./_emfile_server.ts", import.meta.url).pathname,
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out = child.stdout.getReader();
  const err = child.stderr.getReader();
  let errText = "";
  const errLine = (pattern: RegExp) =>
    (async () => {
      while (!pattern.test(errText)) {
        const { value, done } = await err.read();
        if (done) throw new Error(`The server exited: ${errText}`);
        errText += decode(value);
      }
    })();
  const conns: Deno.Conn[] = [];
  try {
    let line = "";
    while (!line.includes("\n")) {
      const { value, done } = await within(
        WAIT,
        "the server to start",
        out.read(),
      );
      if (done) throw new Error("The server exited before listening");
      line += decode(value);
    }
    const port = Number(/listening on (\d+)/.exec(line)?.[1]);
    assert.ok(port > 0, line);
    // More connections than the server has descriptors for: the kernel
    // completes them all; the server accepts until EMFILE.
    for (let i = 0; i < 24; i++) {
      conns.push(await Deno.connect({ hostname: "127.0.0.1", port }));
    }
    await within(
      WAIT,
      "an accept error in the log",
      errLine(/could not accept a connection \(.*Too many open files/),
    );
    await conns[0].write(encode("a"));
    assert.equal(
      decode(await within(WAIT, "an echo", readExactly(conns[0], 1))),
      "a",
    );
    // Free descriptors: the server sees these close, and accepts the rest.
    for (const c of conns.splice(0, 16)) c.close();
    const last = conns[conns.length - 1];
    await last.write(encode("z"));
    assert.equal(
      decode(
        await within(
          WAIT,
          "an echo once accepting resumed",
          readExactly(last, 1),
        ),
      ),
      "z",
    );
  } finally {
    for (const c of conns) c.close();
    child.kill("SIGTERM");
    await within(WAIT, "the server to exit", child.status);
    await out.cancel();
    await err.cancel();
  }
});

Deno.test("replaceConn (the STARTTLS hook) sends queued bytes first, holds later writes for the new conn, then reads on it", async () => {
  using _logs = captureLogs();
  const swaps: Promise<void>[] = [];
  class Upgrading extends Recorder {
    override dataReceived(data: Uint8Array): void {
      super.dataReceived(data);
      const transport = this.transport as StreamTransport;
      const text = decode(data);
      if (text === "STARTTLS") {
        transport.write("OK ");
        swaps.push(transport.replaceConn(async (conn) => {
          await conn.write(encode("[swap] "));
          return conn;
        }));
        transport.write("after");
      } else if (text === "FAIL") {
        const failing = transport.replaceConn(() =>
          Promise.reject(new URIError("no TLS"))
        );
        failing.catch(() => {}); // asserted below
        swaps.push(failing);
      }
    }
  }
  const { factory, port, portNumber } = listenEcho(() => new Upgrading());
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: portNumber });
  try {
    await conn.write(encode("STARTTLS"));
    const expected = "OK [swap] after";
    assert.equal(
      decode(
        await within(WAIT, "the replies", readExactly(conn, expected.length)),
      ),
      expected,
    );
    await within(WAIT, "the swap", swaps[0]);
    const server = await factory.nth(0);
    await conn.write(encode("more"));
    await within(WAIT, "reading on the new conn", server.bytes(12));
    assert.equal(decode(server.data()), "STARTTLSmore");

    // Outside a callback a read is pending: the swap waits for it, and
    // what it brings is delivered as plain data first.
    const transport = server.transport as StreamTransport;
    const outside = transport.replaceConn(async (c) => {
      await c.write(encode("[swap2]"));
      return c;
    });
    transport.write("held");
    await conn.write(encode("late"));
    await within(WAIT, "the outside swap", outside);
    assert.equal(decode(server.data()), "STARTTLSmorelate");
    assert.equal(
      decode(await within(WAIT, "the replies", readExactly(conn, 11))),
      "[swap2]held",
    );

    // A failing upgrade closes the connection with its error.
    await conn.write(encode("FAIL"));
    const reason = await within(WAIT, "connectionLost", server.lost.promise);
    assert.ok(reason.check(URIError), reason.getErrorMessage());
    await assert.rejects(within(WAIT, "the failed swap", swaps[1]), URIError);
    await assert.rejects(
      transport.replaceConn((c) => Promise.resolve(c)),
      /it is closed/,
    );
  } finally {
    conn.close();
    await port.stopListening();
  }
});

Deno.test("reusePort lets two ports share a port number; without it the second fails", async () => {
  using _logs = captureLogs();
  const factory = new Factory();
  factory.noisy = false;
  const a = reactor.listenTCP(0, factory, {
    interface: "127.0.0.1",
    reusePort: true,
  });
  const portNumber = portOf(a.getHost());
  try {
    const b = reactor.listenTCP(portNumber, factory, {
      interface: "127.0.0.1",
      reusePort: true,
    });
    assert.equal(portOf(b.getHost()), portNumber);
    await b.stopListening();
    assert.throws(
      () => reactor.listenTCP(portNumber, factory, { interface: "127.0.0.1" }),
      CannotListenError,
    );
  } finally {
    await a.stopListening();
  }
});

Deno.test("a failed name lookup is reported as DNSLookupError naming the host", async () => {
  // No lookup leaves this machine: the connector's socket call is replaced
  // by one failing the way Deno.connect fails for an unknown name.
  class NoDNS extends TCPConnector {
    protected override _connect(): Promise<Deno.Conn> {
      return Promise.reject(
        new Error(
          "failed to lookup address information: Name or service not known",
        ),
      );
    }
  }
  const client = new ClientRecorder(() => new Recorder());
  new NoDNS("no-such-host.invalid", 80, client, {}, reactor).connect();
  const reason = await within(
    WAIT,
    "clientConnectionFailed",
    client.failed.promise,
  );
  assert.ok(reason.check(DNSLookupError), reason.getErrorMessage());
  assert.match(reason.getErrorMessage(), /no-such-host\.invalid/);
  assert.deepEqual(reactor.getDelayedCalls(), []);
});

Deno.test("stopProducing on a transport is loseConnection: queued bytes go out, then ConnectionDone", async () => {
  using _logs = captureLogs();
  class Stopper extends Recorder {
    override connectionMade(): void {
      super.connectionMade();
      this.transport!.write("last words");
      this.transport!.stopProducing();
    }
  }
  const { factory, port, portNumber } = listenEcho(() => new Stopper());
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: portNumber });
  try {
    assert.equal(
      decode(await within(WAIT, "EOF", readAll(conn))),
      "last words",
    );
    const reason = await within(
      WAIT,
      "connectionLost",
      factory.nth(0).then((p) => p.lost.promise),
    );
    assert.ok(reason.check(ConnectionDone));
  } finally {
    conn.close();
    await port.stopListening();
  }
});

Deno.test("ClientCreator connects a protocol instance over real TCP", async () => {
  using _logs = captureLogs();
  const { factory, port, portNumber } = listenEcho(() => new EchoRecorder());
  try {
    const proto = await within(
      WAIT,
      "ClientCreator",
      new ClientCreator(reactor, Recorder).connectTCP("127.0.0.1", portNumber)
        .asPromise(),
    );
    assert.ok(proto instanceof Recorder);
    proto.transport!.write("created");
    await within(WAIT, "the echo", proto.bytes(7));
    assert.equal(decode(proto.data()), "created");
    proto.transport!.loseConnection();
    await within(WAIT, "connectionLost", proto.lost.promise);
    await within(
      WAIT,
      "server connectionLost",
      factory.nth(0).then((p) => p.lost.promise),
    );
  } finally {
    await port.stopListening();
  }
});
