import assert from "node:assert/strict";
import { Deferred } from "../../deferred/deferred.ts";
import { Failure } from "../../deferred/failure.ts";
import {
  type FingerEntry,
  FingerFactory,
  FingerProtocol,
  parseFingerQuery,
} from "../../protocols/finger.ts";
import type { IProtocol } from "../../reactor/interfaces.ts";
import { reactor } from "../../reactor/reactor.ts";
import { Clock } from "../../testing/clock.ts";
import { captureLogs } from "../../testing/logs.ts";
import { StringTransport } from "../../testing/string_transport.ts";
import { decode, encode, hasCommand, readAll, within } from "../_helpers.ts";

const ADDR = { type: "TCP" as const, host: "127.0.0.1", port: 40000 };

function connect(factory: FingerFactory): [IProtocol, StringTransport] {
  const proto = factory.buildProtocol(ADDR)!;
  const transport = new StringTransport();
  proto.makeConnection(transport);
  return [proto, transport];
}

function ask(factory: FingerFactory, wire: string): StringTransport {
  const [proto, transport] = connect(factory);
  proto.dataReceived(encode(wire));
  return transport;
}

const users = new FingerFactory({ moshez: "Happy and well" }, {
  clock: new Clock(),
});

Deno.test("FingerProtocol answers a known user's entry and closes", () => {
  const t = ask(users, "moshez\r\n");
  assert.equal(decode(t.value()), "Happy and well\r\n");
  assert.equal(t.disconnecting, true);
});

Deno.test("FingerProtocol answers No such user for an unknown user and closes", () => {
  const t = ask(users, "glyph\r\n");
  assert.equal(decode(t.value()), "No such user\r\n");
  assert.equal(t.disconnecting, true);
});

Deno.test("FingerProtocol treats a /W query like a plain one", () => {
  for (const q of ["/W moshez\r\n", "/w moshez\r\n", "/W  moshez \r\n"]) {
    assert.equal(decode(ask(users, q).value()), "Happy and well\r\n", q);
  }
});

Deno.test("FingerProtocol refuses to forward user@host queries with a clear message", () => {
  for (
    const q of [
      "moshez@example.com\r\n",
      "@example.com\r\n",
      "/W moshez@a@b\r\n",
    ]
  ) {
    const t = ask(users, q);
    assert.match(
      decode(t.value()),
      /^Finger forwarding service denied: .+\r\n$/,
      q,
    );
    assert.equal(t.disconnecting, true);
  }
});

Deno.test("FingerProtocol says it lists no one for an empty query", () => {
  for (const q of ["\r\n", "/W\r\n", "   \r\n"]) {
    const t = ask(users, q);
    assert.match(decode(t.value()), /^Finger online list denied: .+\r\n$/, q);
    assert.equal(t.disconnecting, true);
  }
});

Deno.test("FingerProtocol answers a query only once it is a whole line, in any chunking", () => {
  const wire = encode("moshez\r\n");
  for (let size = 1; size <= wire.length; size++) {
    const [proto, t] = connect(users);
    for (let i = 0; i < wire.length; i += size) {
      assert.equal(t.value().length, 0);
      proto.dataReceived(wire.slice(i, i + size));
    }
    assert.equal(decode(t.value()), "Happy and well\r\n", `${size}`);
  }
});

Deno.test("FingerProtocol accepts a query ended by a bare LF, as nc sends it", () => {
  const t = ask(users, "moshez\n");
  assert.equal(decode(t.value()), "Happy and well\r\n");
  assert.equal(t.disconnecting, true);
  assert.equal(decode(ask(users, "/W moshez\n").value()), "Happy and well\r\n");
  assert.match(decode(ask(users, "\n").value()), /^Finger online list denied/);
});

Deno.test("FingerProtocol reads CRLF and LF queries alike in any chunking", () => {
  for (const query of ["moshez\r\n", "moshez\n"]) {
    const wire = encode(query);
    for (let size = 1; size <= wire.length; size++) {
      const [proto, t] = connect(users);
      for (let i = 0; i < wire.length; i += size) {
        proto.dataReceived(wire.slice(i, i + size));
      }
      assert.equal(decode(t.value()), "Happy and well\r\n", `${query} ${size}`);
    }
  }
});

