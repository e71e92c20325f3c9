import assert from "node:assert/strict";
import {
  connectedServerAndClient,
  IOPump,
  loopbackAsync,
  LoopbackTransport,
} from "../../testing/loopback.ts";
import { AccumulatingProtocol } from "../../testing/accumulating_protocol.ts";
import { Clock } from "../../testing/clock.ts";
import { Factory, Protocol } from "../../protocols/protocol.ts";
import type { Failure } from "../../deferred/failure.ts";
import {
  ConnectionAborted,
  ConnectionDone,
  ConnectionLost,
} from "../../reactor/errors.ts";
import type {
  IAddress,
  IHalfCloseableProtocol,
  ITransport,
} from "../../reactor/interfaces.ts";
import { within } from "../_helpers.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

/** Records every event with its side's name, in one shared log. */
class Logged extends Protocol {
  constructor(readonly name: string, readonly log: string[]) {
    super();
  }
  chunks: string[] = [];
  reason?: Failure;
  override connectionMade(): void {
    this.log.push(`${this.name} made`);
  }
  override dataReceived(data: Uint8Array): void {
    this.chunks.push(dec(data));
    this.log.push(`${this.name} got ${dec(data)}`);
  }
  override connectionLost(reason: Failure): void {
    this.reason = reason;
    this.log.push(`${this.name} lost`);
  }
}

/** Writes its greeting on connect, then closes once it has a reply. */
class Greeter extends Logged {
  constructor(name: string, log: string[], readonly greeting: string[]) {
    super(name, log);
  }
  override connectionMade(): void {
    super.connectionMade();
    this.transport!.writeSequence(this.greeting);
  }
  override dataReceived(data: Uint8Array): void {
    super.dataReceived(data);
    this.transport!.loseConnection();
  }
}

Deno.test("loopbackAsync connects the server first, then the client, with loopback addresses", async () => {
  const log: string[] = [];
  const server = new Logged("server", log);
  const client = new Greeter("client", log, ["bye"]);
  const seen: Record<string, IAddress> = {};
  const d = loopbackAsync(server, client);
  seen.serverHost = server.transport!.getHost();
  seen.serverPeer = server.transport!.getPeer();
  seen.clientHost = client.transport!.getHost();
  seen.clientPeer = client.transport!.getPeer();
  server.transport!.write("ok");
  await d;
  assert.deepEqual(log.slice(0, 2), ["server made", "client made"]);
  assert.deepEqual(seen.serverHost, seen.clientPeer);
  assert.deepEqual(seen.clientHost, seen.serverPeer);
  assert.deepEqual(seen.serverHost, {
    type: "TCP",
    host: "127.0.0.1",
    port: 12345,
  });
});

Deno.test("loopbackAsync delivers the client's greeting and fires after both connectionLost", async () => {
  const log: string[] = [];
  const server = new Greeter("server", log, ["wel", "come"]);
  const client = new Greeter("client", log, ["hi"]);
  let firedAfter: string[] = [];
  const d = loopbackAsync(server, client).addCallback(() => {
    firedAfter = [...log];
  });
  await d;
  assert.deepEqual(client.chunks, ["wel", "come"]);
  assert.deepEqual(server.chunks, ["hi"]);
  assert.ok(client.reason?.value instanceof ConnectionDone);
  assert.ok(server.reason?.value instanceof ConnectionDone);
  assert.deepEqual(firedAfter.slice(-2).sort(), ["client lost", "server lost"]);
  assert.equal(log.filter((l) => l.endsWith("lost")).length, 2);
});

Deno.test("loopbackAsync delivers each write as one chunk by default", async () => {
  const log: string[] = [];
  const server = new Logged("server", log);
  const client = new Logged("client", log);
  const d = loopbackAsync(server, client);
  client.transport!.write("foo");
  client.transport!.write("bar");
  server.transport!.writeSequence(["baz", "quux"]);
  server.transport!.loseConnection();
  await d;
  assert.deepEqual(client.chunks, ["baz", "quux"]);
  assert.deepEqual(server.chunks, ["foo", "bar"]);
});

Deno.test("loopbackAsync with the collapsing policy joins pending writes", async () => {
  const log: string[] = [];
  const server = new Logged("server", log);
  const client = new Logged("client", log);
  const d = loopbackAsync(server, client, { pumpPolicy: "collapsing" });
  client.transport!.write("foo");
  client.transport!.write("bar");
  client.transport!.loseConnection();
  await d;
  assert.deepEqual(server.chunks, ["foobar"]);
});

