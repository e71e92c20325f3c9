// Calls, answers and errors, after Twisted's test_amp.py (AMPTests,
// CommandDispatchTests, ...): driven in memory with StringTransport and
// connectedServerAndClient, asserting wire bytes, results and failures.
import assert from "node:assert/strict";
import * as amp from "@twisted-deno/core/amp";
import { Deferred } from "@twisted-deno/core/deferred";
import { ConnectionDone, ConnectionLost } from "@twisted-deno/core/reactor";
import {
  assertNoResult,
  captureLogs,
  connectedServerAndClient,
  failureResultOf,
  StringTransport,
  successResultOf,
} from "@twisted-deno/core/testing";
import { Failure } from "@twisted-deno/core/deferred";

class ZeroDivisionError extends Error {
  override name = "ZeroDivisionError";
}
class Doom extends Error {
  override name = "Doom";
}

const Sum = new amp.Command("Sum", {
  arguments: { a: new amp.Integer(), b: new amp.Integer() },
  response: { total: new amp.Integer() },
});
const Divide = new amp.Command("Divide", {
  arguments: { a: new amp.Integer(), b: new amp.Integer() },
  response: { q: new amp.Float() },
  errors: { ZERO_DIVISION: ZeroDivisionError },
  fatalErrors: { DOOM: Doom },
});
const Later = new amp.Command("Later", {
  arguments: { id: new amp.Integer() },
  response: { id: new amp.Integer() },
});
const Notify = new amp.Command("Notify", {
  arguments: { text: new amp.Unicode() },
  requiresAnswer: false,
});
const Nope = new amp.Command("Nope");
const Broken = new amp.Command("Broken", {
  response: { n: new amp.Integer() },
});
const Every = new amp.Command("Every", {
  arguments: {
    i: new amp.Integer(),
    big: new amp.BigInteger(),
    f: new amp.Float(),
    yes: new amp.Boolean(),
    bytes: new amp.String(),
    text: new amp.Unicode(),
    when: new amp.DateTime(),
    dec: new amp.Decimal(),
    list: new amp.ListOf(new amp.Integer()),
    rows: new amp.AmpList({
      x: new amp.Integer(),
      y: new amp.Unicode({ optional: true }),
    }),
    maybe: new amp.Unicode({ optional: true }),
  },
  response: { echo: new amp.Unicode() },
});

class Server extends amp.AMP {
  notes: string[] = [];
  waiting = new Map<number, Deferred<{ id: number }>>();
  lastEvery: unknown;
  constructor() {
    super();
    this.responder(Sum, ({ a, b }) => ({ total: a + b }));
    this.responder(Divide, ({ a, b }) => {
      if (b === 0) throw new ZeroDivisionError("integer division by zero");
      if (b < 0) throw new Doom("negative divisor");
      if (a < 0) throw new RangeError("surprise");
      return { q: a / b };
    });
    this.responder(Later, ({ id }) => {
      const d = new Deferred<{ id: number }>();
      this.waiting.set(id, d);
      return d;
    });
    this.responder(Notify, ({ text }) => {
      this.notes.push(text);
      return {};
    });
    this.responder(Broken, () => ({ n: "not a number" as unknown as number }));
    this.responder(Every, (args) => {
      this.lastEvery = args;
      return { echo: args.text };
    });
  }
}

function pair(): [
  amp.AMP,
  Server,
  ReturnType<typeof connectedServerAndClient>[2],
] {
  const [client, server, pump] = connectedServerAndClient(Server, amp.AMP);
  return [client, server, pump];
}

Deno.test("callRemote() sends _ask, _command and sorted arguments, and fires with the typed answer", () => {
  const proto = new amp.AMP();
  const t = new StringTransport();
  proto.makeConnection(t);
  const d = proto.callRemote(Sum, { a: 13, b: 81 });
  assert.deepEqual(
    t.value(),
    new amp.AmpBox({ _ask: "1", _command: "Sum", a: "13", b: "81" })
      .serialize(),
  );
  assertNoResult(d);
  proto.dataReceived(new amp.AmpBox({ _answer: "1", total: "94" }).serialize());
  assert.deepEqual(successResultOf(d), { total: 94 });
});

Deno.test("a responder's answer carries _answer and the response, sorted", () => {
  const server = new Server();
  const t = new StringTransport();
  server.makeConnection(t);
  server.dataReceived(
    new amp.AmpBox({ _ask: "a7", _command: "Sum", a: "1", b: "2" }).serialize(),
  );
  assert.deepEqual(
    t.value(),
    new amp.AmpBox({ _answer: "a7", total: "3" }).serialize(),
  );
});

