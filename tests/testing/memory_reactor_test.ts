import assert from "node:assert/strict";
import {
  FakeConnector,
  FakePort,
  MemoryReactor,
  MemoryReactorClock,
} from "../../testing/memory_reactor.ts";
import { captureLogs } from "../../testing/logs.ts";
import { ClientFactory, Factory, Protocol } from "../../protocols/protocol.ts";
import { Deferred } from "../../deferred/deferred.ts";
import {
  ReactorAlreadyRunning,
  ReactorNotRestartable,
  ReactorNotRunning,
} from "../../reactor/errors.ts";
import type { IConnector, TriggerPhase } from "../../reactor/interfaces.ts";
import { DenoReactor } from "../../reactor/reactor.ts";
import { DatagramProtocol } from "../../protocols/protocol.ts";

class Recording extends ClientFactory {
  started: IConnector[] = [];
  override startedConnecting(c: IConnector): void {
    this.started.push(c);
  }
}

Deno.test("MemoryReactor.connectTCP records the call, tells the factory, returns the connector", () => {
  const reactor = new MemoryReactor();
  const factory = new Recording();
  const connector = reactor.connectTCP("127.0.0.1", 1234, factory, {
    timeout: 5,
  });
  assert.ok(connector instanceof FakeConnector);
  assert.deepEqual(connector.getDestination(), {
    type: "TCP",
    host: "127.0.0.1",
    port: 1234,
  });
  assert.equal(reactor.tcpClients.length, 1);
  const rec = reactor.tcpClients[0];
  assert.equal(rec.host, "127.0.0.1");
  assert.equal(rec.port, 1234);
  assert.equal(rec.factory, factory);
  assert.deepEqual(rec.options, { timeout: 5 });
  assert.equal(rec.connector, connector);
  assert.deepEqual(reactor.connectors, [connector]);
  assert.deepEqual(factory.started, [connector]);
});

Deno.test("MemoryReactor connectors record stopConnecting, disconnect and retries", () => {
  const reactor = new MemoryReactor();
  const factory = new Recording();
  const connector = reactor.connectTCP("::1", 80, factory);
  assert.equal(connector.stoppedConnecting, false);
  connector.stopConnecting();
  assert.equal(connector.stoppedConnecting, true);
  connector.disconnect();
  assert.equal(connector.disconnected, true);
  assert.equal(connector.connectCount, 1);
  connector.connect();
  assert.equal(connector.connectCount, 2);
  assert.equal(factory.started.length, 2, "a retry starts connecting again");
  assert.equal(connector.stoppedConnecting, false);
});

Deno.test("MemoryReactor.listenTCP records the call and its port reports the address", () => {
  const reactor = new MemoryReactor();
  const factory = Factory.forProtocol(Protocol);
  const anyHost = reactor.listenTCP(80, factory);
  const local = reactor.listenTCP(81, factory, {
    interface: "127.0.0.1",
    backlog: 5,
  });
  assert.deepEqual(anyHost.getHost(), {
    type: "TCP",
    host: "0.0.0.0",
    port: 80,
  });
  assert.deepEqual(local.getHost(), {
    type: "TCP",
    host: "127.0.0.1",
    port: 81,
  });
  assert.equal(reactor.tcpServers.length, 2);
  assert.deepEqual(reactor.tcpServers[1].options, {
    interface: "127.0.0.1",
    backlog: 5,
  });
  assert.equal(reactor.tcpServers[0].listeningPort, anyHost);
});

Deno.test("FakePort.stopListening fires at once and marks the port stopped", () => {
  const port = new FakePort({ type: "TCP", host: "0.0.0.0", port: 1 });
  let fired = false;
  port.stopListening().addCallback(() => {
    fired = true;
  });
  assert.equal(fired, true);
  assert.equal(port.listening, false);
  port.startListening();
  assert.equal(port.listening, true);
});

