import assert from "node:assert/strict";
import { Deferred } from "../../deferred/deferred.ts";
import { TimeoutError } from "../../deferred/errors.ts";
import { Failure } from "../../deferred/failure.ts";
import { ClientCreator } from "../../protocols/client.ts";
import {
  ClientError,
  MemCacheProtocol,
  NoSuchCommand,
  ServerError,
} from "../../protocols/memcache.ts";
import { ConnectionDone, ConnectionLost } from "../../reactor/errors.ts";
import { reactor } from "../../reactor/reactor.ts";
import { Clock } from "../../testing/clock.ts";
import { captureLogs } from "../../testing/logs.ts";
import {
  assertNoResult,
  failureResultOf,
  successResultOf,
} from "../../testing/results.ts";
import { StringTransport } from "../../testing/string_transport.ts";
import { decode, encode, hasCommand, within } from "../_helpers.ts";

function connected(
  timeOut: number | null = 60,
): { proto: MemCacheProtocol; transport: StringTransport; clock: Clock } {
  const clock = new Clock();
  const proto = new MemCacheProtocol(timeOut, { clock });
  const transport = new StringTransport();
  proto.makeConnection(transport);
  return { proto, transport, clock };
}

function feed(proto: MemCacheProtocol, wire: string, size = wire.length) {
  const bytes = encode(wire);
  for (let i = 0; i < bytes.length; i += size) {
    proto.dataReceived(bytes.subarray(i, i + size));
  }
}

// ------------------------------------------------------ wire format

Deno.test("MemCacheProtocol writes each command as memcached's text protocol", () => {
  const { proto, transport } = connected();
  proto.set("k", "v", 3, 60);
  proto.add("k", encode("ab"));
  proto.replace("k", "");
  proto.append("k", "x");
  proto.prepend("k", "y");
  proto.checkAndSet("k", "z", "42", 1, 2);
  proto.get("k");
  proto.get("k", true);
  proto.getMultiple(["a", "b"]);
  proto.getMultiple(["a"], true);
  proto.increment("n");
  proto.decrement("n", 5);
  proto.delete("k");
  proto.stats();
  proto.stats("slabs");
  proto.version();
  proto.flushAll();
  assert.equal(
    decode(transport.value()),
    "set k 3 60 1\r\nv\r\n" +
      "add k 0 0 2\r\nab\r\n" +
      "replace k 0 0 0\r\n\r\n" +
      "append k 0 0 1\r\nx\r\n" +
      "prepend k 0 0 1\r\ny\r\n" +
      "cas k 1 2 1 42\r\nz\r\n" +
      "get k\r\n" +
      "gets k\r\n" +
      "get a b\r\n" +
      "gets a\r\n" +
      "incr n 1\r\n" +
      "decr n 5\r\n" +
      "delete k\r\n" +
      "stats\r\n" +
      "stats slabs\r\n" +
      "version\r\n" +
      "flush_all\r\n",
  );
  assert.equal(proto.pendingRequests, 17);
});

// Every reply kind, pipelined, for the requests above.
const REPLIES =
  "STORED\r\nNOT_STORED\r\nNOT_STORED\r\nSTORED\r\nNOT_STORED\r\n" +
  "EXISTS\r\n" +
  "VALUE k 3 1\r\nv\r\nEND\r\n" +
  "VALUE k 3 1 99\r\nv\r\nEND\r\n" +
  "VALUE b 7 4\r\nb\r\nb\r\nEND\r\n" +
  "END\r\n" +
  "14\r\nNOT_FOUND\r\nDELETED\r\n" +
  "STAT pid 123\r\nSTAT version 1.6.18\r\nEND\r\n" +
  "STAT active_slabs 0\r\nEND\r\n" +
  "VERSION 1.6.18\r\nOK\r\n";