Deno.test("pipelined calls are matched to their answers in any order", () => {
  const [client, server, pump] = pair();
  const calls = [1, 2, 3].map((id) => client.callRemote(Later, { id }));
  pump.flush();
  assert.equal(client.dispatcher.pendingCalls, 3);
  for (const id of [3, 1, 2]) server.waiting.get(id)!.callback({ id });
  pump.flush();
  assert.deepEqual(calls.map((d) => successResultOf(d).id), [1, 2, 3]);
  assert.equal(client.dispatcher.pendingCalls, 0);
});

Deno.test("100 pipelined calls all answer, in one flush", () => {
  const [client, , pump] = pair();
  const calls = Array.from(
    { length: 100 },
    (_, i) => client.callRemote(Sum, { a: i, b: 1000 }),
  );
  pump.flush();
  assert.deepEqual(
    calls.map((d) => successResultOf(d).total),
    Array.from({ length: 100 }, (_, i) => i + 1000),
  );
});

Deno.test("a responder may return a Promise", async () => {
  const P = new amp.Command("P", { response: { ok: new amp.Boolean() } });
  class S extends amp.AMP {
    constructor() {
      super();
      this.responder(P, () => Promise.resolve({ ok: true }));
    }
  }
  const [client, , pump] = connectedServerAndClient(S, amp.AMP);
  const d = client.callRemote(P, {});
  pump.flush();
  await Promise.resolve(); // the Promise settles in a microtask
  pump.flush();
  assert.deepEqual(successResultOf(d), { ok: true });
});

Deno.test("every argument type makes the round trip", () => {
  const [client, server, pump] = pair();
  const args = {
    i: -5,
    big: 2n ** 80n,
    f: -Infinity,
    yes: false,
    bytes: new Uint8Array([0, 255]),
    text: "h\u00e9",
    when: new Date(Date.UTC(2020, 1, 29, 23, 59, 59, 999)),
    dec: "-1.50",
    list: [1, 2, 3],
    rows: [{ x: 1, y: "a" }, { x: 2 }],
  };
  const d = client.callRemote(Every, args);
  pump.flush();
  assert.deepEqual(successResultOf(d), { echo: "h\u00e9" });
  assert.deepEqual(server.lastEvery, args);
  const withOptional = client.callRemote(Every, {
    ...args,
    maybe: "here",
    f: NaN,
  });
  pump.flush();
  successResultOf(withOptional);
  assert.deepEqual(server.lastEvery, { ...args, maybe: "here", f: NaN });
});

Deno.test("a declared error arrives as its class and the connection stays up", () => {
  const [client, , pump] = pair();
  const d = client.callRemote(Divide, { a: 1, b: 0 });
  pump.flush();
  const f = failureResultOf(d, ZeroDivisionError);
  assert.equal((f.value as Error).message, "integer division by zero");
  const ok = client.callRemote(Divide, { a: 1, b: 4 });
  pump.flush();
  assert.deepEqual(successResultOf(ok), { q: 0.25 });
});

Deno.test("a declared fatal error arrives as its class and closes the connection", () => {
  const [client, , pump] = pair();
  const lost: unknown[] = [];
  const orig = client.connectionLost.bind(client);
  client.connectionLost = (r) => {
    lost.push(r.value);
    orig(r);
  };
  const d = client.callRemote(Divide, { a: 1, b: -1 });
  pump.flush();
  assert.equal(
    (failureResultOf(d, Doom).value as Error).message,
    "negative divisor",
  );
  assert.equal(lost.length, 1);
});

Deno.test("an undeclared error is logged at the responder, UnknownRemoteError at the caller, and closes", () => {
  using logs = captureLogs();
  const [client, server, pump] = pair();
  const d = client.callRemote(Divide, { a: -1, b: 1 });
  pump.flush();
  const f = failureResultOf(d, amp.UnknownRemoteError);
  assert.equal(
    (f.value as amp.UnknownRemoteError).description,
    "Unknown Error",
  );
  assert.equal(logs.flushLoggedErrors(RangeError).length, 1);
  assert.equal(server.connected && pump.serverIO.disconnecting, true);
});