Deno.test("loopbackAsync never calls dataReceived from inside the peer's write", async () => {
  const clock = new Clock();
  class Server extends Protocol {
    override dataReceived(): void {
      this.transport!.write("bytes");
    }
  }
  class Client extends Protocol {
    ready = false;
    wasReady: boolean | undefined;
    override connectionMade(): void {
      clock.callLater(0, () => this.go());
    }
    go(): void {
      this.transport!.write("foo");
      this.ready = true;
    }
    override dataReceived(): void {
      this.wasReady = this.ready;
      this.transport!.loseConnection();
    }
  }
  const client = new Client();
  const d = loopbackAsync(new Server(), client);
  clock.advance(0);
  await within(2_000, "the loopback to close", d.asPromise());
  assert.equal(client.wasReady, true);
});

Deno.test("loopbackAsync pulls a pull producer until it unregisters", async () => {
  const parts = ["one ", "two ", "three"];
  class Producing extends Protocol {
    pulls = 0;
    override connectionMade(): void {
      this.transport!.registerProducer(this, false);
    }
    resumeProducing(): void {
      this.pulls++;
      this.transport!.write(parts[this.pulls - 1]);
      if (this.pulls === parts.length) {
        this.transport!.unregisterProducer();
        this.transport!.loseConnection();
      }
    }
    stopProducing(): void {}
  }
  const server = new Producing();
  const client = new AccumulatingProtocol();
  await loopbackAsync(server, client);
  assert.equal(dec(client.data), "one two three");
  assert.equal(server.pulls, 3);
});

Deno.test("loopbackAsync never resumes a streaming producer that was not paused", async () => {
  const clock = new Clock();
  const toProduce = ["a", "b", "c"];
  const producer = {
    resumed: false,
    pauseProducing() {},
    resumeProducing() {
      this.resumed = true;
    },
    stopProducing() {},
  };
  class Streaming extends Protocol {
    override connectionMade(): void {
      this.transport!.registerProducer(producer, true);
      this.next();
    }
    next(): void {
      const part = toProduce.shift();
      if (part === undefined) {
        this.transport!.unregisterProducer();
        this.transport!.loseConnection();
        return;
      }
      this.transport!.write(part);
      clock.callLater(0, () => this.next());
    }
  }
  const client = new AccumulatingProtocol();
  const d = loopbackAsync(new Streaming(), client);
  for (let i = 0; i < 4; i++) {
    await Promise.resolve();
    clock.advance(0);
  }
  await within(2_000, "the loopback to close", d.asPromise());
  assert.equal(dec(client.data), "abc");
  assert.equal(producer.resumed, false);
});

Deno.test("loopbackAsync: a protocol that throws closes the connection and fails the Deferred", async () => {
  class Broken extends AccumulatingProtocol {
    override dataReceived(): void {
      throw new Error("parse error");
    }
  }
  const server = new Broken();
  const client = new AccumulatingProtocol();
  client.madeDeferred = undefined;
  const d = loopbackAsync(server, client);
  client.transport!.write("x");
  await assert.rejects(
    within(2_000, "the failure", d.asPromise()),
    /parse error/,
  );
  assert.equal(server.closedReason?.getErrorMessage(), "parse error");
  assert.ok(client.closedReason?.value instanceof ConnectionLost);
});

Deno.test("loopbackAsync: abortConnection gives ConnectionAborted here and ConnectionLost there", async () => {
  const server = new AccumulatingProtocol();
  const client = new AccumulatingProtocol();
  const d = loopbackAsync(server, client);
  await Promise.resolve();
  client.transport!.write("dropped");
  client.transport!.abortConnection();
  await d;
  assert.equal(server.data.length, 0);
  assert.ok(client.closedReason?.value instanceof ConnectionAborted);
  assert.ok(server.closedReason?.value instanceof ConnectionLost);
  assert.ok(!(server.closedReason?.value instanceof ConnectionAborted));
});

// ------------------------------------------------------------ IOPump

Deno.test("connectedServerAndClient accepts a class, a function or a factory", () => {
  class Server extends Protocol {}
  const client = new AccumulatingProtocol();
  const [c1, s1] = connectedServerAndClient(Server, () => client);
  assert.ok(s1 instanceof Server);
  assert.equal(c1, client);
  const factory = Factory.forProtocol(Server);
  const [, s2] = connectedServerAndClient(factory, AccumulatingProtocol);
  assert.ok(s2 instanceof Server);
  assert.equal((s2 as Server).factory, factory);
  assert.ok(s2.transport instanceof LoopbackTransport);
});

Deno.test("connectedServerAndClient gives the factory the peer's address and reports refusals", () => {
  const asked: IAddress[] = [];
  const server = {
    buildProtocol(addr: IAddress) {
      asked.push(addr);
      return null;
    },
    doStart() {},
    doStop() {},
  };
  assert.throws(
    () => connectedServerAndClient(server, AccumulatingProtocol),
    /server factory refused the connection/,
  );
  assert.deepEqual(asked, [{ type: "TCP", host: "127.0.0.1", port: 54321 }]);
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => connectedServerAndClient(42 as any, AccumulatingProtocol),
    TypeError,
  );
});

