import assert from "node:assert/strict";
import {
  PortService,
  StreamServerEndpointService,
  TCPClient,
  TCPServer,
  TimerService,
  UDPServer,
  UNIXServer,
} from "../../application/internet.ts";
import { Deferred } from "../../deferred/deferred.ts";
import { fail, succeed } from "../../deferred/helpers.ts";
import {
  ClientFactory,
  DatagramProtocol,
  Factory,
  Protocol,
} from "../../protocols/protocol.ts";
import { CannotListenError } from "../../reactor/errors.ts";
import { reactor } from "../../reactor/reactor.ts";
import { serverFromString } from "../../reactor/endpoints/endpoint_descriptions.ts";
import { within } from "../_helpers.ts";
import type { IListeningPort } from "../../reactor/interfaces.ts";
import { Clock } from "../../testing/clock.ts";
import { captureLogs } from "../../testing/logs.ts";
import { MemoryReactor } from "../../testing/memory_reactor.ts";
import {
  assertNoResult,
  failureResultOf,
  successResultOf,
} from "../../testing/results.ts";

// ----------------------------------------------------------------- servers

Deno.test("TCPServer listens when started and stops listening when stopped", () => {
  const reactor = new MemoryReactor();
  const factory = Factory.forProtocol(Protocol);
  const service = new TCPServer(1234, factory, { backlog: 7, reactor });
  assert.equal(reactor.tcpServers.length, 0, "nothing happens before start");
  service.privilegedStartService();
  assert.equal(reactor.tcpServers.length, 1);
  service.startService();
  assert.equal(reactor.tcpServers.length, 1, "start does not listen twice");
  const record = reactor.tcpServers[0];
  assert.equal(record.port, 1234);
  assert.equal(record.factory, factory);
  assert.equal(record.options.backlog, 7);
  assert.equal(service.port, record.listeningPort);
  assert.equal(service.running, true);
  successResultOf(service.stopService());
  assert.equal(service.running, false);
  assert.equal(service.port, undefined);
  assert.throws(() => service.getHost(), /it is not listening/);
});

Deno.test("a PortService whose listen throws does not start, and says why", () => {
  const service = new PortService(() => {
    throw new CannotListenError("127.0.0.1", 1, {
      cause: new Error("address in use"),
    });
  });
  assert.throws(() => service.startService(), CannotListenError);
  assert.equal(service.running, false);
  assert.equal(successResultOf(service.stopService()), undefined);
});

Deno.test("UNIXServer, UDPServer and TCPClient pass their arguments to the reactor", () => {
  const reactor = new MemoryReactor();
  const unix = new UNIXServer("/tmp/x.sock", Factory.forProtocol(Protocol), {
    reactor,
  });
  const udp = new UDPServer(0, new DatagramProtocol(), {
    interface: "127.0.0.1",
    reactor,
  });
  const client = new TCPClient("127.0.0.1", 79, new ClientFactory(), {
    timeout: 5,
    reactor,
  });
  for (const s of [unix, udp, client]) s.startService();
  assert.equal(reactor.unixServers[0].path, "/tmp/x.sock");
  assert.equal(reactor.udpPorts[0].options.interface, "127.0.0.1");
  assert.equal(reactor.tcpClients[0].host, "127.0.0.1");
  assert.equal(reactor.tcpClients[0].options.timeout, 5);
  const connector = client.connector;
  assert.ok(connector !== undefined);
  for (const s of [unix, udp, client]) s.stopService();
  assert.equal(client.connector, undefined);
});

// ------------------------------------------------------------------- timer

Deno.test("TimerService calls at once when started, then every step", () => {
  const clock = new Clock();
  const calls: [number, string][] = [];
  const timer = new TimerService(5, (what: string) => {
    calls.push([clock.seconds(), what]);
  }, "tick");
  timer.clock = clock;
  timer.startService();
  assert.deepEqual(calls, [[0, "tick"]]);
  clock.pump([5, 5]);
  assert.deepEqual(calls.map(([t]) => t), [0, 5, 10]);
  assert.equal(timer.loop?.running, true);
  successResultOf(timer.stopService());
  assert.equal(timer.running, false);
  clock.advance(50);
  assert.equal(calls.length, 3);
});

Deno.test("TimerService.stopService waits for a call in progress", () => {
  const clock = new Clock();
  const inFlight = new Deferred<void>();
  let n = 0;
  const timer = new TimerService(1, () => {
    n++;
    return inFlight;
  });
  timer.clock = clock;
  timer.startService();
  const stopped = timer.stopService();
  assertNoResult(stopped);
  assert.equal(timer.running, true, "still running until the call finishes");
  inFlight.callback();
  successResultOf(stopped);
  assert.equal(timer.running, false);
  assert.equal(n, 1);
});

Deno.test("a failing TimerService call stops the loop and is logged", () => {
  using logs = captureLogs();
  const clock = new Clock();
  let n = 0;
  const timer = new TimerService(1, () => {
    if (++n === 2) throw new Error("tick failed");
  });
  timer.setName("ticker");
  timer.clock = clock;
  timer.startService();
  clock.advance(1);
  clock.advance(1);
  assert.equal(n, 2, "no calls after the failure");
  assert.equal(timer.loop?.running, false);
  const [failure] = logs.flushLoggedErrors(Error);
  assert.equal(failure.getErrorMessage(), "tick failed");
  assert.match(logs.messages.join("\n"), /TimerService ticker stopped/);
  successResultOf(timer.stopService());
  assert.equal(timer.running, false);
});