Deno.test("an unknown command fails with UnhandledCommand and the connection stays up", () => {
  const [client, , pump] = pair();
  const d = client.callRemote(Nope, {});
  pump.flush();
  const f = failureResultOf(d, amp.UnhandledCommand);
  assert.match((f.value as Error).message, /Unhandled Command: "Nope"/);
  const ok = client.callRemote(Sum, { a: 1, b: 1 });
  pump.flush();
  assert.equal(successResultOf(ok).total, 2);
});

Deno.test("a responder result its response cannot encode is logged and answered UNKNOWN", () => {
  using logs = captureLogs();
  const [client, , pump] = pair();
  const d = client.callRemote(Broken, {});
  pump.flush();
  failureResultOf(d, amp.UnknownRemoteError);
  const [bad] = logs.flushLoggedErrors(amp.BadLocalReturn);
  assert.match((bad.value as Error).message, /Cannot answer Broken: .*"n"/);
});

Deno.test("a command that requires no answer sends no _ask and returns undefined", () => {
  const proto = new amp.AMP();
  const t = new StringTransport();
  proto.makeConnection(t);
  const r: undefined = proto.callRemote(Notify, { text: "hi" });
  assert.equal(r, undefined);
  assert.deepEqual(
    t.value(),
    new amp.AmpBox({ _command: "Notify", text: "hi" }).serialize(),
  );
  const [client, server, pump] = pair();
  client.callRemote(Notify, { text: "one" });
  client.callRemote(Notify, { text: "two" });
  pump.flush();
  assert.deepEqual(server.notes, ["one", "two"]);
  const alone = new Server();
  const st = new StringTransport();
  alone.makeConnection(st);
  alone.dataReceived(
    new amp.AmpBox({ _command: "Notify", text: "quiet" }).serialize(),
  );
  assert.deepEqual(alone.notes, ["quiet"]);
  assert.equal(st.value().length, 0, "no answer is sent");
});

Deno.test("a value that does not fit is refused at the caller and nothing is sent", () => {
  const proto = new amp.AMP();
  const t = new StringTransport();
  proto.makeConnection(t);
  assert.throws(
    () => proto.callRemote(Sum, { a: 1.5, b: 1 }),
    /Sum argument "a": 1.5 is not an AMP Integer/,
  );
  assert.throws(
    () =>
      proto.callRemote(
        Every,
        { text: "x".repeat(65_536) } as Parameters<
          typeof proto.callRemote<
            typeof Every.arguments,
            typeof Every.response,
            true
          >
        >[1],
      ),
    amp.InvalidSignature,
  );
  const Big = new amp.Command("Big", { arguments: { s: new amp.String() } });
  assert.throws(
    () => proto.callRemote(Big, { s: new Uint8Array(65_536) }),
    amp.TooLong,
  );
  assert.equal(t.value().length, 0);
  assert.equal(proto.dispatcher.pendingCalls, 0);
});

Deno.test("values of 65 535 bytes pass and 65 536 bytes are refused", () => {
  const Echo = new amp.Command("Echo", {
    arguments: { s: new amp.String() },
    response: { s: new amp.String() },
  });
  class S extends amp.AMP {
    constructor() {
      super();
      this.responder(Echo, ({ s }) => ({ s }));
    }
  }
  const [client, , pump] = connectedServerAndClient(S, amp.AMP);
  const max = new Uint8Array(65_535).fill(9);
  const d = client.callRemote(Echo, { s: max });
  pump.flush();
  assert.deepEqual(successResultOf(d).s, max);
  assert.throws(
    () => client.callRemote(Echo, { s: new Uint8Array(65_536) }),
    amp.TooLong,
  );
});

Deno.test("a lost connection fails every pending call with ConnectionLost, and later calls too", () => {
  const proto = new amp.AMP();
  proto.makeConnection(new StringTransport());
  const calls = [
    proto.callRemote(Sum, { a: 1, b: 2 }),
    proto.callRemote(Sum, { a: 3, b: 4 }),
  ];
  proto.connectionLost(new Failure(new ConnectionDone()));
  for (const d of calls) {
    const f = failureResultOf(d, ConnectionLost);
    assert.ok((f.value as Error).cause instanceof ConnectionDone);
  }
  failureResultOf(proto.callRemote(Sum, { a: 1, b: 1 }), ConnectionLost);
});

