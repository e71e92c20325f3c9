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
import { captureLogs } from "../../testing/logs.ts";
import { StringTransport } from "../../testing/string_transport.ts";
import { decode, encode, readAll, within } from "../_helpers.ts";

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

const users = new FingerFactory({ moshez: "Happy and well" });

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
  const [proto, t] = connect(users);
  proto.dataReceived(encode("x".repeat(1025)));
  assert.equal(t.value().length, 0, "1025 bytes may still end in CRLF");
  proto.dataReceived(encode("xx"));
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