Deno.test("connectedServerAndClient flushes greetings unless greet is false", () => {
  class Hello extends Protocol {
    override connectionMade(): void {
      this.transport!.write("hello");
    }
  }
  const [greeted] = connectedServerAndClient(Hello, AccumulatingProtocol);
  assert.equal(dec(greeted.data), "hello");
  const [waiting, , pump] = connectedServerAndClient(
    Hello,
    AccumulatingProtocol,
    { greet: false },
  );
  assert.equal(waiting.data.length, 0);
  assert.equal(pump.flush(), true);
  assert.equal(dec(waiting.data), "hello");
  assert.equal(pump.flush(), false);
});

Deno.test("IOPump.pump moves one round each way and says whether anything moved", () => {
  const [client, server, pump] = connectedServerAndClient(
    AccumulatingProtocol,
    AccumulatingProtocol,
  );
  assert.equal(pump.pump(), false);
  client.transport!.write("c1");
  client.transport!.write("c2");
  server.transport!.write("s1");
  assert.equal(pump.pump(), true);
  assert.equal(dec(server.data), "c1c2");
  assert.equal(dec(client.data), "s1");
  assert.equal(pump.pump(), false);
  assert.equal(pump.client, client);
  assert.equal(pump.server, server);
  assert.equal(pump.clientIO, client.transport);
  assert.equal(pump.serverIO, server.transport);
});

Deno.test("IOPump.pump advances its clock by zero to run due calls", () => {
  const clock = new Clock();
  const [, , pump] = connectedServerAndClient(Protocol, Protocol, { clock });
  let ran = false;
  clock.callLater(0, () => {
    ran = true;
  });
  pump.pump(false);
  assert.equal(ran, false);
  pump.pump();
  assert.equal(ran, true);
  assert.equal(clock.seconds(), 0);
});

Deno.test("IOPump.flush gives up with an error after 1000 rounds of ping-pong", () => {
  class PingPong extends Protocol {
    override dataReceived(data: Uint8Array): void {
      this.transport!.write(data);
    }
  }
  const [client, , pump] = connectedServerAndClient(PingPong, PingPong);
  client.transport!.write("x");
  assert.throws(() => pump.flush(), /still moving after 1000 rounds/);
});

Deno.test("IOPump lets a protocol's error propagate to the test", () => {
  class Broken extends Protocol {
    override dataReceived(): void {
      throw new RangeError("bad frame");
    }
  }
  const [client, , pump] = connectedServerAndClient(Broken, Protocol);
  client.transport!.write("x");
  assert.throws(() => pump.pump(), RangeError);
});

Deno.test("loseConnection closes after pending bytes arrive, closing side first", () => {
  const log: string[] = [];
  const [client, server, pump] = connectedServerAndClient(
    () => new Logged("server", log),
    () => new Logged("client", log),
  );
  server.transport!.write("last words");
  server.transport!.loseConnection();
  assert.equal(server.transport!.disconnecting, true);
  pump.flush();
  assert.deepEqual(log.slice(2), [
    "client got last words",
    "server lost",
    "client lost",
  ]);
  assert.ok(client.reason?.value instanceof ConnectionDone);
  assert.equal(client.transport!.disconnecting, true);
  client.transport!.write("into the void");
  assert.equal(pump.flush(), false, "nothing moves after close");
});

Deno.test("a paused transport holds incoming bytes and the close until resumed", () => {
  const [client, server, pump] = connectedServerAndClient(
    AccumulatingProtocol,
    AccumulatingProtocol,
  );
  client.transport!.pauseProducing();
  server.transport!.write("held");
  server.transport!.loseConnection();
  pump.flush();
  assert.equal(client.data.length, 0);
  assert.equal(client.closed, false);
  assert.equal(server.closed, false);
  client.transport!.resumeProducing();
  pump.flush();
  assert.equal(dec(client.data), "held");
  assert.equal(client.closed, true);
  assert.equal(server.closed, true);
});

class HalfCloser extends AccumulatingProtocol
  implements IHalfCloseableProtocol {
  events: string[] = [];
  readConnectionLost(): void {
    this.events.push("read lost");
    this.transport!.write("reply after EOF");
    this.transport!.loseConnection();
  }
  writeConnectionLost(): void {
    this.events.push("write lost");
  }
}

Deno.test("loseWriteConnection half-closes when both protocols support it", () => {
  const [client, server, pump] = connectedServerAndClient(
    HalfCloser,
    HalfCloser,
  );
  client.transport!.write("request");
  client.transport!.loseWriteConnection();
  client.transport!.write("dropped after half-close");
  pump.flush();
  assert.equal(dec(server.data), "request");
  assert.deepEqual(client.events, ["write lost"]);
  assert.deepEqual(server.events, ["read lost"]);
  assert.equal(dec(client.data), "reply after EOF");
  assert.ok(client.closedReason?.value instanceof ConnectionDone);
  assert.ok(server.closedReason?.value instanceof ConnectionDone);
});