Deno.test("an answer to no pending call drops the connection and fails the others with MalformedAmpBox", () => {
  using logs = captureLogs();
  const proto = new amp.AMP();
  const t = new StringTransport();
  proto.makeConnection(t);
  const d = proto.callRemote(Sum, { a: 1, b: 2 });
  proto.dataReceived(new amp.AmpBox({ _answer: "ff", total: "3" }).serialize());
  assert.equal(t.disconnecting, true);
  proto.connectionLost(new Failure(new ConnectionDone()));
  assert.match(
    (failureResultOf(d, amp.MalformedAmpBox).value as Error).message,
    /tag "ff"/,
  );
  assert.equal(logs.messages.length, 1);
});

Deno.test("a box with no _command, _answer or _error drops the connection", () => {
  using _logs = captureLogs();
  const proto = new amp.AMP();
  const t = new StringTransport();
  proto.makeConnection(t);
  proto.dataReceived(new amp.AmpBox({ hello: "?" }).serialize());
  assert.equal(t.disconnecting, true);
});

Deno.test("amp_NAME methods answer commands by box, as Twisted's SimpleStringLocator", () => {
  class S extends amp.AMP {
    amp_HELLO(box: amp.AmpBox): amp.AmpBox {
      return new amp.AmpBox({ hello: `${box.getText("name")}!` });
    }
  }
  const [client, , pump] = connectedServerAndClient(S, amp.AMP);
  const d = client.callRemoteString("hello", { name: "you" })!;
  pump.flush();
  assert.equal(successResultOf(d).getText("hello"), "you!");
  const missing = client.callRemoteString("missing")!;
  pump.flush();
  failureResultOf(missing, amp.UnhandledCommand);
});

Deno.test("StartTLS: the caller holds boxes until the answer, then starts TLS and sends them", () => {
  const client = new amp.AMP();
  const t = new StringTransport();
  client.makeConnection(t);
  const d = client.callRemote(amp.StartTLS, {
    tls_verifyAuthorities: ["CA"],
    tls_hostname: "example",
  });
  const asked = t.value().length;
  assert.deepEqual(
    t.value(),
    new amp.AmpBox({ _ask: "1", _command: "StartTLS" }).serialize(),
  );
  client.callRemote(Sum, { a: 1, b: 2 });
  assert.equal(t.value().length, asked, "held until TLS starts");
  assert.deepEqual(t.tlsStarts, []);
  client.dataReceived(new amp.AmpBox({ _answer: "1" }).serialize());
  successResultOf(d);
  assert.deepEqual(t.tlsStarts, [{
    side: "client",
    caCerts: ["CA"],
    hostname: "example",
    cert: undefined,
    key: undefined,
  }]);
  assert.ok(t.value().length > asked, "the held call went out after startTLS");
  assert.throws(() => client.callRemote(amp.StartTLS, {}), amp.OnlyOneTLS);
});

Deno.test("ask tags count up in lower-case hex and answers match them", () => {
  const proto = new amp.AMP();
  const t = new StringTransport();
  proto.makeConnection(t);
  const calls = Array.from(
    { length: 11 },
    (_, i) => proto.callRemote(Sum, { a: i, b: 0 }),
  );
  const asks = amp.parseString(t.value()).map((b) => b.getText("_ask"));
  assert.deepEqual(asks, [
    "1",
    "2",
    "3",
    "4",
    "5",
    "6",
    "7",
    "8",
    "9",
    "a",
    "b",
  ]);
  proto.dataReceived(new amp.AmpBox({ _answer: "a", total: "9" }).serialize());
  assert.deepEqual(successResultOf(calls[9]), { total: 9 });
  assertNoResult(calls[10]);
});

Deno.test("a failing responder of a no-answer command is logged and drops the connection", () => {
  using logs = captureLogs();
  const Shout = new amp.Command("Shout", { requiresAnswer: false });
  class S extends amp.AMP {
    constructor() {
      super();
      this.responder(Shout, () => {
        throw new RangeError("nobody listens");
      });
    }
  }
  const server = new S();
  const t = new StringTransport();
  server.makeConnection(t);
  server.dataReceived(new amp.AmpBox({ _command: "Shout" }).serialize());
  assert.equal(t.value().length, 0, "no answer");
  assert.equal(t.disconnecting, true);
  assert.equal(logs.flushLoggedErrors(RangeError).length, 1);
});