Deno.test("MemCacheProtocol matches pipelined replies to requests at every chunk size", () => {
  for (let size = 1; size <= REPLIES.length; size++) {
    const { proto } = connected();
    const results = [
      proto.set("k", "v", 3, 60),
      proto.add("k", encode("ab")),
      proto.replace("k", ""),
      proto.append("k", "x"),
      proto.prepend("k", "y"),
      proto.checkAndSet("k", "z", "42"),
      proto.get("k"),
      proto.get("k", true),
      proto.getMultiple(["a", "b"]),
      proto.getMultiple(["a"], true),
      proto.increment("n"),
      proto.decrement("n", 5),
      proto.delete("k"),
      proto.stats(),
      proto.stats("slabs"),
      proto.version(),
      proto.flushAll(),
    ];
    feed(proto, REPLIES, size);
    const got = results.map((d) => successResultOf(d as Deferred<unknown>));
    const v = encode("v");
    assert.deepEqual(got, [
      true,
      false,
      false,
      true,
      false,
      false,
      [3, v],
      [3, "99", v],
      new Map([["a", [0, null]], ["b", [7, encode("b\r\nb")]]]),
      new Map([["a", [0, "", null]]]),
      14,
      false,
      true,
      new Map([["pid", "123"], ["version", "1.6.18"]]),
      new Map([["active_slabs", "0"]]),
      "1.6.18",
      true,
    ], `chunk size ${size}`);
    assert.equal(proto.pendingRequests, 0);
  }
});

Deno.test("MemCacheProtocol.get of an absent key gives [0, null]", () => {
  const { proto } = connected();
  const d = proto.get("nope");
  feed(proto, "END\r\n");
  assert.deepEqual(successResultOf(d), [0, null]);
});

Deno.test("MemCacheProtocol reads a 500 kB value in small chunks into the right bytes", () => {
  const { proto } = connected();
  const value = new Uint8Array(500_000);
  for (let i = 0; i < value.length; i++) value[i] = (i * 7) & 0xff;
  const d = proto.get("big");
  const wire = new Uint8Array([
    ...encode(`VALUE big 0 ${value.length}\r\n`),
    ...value,
    ...encode("\r\nEND\r\n"),
  ]);
  for (let i = 0; i < wire.length; i += 1000) {
    proto.dataReceived(wire.subarray(i, i + 1000));
  }
  const [flags, got] = successResultOf(d);
  assert.equal(flags, 0);
  assert.deepEqual(got, value);
});

// ---------------------------------------------------- server errors

Deno.test("MemCacheProtocol fails a request with NoSuchCommand, ClientError or ServerError as the server says", () => {
  const { proto, transport } = connected();
  const a = proto.version();
  const b = proto.set("k", "v");
  const c = proto.set("k", "v");
  const after = proto.version();
  feed(
    proto,
    "ERROR\r\nCLIENT_ERROR bad data chunk\r\nSERVER_ERROR out of memory storing object\r\nVERSION 1\r\n",
  );
  assert.equal(
    (failureResultOf(a, NoSuchCommand).value as NoSuchCommand).command,
    "version",
  );
  assert.match(
    String(failureResultOf(b, ClientError).value),
    /ClientError: Memcache server refused set: bad data chunk/,
  );
  assert.match(
    String(failureResultOf(c, ServerError).value),
    /out of memory storing object/,
  );
  assert.equal(successResultOf(after), "1");
  assert.equal(transport.disconnecting, false);
});

Deno.test("a reply that fits no request fails every pending request and drops the connection", () => {
  using logs = captureLogs();
  const { proto, transport } = connected();
  const a = proto.get("k");
  const b = proto.delete("k");
  feed(proto, "STORED\r\n");
  for (const d of [a, b]) {
    assert.match(
      String(failureResultOf(d as Deferred<unknown>, ServerError).value),
      /Cannot parse memcache reply: reply "STORED" to get/,
    );
  }
  assert.equal(transport.disconnected, true);
  assert.match(logs.messages.join("\n"), /dropping the connection/);
});

Deno.test("a reply with nothing pending, or a value without its CRLF, drops the connection", () => {
  using logs = captureLogs();
  {
    const { proto, transport } = connected();
    feed(proto, "VERSION 1\r\n");
    assert.equal(transport.disconnected, true);
  }
  {
    const { proto, transport } = connected();
    const d = proto.get("k");
    feed(proto, "VALUE k 0 2\r\nabXY");
    assert.match(
      String(failureResultOf(d, ServerError).value),
      /value of "k" not followed by CRLF/,
    );
    assert.equal(transport.disconnected, true);
  }
  {
    const { proto, transport } = connected();
    const d = proto.get("k");
    feed(proto, "VALUE other 0 2\r\nab\r\nEND\r\n");
    failureResultOf(d, ServerError);
    assert.equal(transport.disconnected, true);
  }
  assert.equal(logs.messages.length, 3);
});