Deno.test("loseWriteConnection to a protocol without half-close closes the connection", () => {
  const [client, server, pump] = connectedServerAndClient(
    AccumulatingProtocol,
    HalfCloser,
  );
  client.transport!.write("bye");
  client.transport!.loseWriteConnection();
  pump.flush();
  assert.equal(dec(server.data), "bye");
  assert.equal(server.closed, true);
  assert.equal(client.closed, true);
  assert.deepEqual(client.events, []);
});

Deno.test("abortConnection drops pending bytes: ConnectionAborted here, ConnectionLost there", () => {
  const [client, server, pump] = connectedServerAndClient(
    AccumulatingProtocol,
    AccumulatingProtocol,
  );
  server.transport!.write("never seen");
  server.transport!.abortConnection();
  pump.flush();
  assert.equal(client.data.length, 0);
  assert.ok(server.closedReason?.value instanceof ConnectionAborted);
  assert.ok(client.closedReason?.value instanceof ConnectionLost);
});

Deno.test("a streaming producer is paused past 64 KiB pending and resumed once delivered", () => {
  const calls: string[] = [];
  const producer = {
    pauseProducing: () => calls.push("pause"),
    resumeProducing: () => calls.push("resume"),
    stopProducing: () => calls.push("stop"),
  };
  const [client, server, pump] = connectedServerAndClient(
    AccumulatingProtocol,
    AccumulatingProtocol,
  );
  const t: ITransport = server.transport!;
  t.registerProducer(producer, true);
  t.write(new Uint8Array(40 * 1024));
  assert.deepEqual(calls, []);
  t.write(new Uint8Array(40 * 1024));
  assert.deepEqual(calls, ["pause"]);
  t.write(new Uint8Array(1));
  assert.deepEqual(calls, ["pause"], "paused once");
  pump.pump();
  assert.equal(client.data.length, 80 * 1024 + 1);
  assert.deepEqual(calls, ["pause", "resume"]);
  client.transport!.loseConnection();
  pump.flush();
  assert.deepEqual(calls, ["pause", "resume", "stop"]);
  assert.equal(t.disconnecting, true);
});

Deno.test("a pull producer is asked on registration and after each delivery", () => {
  const [client, server, pump] = connectedServerAndClient(
    AccumulatingProtocol,
    AccumulatingProtocol,
    { greet: false },
  );
  const chunks = ["a", "b", "c"];
  let pulls = 0;
  const t = server.transport!;
  const producer = {
    resumeProducing() {
      pulls++;
      const next = chunks.shift();
      if (next === undefined) t.unregisterProducer();
      else t.write(next);
    },
    stopProducing() {},
  };
  t.registerProducer(producer, false);
  assert.equal(pulls, 1);
  pump.flush();
  assert.equal(dec(client.data), "abc");
  assert.equal(pulls, 4);
  assert.equal((t as LoopbackTransport).producer, undefined);
});

Deno.test("LoopbackTransport refuses a second producer and stops one registered after close", () => {
  const [, server, pump] = connectedServerAndClient(
    AccumulatingProtocol,
    AccumulatingProtocol,
  );
  const t = server.transport!;
  const p = {
    stopped: 0,
    pauseProducing() {},
    resumeProducing() {},
    stopProducing() {
      this.stopped++;
    },
  };
  t.registerProducer(p, true);
  assert.throws(() => t.registerProducer(p, true), /already registered/);
  t.unregisterProducer();
  t.loseConnection();
  pump.flush();
  t.registerProducer(p, true);
  assert.equal(p.stopped, 1);
  assert.equal((t as LoopbackTransport).producer, undefined);
});

Deno.test("LoopbackTransport copies written bytes and rejects non-bytes", () => {
  const [client, server, pump] = connectedServerAndClient(
    AccumulatingProtocol,
    AccumulatingProtocol,
  );
  const buf = enc("abc");
  server.transport!.write(buf);
  buf[0] = 0x7a;
  pump.flush();
  assert.equal(dec(client.data), "abc");
  assert.throws(
    () => server.transport!.write(7 as unknown as string),
    TypeError,
  );
  assert.ok(pump instanceof IOPump);
});

Deno.test("stopProducing on a LoopbackTransport closes the connection", () => {
  const [client, server, pump] = connectedServerAndClient(
    AccumulatingProtocol,
    AccumulatingProtocol,
  );
  client.transport!.stopProducing();
  pump.flush();
  assert.equal(server.closed, true);
  assert.equal(client.closed, true);
});