Deno.test("MemoryReactor records SSL, UNIX and UDP calls", () => {
  const reactor = new MemoryReactor();
  const server = Factory.forProtocol(Protocol);
  const client = new Recording();
  const tls = { cert: "C", key: "K" };
  reactor.listenSSL(443, server, tls);
  const sslConnector = reactor.connectSSL("127.0.0.1", 443, client, {
    hostname: "localhost",
  });
  reactor.listenUNIX("/tmp/sock", server, { backlog: 1 });
  const unixConnector = reactor.connectUNIX("/tmp/sock", client);
  const udp = new DatagramProtocol();
  const udpPort = reactor.listenUDP(53, udp, { interface: "127.0.0.1" });

  assert.equal(reactor.sslServers[0].tls, tls);
  assert.equal(reactor.sslServers[0].port, 443);
  assert.deepEqual(reactor.sslClients[0].tls, { hostname: "localhost" });
  assert.equal(reactor.sslClients[0].connector, sslConnector);
  assert.equal(reactor.unixServers[0].path, "/tmp/sock");
  assert.deepEqual(reactor.unixServers[0].listeningPort.getHost(), {
    type: "UNIX",
    name: "/tmp/sock",
  });
  assert.deepEqual(unixConnector.getDestination(), {
    type: "UNIX",
    name: "/tmp/sock",
  });
  assert.equal(reactor.unixClients[0].factory, client);
  assert.equal(reactor.udpPorts[0].protocol, udp);
  assert.deepEqual(udpPort.getHost(), {
    type: "UDP",
    host: "127.0.0.1",
    port: 53,
  });
  assert.deepEqual(reactor.connectors, [sslConnector, unixConnector]);
  assert.deepEqual(client.started, [sslConnector, unixConnector]);
  assert.equal(reactor.tcpServers.length + reactor.tcpClients.length, 0);
});

Deno.test("MemoryReactor records triggers by phase and event", () => {
  const reactor = new MemoryReactor();
  const fn = () => {};
  const id = reactor.addSystemEventTrigger("before", "shutdown", fn);
  assert.deepEqual(id, { phase: "before", event: "shutdown" });
  assert.equal(reactor.triggers.before.shutdown.length, 1);
  assert.equal(reactor.triggers.before.shutdown[0].fn, fn);
  reactor.removeSystemEventTrigger(id);
  assert.equal(reactor.triggers.before.shutdown.length, 0);
  assert.throws(() => reactor.removeSystemEventTrigger(id), RangeError);
});

Deno.test("MemoryReactor refuses a bad phase or a non-function trigger as the reactor does", () => {
  const reactor = new MemoryReactor();
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => reactor.addSystemEventTrigger("middle" as any, "x", () => {}),
    { name: "RangeError", message: /phase "middle"/ },
  );
  assert.throws(
    () =>
      new DenoReactor().addSystemEventTrigger(
        "middle" as TriggerPhase,
        "x",
        () => {},
      ),
    { name: "RangeError", message: /phase "middle"/ },
  );
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => reactor.addSystemEventTrigger("before", "x", 3 as any),
    TypeError,
  );
});

Deno.test("MemoryReactor.fireSystemEvent runs before, during and after in order, once", () => {
  const reactor = new MemoryReactor();
  const order: string[] = [];
  reactor.addSystemEventTrigger(
    "after",
    "custom",
    (x: string) => order.push(x),
    "after",
  );
  reactor.addSystemEventTrigger(
    "during",
    "custom",
    (x: string) => order.push(x),
    "during",
  );
  reactor.addSystemEventTrigger(
    "before",
    "custom",
    (x: string) => order.push(x),
    "before",
  );
  reactor.addSystemEventTrigger("before", "other", () => order.push("other"));
  reactor.fireSystemEvent("custom");
  reactor.fireSystemEvent("custom");
  assert.deepEqual(order, ["before", "during", "after"]);
});

Deno.test("MemoryReactor: a Deferred from a before trigger delays during and after", () => {
  const reactor = new MemoryReactor();
  const order: string[] = [];
  const d = new Deferred<void>();
  reactor.addSystemEventTrigger("before", "e", () => d);
  reactor.addSystemEventTrigger("before", "e", () => order.push("before 2"));
  reactor.addSystemEventTrigger("during", "e", () => order.push("during"));
  reactor.fireSystemEvent("e");
  assert.deepEqual(order, ["before 2"]);
  d.callback();
  assert.deepEqual(order, ["before 2", "during"]);
});

Deno.test("MemoryReactor: a trigger's error is logged and the others still run", () => {
  using logs = captureLogs();
  const reactor = new MemoryReactor();
  const order: string[] = [];
  reactor.addSystemEventTrigger("during", "e", () => {
    throw new Error("trigger broke");
  });
  reactor.addSystemEventTrigger("during", "e", () => order.push("second"));
  reactor.fireSystemEvent("e");
  assert.deepEqual(order, ["second"]);
  const failures = logs.flushLoggedErrors(Error);
  assert.equal(failures.length, 1);
  assert.equal(failures[0].getErrorMessage(), "trigger broke");
});