// -------------------------------------------------- key validation

Deno.test("bad keys fail with ClientError before anything is written", () => {
  const { proto, transport } = connected();
  const bad: [string, RegExp][] = [
    ["k".repeat(251), /251 bytes long in UTF-8; at most 250/],
    ["é".repeat(126), /252 bytes long in UTF-8/],
    ["a b", /a space \(byte 0x20\)/],
    ["a\r\nflush_all", /a control character \(byte 0x0d\)/],
    ["tab\there", /byte 0x09/],
    ["del\x7f", /byte 0x7f/],
    ["", /the key is empty/],
    ["\ud800", /lone UTF-16 surrogate/],
  ];
  for (const [key, why] of bad) {
    const calls: Deferred<unknown>[] = [
      proto.get(key),
      proto.getMultiple(["ok", key]),
      proto.set(key, "v"),
      proto.add(key, "v"),
      proto.replace(key, "v"),
      proto.append(key, "v"),
      proto.prepend(key, "v"),
      proto.checkAndSet(key, "v", "1"),
      proto.increment(key),
      proto.decrement(key),
      proto.delete(key),
    ];
    for (const d of calls) {
      assert.match(
        String(failureResultOf(d, ClientError).value),
        why,
        JSON.stringify(key),
      );
    }
  }
  assert.equal(transport.value().length, 0);
  assert.equal(proto.pendingRequests, 0);
  proto.get("k".repeat(250));
  proto.get("é".repeat(125));
  assert.equal(proto.pendingRequests, 2);
});

Deno.test("bad flags, expiry, CAS, counts and stats arguments fail with ClientError and write nothing", () => {
  const { proto, transport } = connected();
  const calls: [Deferred<unknown>, RegExp][] = [
    [
      proto.set("k", "v", -1),
      /flags -1 is not an integer from 0 to 4294967295/,
    ],
    [proto.set("k", "v", 2 ** 32), /flags 4294967296/],
    [proto.set("k", "v", 0, 1.5), /expireTime 1.5 is not an integer/],
    [proto.checkAndSet("k", "v", "12a"), /CAS identifier "12a"/],
    [proto.checkAndSet("k", "v", ""), /CAS identifier ""/],
    [proto.increment("k", -1), /by -1 is not an integer/],
    [proto.decrement("k", 0.5), /by 0.5/],
    [proto.getMultiple([]), /no key given/],
    [proto.stats("items\r\nflush_all"), /without control characters/],
    [
      proto.set("k", 5 as unknown as string),
      /the value must be a Uint8Array or a string, got number/,
    ],
  ];
  for (const [d, why] of calls) {
    assert.match(String(failureResultOf(d, ClientError).value), why);
  }
  assert.equal(transport.value().length, 0);
});

Deno.test("the constructor refuses a bad timeout and times on the global reactor by default", () => {
  assert.throws(() => new MemCacheProtocol(0), RangeError);
  assert.throws(() => new MemCacheProtocol(-1), RangeError);
  const call = new MemCacheProtocol(60).clock.callLater(60, () => {});
  assert.equal(reactor.getDelayedCalls().includes(call), true);
  call.cancel();
  assert.equal(new MemCacheProtocol(null).persistentTimeOut, null);
  assert.equal(
    new MemCacheProtocol(undefined, { clock: new Clock() }).timeOut,
    60,
  );
});

// -------------------------------------------------------- timeouts

Deno.test("pending requests fail with TimeoutError after timeOut seconds of silence, and the connection drops", () => {
  const { proto, transport, clock } = connected(60);
  const a = proto.get("k");
  const b = proto.version();
  clock.advance(59);
  feed(proto, "VALUE k 0 4\r\nab"); // activity restarts the countdown
  clock.advance(59);
  assertNoResult(a);
  assertNoResult(b);
  clock.advance(1);
  assert.equal(
    (failureResultOf(a, TimeoutError).value as TimeoutError).timeout,
    60,
  );
  failureResultOf(b, TimeoutError);
  assert.equal(transport.disconnected, true);
  // Closing, then closed: later calls fail at once.
  failureResultOf(proto.version(), ClientError);
  proto.connectionLost(new Failure(new ConnectionDone()));
  assert.match(
    String(failureResultOf(proto.version(), ClientError).value),
    /Cannot send version: the connection is closed/,
  );
});