Deno.test("FingerFactory drops a client that sends no whole query in 60 seconds", () => {
  const clock = new Clock();
  const factory = new FingerFactory({ moshez: "Happy and well" }, { clock });
  assert.equal(factory.timeOut, 60);
  const [proto, t] = connect(factory);
  proto.dataReceived(encode("mosh")); // a partial query does not count
  clock.advance(59.9);
  assert.equal(t.disconnecting, false);
  clock.advance(0.1);
  assert.equal(t.disconnecting, true);
  assert.equal(t.value().length, 0, "no answer, just closed");
  assert.equal(clock.getDelayedCalls().length, 0);
});

Deno.test("FingerFactory stops the countdown once the query has arrived", () => {
  const clock = new Clock();
  const pending = new Deferred<string>();
  class Slow extends FingerFactory {
    override getUser(_user: string): FingerEntry {
      return pending;
    }
  }
  const [proto, t] = connect(new Slow({}, { clock }));
  clock.advance(30);
  proto.dataReceived(encode("moshez\n"));
  assert.equal(clock.getDelayedCalls().length, 0);
  clock.advance(120); // a slow lookup is not cut off
  assert.equal(t.disconnecting, false);
  pending.callback("Happy and well");
  assert.equal(decode(t.value()), "Happy and well\r\n");
  assert.equal(t.disconnecting, true);
});

Deno.test("FingerFactory's timeout is configurable, or off with null", () => {
  const clock = new Clock();
  const [, t] = connect(new FingerFactory({}, { timeOut: 5, clock }));
  clock.advance(5);
  assert.equal(t.disconnecting, true);
  const [, t2] = connect(new FingerFactory({}, { timeOut: null, clock }));
  assert.equal(clock.getDelayedCalls().length, 0);
  clock.advance(3600);
  assert.equal(t2.disconnecting, false);
});

Deno.test("FingerProtocol cancels the countdown when the connection is lost", () => {
  const clock = new Clock();
  const [proto] = connect(new FingerFactory({}, { clock }));
  assert.equal(clock.getDelayedCalls().length, 1);
  proto.connectionLost(new Failure(new Error("gone")));
  assert.equal(clock.getDelayedCalls().length, 0);
});

Deno.test("FingerProtocol answers only the first line", () => {
  const pending = new Deferred<string>();
  class Slow extends FingerFactory {
    override getUser(_user: string): FingerEntry {
      return pending;
    }
  }
  const t = ask(new Slow(), "moshez\r\nglyph\r\nradix\r\n");
  pending.callback("Happy and well");
  assert.equal(decode(t.value()), "Happy and well\r\n");
});

Deno.test("FingerProtocol cuts off a query longer than MAX_LENGTH", () => {
  assert.equal(
    decode(ask(users, "x".repeat(1023) + "\r\n").value()),
    "No such user\r\n",
    "1024 bytes before the LF, the CR included",
  );
  assert.equal(
    decode(ask(users, "x".repeat(1024) + "\n").value()),
    "No such user\r\n",
  );
  const [proto, t] = connect(users);
  proto.dataReceived(encode("x".repeat(1024)));
  assert.equal(t.value().length, 0, "1024 bytes may still end in LF");
  proto.dataReceived(encode("x"));
  assert.equal(decode(t.value()), "Query too long: at most 1024 bytes\r\n");
  assert.equal(t.disconnecting, true);
  const t2 = ask(users, "y".repeat(2000) + "\r\n");
  assert.equal(decode(t2.value()), "Query too long: at most 1024 bytes\r\n");
});

Deno.test("FingerProtocol waits for a Deferred or a Promise from getUser", async () => {
  const d = new Deferred<string>();
  const { promise, resolve } = Promise.withResolvers<string>();
  const answers: FingerEntry[] = [d, promise];
  class Later extends FingerFactory {
    override getUser(_user: string): FingerEntry {
      return answers.shift()!;
    }
  }
  const factory = new Later();
  const t1 = ask(factory, "moshez\r\n");
  const t2 = ask(factory, "moshez\r\n");
  assert.equal(t1.value().length, 0);
  assert.equal(t1.disconnecting, false);
  d.callback("from a Deferred");
  assert.equal(decode(t1.value()), "from a Deferred\r\n");
  resolve("from a Promise");
  await promise;
  await Promise.resolve(); // the Deferred adapting the Promise fires after it
  assert.equal(decode(t2.value()), "from a Promise\r\n");
  assert.equal(t2.disconnecting, true);
});

