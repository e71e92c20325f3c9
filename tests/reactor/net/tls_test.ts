import assert from "node:assert/strict";
import type { Failure } from "../../../deferred/failure.ts";
import {
  ClientFactory,
  Factory,
  Protocol,
} from "../../../protocols/protocol.ts";
import { DenoReactor, reactor } from "../../../reactor/reactor.ts";
import {
  negotiatedProtocol,
  TLSHandshakeError,
  TLSTransport,
} from "../../../reactor/net/tls.ts";
import {
  SSL4ClientEndpoint,
  SSL4ServerEndpoint,
} from "../../../reactor/endpoints/tls_endpoints.ts";
import {
  clientFromString,
  quoteStringArgument,
  serverFromString,
} from "../../../reactor/endpoints/endpoint_descriptions.ts";
import {
  ConnectingCancelledError,
  connectProtocol,
} from "../../../reactor/endpoints/endpoints.ts";
import {
  CannotListenError,
  ConnectionDone,
  ConnectionLost,
  TCPTimedOutError,
} from "../../../reactor/errors.ts";
import { UserError } from "../../../reactor/net/stream_connector.ts";
import type {
  IAddress,
  IConnector,
  IListeningPort,
  IPushProducer,
  TCPAddress,
} from "../../../reactor/interfaces.ts";
import { captureLogs } from "../../../testing/logs.ts";
import {
  formatEvent,
  globalLogPublisher,
  type LogEvent,
} from "../../../log/mod.ts";
import { decode, encode, readExactly, within } from "../../_helpers.ts";
import { type TestCerts, testCerts } from "./_tls_certs.ts";

const LOOPBACK = "127.0.0.1";
const PYTHON = "/usr/bin/python3";
const certs = await testCerts();

/** Why the Twisted peers cannot run here, or null when they can. */
const twistedMissing: string | null = await (async () => {
  try {
    const out = await new Deno.Command(PYTHON, {
      args: ["-c", "import twisted.internet.ssl, OpenSSL, service_identity"],
      stdout: "null",
      stderr: "piped",
    }).output();
    return out.success
      ? null
      : `Twisted TLS does not import: ${decode(out.stderr).trim()}`;
  } catch (e) {
    return `${PYTHON} cannot run: ${(e as Error).message}`;
  }
})();

const opensslMissing: string | null = certs === null
  ? "openssl is not installed"
  : null;

/** A TLS test, skipped (reason printed once by testCerts) without openssl. */
function tlsTest(name: string, fn: (c: TestCerts) => Promise<void>): void {
  Deno.test({ name, ignore: certs === null, fn: () => fn(certs!) });
}

/** A test against Debian's Twisted, skipped with the reason printed. */
function twistedTest(name: string, fn: (c: TestCerts) => Promise<void>): void {
  const why = opensslMissing ?? twistedMissing;
  if (why !== null) console.log(`skipping "${name}": ${why}`);
  Deno.test({ name, ignore: why !== null, fn: () => fn(certs!) });
}

/** Records its life; a test awaits its connection, bytes and end. */
class Recorder extends Protocol {
  events: string[] = [];
  received = new Uint8Array(0);
  made = Promise.withResolvers<void>();
  lost = Promise.withResolvers<Failure>();
  #want = 0;
  #got: PromiseWithResolvers<Uint8Array> | undefined;

  override connectionMade(): void {
    this.events.push("made");
    this.made.resolve();
  }
  override dataReceived(data: Uint8Array): void {
    const all = new Uint8Array(this.received.length + data.length);
    all.set(this.received);
    all.set(data, this.received.length);
    this.received = all;
    this.#check();
  }
  override connectionLost(reason: Failure): void {
    this.events.push(`lost ${reason.type?.name}`);
    this.lost.resolve(reason);
  }
  /** Resolves once `n` bytes have arrived in all. */
  bytes(n: number, what = `${n} bytes`): Promise<Uint8Array> {
    this.#want = n;
    this.#got = Promise.withResolvers<Uint8Array>();
    const p = this.#got.promise;
    this.#check();
    return within(10_000, what, p);
  }
  /** Resolves with the reason once the connection is lost. */
  closed(what = "the connection to close"): Promise<Failure> {
    return within(10_000, what, this.lost.promise);
  }
  #check(): void {
    if (this.#got !== undefined && this.received.length >= this.#want) {
      this.#got.resolve(this.received);
      this.#got = undefined;
    }
  }
}

class Echo extends Recorder {
  override dataReceived(data: Uint8Array): void {
    super.dataReceived(data);
    this.transport!.write(data);
  }
}