Deno.test("a stopped TimerService can start again with a fresh loop", () => {
  const clock = new Clock();
  let n = 0;
  const timer = new TimerService(1, () => void n++);
  timer.clock = clock;
  timer.startService();
  const first = timer.loop;
  timer.stopService();
  timer.startService();
  assert.notEqual(timer.loop, first);
  assert.equal(n, 2);
  timer.stopService();
});

// -------------------------------------------------- endpoint server service

function fakePort(): IListeningPort & { stopped: boolean } {
  const port = {
    stopped: false,
    startListening() {},
    stopListening() {
      port.stopped = true;
      return succeed(undefined);
    },
    getHost: () => ({ type: "TCP" as const, host: "127.0.0.1", port: 9 }),
  };
  return port;
}

Deno.test("StreamServerEndpointService listens in privilegedStartService, once", () => {
  let listens = 0;
  const port = fakePort();
  const factory = Factory.forProtocol(Protocol);
  const service = new StreamServerEndpointService({
    listen(f) {
      assert.equal(f, factory);
      listens++;
      return succeed(port);
    },
  }, factory);
  service.privilegedStartService();
  service.startService();
  assert.equal(listens, 1);
  assert.equal(successResultOf(service.whenListening()), port);
  successResultOf(service.stopService());
  assert.equal(port.stopped, true);
  assert.equal(service.running, false);
});

Deno.test("a listen failure reaches whenListening and the log, not the caller", () => {
  using logs = captureLogs();
  const service = new StreamServerEndpointService(
    { listen: () => fail(new CannotListenError("127.0.0.1", 80)) },
    Factory.forProtocol(Protocol),
  );
  service.startService();
  failureResultOf(service.whenListening(), CannotListenError);
  assert.equal(logs.flushLoggedErrors(CannotListenError).length, 1);
  successResultOf(service.stopService());
});

Deno.test("a later listen failure also reaches a waiting whenListening", () => {
  using logs = captureLogs();
  const listening = new Deferred<IListeningPort>();
  const service = new StreamServerEndpointService(
    { listen: () => listening },
    Factory.forProtocol(Protocol),
  );
  service.startService();
  const waiting = service.whenListening();
  assertNoResult(waiting);
  listening.errback(new CannotListenError("127.0.0.1", 80));
  failureResultOf(waiting, CannotListenError);
  logs.flushLoggedErrors(CannotListenError);
});

Deno.test("raiseSynchronously makes a synchronous listen failure throw", () => {
  const service = new StreamServerEndpointService(
    {
      listen: () => {
        throw new CannotListenError("127.0.0.1", 80);
      },
    },
    Factory.forProtocol(Protocol),
  );
  service.raiseSynchronously = true;
  assert.throws(() => service.privilegedStartService(), CannotListenError);
});

Deno.test("stopping before the port is ready cancels the listen, quietly", () => {
  using logs = captureLogs();
  let cancelled = false;
  const service = new StreamServerEndpointService(
    {
      listen: () => new Deferred<IListeningPort>(() => void (cancelled = true)),
    },
    Factory.forProtocol(Protocol),
  );
  service.startService();
  successResultOf(service.stopService());
  assert.equal(cancelled, true);
  assert.equal(service.running, false);
  assert.deepEqual(logs.failures(), []);
});

Deno.test("StreamServerEndpointService serves on a real endpoint and closes the port when stopped", async () => {
  class Echo extends Protocol {
    override dataReceived(data: Uint8Array): void {
      this.transport!.write(data);
    }
  }
  const service = new StreamServerEndpointService(
    serverFromString(reactor, "tcp:0:interface=127.0.0.1"),
    Factory.forProtocol(Echo),
  );
  service.startService();
  const port = await within(2_000, "the port", service.whenListening());
  const addr = port.getHost();
  assert.ok(addr.type === "TCP");
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: addr.port });
  try {
    await conn.write(new TextEncoder().encode("ping"));
    const buf = new Uint8Array(4);
    let got = 0;
    while (got < 4) {
      const n = await within(2_000, "the echo", conn.read(buf.subarray(got)));
      if (n === null) break;
      got += n;
    }
    assert.equal(new TextDecoder().decode(buf), "ping");
  } finally {
    conn.close();
  }
  await within(2_000, "the service to stop", service.stopService());
  await assert.rejects(
    Deno.connect({ hostname: "127.0.0.1", port: addr.port }),
    Deno.errors.ConnectionRefused,
  );
});

Deno.test("StreamServerEndpointService on a busy port: the error reaches whenListening and the log", async () => {
  using logs = captureLogs();
  const taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  try {
    const busy = (taken.addr as Deno.NetAddr).port;
    const service = new StreamServerEndpointService(
      serverFromString(reactor, `tcp:${busy}:interface=127.0.0.1`),
      Factory.forProtocol(Protocol),
    );
    service.startService(); // does not throw
    const error = await service.whenListening().then(
      () => assert.fail("listened on a busy port"),
      (e: unknown) => e,
    );
    assert.ok(error instanceof CannotListenError);
    assert.equal(logs.flushLoggedErrors(CannotListenError).length, 1);
    await service.stopService();
  } finally {
    taken.close();
  }
});