Deno.test("MemoryReactor: a trigger removed while its event fires does not run", () => {
  const reactor = new MemoryReactor();
  const order: string[] = [];
  const ids: ReturnType<MemoryReactor["addSystemEventTrigger"]>[] = [];
  reactor.addSystemEventTrigger("before", "e", () => {
    order.push("first");
    reactor.removeSystemEventTrigger(ids[0]);
  });
  ids[0] = reactor.addSystemEventTrigger(
    "before",
    "e",
    () => order.push("second"),
  );
  reactor.fireSystemEvent("e");
  assert.deepEqual(order, ["first"]);
});

Deno.test("MemoryReactor.callWhenRunning records hooks until run() calls them", async () => {
  const reactor = new MemoryReactor();
  const order: string[] = [];
  reactor.callWhenRunning((x: string) => order.push(x), "hook");
  reactor.addSystemEventTrigger(
    "during",
    "startup",
    () => order.push("startup"),
  );
  assert.equal(reactor.whenRunningHooks.length, 1);
  assert.equal(reactor.running, false);
  const done = reactor.run();
  assert.equal(reactor.running, true);
  assert.equal(reactor.hasRun, true);
  assert.deepEqual(order, ["startup", "hook"]);
  assert.equal(reactor.whenRunningHooks.length, 0);
  assert.equal(reactor.callWhenRunning(() => order.push("now")), undefined);
  assert.deepEqual(order, ["startup", "hook", "now"]);
  reactor.stop();
  await done;
  assert.equal(reactor.running, false);
  assert.equal(reactor.hasStopped, true);
});

Deno.test("MemoryReactor: a removed callWhenRunning hook never runs", async () => {
  const reactor = new MemoryReactor();
  let ran = false;
  const id = reactor.callWhenRunning(() => {
    ran = true;
  });
  reactor.removeSystemEventTrigger(id!);
  const done = reactor.run();
  reactor.stop();
  await done;
  assert.equal(ran, false);
});

Deno.test("MemoryReactor.stop fires shutdown and run() resolves after it", async () => {
  const reactor = new MemoryReactor();
  const order: string[] = [];
  const slow = new Deferred<void>();
  reactor.addSystemEventTrigger("before", "shutdown", () => slow);
  reactor.addSystemEventTrigger("after", "shutdown", () => order.push("after"));
  let resolved = false;
  const done = reactor.run().then(() => {
    resolved = true;
  });
  reactor.stop();
  await Promise.resolve();
  assert.equal(reactor.running, true, "still shutting down");
  assert.throws(() => reactor.stop(), ReactorNotRunning);
  assert.deepEqual(order, []);
  slow.callback();
  await done;
  assert.equal(resolved, true);
  assert.deepEqual(order, ["after"]);
  assert.equal(reactor.running, false);
});

Deno.test("MemoryReactor is as strict as the reactor about run and stop", async () => {
  const reactor = new MemoryReactor();
  assert.throws(() => reactor.stop(), ReactorNotRunning);
  const done = reactor.run();
  assert.throws(() => reactor.run(), ReactorAlreadyRunning);
  reactor.stop();
  await done;
  assert.throws(() => reactor.run(), ReactorNotRestartable);
});

Deno.test("MemoryReactor.crash stops at once without shutdown triggers", async () => {
  const reactor = new MemoryReactor();
  let shutdown = false;
  reactor.addSystemEventTrigger("during", "shutdown", () => {
    shutdown = true;
  });
  const done = reactor.run();
  reactor.crash();
  await done;
  assert.equal(reactor.running, false);
  assert.equal(reactor.hasCrashed, true);
  assert.equal(shutdown, false);
});

Deno.test("MemoryReactor tracks and untracks resources", () => {
  const reactor = new MemoryReactor();
  const resource = { shutdown() {} };
  reactor.trackResource(resource);
  assert.ok(reactor.resources.has(resource));
  reactor.untrackResource(resource);
  assert.equal(reactor.resources.size, 0);
});

Deno.test("MemoryReactorClock is a MemoryReactor whose time moves with advance", () => {
  const reactor = new MemoryReactorClock();
  assert.ok(reactor instanceof MemoryReactor);
  const fired: number[] = [];
  const call = reactor.callLater(2, (n: number) => fired.push(n), 2);
  reactor.callLater(1, (n: number) => fired.push(n), 1);
  assert.equal(reactor.getDelayedCalls().length, 2);
  assert.equal(reactor.calls.length, 2);
  reactor.advance(1);
  assert.deepEqual(fired, [1]);
  assert.equal(call.active(), true);
  reactor.pump([0.5, 0.5]);
  assert.deepEqual(fired, [1, 2]);
  assert.equal(reactor.seconds(), 2);
  assert.equal(reactor.rightNow, 2);
  assert.equal(reactor.getDelayedCalls().length, 0);
});
