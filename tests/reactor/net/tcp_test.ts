// TCP ports and connectors on loopback sockets. What any stream transport
// does (closing, flow control, errors, text, lent buffers) is in
// stream_test.ts.

import assert from "node:assert/strict";
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
} from "../../../reactor/interfaces.ts";
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
  ClientRecorder,
  EchoRecorder,
  freePort,
  fullListener,
  Keeping,
  listenEcho,
  lostOf,
  pattern,
  portOf,
  Recorder,
  sameBytes,
  WAIT,
} from "./_stream_helpers.ts";

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
    await lostOf(factory, 2, "third connectionLost");
  } finally {
    a.close();
    b.close();
    await lostOf(factory, 1, "b's connectionLost");
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
    await lostOf(factory, 0, "server connectionLost");
  } finally {
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
    await lostOf(factory, 0, "server connectionLost");
  } finally {
    await port.stopListening();
  }
});