Deno.test("the timeout runs only while requests are pending", () => {
  const { proto, transport, clock } = connected(60);
  assert.equal(clock.getDelayedCalls().length, 0);
  const d = proto.version();
  assert.equal(clock.getDelayedCalls().length, 1);
  clock.advance(30);
  feed(proto, "VERSION 1.6\r\n");
  assert.equal(successResultOf(d), "1.6");
  assert.equal(clock.getDelayedCalls().length, 0);
  clock.advance(1000);
  assert.equal(transport.disconnecting, false);
});

Deno.test("with timeOut null nothing is timed", () => {
  const { proto, clock } = connected(null);
  const d = proto.version();
  assert.equal(clock.getDelayedCalls().length, 0);
  clock.advance(1e6);
  assertNoResult(d);
});

Deno.test("a lost connection fails every pending request with its reason, and later calls with ClientError", () => {
  const { proto, clock } = connected();
  const a = proto.get("k");
  const b = proto.set("k", "v");
  const lost = new ConnectionLost("reset by peer");
  proto.connectionLost(new Failure(lost));
  // Twisted's connectionLost passes its Failure on unchanged.
  for (const d of [a, b] as Deferred<unknown>[]) {
    assert.equal(failureResultOf(d, ConnectionLost).value, lost);
  }
  assert.equal(clock.getDelayedCalls().length, 0);
  failureResultOf(proto.flushAll(), ClientError);
  const unconnected = new MemCacheProtocol(null);
  assert.match(
    String(failureResultOf(unconnected.version(), ClientError).value),
    /the connection is not made yet/,
  );
});

// ------------------------------------------------ a real memcached