Deno.test("FingerProtocol logs a failed lookup and answers Internal error in server", async () => {
  using logs = captureLogs();
  const rejected = Promise.reject(new TypeError("database gone"));
  rejected.catch(() => {}); // handled by the protocol; silence the early report
  class Broken extends FingerFactory {
    calls = 0;
    override getUser(user: string): FingerEntry {
      if (this.calls++ === 0) throw new RangeError(`no shard for ${user}`);
      return rejected;
    }
  }
  const factory = new Broken();
  const t1 = ask(factory, "moshez\r\n");
  assert.equal(decode(t1.value()), "Internal error in server\r\n");
  assert.equal(t1.disconnecting, true);
  const t2 = ask(factory, "moshez\r\n");
  await rejected.catch(() => {});
  await Promise.resolve(); // the Deferred adapting it fires after that
  assert.equal(decode(t2.value()), "Internal error in server\r\n");
  assert.equal(logs.flushLoggedErrors(RangeError).length, 1);
  assert.equal(logs.flushLoggedErrors(TypeError).length, 1);
  assert.match(logs.messages.join("\n"), /Finger lookup of moshez failed/);
});

Deno.test("FingerFactory only knows its own users, not object properties", () => {
  for (
    const name of ["constructor", "__proto__", "toString", "hasOwnProperty"]
  ) {
    assert.equal(
      decode(ask(users, name + "\r\n").value()),
      "No such user\r\n",
      name,
    );
  }
  const fromMap = new FingerFactory(new Map([["radix", "Reading RFCs"]]));
  assert.equal(decode(ask(fromMap, "radix\r\n").value()), "Reading RFCs\r\n");
});

Deno.test("FingerProtocol without a factory answers No such user", () => {
  const proto = new FingerProtocol();
  const t = new StringTransport();
  proto.makeConnection(t);
  proto.dataReceived(encode("moshez\r\n"));
  assert.equal(decode(t.value()), "No such user\r\n");
});

Deno.test("FingerProtocol writes nothing when the client left before the answer", () => {
  const pending = new Deferred<string>();
  class Slow extends FingerFactory {
    override getUser(_user: string): FingerEntry {
      return pending;
    }
  }
  const [proto, t] = connect(new Slow());
  proto.dataReceived(encode("moshez\r\n"));
  t.loseConnection();
  proto.connectionLost(new Failure(new Error("gone")));
  pending.callback("late");
  assert.equal(t.value().length, 0);
});

Deno.test("parseFingerQuery splits the /W token, the user and the host", () => {
  assert.deepEqual(parseFingerQuery("/W"), { verbose: true, user: "" });
  assert.deepEqual(parseFingerQuery("/Wmoshez"), {
    verbose: false,
    user: "/Wmoshez",
  });
  assert.deepEqual(parseFingerQuery("a@b@c"), {
    verbose: false,
    user: "a",
    host: "b@c",
  });
  assert.deepEqual(parseFingerQuery("@host"), {
    verbose: false,
    user: "",
    host: "host",
  });
});

// ------------------------------------------------------------ real sockets

Deno.test("FingerFactory answers over TCP", async () => {
  const closed = new Deferred<void>();
  class Tracked extends FingerProtocol {
    override connectionLost(reason: Failure): void {
      super.connectionLost(reason);
      closed.callback(undefined);
    }
  }
  const factory = new FingerFactory({ moshez: "Happy and well" });
  factory.protocol = Tracked;
  const port = reactor.listenTCP(0, factory, { interface: "127.0.0.1" });
  const at = port.getHost();
  assert(at.type === "TCP");
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: at.port });
  try {
    await conn.write(encode("moshez\r\n"));
    const answer = await within(5_000, "the finger answer", readAll(conn));
    assert.equal(decode(answer), "Happy and well\r\n");
    await within(5_000, "the server side to close", closed);
  } finally {
    conn.close();
    await port.stopListening();
  }
});

Deno.test("nc's LF-ended query gets the answer over TCP", async () => {
  if (!hasCommand("nc")) {
    console.log("skipped: nc (netcat) is not installed");
    return;
  }
  const factory = new FingerFactory({ moshez: "Happy and well" });
  const port = reactor.listenTCP(0, factory, { interface: "127.0.0.1" });
  const at = port.getHost();
  assert(at.type === "TCP");
  try {
    const child = new Deno.Command("nc", {
      args: ["-N", "127.0.0.1", String(at.port)], // -N: half-close at EOF
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const writer = child.stdin.getWriter();
    await writer.write(encode("moshez\n"));
    await writer.close();
    const out = await within(10_000, "nc to finish", child.output());
    assert.equal(decode(out.stdout), "Happy and well\r\n", decode(out.stderr));
  } finally {
    await port.stopListening();
  }
});
