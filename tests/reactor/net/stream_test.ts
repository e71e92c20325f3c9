// The stream transport (reactor/net/stream.ts) as protocols see it, over
// TCP on loopback: writing, closing and aborting, half-close, errors thrown
// by protocols, text, STARTTLS. Flow control and lent buffers are in
// stream_flow_test.ts.
// TCP-specific behaviour (ports, connectors) is in tcp_test.ts.

import assert from "node:assert/strict";
import { LineReceiver } from "../../../protocols/basic.ts";
import type { Failure } from "../../../deferred/failure.ts";
import { reactor } from "../../../reactor/reactor.ts";
import {
  ConnectionAborted,
  ConnectionDone,
  ConnectionLost,
} from "../../../reactor/errors.ts";
import type { StreamTransport } from "../../../reactor/net/stream.ts";
import { captureLogs } from "../../../testing/logs.ts";
import {
  decode,
  encode,
  hasCommand,
  readAll,
  readExactly,
  within,
} from "../../_helpers.ts";
import {
  ClientRecorder,
  concat,
  EchoRecorder,
  listenEcho,
  lostOf,
  pattern,
  Recorder,
  sameBytes,
  WAIT,
} from "./_stream_helpers.ts";
import { testCerts } from "./_tls_certs.ts";

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
    await lostOf(factory, 0);
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
    await lostOf(factory, 0);
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
    await lostOf(factory, 0);
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
    await lostOf(factory, 0);
    await port.stopListening();
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
    const reason = await lostOf(factory, 0);
    assert.ok(reason.check(ConnectionDone));
  } finally {
    conn.close();
    await port.stopListening();
  }
});

// ------------------------------------------------------------ aborting

const PYTHON = "/usr/bin/python3";
const noPython = hasCommand(PYTHON) ? null : `${PYTHON} is not installed`;
if (noPython !== null) console.log(`skipping the reset peer test: ${noPython}`);

Deno.test({
  name:
    "a peer that aborts with a reset (SO_LINGER 0) gives our client ConnectionLost, not ConnectionDone",
  ignore: noPython !== null,
  async fn() {
    using _logs = captureLogs();
    // A raw peer aborting as Twisted does: linger 0, then close (RST).
    const script = [
      "import socket, struct, sys",
      "l = socket.socket(); l.bind(('127.0.0.1', 0)); l.listen(1)",
      "print(l.getsockname()[1], flush=True)",
      "c, _ = l.accept(); c.recv(5)",
      "c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack('ii', 1, 0))",
      "c.close(); sys.stdin.read()",
    ].join("\n");
    const peer = new Deno.Command(PYTHON, {
      args: ["-c", script],
      stdin: "piped",
      stdout: "piped",
    }).spawn();
    const lines = peer.stdout.pipeThrough(new TextDecoderStream()).getReader();
    try {
      const first = await within(WAIT, "the peer's port", lines.read());
      const factory = new ClientRecorder(() => new Recorder());
      reactor.connectTCP("127.0.0.1", Number(first.value!.trim()), factory);
      const client = await within(WAIT, "the connection", factory.nth(0));
      client.transport!.write("hello"); // the peer resets once it has it
      const reason = await within(WAIT, "connectionLost", client.lost.promise);
      assert.ok(reason.check(ConnectionLost), reason.getErrorMessage());
      assert.ok(!reason.check(ConnectionAborted));
    } finally {
      await peer.stdin.close();
      await lines.cancel();
      await peer.status;
    }
  },
});

Deno.test("abortConnection: the aborting side gets ConnectionAborted; the peer sees EOF (Deno sends no reset)", async () => {
  using _logs = captureLogs();
  class PausedAborter extends Recorder {
    override connectionMade(): void {
      super.connectionMade();
      this.transport!.pauseProducing(); // what the peer sends stays unread
    }
  }
  const { factory, port, portNumber } = listenEcho(() => new PausedAborter());
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: portNumber });
  try {
    const server = await within(WAIT, "the protocol", factory.nth(0));
    await conn.write(pattern(1000));
    server.transport!.abortConnection();
    const reason = await within(WAIT, "connectionLost", server.lost.promise);
    assert.ok(reason.check(ConnectionAborted), reason.getErrorMessage());
    // Twisted's peer would get ECONNRESET here; Deno shuts the writing
    // half first, so ours reads an orderly EOF (see abortConnection's doc).
    assert.equal(
      await within(WAIT, "EOF", conn.read(new Uint8Array(64))),
      null,
    );
  } finally {
    conn.close();
    await port.stopListening();
  }
});

// ------------------------------------------------------------ startTLS

const certs = await testCerts();

Deno.test({
  name:
    "startTLS without a side on an accepted connection performs the server handshake",
  ignore: certs === null,
  async fn() {
    using _logs = captureLogs();
    const c = certs!;
    class Upgrading extends EchoRecorder {
      override dataReceived(data: Uint8Array): void {
        if (decode(data) !== "STARTTLS\n") return super.dataReceived(data);
        this.transport!.write("GO\n"); // in clear
        this.transport!.startTLS({ cert: c.certPem, key: c.keyPem });
      }
    }
    const { factory, port, portNumber } = listenEcho(() => new Upgrading());
    const conn = await Deno.connect({
      hostname: "127.0.0.1",
      port: portNumber,
    });
    let tls: Deno.TlsConn | undefined;
    try {
      await conn.write(encode("STARTTLS\n"));
      assert.equal(
        decode(await within(WAIT, "GO", readExactly(conn, 3))),
        "GO\n",
      );
      tls = await Deno.startTls(conn, {
        hostname: "localhost",
        caCerts: [c.caPem],
      });
      await within(WAIT, "the handshake", tls.handshake());
      await tls!.write(encode("secret"));
      assert.equal(
        decode(
          await within(WAIT, "the echo", readExactly(tls as Deno.Conn, 6)),
        ),
        "secret",
      );
      tls!.close();
      tls = undefined;
      const server = await factory.nth(0);
      assert.ok(
        (await within(WAIT, "connectionLost", server.lost.promise)).check(
          ConnectionDone,
        ),
      );
    } finally {
      if (tls !== undefined) tls.close();
      await port.stopListening();
    }
  },
});