interface Memcached {
  port: number;
  child: Deno.ChildProcess;
  stop(): Promise<void>;
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function startMemcached(): Promise<Memcached> {
  const port = freePort();
  const child = new Deno.Command("memcached", {
    // -u: memcached refuses to run as root without it (ignored otherwise).
    args: ["-l", "127.0.0.1", "-p", String(port), "-U", "0", "-u", "nobody"],
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const output = child.output();
  let exited = false;
  output.finally(() => exited = true);
  const stop = async () => {
    try {
      child.kill("SIGKILL");
    } catch { /* it exited already */ }
    await within(10_000, "memcached to exit", output);
  };
  // Wait (bounded) until it accepts connections.
  for (let attempt = 0; attempt < 200 && !exited; attempt++) {
    try {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      conn.close();
      return { port, child, stop };
    } catch {
      await new Promise((r) => setTimeout(r, 25));
    }
  }
  await stop();
  const { stderr } = await output;
  throw new Error(`memcached did not start on port ${port}: ${decode(stderr)}`);
}

class Tracked extends MemCacheProtocol {
  /** Fires with the reason's error (a Failure would make it fail). */
  readonly lost = new Deferred<unknown>();
  override connectionLost(reason: Failure): void {
    super.connectionLost(reason);
    this.lost.callback(reason.value);
  }
}

async function withMemcached(
  body: (proto: Tracked, server: Memcached) => Promise<void>,
): Promise<void> {
  if (!hasCommand("memcached")) {
    console.log(
      "skipped: memcached is not installed (apt-get install memcached)",
    );
    return;
  }
  const server = await startMemcached();
  let proto: Tracked | undefined;
  try {
    proto = await within(
      10_000,
      "the connection to memcached",
      new ClientCreator(reactor, Tracked, 10, { clock: reactor }).connectTCP(
        "127.0.0.1",
        server.port,
      ),
    );
    await body(proto, server);
  } finally {
    proto?.transport?.loseConnection();
    if (proto) await within(10_000, "the connection to close", proto.lost);
    await server.stop();
  }
}

Deno.test("against memcached: every command gives Twisted's results", async () => {
  await withMemcached(async (mc, server) => {
    const version = await mc.version();
    assert.match(version, /^\d+\.\d+\.\d+/);
    assert.equal(await mc.flushAll(), true);
    assert.equal(await mc.set("greeting", "hello", 42), true);
    assert.deepEqual(await mc.get("greeting"), [42, encode("hello")]);
    assert.deepEqual(await mc.get("absent"), [0, null]);
    assert.equal(await mc.add("greeting", "again"), false);
    assert.equal(await mc.add("fresh", "new"), true);
    assert.equal(await mc.replace("missing", "x"), false);
    assert.equal(await mc.replace("fresh", "newer"), true);
    assert.equal(await mc.append("greeting", ", world"), true);
    assert.equal(await mc.prepend("greeting", "oh "), true);
    assert.equal(await mc.append("missing", "x"), false);
    const [flags, cas, value] = await mc.get("greeting", true);
    assert.equal(flags, 42);
    assert.match(cas, /^\d+$/);
    assert.equal(decode(value!), "oh hello, world");
    assert.equal(await mc.checkAndSet("greeting", "swapped", cas, 1), true);
    assert.equal(await mc.checkAndSet("greeting", "stale", cas), false);
    assert.deepEqual(await mc.get("greeting"), [1, encode("swapped")]);
    assert.equal(await mc.set("n", "10"), true);
    assert.equal(await mc.increment("n"), 11);
    assert.equal(await mc.increment("n", 9), 20);
    assert.equal(await mc.decrement("n", 25), 0); // memcached stops at 0
    assert.equal(await mc.increment("nothing"), false);
    const many = await mc.getMultiple(["greeting", "fresh", "absent"]);
    assert.deepEqual(
      many,
      new Map([
        ["greeting", [1, encode("swapped")]],
        ["fresh", [0, encode("newer")]],
        ["absent", [0, null]],
      ]),
    );
    assert.equal(await mc.delete("fresh"), true);
    assert.equal(await mc.delete("fresh"), false);
    const stats = await mc.stats();
    assert.equal(stats.get("pid"), String(server.child.pid));
    assert.equal(stats.get("version"), version);
    assert.ok((await mc.stats("settings")).has("maxbytes"));
    // A unicode key counts UTF-8 bytes and round-trips.
    assert.equal(await mc.set("clé-ü", "v"), true);
    assert.deepEqual(
      await mc.getMultiple(["clé-ü"]),
      new Map([["clé-ü", [0, encode("v")]]]),
    );
  });
});

Deno.test("against memcached: 500 kB values round-trip, and an item over 1 MB fails with ServerError", async () => {
  await withMemcached(async (mc) => {
    const a = new Uint8Array(500_000).map((_, i) => (i * 31) & 0xff);
    const b = new Uint8Array(500_000).map((_, i) => (i * 17 + 3) & 0xff);
    // Pipelined: both stores and the read go out before any reply.
    const stored = [mc.set("a", a, 7), mc.set("b", b)];
    const read = mc.getMultiple(["a", "b"]);
    assert.deepEqual(await Promise.all(stored), [true, true]);
    const got = await read;
    assert.deepEqual(got.get("a"), [7, a]);
    assert.deepEqual(got.get("b"), [0, b]);
    const tooBig = mc.set("huge", new Uint8Array(2 * 1024 * 1024));
    const failure = await tooBig.then(
      () => assert.fail("a 2 MB item was stored"),
      (error) => error,
    );
    assert.ok(failure instanceof ServerError);
    assert.match(failure.message, /too large/);
    // The stream is still in step.
    assert.deepEqual(await mc.get("a"), [7, a]);
  });
});

Deno.test("against memcached: a server killed mid-request fails the pending requests, nothing hangs", async () => {
  await withMemcached(async (mc, server) => {
    assert.equal(await mc.set("k", "v"), true);
    server.child.kill("SIGSTOP"); // it can no longer answer
    const pending = [mc.get("k"), mc.version()] as Deferred<unknown>[];
    assert.equal(mc.pendingRequests, 2);
    server.child.kill("SIGKILL");
    const reasons = await within(
      10_000,
      "the pending requests to fail",
      Promise.all(pending.map((d) => d.then(() => null, (e) => e))),
    );
    for (const reason of reasons) {
      assert.ok(
        reason instanceof ConnectionLost || reason instanceof ConnectionDone,
        `unexpected reason: ${reason}`,
      );
    }
    await within(10_000, "connectionLost", mc.lost);
    const late = await mc.get("k").then(() => null, (e) => e);
    assert.ok(late instanceof ClientError);
  });
});