Deno.test("a responder's Deferred failing with a declared error answers its code", () => {
  const Slow = new amp.Command("Slow", {
    errors: { ZERO_DIVISION: ZeroDivisionError },
  });
  const pending = new Deferred<Record<string, never>>();
  class S extends amp.AMP {
    constructor() {
      super();
      this.responder(Slow, () => pending);
    }
  }
  const server = new S();
  const t = new StringTransport();
  server.makeConnection(t);
  server.dataReceived(
    new amp.AmpBox({ _ask: "5", _command: "Slow" }).serialize(),
  );
  assert.equal(t.value().length, 0, "no answer yet");
  pending.errback(new ZeroDivisionError("later"));
  assert.deepEqual(
    t.value(),
    new amp.AmpBox({
      _error: "5",
      _error_code: "ZERO_DIVISION",
      _error_description: "later",
    }).serialize(),
  );
  assert.equal(t.disconnecting, false);
});

Deno.test("arguments the responder cannot decode are answered UNKNOWN, logged, and close", () => {
  using logs = captureLogs();
  const server = new Server();
  const t = new StringTransport();
  server.makeConnection(t);
  server.dataReceived(
    new amp.AmpBox({ _ask: "1", _command: "Sum", a: "one", b: "2" })
      .serialize(),
  );
  assert.deepEqual(
    t.value(),
    new amp.AmpBox({
      _error: "1",
      _error_code: "UNKNOWN",
      _error_description: "Unknown Error",
    }).serialize(),
  );
  assert.equal(t.disconnecting, true);
  const [f] = logs.flushLoggedErrors(TypeError);
  assert.match(
    (f.value as Error).message,
    /Sum argument "a": "one" is not an AMP Integer/,
  );
});

Deno.test("StartTLS a second time is refused by the responder", () => {
  using logs = captureLogs();
  const server = new amp.AMP();
  server.responder(
    amp.StartTLS,
    () => ({ tls_localCertificate: { cert: "C", key: "K" } }),
  );
  const t = new StringTransport();
  server.makeConnection(t);
  server.dataReceived(
    new amp.AmpBox({ _ask: "1", _command: "StartTLS" }).serialize(),
  );
  assert.equal(t.tlsStarts.length, 1);
  t.clear();
  server.dataReceived(
    new amp.AmpBox({ _ask: "2", _command: "StartTLS" }).serialize(),
  );
  assert.equal(t.tlsStarts.length, 1, "not started again");
  assert.equal(amp.parseString(t.value())[0].getText("_error_code"), "UNKNOWN");
  assert.equal(logs.flushLoggedErrors(amp.OnlyOneTLS).length, 1);
});

Deno.test("callRemote() before the connection is made throws a clear AmpError", () => {
  const proto = new amp.AMP();
  assert.throws(() => proto.callRemote(Sum, { a: 1, b: 2 }), (e: unknown) => {
    assert.ok(e instanceof amp.AmpError);
    assert.match(e.message, /^Cannot call Sum: the connection is not made yet/);
    return true;
  });
  assert.throws(() => proto.callRemoteString("Sum"), amp.AmpError);
});

Deno.test("a refused StartTLS fails the call; calls held for TLS drop the connection, never go in clear", () => {
  using _logs = captureLogs();
  // Nothing held: the connection goes on in clear.
  const a = new amp.AMP();
  const ta = new StringTransport();
  a.makeConnection(ta);
  const refused = a.callRemote(amp.StartTLS, {});
  a.dataReceived(
    new amp.AmpBox({
      _error: "1",
      _error_code: "UNHANDLED",
      _error_description: "no TLS",
    }).serialize(),
  );
  failureResultOf(refused, amp.UnhandledCommand);
  ta.clear();
  a.callRemote(Sum, { a: 1, b: 1 });
  assert.ok(ta.value().length > 0, "sent in clear after the refusal");
  assert.equal(ta.disconnecting, false);
  // A call held for TLS: the connection is dropped and the call fails.
  const b = new amp.AMP();
  const tb = new StringTransport();
  b.makeConnection(tb);
  const refused2 = b.callRemote(amp.StartTLS, {});
  const held = b.callRemote(Sum, { a: 1, b: 1 });
  const asked = tb.value().length;
  b.dataReceived(
    new amp.AmpBox({
      _error: "1",
      _error_code: "UNHANDLED",
      _error_description: "no TLS",
    }).serialize(),
  );
  failureResultOf(refused2, amp.UnhandledCommand);
  assert.equal(tb.value().length, asked, "the held call never went out");
  assert.equal(tb.disconnecting, true);
  b.connectionLost(new Failure(new ConnectionDone()));
  failureResultOf(held, amp.UnhandledCommand);
});