/** A server factory that keeps the protocols it builds. */
class Server<P extends Recorder> extends Factory {
  built: P[] = [];
  #first = Promise.withResolvers<P>();
  constructor(readonly make: () => P) {
    super();
    this.noisy = false;
  }
  override buildProtocol(_addr: IAddress): P {
    const p = this.make();
    p.factory = this;
    this.built.push(p);
    p.made.promise.then(() => this.#first.resolve(p));
    return p;
  }
  /** The first connection, once made. */
  connected(): Promise<P> {
    return within(10_000, "the server's connection", this.#first.promise);
  }
}

/** A client factory reporting the connection made or the failure. */
class Client<P extends Recorder> extends ClientFactory {
  built: P[] = [];
  #connected = Promise.withResolvers<P>();
  #failed = Promise.withResolvers<Failure>();
  constructor(readonly make: () => P) {
    super();
    this.noisy = false;
    this.#connected.promise.catch(() => {});
  }
  override buildProtocol(_addr: IAddress): P {
    const p = this.make();
    p.factory = this;
    this.built.push(p);
    p.made.promise.then(() => this.#connected.resolve(p));
    return p;
  }
  override clientConnectionFailed(_c: IConnector, reason: Failure): void {
    this.#failed.resolve(reason);
    this.#connected.reject(reason.value);
  }
  connected(): Promise<P> {
    return within(10_000, "the client's connection", this.#connected.promise);
  }
  failed(): Promise<Failure> {
    return within(10_000, "the connection to fail", this.#failed.promise);
  }
}

function tcpHost(port: IListeningPort): TCPAddress {
  const host = port.getHost();
  assert.equal(host.type, "TCP");
  return host as TCPAddress;
}

function listenEcho(c: TestCerts, alpnProtocols?: string[]) {
  const server = new Server(() => new Echo());
  const port = reactor.listenSSL(0, server, {
    cert: c.certPem,
    key: c.keyPem,
    alpnProtocols,
  }, { interface: LOOPBACK });
  return { server, port, at: tcpHost(port) };
}

/** A Python peer: prints "listening on PORT", stops when stdin closes. */
async function startPeer(script: string, ...args: string[]) {
  const child = new Deno.Command(PYTHON, {
    args: [new URL(script, import.meta.url).pathname, ...args],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await within(
      20_000,
      `${script} to start`,
      reader.read(),
    );
    if (done) break;
    text += decode(value);
  }
  reader.releaseLock();
  const stop = async () => {
    await child.stdin.close();
    await child.stdout.cancel();
    return await within(20_000, `${script} to exit`, child.status);
  };
  const match = /listening on (\d+)/.exec(text);
  if (!match) {
    await stop();
    throw new Error(`${script} did not start: ${JSON.stringify(text)}`);
  }
  return { port: Number(match[1]), stop };
}

// ------------------------------------------------------------------- echo

tlsTest("listenSSL and connectSSL echo bytes intact both ways", async (c) => {
  const { server, port, at } = listenEcho(c);
  const client = new Client(() => new Recorder());
  try {
    reactor.connectSSL(LOOPBACK, at.port, client, { caCerts: [c.caPem] });
    const proto = await client.connected();
    const payload = new Uint8Array(100_000).map((_, i) => (i * 7) % 256);
    proto.transport!.write(payload);
    proto.transport!.write("and a string ✓");
    const want = payload.length + encode("and a string ✓").length;
    const got = await proto.bytes(want, "the echo");
    assert.deepEqual(got.subarray(0, payload.length), payload);
    assert.equal(decode(got.subarray(payload.length)), "and a string ✓");
    const serverProto = server.built[0];
    assert.deepEqual(serverProto.received, got, "the server got the same");
    // Addresses are TCP addresses, as for a plain TCP connection.
    const t = proto.transport!;
    assert.ok(t instanceof TLSTransport);
    assert.deepEqual(t.getPeer(), at);
    assert.deepEqual(serverProto.transport!.getPeer(), t.getHost());
    t.loseConnection();
    assert.ok((await proto.closed()).check(ConnectionDone));
    assert.ok((await serverProto.closed()).check(ConnectionDone));
    assert.deepEqual(proto.events, ["made", "lost ConnectionDone"]);
  } finally {
    await port.stopListening();
  }
});

tlsTest(
  "the same protocol class runs unchanged over TCP and TLS",
  async (c) => {
    // What a protocol sees (events, bytes, reasons) is the same on both.
    async function run(tls: boolean): Promise<string[]> {
      const server = new Server(() => new Echo());
      const port = tls
        ? reactor.listenSSL(0, server, { cert: c.certPem, key: c.keyPem }, {
          interface: LOOPBACK,
        })
        : reactor.listenTCP(0, server, { interface: LOOPBACK });
      const client = new Client(() => new Recorder());
      try {
        const at = tcpHost(port);
        if (tls) {
          reactor.connectSSL(LOOPBACK, at.port, client, { caCerts: [c.caPem] });
        } else {
          reactor.connectTCP(LOOPBACK, at.port, client);
        }
        const proto = await client.connected();
        proto.transport!.writeSequence(["one ", "two"]);
        await proto.bytes(7);
        proto.transport!.loseConnection();
        await proto.closed();
        await server.built[0].closed();
        return [
          ...proto.events,
          decode(proto.received),
          ...server.built[0].events,
          String(proto.transport!.disconnecting),
        ];
      } finally {
        await port.stopListening();
      }
    }
    assert.deepEqual(await run(true), await run(false));
  },
);

tlsTest("ALPN: the protocol both sides prefer is negotiated", async (c) => {
  const { server, port, at } = listenEcho(c, ["h2", "http/1.1"]);
  const client = new Client(() => new Recorder());
  try {
    reactor.connectSSL(LOOPBACK, at.port, client, {
      caCerts: [c.caPem],
      alpnProtocols: ["http/1.1", "x-other"],
    });
    const proto = await client.connected();
    const serverProto = await server.connected();
    const t = proto.transport as TLSTransport;
    assert.equal(t.negotiatedProtocol, "http/1.1");
    assert.equal(
      (serverProto.transport as TLSTransport).negotiatedProtocol,
      "http/1.1",
    );
    assert.equal(negotiatedProtocol(t), "http/1.1");
    t.loseConnection();
    await proto.closed();
    await serverProto.closed();
  } finally {
    await port.stopListening();
  }
});

tlsTest("without ALPN, negotiatedProtocol is null", async (c) => {
  const { server, port, at } = listenEcho(c);
  const client = new Client(() => new Recorder());
  try {
    reactor.connectSSL(LOOPBACK, at.port, client, { caCerts: [c.caPem] });
    const proto = await client.connected();
    assert.equal((proto.transport as TLSTransport).negotiatedProtocol, null);
    proto.transport!.loseConnection();
    await proto.closed();
    await (await server.connected()).closed();
  } finally {
    await port.stopListening();
  }
});

// --------------------------------------------------------- verification

async function refused(
  c: TestCerts,
  tls: { caCerts?: string[]; hostname?: string },
): Promise<{ reason: Failure; built: number; serverBuilt: number }> {
  using _logs = captureLogs();
  const serverLogged = Promise.withResolvers<void>();
  const observer = (e: LogEvent) => {
    if (/TLS handshake with/.test(formatEvent(e))) serverLogged.resolve();
  };
  globalLogPublisher.addObserver(observer);
  const { server, port, at } = listenEcho(c);
  const client = new Client(() => new Recorder());
  try {
    reactor.connectSSL(LOOPBACK, at.port, client, tls);
    const reason = await client.failed();
    // The server's side of the handshake fails too, and is only logged.
    await within(5_000, "the server's log line", serverLogged.promise);
    return {
      reason,
      built: client.built.length,
      serverBuilt: server.built.length,
    };
  } finally {
    globalLogPublisher.removeObserver(observer);
    await port.stopListening();
  }
}

tlsTest(
  "a certificate from an unknown CA is refused with the reason",
  async (c) => {
    const { reason, built, serverBuilt } = await refused(c, {
      caCerts: [c.otherCaPem],
    });
    const error = reason.check(TLSHandshakeError) &&
      reason.value as TLSHandshakeError;
    assert.ok(error, `expected a TLSHandshakeError, got ${reason}`);
    assert.match(
      error.message,
      /^An error occurred while connecting: TLS handshake with 127\.0\.0\.1:\d+ failed: invalid peer certificate: UnknownIssuer/,
    );
    assert.match(error.message, /pass its CA in caCerts/);
    assert.equal(built, 0, "no client protocol was built");
    assert.equal(serverBuilt, 0, "no server protocol was built");
  },
);

tlsTest("the system store alone does not trust the test CA", async (c) => {
  const { reason, built } = await refused(c, {});
  assert.match(
    reason.getErrorMessage(),
    /invalid peer certificate: UnknownIssuer/,
  );
  assert.equal(built, 0);
});

tlsTest(
  "a certificate for another name is refused with the reason",
  async (c) => {
    const { reason, built, serverBuilt } = await refused(c, {
      caCerts: [c.caPem],
      hostname: "example.com",
    });
    assert.ok(reason.check(TLSHandshakeError));
    assert.match(
      reason.getErrorMessage(),
      /certificate not valid for name "example\.com"; certificate is only valid for DnsName\("localhost"\) or IpAddress\(127\.0\.0\.1\)/,
    );
    assert.equal(built, 0);
    assert.equal(serverBuilt, 0);
  },
);

tlsTest(
  "hostname localhost verifies over a 127.0.0.1 connection",
  async (c) => {
    const { server, port, at } = listenEcho(c);
    const client = new Client(() => new Recorder());
    try {
      reactor.connectSSL(LOOPBACK, at.port, client, {
        caCerts: [c.caPem],
        hostname: "localhost",
      });
      const proto = await client.connected();
      proto.transport!.loseConnection();
      await proto.closed();
      await (await server.connected()).closed();
    } finally {
      await port.stopListening();
    }
  },
);

tlsTest(
  "a client that does not speak TLS builds no protocol and the port goes on",
  async (c) => {
    using logs = captureLogs();
    const { server, port, at } = listenEcho(c);
    try {
      const plain = await Deno.connect({ hostname: LOOPBACK, port: at.port });
      await plain.write(encode("GET / HTTP/1.0\r\n\r\n"));
      // The server answers with an alert and closes.
      const buf = new Uint8Array(64);
      while (
        (await within(5_000, "the server to close", plain.read(buf))) !== null
      );
      plain.close();
      const client = new Client(() => new Recorder());
      reactor.connectSSL(LOOPBACK, at.port, client, { caCerts: [c.caPem] });
      const proto = await client.connected();
      await server.connected();
      assert.equal(server.built.length, 1, "only the TLS client was served");
      proto.transport!.loseConnection();
      await proto.closed();
      await server.built[0].closed();
      assert.ok(
        logs.messages.some((m) =>
          /TLS handshake with 127\.0\.0\.1:\d+ failed: /.test(m)
        ),
        logs.messages.join("\n"),
      );
    } finally {
      await port.stopListening();
    }
  },
);

tlsTest(
  "a TLS client against a plain TCP server fails with a TLS error",
  async () => {
    const plain = reactor.listenTCP(0, new Server(() => new Echo()), {
      interface: LOOPBACK,
    });
    const client = new Client(() => new Recorder());
    try {
      reactor.connectSSL(LOOPBACK, tcpHost(plain).port, client, {});
      const reason = await client.failed();
      assert.ok(reason.check(TLSHandshakeError), String(reason));
      assert.equal(client.built.length, 0);
    } finally {
      await plain.stopListening();
    }
  },
);

tlsTest(
  "listenSSL with an unusable certificate raises CannotListenError",
  async (c) => {
    const factory = new Server(() => new Echo());
    assert.throws(
      () =>
        reactor.listenSSL(0, factory, { cert: "not a PEM", key: c.keyPem }, {
          interface: LOOPBACK,
        }),
      (e: unknown) =>
        e instanceof CannotListenError &&
        e.message.startsWith("Cannot listen on 127.0.0.1:0: "),
    );
    assert.throws(
      () => reactor.listenSSL(0, factory, { cert: c.certPem } as never),
      /a PEM certificate \(cert\) and private key \(key\) are required/,
    );
    assert.equal(factory.numPorts, 0, "the factory was never started");
    await Promise.resolve();
  },
);

// ---------------------------------------------------------- flow control

tlsTest("a large write under flow control arrives whole", async (c) => {
  const total = 8 * 1024 * 1024;
  const chunk = new Uint8Array(64 * 1024).map((_, i) => i % 251);
  let pauses = 0;
  let resumes = 0;
  class Blaster extends Recorder implements IPushProducer {
    sent = 0;
    paused = false;
    override connectionMade(): void {
      super.connectionMade();
      this.transport!.registerProducer(this, true);
      this.resumeProducing();
    }
    pauseProducing(): void {
      pauses++;
      this.paused = true;
    }
    resumeProducing(): void {
      if (this.paused) resumes++;
      this.paused = false;
      while (!this.paused && this.sent < total) {
        this.transport!.write(chunk);
        this.sent += chunk.length;
      }
      if (this.sent >= total) {
        this.transport!.unregisterProducer();
        this.transport!.loseConnection();
      }
    }
    stopProducing(): void {}
  }
  const server = new Server(() => new Blaster());
  const port = reactor.listenSSL(0, server, {
    cert: c.certPem,
    key: c.keyPem,
  }, { interface: LOOPBACK });
  try {
    const conn = await Deno.connectTls({
      hostname: LOOPBACK,
      port: tcpHost(port).port,
      caCerts: [c.caPem],
    });
    let got = 0;
    let bad = -1;
    const buf = new Uint8Array(256 * 1024);
    for (;;) {
      const n = await within(10_000, "the stream", conn.read(buf));
      if (n === null) break;
      for (let i = 0; i < n && bad < 0; i++) {
        if (buf[i] !== ((got + i) % chunk.length) % 251) bad = got + i;
      }
      got += n;
    }
    conn.close();
    assert.equal(bad, -1, `the byte at offset ${bad} is wrong`);
    assert.equal(got, total);
    assert.ok(pauses > 0, "the producer was paused");
    // Each pause was followed by a resume, but for a last one that came
    // with the final write, after which the producer unregistered.
    assert.ok(resumes >= pauses - 1, `${pauses} pauses, ${resumes} resumes`);
    assert.ok((await server.built[0].closed()).check(ConnectionDone));
  } finally {
    await port.stopListening();
  }
});

// -------------------------------------------------------------- startTLS

/** A line protocol: "STARTTLS" switches to TLS; other lines are echoed. */
function startTLSServer(c: TestCerts, alpnProtocols?: string[]) {
  class Upgrading extends Recorder {
    override dataReceived(data: Uint8Array): void {
      super.dataReceived(data);
      const text = decode(this.received);
      if (text === "STARTTLS\n") {
        this.received = new Uint8Array(0);
        this.transport!.write("GO\n"); // in clear
        this.transport!.startTLS({
          side: "server",
          cert: c.certPem,
          key: c.keyPem,
          alpnProtocols,
        });
        this.transport!.write("secure hello\n"); // encrypted
      } else if (text.endsWith("\n")) {
        this.received = new Uint8Array(0);
        this.transport!.write(`echo: ${text}`);
      }
    }
  }
  return new Server(() => new Upgrading());
}

tlsTest(
  "server startTLS: bytes before go in clear, bytes after are encrypted",
  async (c) => {
    const server = startTLSServer(c, ["x-test"]);
    const port = reactor.listenTCP(0, server, { interface: LOOPBACK });
    try {
      const conn = await Deno.connect({
        hostname: LOOPBACK,
        port: tcpHost(port).port,
      });
      await conn.write(encode("STARTTLS\n"));
      assert.equal(decode(await readExactly(conn, 3)), "GO\n", "clear text");
      const tls = await Deno.startTls(conn, {
        hostname: "localhost",
        caCerts: [c.caPem],
        alpnProtocols: ["x-test"],
      });
      const info = await within(5_000, "the handshake", tls.handshake());
      assert.equal(info.alpnProtocol, "x-test");
      const hello = await within(
        5_000,
        "the hello",
        readExactly(tls as Deno.Conn, 13),
      );
      assert.equal(decode(hello), "secure hello\n");
      await tls.write(encode("ping\n"));
      assert.equal(
        decode(
          await within(5_000, "the echo", readExactly(tls as Deno.Conn, 11)),
        ),
        "echo: ping\n",
      );
      const proto = server.built[0];
      assert.equal(negotiatedProtocol(proto.transport), "x-test");
      tls.close();
      assert.ok((await proto.closed()).check(ConnectionDone));
    } finally {
      await port.stopListening();
    }
  },
);

tlsTest("client and server startTLS mid-connection, both ours", async (c) => {
  const server = startTLSServer(c);
  const port = reactor.listenTCP(0, server, { interface: LOOPBACK });
  class Upgrader extends Recorder {
    override connectionMade(): void {
      super.connectionMade();
      this.transport!.write("STARTTLS\n");
    }
    override dataReceived(data: Uint8Array): void {
      super.dataReceived(data);
      if (decode(this.received) === "GO\n") {
        this.received = new Uint8Array(0);
        this.events.push("upgrading");
        this.transport!.startTLS({
          side: "client",
          hostname: "localhost",
          caCerts: [c.caPem],
        });
        this.transport!.write("after\n");
      }
    }
  }
  const client = new Client(() => new Upgrader());
  try {
    reactor.connectTCP(LOOPBACK, tcpHost(port).port, client);
    const proto = await client.connected();
    const got = await proto.bytes(13 + 12);
    assert.equal(decode(got), "secure hello\necho: after\n");
    assert.equal(negotiatedProtocol(proto.transport), null, "TLS, no ALPN");
    proto.transport!.loseConnection();
    assert.ok((await proto.closed()).check(ConnectionDone));
    assert.ok((await server.built[0].closed()).check(ConnectionDone));
    assert.deepEqual(proto.events, [
      "made",
      "upgrading",
      "lost ConnectionDone",
    ]);
  } finally {
    await port.stopListening();
  }
});

tlsTest(
  "client startTLS against an untrusted server loses the connection with the TLS error",
  async (c) => {
    using logs = captureLogs();
    const server = startTLSServer(c);
    const port = reactor.listenTCP(0, server, { interface: LOOPBACK });
    class Upgrader extends Recorder {
      override connectionMade(): void {
        super.connectionMade();
        this.transport!.write("STARTTLS\n");
      }
      override dataReceived(data: Uint8Array): void {
        super.dataReceived(data);
        if (decode(this.received) === "GO\n") {
          this.transport!.startTLS({
            hostname: "localhost",
            caCerts: [c.otherCaPem],
          });
        }
      }
    }
    const client = new Client(() => new Upgrader());
    try {
      reactor.connectTCP(LOOPBACK, tcpHost(port).port, client);
      const proto = await client.connected();
      const reason = await proto.closed();
      assert.ok(reason.check(TLSHandshakeError), String(reason));
      assert.match(reason.getErrorMessage(), /UnknownIssuer/);
      const serverReason = await server.built[0].closed();
      assert.ok(serverReason.check(TLSHandshakeError), String(serverReason));
      assert.equal(logs.failures().length, 0);
    } finally {
      await port.stopListening();
    }
  },
);

tlsTest("startTLS refuses bad options and a second upgrade", async (c) => {
  const server = new Server(() => new Echo());
  const port = reactor.listenSSL(
    0,
    server,
    { cert: c.certPem, key: c.keyPem },
    {
      interface: LOOPBACK,
    },
  );
  const client = new Client(() => new Recorder());
  try {
    reactor.connectSSL(LOOPBACK, tcpHost(port).port, client, {
      caCerts: [c.caPem],
    });
    const proto = await client.connected();
    const t = proto.transport!;
    assert.throws(() => t.startTLS({}), /already TLS/);
    assert.throws(
      () => t.startTLS({ side: "server" }),
      /cert and options\.key \(PEM\) are required/,
    );
    assert.throws(() => t.startTLS({ side: "sideways" as never }), TypeError);
    t.loseConnection();
    await proto.closed();
    await (await server.connected()).closed();
  } finally {
    await port.stopListening();
  }
});

// ------------------------------------------------------ handshakeTimeout

tlsTest(
  "server startTLS with handshakeTimeout: a peer that never shakes hands is closed and the timeout logged",
  async (c) => {
    using logs = captureLogs();
    class Upgrading extends Recorder {
      override dataReceived(data: Uint8Array): void {
        super.dataReceived(data);
        if (decode(this.received) === "STARTTLS\n") {
          this.transport!.startTLS({
            side: "server",
            cert: c.certPem,
            key: c.keyPem,
            handshakeTimeout: 0.2,
          });
        }
      }
    }
    const server = new Server(() => new Upgrading());
    const port = reactor.listenTCP(0, server, { interface: LOOPBACK });
    try {
      const conn = await Deno.connect({
        hostname: LOOPBACK,
        port: tcpHost(port).port,
      });
      try {
        await conn.write(encode("STARTTLS\n"));
        // No ClientHello follows: the server gives up and closes.
        const buf = new Uint8Array(64);
        assert.equal(
          await within(5_000, "the server to close", conn.read(buf)),
          null,
        );
      } finally {
        conn.close();
      }
      const reason = await server.built[0].closed();
      assert.ok(reason.check(TLSHandshakeError), String(reason));
      assert.match(
        reason.getErrorMessage(),
        /TLS handshake with 127\.0\.0\.1:\d+ failed: timed out: no handshake within 0\.2 s \(handshakeTimeout\)/,
      );
      const lines = logs.messages.filter((m) => /handshakeTimeout/.test(m));
      assert.equal(lines.length, 1, logs.messages.join("\n"));
      assert.match(
        lines[0],
        /^TLS handshake with 127\.0\.0\.1:\d+ failed: timed out/,
      );
    } finally {
      await port.stopListening();
    }
  },
);

tlsTest(
  "listenSSL with handshakeTimeout null runs on Deno.listenTls and serves",
  async (c) => {
    const server = new Server(() => new Echo());
    const port = reactor.listenSSL(0, server, {
      cert: c.certPem,
      key: c.keyPem,
      handshakeTimeout: null,
    }, { interface: LOOPBACK });
    const client = new Client(() => new Recorder());
    try {
      reactor.connectSSL(LOOPBACK, tcpHost(port).port, client, {
        caCerts: [c.caPem],
      });
      const proto = await client.connected();
      proto.transport!.write("ping");
      assert.equal(decode(await proto.bytes(4)), "ping");
      const served = (await server.connected()).transport as TLSTransport;
      assert.equal(served.conn.constructor.name, "TlsConn");
      proto.transport!.loseConnection();
      await proto.closed();
      await server.built[0].closed();
    } finally {
      await port.stopListening();
    }
  },
);

tlsTest(
  "handshakeTimeout must be a positive number of seconds or null",
  (c) => {
    for (const bad of [0, -1, Infinity, NaN, "5" as never]) {
      assert.throws(
        () =>
          reactor.listenSSL(0, new Server(() => new Echo()), {
            cert: c.certPem,
            key: c.keyPem,
            handshakeTimeout: bad,
          }, { interface: LOOPBACK }),
        (e: Error) =>
          e instanceof RangeError &&
          /^Cannot listen with TLS: handshakeTimeout must be a positive number of seconds or null, not /
            .test(e.message),
      );
    }
    return Promise.resolve();
  },
);

// -------------------------------------------------------------- shutdown

tlsTest("reactor shutdown closes TLS connections and ports", async (c) => {
  const r = new DenoReactor();
  const server = new Server(() => new Echo());
  const port = r.listenSSL(0, server, { cert: c.certPem, key: c.keyPem }, {
    interface: LOOPBACK,
  });
  const client = new Client(() => new Recorder());
  r.connectSSL(LOOPBACK, tcpHost(port).port, client, { caCerts: [c.caPem] });
  const proto = await client.connected();
  const serverProto = await server.connected();
  proto.transport!.write("hi");
  await proto.bytes(2);
  r.callWhenRunning(() => r.stop());
  await within(
    10_000,
    "the reactor to stop",
    r.run({ installSignalHandlers: false }),
  );
  assert.ok((await proto.closed()).check(ConnectionLost));
  assert.ok((await serverProto.closed()).check(ConnectionLost));
  assert.deepEqual(proto.events, ["made", "lost ConnectionLost"]);
  assert.equal(server.numPorts, 0, "the port stopped its factory");
});

// --------------------------------------------------------------- interop

twistedTest("our TLS client against a Twisted TLS echo server", async (c) => {
  const peer = await startPeer("./_tls_twisted_echo.py", c.certFile, c.keyFile);
  const client = new Client(() => new Recorder());
  try {
    reactor.connectSSL(LOOPBACK, peer.port, client, {
      caCerts: [c.caPem],
      hostname: "localhost",
    });
    const proto = await client.connected();
    const payload = new Uint8Array(300_000).map((_, i) => (i * 13) % 256);
    proto.transport!.write(payload);
    assert.deepEqual(await proto.bytes(payload.length), payload);
    proto.transport!.loseConnection();
    assert.ok((await proto.closed()).check(ConnectionDone));
  } finally {
    const status = await peer.stop();
    assert.equal(status.code, 0);
  }
});

twistedTest("a Twisted TLS client against our server", async (c) => {
  const { server, port, at } = listenEcho(c);
  try {
    const out = await within(
      20_000,
      "the Twisted client",
      new Deno.Command(PYTHON, {
        args: [
          new URL("./_tls_twisted_client.py", import.meta.url).pathname,
          String(at.port),
          c.caFile,
          "hello from Twisted ✓",
        ],
        stdout: "piped",
        stderr: "piped",
      }).output(),
    );
    assert.equal(out.code, 0, decode(out.stderr));
    assert.equal(decode(out.stdout), "hello from Twisted ✓\n");
    assert.equal(decode(server.built[0].received), "hello from Twisted ✓");
    assert.ok((await server.built[0].closed()).check(ConnectionDone));
  } finally {
    await port.stopListening();
  }
});

twistedTest(
  "client startTLS against a Twisted server's startTLS",
  async (c) => {
    const peer = await startPeer(
      "./_tls_twisted_starttls.py",
      c.certFile,
      c.keyFile,
    );
    class Upgrader extends Recorder {
      override connectionMade(): void {
        super.connectionMade();
        this.transport!.write("STARTTLS\n");
      }
      override dataReceived(data: Uint8Array): void {
        super.dataReceived(data);
        if (decode(this.received) === "GO\n") {
          this.received = new Uint8Array(0);
          this.transport!.startTLS({
            hostname: "localhost",
            caCerts: [c.caPem],
          });
          this.transport!.write("secret\n");
        }
      }
    }
    const client = new Client(() => new Upgrader());
    try {
      reactor.connectTCP(LOOPBACK, peer.port, client);
      const proto = await client.connected();
      assert.equal(decode(await proto.bytes(13)), "echo: secret\n");
      assert.equal(negotiatedProtocol(proto.transport), null);
      proto.transport!.loseConnection();
      await proto.closed();
    } finally {
      assert.equal((await peer.stop()).code, 0);
    }
  },
);

tlsTest("openssl s_client talks to our server", async (c) => {
  class OneLine extends Echo {
    override dataReceived(data: Uint8Array): void {
      super.dataReceived(data);
      if (decode(this.received).endsWith("\n")) {
        this.transport!.loseConnection();
      }
    }
  }
  const server = new Server(() => new OneLine());
  const port = reactor.listenSSL(0, server, {
    cert: c.certPem,
    key: c.keyPem,
    alpnProtocols: ["x-one", "x-two"],
  }, { interface: LOOPBACK });
  try {
    const child = new Deno.Command("openssl", {
      args: [
        "s_client",
        "-connect",
        `127.0.0.1:${tcpHost(port).port}`,
        "-CAfile",
        c.caFile,
        "-verify_hostname",
        "localhost",
        "-verify_return_error",
        "-alpn",
        "x-two",
        "-quiet",
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(encode("hello from openssl\n"));
    const out = await within(10_000, "openssl s_client", child.output());
    assert.equal(
      decode(out.stdout),
      "hello from openssl\n",
      decode(out.stderr),
    );
    await writer.close().catch(() => {});
    assert.equal(
      (server.built[0].transport as TLSTransport).negotiatedProtocol,
      "x-two",
    );
    assert.ok((await server.built[0].closed()).check(ConnectionDone));
  } finally {
    await port.stopListening();
  }
});

// ------------------------------------------------- handshakes that stall

tlsTest(
  "the connect timeout covers a handshake that never completes",
  async () => {
    const silent = Deno.listen({ hostname: LOOPBACK, port: 0 });
    const client = new Client(() => new Recorder());
    try {
      reactor.connectSSL(LOOPBACK, silent.addr.port, client, {}, {
        timeout: 0.2,
      });
      const server = await within(5_000, "the TCP accept", silent.accept());
      const reason = await client.failed();
      assert.ok(reason.check(TCPTimedOutError), String(reason));
      assert.equal(client.built.length, 0);
      // Deno 2.9 cancels the handshake but keeps the TCP socket open inside
      // its TLS task until the peer acts (see reactor/tls.ts), so the peer
      // sees no EOF here; closing it frees both ends.
      server.close();
    } finally {
      silent.close();
    }
  },
);

tlsTest(
  "stopConnecting during the handshake fails the attempt with UserError",
  async () => {
    const silent = Deno.listen({ hostname: LOOPBACK, port: 0 });
    const client = new Client(() => new Recorder());
    try {
      const connector = reactor.connectSSL(
        LOOPBACK,
        silent.addr.port,
        client,
        {},
      );
      const server = await within(5_000, "the TCP accept", silent.accept());
      // The ClientHello has arrived: the client is in its handshake.
      await within(5_000, "the ClientHello", server.read(new Uint8Array(4096)));
      connector.stopConnecting();
      const reason = await client.failed();
      assert.ok(reason.check(UserError), String(reason));
      assert.equal(client.built.length, 0);
      server.close();
    } finally {
      silent.close();
    }
  },
);

tlsTest(
  "stopListening does not wait for connections stuck in their handshake",
  async (c) => {
    const { server, port, at } = listenEcho(c);
    const stalled = await Deno.connect({ hostname: LOOPBACK, port: at.port });
    try {
      // Nothing sent: the server waits for a ClientHello that never comes.
      // The port cancels that handshake when it stops (Deno keeps the socket
      // itself open until this peer closes: see reactor/tls.ts).
      await within(5_000, "the port to stop", port.stopListening().asPromise());
      assert.equal(server.built.length, 0);
    } finally {
      stalled.close();
    }
  },
);

// -------------------------------------------------------------- endpoints

tlsTest(
  "ssl: and tls: descriptions make endpoints that talk to each other",
  async (c) => {
    const q = quoteStringArgument;
    const serverEndpoint = serverFromString(
      reactor,
      `ssl:0:privateKey=${q(c.keyFile)}:certKey=${
        q(c.certFile)
      }:interface=127.0.0.1:alpnProtocols=x-a,x-b`,
    );
    assert.ok(serverEndpoint instanceof SSL4ServerEndpoint);
    const server = new Server(() => new Echo());
    const port = await serverEndpoint.listen(server);
    try {
      const at = tcpHost(port);
      const endpoint = clientFromString(
        reactor,
        `tls:127.0.0.1:${at.port}:trustRoots=${
          q(c.caFile)
        }:hostname=localhost:alpnProtocols=x-b`,
      );
      assert.ok(endpoint instanceof SSL4ClientEndpoint);
      const proto = await within(
        10_000,
        "the endpoint to connect",
        connectProtocol(endpoint, new Recorder()).asPromise(),
      );
      assert.deepEqual(proto.events, ["made"], "fired after connectionMade");
      assert.equal((proto.transport as TLSTransport).negotiatedProtocol, "x-b");
      proto.transport!.write("through endpoints");
      assert.equal(decode(await proto.bytes(17)), "through endpoints");
      proto.transport!.loseConnection();
      await proto.closed();
      await (await server.connected()).closed();
    } finally {
      await port.stopListening();
    }
  },
);

tlsTest(
  "ssl: accepts one PEM file holding both key and certificate, and Twisted's client form",
  async (c) => {
    const combined = `${c.dir}/combined.pem`;
    await Deno.writeTextFile(combined, c.certPem + c.keyPem);
    const caDir = await Deno.makeTempDir({ dir: c.dir, prefix: "roots-" });
    await Deno.copyFile(c.caFile, `${caDir}/ca.pem`);
    await Deno.writeTextFile(`${caDir}/README`, "not a certificate");
    const server = new Server(() => new Echo());
    const port = await serverFromString(
      reactor,
      `ssl:0:privateKey=${quoteStringArgument(combined)}:interface=127.0.0.1`,
    ).listen(server);
    try {
      const endpoint = clientFromString(
        reactor,
        `ssl:host=127.0.0.1:port=${tcpHost(port).port}:caCertsDir=${
          quoteStringArgument(caDir)
        }`,
      ) as SSL4ClientEndpoint;
      assert.deepEqual(endpoint.tls.caCerts, [c.caPem], "only the .pem file");
      const proto = await within(
        10_000,
        "the endpoint to connect",
        connectProtocol(endpoint, new Recorder()).asPromise(),
      );
      proto.transport!.loseConnection();
      await proto.closed();
      await (await server.connected()).closed();
    } finally {
      await port.stopListening();
    }
  },
);

tlsTest(
  "a client endpoint's Deferred fails with the handshake error",
  async (c) => {
    const { server, port, at } = listenEcho(c);
    try {
      using _logs = captureLogs();
      const endpoint = clientFromString(
        reactor,
        `tls:127.0.0.1:${at.port}:trustRoots=${
          quoteStringArgument(c.otherCaFile)
        }`,
      );
      await assert.rejects(
        within(
          10_000,
          "the failure",
          connectProtocol(endpoint, new Recorder()).asPromise(),
        ),
        (e: unknown) =>
          e instanceof TLSHandshakeError && /UnknownIssuer/.test(e.message),
      );
      assert.equal(server.built.length, 0);
    } finally {
      await port.stopListening();
    }
  },
);

tlsTest(
  "cancelling a client endpoint's Deferred abandons the handshake",
  async () => {
    const silent = Deno.listen({ hostname: LOOPBACK, port: 0 });
    try {
      const endpoint = new SSL4ClientEndpoint(
        reactor,
        LOOPBACK,
        silent.addr.port,
      );
      const d = endpoint.connect(new Server(() => new Recorder()));
      const server = await within(5_000, "the TCP accept", silent.accept());
      await within(5_000, "the ClientHello", server.read(new Uint8Array(4096)));
      d.cancel();
      await assert.rejects(d.asPromise(), ConnectingCancelledError);
      server.close();
    } finally {
      silent.close();
    }
  },
);

tlsTest(
  "bad ssl: and tls: descriptions are refused with the reason",
  async (c) => {
    const q = quoteStringArgument;
    const cases: Array<[() => unknown, RegExp]> = [
      [
        () => serverFromString(reactor, `ssl:privateKey=${q(c.keyFile)}`),
        /port is required/,
      ],
      [
        () => serverFromString(reactor, "ssl:443:privateKey=/nonexistent.pem"),
        /cannot read privateKey \/nonexistent\.pem/,
      ],
      [() =>
        serverFromString(
          reactor,
          `ssl:443:privateKey=${q(c.keyFile)}:colour=red`,
        ), /unknown argument "colour"/],
      [() =>
        serverFromString(
          reactor,
          `ssl:443:privateKey=${q(c.keyFile)}:sslmethod=TLSv1_METHOD`,
        ), /OpenSSL settings/],
      [() =>
        serverFromString(
          reactor,
          `ssl:443:privateKey=${q(c.keyFile)}:extraCertChain=${q(c.keyFile)}`,
        ), /holds no PEM certificate/],
      [
        () => serverFromString(reactor, `ssl:https:privateKey=${q(c.keyFile)}`),
        /port "https" is not an integer/,
      ],
      [() => clientFromString(reactor, "tls:example.com"), /port is required/],
      [
        () => clientFromString(reactor, "tls:example.com:443:privateKey=k.pem"),
        /client certificates are not supported/,
      ],
      [
        () => clientFromString(reactor, "ssl:example.com:443:certKey=c.pem"),
        /client certificates are not supported/,
      ],
      [() =>
        clientFromString(
          reactor,
          "tls:example.com:443:trustRoots=/nonexistent",
        ), /cannot read trustRoots \/nonexistent/],
      [() =>
        clientFromString(
          reactor,
          `tls:example.com:443:trustRoots=${q(c.dir)}/roots-none`,
        ), /cannot read trustRoots/],
      [
        () => clientFromString(reactor, "tls:example.com:443:timeout=soon"),
        /timeout "soon"/,
      ],
      [
        () => clientFromString(reactor, "tls:example.com:443:caCertsDir=/tmp"),
        /unknown argument "caCertsDir"/,
      ],
    ];
    for (const [make, message] of cases) {
      assert.throws(
        make,
        (e: unknown) => e instanceof TypeError && message.test(e.message),
        String(message),
      );
    }
    await Promise.resolve();
  },
);
