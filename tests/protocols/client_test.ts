import assert from "node:assert/strict";
import {
  ClientCreator,
  ReconnectingClientFactory,
} from "../../protocols/client.ts";
import { Protocol } from "../../protocols/protocol.ts";
import { MemoryReactorClock } from "../../testing/memory_reactor.ts";
import { StringTransport } from "../../testing/string_transport.ts";
import { Clock } from "../../testing/clock.ts";
import { captureLogs } from "../../testing/logs.ts";
import {
  assertNoResult,
  failureResultOf,
  successResultOf,
} from "../../testing/results.ts";
import { Failure } from "../../deferred/failure.ts";
import { CancelledError } from "../../deferred/errors.ts";
import {
  ConnectionDone,
  ConnectionRefusedError,
} from "../../reactor/errors.ts";
import type { IConnector } from "../../reactor/interfaces.ts";
import { reactor as globalReactor } from "../../reactor/reactor.ts";
import { globalClock } from "../../reactor/global.ts";

const refused = () => new Failure(new ConnectionRefusedError());
const done = () => new Failure(new ConnectionDone());
const addr = { type: "TCP", host: "127.0.0.1", port: 7 } as const;

/** A deterministic uniform source (mulberry32). */
function seeded(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class CountingConnector implements IConnector {
  connects = 0;
  stops = 0;
  stopConnecting(): void {
    this.stops++;
  }
  disconnect(): void {}
  connect(): void {
    this.connects++;
  }
  getDestination() {
    return addr;
  }
}

function quietFactory(clock: Clock | MemoryReactorClock) {
  const f = new ReconnectingClientFactory();
  f.clock = clock;
  f.noisy = false;
  return f;
}

Deno.test("ReconnectingClientFactory has Twisted's back-off parameters", () => {
  const f = new ReconnectingClientFactory();
  assert.equal(f.initialDelay, 1);
  assert.equal(f.delay, 1);
  assert.equal(f.factor, 2.7182818284590451);
  assert.equal(f.jitter, 0.119626565582);
  assert.equal(f.maxDelay, 3600);
  assert.equal(f.maxRetries, undefined);
  assert.equal(f.continueTrying, true);
  assert.equal(f.retries, 0);
});

Deno.test("ReconnectingClientFactory uses the global reactor unless given a clock", () => {
  const f = new ReconnectingClientFactory();
  assert.equal(f.clock, globalClock);
  const call = f.clock.callLater(60, () => {});
  assert.equal(globalReactor.getDelayedCalls().includes(call), true);
  call.cancel();
  const clock = new Clock();
  f.clock = clock;
  assert.equal(f.clock, clock);
});

Deno.test("a lost connection schedules a reconnect on the given clock", () => {
  const clock = new Clock();
  const f = quietFactory(clock);
  const connector = new CountingConnector();
  f.clientConnectionLost(connector, done());
  assert.equal(clock.calls.length, 1);
  assert.equal(f.connector, connector);
  clock.advance(f.delay);
  assert.equal(connector.connects, 1);
  assert.equal(clock.calls.length, 0);
});

Deno.test("without jitter each retry waits factor times longer, up to maxDelay", () => {
  const reactor = new MemoryReactorClock();
  const f = quietFactory(reactor);
  f.jitter = 0;
  f.maxDelay = 100;
  const connector = reactor.connectTCP("127.0.0.1", 7, f);
  const delays: number[] = [];
  for (let i = 0; i < 6; i++) {
    f.clientConnectionFailed(connector, refused());
    const [call] = reactor.getDelayedCalls();
    assert.equal(call.getTime(), reactor.seconds() + f.delay);
    delays.push(f.delay);
    reactor.advance(f.delay);
  }
  const e = Math.E;
  const expected = [e, e ** 2, e ** 3, e ** 4, 100, 100];
  delays.forEach((d, i) =>
    assert.ok(Math.abs(d - expected[i]) < 1e-9, `retry ${i}: ${d}`)
  );
  assert.equal(reactor.connectors[0].connectCount, 7);
  assert.equal(f.retries, 6);
});

Deno.test("jitter draws the delay from a normal distribution around the grown delay", () => {
  const clock = new Clock();
  const f = quietFactory(clock);
  f.random = () => 0.5; // u1 = u2 = 0.5: z = -sqrt(2 ln 2)
  f.retry(new CountingConnector());
  const z = -Math.sqrt(2 * Math.log(2));
  assert.ok(Math.abs(f.delay - Math.E * (1 + z * f.jitter)) < 1e-12);
  assert.equal(clock.calls[0].getTime(), f.delay);
});

Deno.test("jittered delays have the mean and spread Twisted's jitter gives", () => {
  const samples: number[] = [];
  const random = seeded(42);
  for (let i = 0; i < 4000; i++) {
    const f = quietFactory(new Clock());
    f.random = random;
    f.retry(new CountingConnector());
    samples.push(f.delay);
  }
  const mean = samples.reduce((a, b) => a + b) / samples.length;
  const sd = Math.sqrt(
    samples.reduce((a, b) => a + (b - mean) ** 2, 0) / samples.length,
  );
  assert.ok(Math.abs(mean / Math.E - 1) < 0.01, `mean ${mean}`);
  assert.ok(Math.abs(sd / (Math.E * 0.119626565582) - 1) < 0.05, `sd ${sd}`);
  assert.ok(new Set(samples).size > 3900, "delays vary");
});

Deno.test("maxRetries bounds the consecutive retries", () => {
  const clock = new Clock();
  const f = quietFactory(clock);
  f.maxRetries = 2;
  const connector = new CountingConnector();
  for (let i = 0; i < 4; i++) {
    f.clientConnectionFailed(connector, refused());
    clock.advance(f.maxDelay * 2);
  }
  assert.equal(connector.connects, 2);
  assert.equal(clock.calls.length, 0);
});

Deno.test("resetDelay restores the initial delay and the retry budget", () => {
  const clock = new Clock();
  const f = quietFactory(clock);
  f.jitter = 0;
  f.maxRetries = 1;
  const connector = new CountingConnector();
  f.clientConnectionFailed(connector, refused());
  clock.advance(f.delay);
  f.resetDelay();
  assert.equal(f.delay, 1);
  assert.equal(f.retries, 0);
  f.clientConnectionLost(connector, done());
  assert.equal(f.delay, Math.E, "starts over from initialDelay");
  clock.advance(f.delay);
  assert.equal(connector.connects, 2);
});

Deno.test("stopTrying cancels the scheduled retry and stops the attempt", () => {
  const clock = new Clock();
  const f = quietFactory(clock);
  const connector = new CountingConnector();
  f.clientConnectionFailed(connector, refused());
  f.stopTrying();
  assert.equal(f.continueTrying, false);
  assert.equal(connector.stops, 1);
  assert.equal(clock.getDelayedCalls().length, 0);
  clock.advance(f.maxDelay * 2);
  assert.equal(connector.connects, 0);
  f.clientConnectionLost(connector, done());
  f.clientConnectionFailed(connector, refused());
  assert.equal(clock.getDelayedCalls().length, 0, "no retry after stopTrying");
});

Deno.test("stopTrying does not retry when the connector reports the failure at once", () => {
  const clock = new Clock();
  const f = quietFactory(clock);
  let attemptedRetry = false;
  f.connector = {
    stopConnecting: () => f.clientConnectionFailed(f.connector!, refused()),
    disconnect() {},
    connect: () => {
      attemptedRetry = true;
    },
    getDestination: () => addr,
  };
  f.stopTrying();
  assert.equal(attemptedRetry, false);
  assert.equal(clock.getDelayedCalls().length, 0);
});

Deno.test("stopTrying ignores NotConnectingError but not other errors", () => {
  const f = quietFactory(new Clock());
  const notConnecting = Object.assign(new Error("not connecting"), {
    name: "NotConnectingError",
  });
  f.connector = {
    stopConnecting: () => {
      throw notConnecting;
    },
    disconnect() {},
    connect() {},
    getDestination: () => addr,
  };
  f.stopTrying();
  f.connector.stopConnecting = () => {
    throw new RangeError("broken");
  };
  assert.throws(() => f.stopTrying(), RangeError);
});

Deno.test("retry without any connector says so", () => {
  const f = quietFactory(new Clock());
  assert.throws(() => f.retry(), {
    name: "TypeError",
    message: /no connector to retry/,
  });
});

Deno.test("a noisy ReconnectingClientFactory logs its retries and when it gives up", () => {
  using logs = captureLogs();
  const clock = new Clock();
  const f = new ReconnectingClientFactory();
  f.clock = clock;
  f.maxRetries = 1;
  f.jitter = 0;
  const connector = new CountingConnector();
  f.clientConnectionFailed(connector, refused());
  clock.advance(f.delay);
  f.clientConnectionFailed(connector, refused());
  assert.deepEqual(logs.messages, [
    "connector to 127.0.0.1:7 will retry in 2 seconds",
    "Abandoning connector to 127.0.0.1:7 after 2 retries",
  ]);
});

// ------------------------------------------------------------ ClientCreator

class Greeter extends Protocol {
  made = 0;
  constructor(readonly greeting: string, readonly extra: number) {
    super();
  }
  override connectionMade(): void {
    this.made++;
    this.transport.write(this.greeting);
  }
}

Deno.test("ClientCreator.connectTCP passes host, port and options to the reactor", () => {
  const reactor = new MemoryReactorClock();
  const cc = new ClientCreator(reactor, Greeter, "hi", 3);
  cc.connectTCP("example.com", 1234, {
    timeout: 4321,
    bindAddress: ["1.2.3.4", 9876],
  });
  const rec = reactor.tcpClients.pop()!;
  assert.equal(rec.host, "example.com");
  assert.equal(rec.port, 1234);
  assert.deepEqual(rec.options, {
    timeout: 4321,
    bindAddress: ["1.2.3.4", 9876],
  });
  const proto = rec.factory.buildProtocol(addr) as Greeter;
  assert.ok(proto instanceof Greeter);
  assert.equal(proto.greeting, "hi");
  assert.equal(proto.extra, 3);
});

Deno.test("ClientCreator.connectUNIX and connectSSL pass their arguments on", () => {
  const reactor = new MemoryReactorClock();
  const cc = new ClientCreator(reactor, Protocol);
  cc.connectUNIX("/foo/bar", { timeout: 123 });
  const unix = reactor.unixClients.pop()!;
  assert.equal(unix.path, "/foo/bar");
  assert.deepEqual(unix.options, { timeout: 123 });
  assert.ok(unix.factory.buildProtocol(addr) instanceof Protocol);
  const tls = { hostname: "example.com" };
  cc.connectSSL("example.com", 443, tls, { timeout: 9 });
  const ssl = reactor.sslClients.pop()!;
  assert.equal(ssl.tls, tls);
  assert.equal(ssl.port, 443);
  assert.deepEqual(ssl.options, { timeout: 9 });
  assert.ok(ssl.factory.buildProtocol(addr) instanceof Protocol);
});

Deno.test("ClientCreator's Deferred fires with the protocol after connectionMade", () => {
  const reactor = new MemoryReactorClock();
  const d = new ClientCreator(reactor, Greeter, "hello", 0).connectTCP(
    "127.0.0.1",
    7,
  );
  const { factory } = reactor.tcpClients[0];
  const proto = factory.buildProtocol(addr)!;
  assertNoResult(d);
  const transport = new StringTransport();
  proto.makeConnection(transport);
  assertNoResult(d);
  reactor.advance(0);
  const result = successResultOf(d);
  assert.equal(result, proto);
  assert.equal(result.made, 1);
  assert.equal(new TextDecoder().decode(transport.value()), "hello");
});

Deno.test("ClientCreator's Deferred fails with the connection error", () => {
  const reactor = new MemoryReactorClock();
  const d = new ClientCreator(reactor, Protocol).connectTCP("127.0.0.1", 7);
  const { factory, connector } = reactor.tcpClients[0];
  factory.clientConnectionFailed(connector, refused());
  assertNoResult(d);
  reactor.advance(0);
  failureResultOf(d, ConnectionRefusedError);
});

Deno.test("cancelling ClientCreator's Deferred before connecting disconnects the connector", () => {
  for (const connect of ["TCP", "UNIX", "SSL"] as const) {
    const reactor = new MemoryReactorClock();
    const cc = new ClientCreator(reactor, Protocol);
    const d = connect === "TCP"
      ? cc.connectTCP("example.com", 1234)
      : connect === "UNIX"
      ? cc.connectUNIX("/foo/bar")
      : cc.connectSSL("example.com", 1234);
    const connector = reactor.connectors.pop()!;
    assert.equal(connector.disconnected, false);
    d.cancel();
    assert.equal(connector.disconnected, true, connect);
    failureResultOf(d, CancelledError);
  }
});

Deno.test("cancelling after the connection is made drops it and the pending fire", () => {
  const reactor = new MemoryReactorClock();
  const d = new ClientCreator(reactor, Protocol).connectTCP("example.com", 1);
  const { factory, connector } = reactor.tcpClients[0];
  const transport = new StringTransport();
  factory.buildProtocol(addr)!.makeConnection(transport);
  assert.equal(reactor.getDelayedCalls().length, 1);
  d.cancel();
  assert.equal(reactor.getDelayedCalls().length, 0);
  assert.equal(connector.disconnected, true);
  assert.equal(transport.disconnecting, true);
  failureResultOf(d, CancelledError);
  reactor.advance(1);
});

Deno.test("cancelling after the attempt failed cancels the pending errback", () => {
  const reactor = new MemoryReactorClock();
  const d = new ClientCreator(reactor, Protocol).connectTCP("example.com", 1);
  const { factory, connector } = reactor.tcpClients[0];
  factory.clientConnectionFailed(connector, refused());
  assert.equal(reactor.getDelayedCalls().length, 1);
  d.cancel();
  assert.equal(reactor.getDelayedCalls().length, 0);
  failureResultOf(d, CancelledError);
});

Deno.test("a connection completing after cancellation is refused", () => {
  const reactor = new MemoryReactorClock();
  const d = new ClientCreator(reactor, Protocol).connectTCP("example.com", 1);
  const { factory } = reactor.tcpClients[0];
  d.cancel();
  failureResultOf(d, CancelledError);
  assert.equal(factory.buildProtocol(addr), null);
});

Deno.test("ClientCreator says which connect method its reactor lacks", () => {
  const clockOnly = new Clock();
  const cc = new ClientCreator(clockOnly, Protocol);
  assert.throws(() => cc.connectUNIX("/x"), {
    name: "TypeError",
    message: /has no connectUNIX method/,
  });
});
