import assert from "node:assert/strict";
import {
  backoffPolicy,
  ClientService,
  type ClientServiceOptions,
} from "../../application/client_service.ts";
import { Deferred } from "../../deferred/deferred.ts";
import { CancelledError } from "../../deferred/errors.ts";
import { Failure } from "../../deferred/failure.ts";
import { Factory, Protocol } from "../../protocols/protocol.ts";
import {
  ConnectionLost,
  ConnectionRefusedError,
} from "../../reactor/errors.ts";
import { reactor } from "../../reactor/reactor.ts";
import { TCP4ClientEndpoint } from "../../reactor/endpoints/endpoints.ts";
import { within } from "../_helpers.ts";
import type {
  IProtocol,
  IProtocolFactory,
  IStreamClientEndpoint,
} from "../../reactor/interfaces.ts";
import { Clock } from "../../testing/clock.ts";
import { captureLogs } from "../../testing/logs.ts";
import {
  assertNoResult,
  failureResultOf,
  successResultOf,
} from "../../testing/results.ts";
import { StringTransport } from "../../testing/string_transport.ts";

const AT_LEAST_ONE_ATTEMPT = 100;

Deno.test("backoffPolicy grows by factor up to maxDelay and adds jitter", () => {
  const policy = backoffPolicy(1, 60, 1.5, () => 0.25);
  assert.equal(policy(1), 1.75);
  assert.equal(policy(2), 2.5);
  assert.equal(policy(100), 60.25);
  assert.equal(policy(1e9), 60.25, "no overflow for huge attempt counts");
  const defaults = backoffPolicy();
  for (let i = 0; i < 20; i++) {
    const d = defaults(1);
    assert.ok(d >= 1.5 && d < 2.5, `${d}`);
  }
});

/** The connect attempts a test endpoint has seen (Twisted's endpointForTesting). */
interface ConnectInfo {
  connectQueue: Deferred<unknown>[];
  constructedProtocols: IProtocol[];
  passedFactories: IProtocolFactory[];
  applicationProtocols: Protocol[];
  applicationFactory: Factory;
}

function endpointForTesting(
  fireImmediately: boolean,
): [
  Omit<ConnectInfo, "applicationProtocols" | "applicationFactory">,
  IStreamClientEndpoint,
] {
  const info = {
    connectQueue: [] as Deferred<unknown>[],
    constructedProtocols: [] as IProtocol[],
    passedFactories: [] as IProtocolFactory[],
  };
  const endpoint: IStreamClientEndpoint = {
    connect(factory) {
      info.passedFactories.push(factory);
      const result = new Deferred<unknown>();
      const connected = result.addCallback(() => {
        const protocol = factory.buildProtocol({
          type: "TCP",
          host: "127.0.0.1",
          port: 1,
        });
        if (protocol === null) throw new Error("refused by the factory");
        info.constructedProtocols.push(protocol);
        protocol.makeConnection(new StringTransport());
        return protocol;
      });
      info.connectQueue.push(result);
      if (fireImmediately) result.callback(undefined);
      return connected as Deferred<IProtocol>;
    },
  };
  return [info, endpoint];
}

function makeReconnector(
  options: {
    fireImmediately?: boolean;
    startService?: boolean;
    refuseConnections?: boolean;
  } & ClientServiceOptions = {},
): [ConnectInfo, ClientService, Clock] {
  const {
    fireImmediately = true,
    startService = true,
    refuseConnections = false,
    ...rest
  } = options;
  const clock = (rest.clock as Clock | undefined) ?? new Clock();
  const [partial, endpoint] = endpointForTesting(fireImmediately);
  const applicationProtocols: Protocol[] = [];
  class RememberingFactory extends Factory {
    override protocol = Protocol;
    override buildProtocol(): Protocol | null {
      if (refuseConnections) return null;
      const p = new Protocol();
      p.factory = this;
      applicationProtocols.push(p);
      return p;
    }
  }
  const applicationFactory = new RememberingFactory();
  const service = new ClientService(endpoint, applicationFactory, {
    retryPolicy: backoffPolicy(1, 60, 1.5, () => 0),
    ...rest,
    clock,
  });
  if (startService) service.startService();
  return [
    { ...partial, applicationProtocols, applicationFactory },
    service,
    clock,
  ];
}

/** Stops the service, checking nothing is left on the clock. */
function cleanUp(service: ClientService, clock: Clock): void {
  if (service.running) service.stopService();
  assert.deepEqual(clock.getDelayedCalls(), []);
}

const lost = () => new Failure(new ConnectionLost());

Deno.test("ClientService makes a connection attempt when started", () => {
  const [cq, service, clock] = makeReconnector({ fireImmediately: false });
  assert.equal(cq.connectQueue.length, 1);
  cleanUp(service, clock);
});

Deno.test("ClientService passes doStart and doStop on to the application's factory", () => {
  const [cq, service, clock] = makeReconnector();
  assert.equal(cq.applicationFactory.numPorts, 0);
  cq.passedFactories[0].doStart();
  assert.equal(cq.applicationFactory.numPorts, 1);
  cq.passedFactories[0].doStop();
  assert.equal(cq.applicationFactory.numPorts, 0);
  service.stopService();
  cq.constructedProtocols[0].connectionLost(lost());
  cleanUp(service, clock);
});

Deno.test("stopService while connected closes the connection and fires once it is lost", () => {
  const [cq, service, clock] = makeReconnector();
  const d = service.stopService();
  assertNoResult(d);
  const protocol = cq.constructedProtocols[0] as IProtocol & {
    transport: StringTransport;
  };
  assert.equal(protocol.transport.disconnecting, true);
  protocol.connectionLost(lost());
  successResultOf(d);
  cleanUp(service, clock);
});

Deno.test("a restarted ClientService waits for the old connection to close", () => {
  const [cq, service, clock] = makeReconnector();
  const d = service.stopService();
  service.startService();
  assertNoResult(d);
  assert.equal(cq.constructedProtocols.length, 1);
  cq.constructedProtocols[0].connectionLost(lost());
  successResultOf(d);
  assert.equal(cq.constructedProtocols.length, 2);
  service.stopService();
  cq.constructedProtocols[1].connectionLost(lost());
  cleanUp(service, clock);
});

Deno.test("starting while stopping connects again and serves new whenConnected calls", () => {
  const [cq, service, clock] = makeReconnector({ fireImmediately: false });
  cq.connectQueue[0].callback(undefined);
  const first = cq.constructedProtocols[0];
  const stopped = service.stopService();
  const next = service.whenConnected();
  service.startService();
  assertNoResult(next);
  assertNoResult(stopped);
  first.connectionLost(lost());
  successResultOf(stopped);
  cq.connectQueue[1].callback(undefined);
  assert.equal(successResultOf(next), cq.applicationProtocols[1]);
  const second = service.stopService();
  assertNoResult(second);
  cq.constructedProtocols[1].connectionLost(lost());
  successResultOf(second);
  cleanUp(service, clock);
});

Deno.test("starting a stopped ClientService connects again", () => {
  const [cq, service, clock] = makeReconnector({ fireImmediately: false });
  successResultOf(service.stopService());
  failureResultOf(service.whenConnected(), CancelledError);
  service.startService();
  cq.connectQueue.at(-1)!.callback(undefined);
  assert.equal(
    successResultOf(service.whenConnected()),
    cq.applicationProtocols.at(-1),
  );
  service.stopService();
  cq.constructedProtocols.at(-1)!.connectionLost(lost());
  cleanUp(service, clock);
});

Deno.test("the protocol the transport sees keeps half-close support", () => {
  class HalfCloser extends Protocol {
    readClosed = 0;
    readConnectionLost(): void {
      this.readClosed++;
    }
    writeConnectionLost(): void {}
  }
  const [, endpoint] = endpointForTesting(true);
  let built: IProtocol | undefined;
  const service = new ClientService(
    {
      connect(factory) {
        return endpoint.connect({
          buildProtocol(addr) {
            built = factory.buildProtocol(addr) ?? undefined;
            return built ?? null;
          },
          doStart() {},
          doStop() {},
        });
      },
    },
    Factory.forProtocol(HalfCloser),
    { clock: new Clock() },
  );
  service.startService();
  const app = successResultOf(service.whenConnected()) as HalfCloser;
  const facing = built as IProtocol & { readConnectionLost?: () => void };
  assert.notEqual(facing, app);
  assert.equal(typeof facing.readConnectionLost, "function");
  facing.readConnectionLost!();
  assert.equal(app.readClosed, 1);
  service.stopService();
  facing.connectionLost(lost());
});

Deno.test("stopping while waiting to retry cancels the retry", () => {
  const [cq, service, clock] = makeReconnector({ fireImmediately: false });
  cq.connectQueue[0].errback(new Error("no connection"));
  const d = service.stopService();
  assert.deepEqual(clock.getDelayedCalls(), []);
  successResultOf(d);
  cleanUp(service, clock);
});

Deno.test("stopping while a retry attempt is under way cancels it", () => {
  const [cq, service, clock] = makeReconnector({ fireImmediately: false });
  cq.connectQueue[0].errback(new Error("refused"));
  clock.advance(AT_LEAST_ONE_ATTEMPT);
  assert.equal(cq.connectQueue.length, 2);
  const d = service.stopService();
  successResultOf(d);
  assert.equal(cq.connectQueue[1].called, true, "the attempt was cancelled");
  cleanUp(service, clock);
});

Deno.test("stopping while first connecting cancels the attempt", () => {
  const [cq, service, clock] = makeReconnector({ fireImmediately: false });
  assertNoResult(cq.connectQueue[0]);
  successResultOf(service.stopService());
  assert.equal(cq.connectQueue[0].called, true, "the attempt was cancelled");
  cleanUp(service, clock);
});

Deno.test("once connected, whenConnected fires with the application's protocol and no timer is left", () => {
  const [cq, service, clock] = makeReconnector();
  const awaiting = service.whenConnected();
  assert.deepEqual(clock.getDelayedCalls(), []);
  assert.equal(successResultOf(awaiting), cq.applicationProtocols[0]);
  assert.equal(
    (cq.constructedProtocols[0] as IProtocol & { wrapped: IProtocol }).wrapped,
    cq.applicationProtocols[0],
  );
  assert.equal(service.failedAttempts, 0);
  service.stopService();
  cq.constructedProtocols[0].connectionLost(lost());
  cleanUp(service, clock);
});

Deno.test("a failed attempt is retried after the policy's delay", () => {
  const [cq, service, clock] = makeReconnector({ fireImmediately: false });
  cq.connectQueue[0].errback(new Error("refused"));
  const whenConnected = service.whenConnected();
  assertNoResult(whenConnected);
  whenConnected.addErrback((f) => f.trap(CancelledError));
  assert.equal(clock.getDelayedCalls()[0].getTime(), 1.5);
  clock.advance(1.4);
  assert.equal(cq.connectQueue.length, 1);
  clock.advance(0.1);
  assert.equal(cq.connectQueue.length, 2);
  assert.equal(service.failedAttempts, 1);
  cleanUp(service, clock);
});

Deno.test("delays follow the back-off policy and reset after a connection", () => {
  const [cq, service, clock] = makeReconnector({ fireImmediately: false });
  const delays: number[] = [];
  for (let i = 0; i < 4; i++) {
    cq.connectQueue[i].errback(new Error("refused"));
    const [call] = clock.getDelayedCalls();
    delays.push(call.getTime() - clock.seconds());
    clock.advance(call.getTime() - clock.seconds());
  }
  assert.deepEqual(delays, [1.5, 2.25, 3.375, 5.0625]);
  cq.connectQueue[4].callback(undefined);
  assert.equal(service.failedAttempts, 0);
  cq.constructedProtocols[0].connectionLost(lost());
  assert.equal(clock.getDelayedCalls()[0].getTime() - clock.seconds(), 1.5);
  cleanUp(service, clock);
});

Deno.test("a lost connection is retried and the next protocol handed out", () => {
  const [cq, service, clock] = makeReconnector({ fireImmediately: false });
  cq.connectQueue[0].callback(undefined);
  assert.equal(
    successResultOf(service.whenConnected()),
    cq.applicationProtocols[0],
  );
  cq.constructedProtocols[0].connectionLost(lost());
  const next = service.whenConnected();
  assertNoResult(next);
  clock.advance(AT_LEAST_ONE_ATTEMPT);
  assert.equal(cq.connectQueue.length, 2);
  cq.connectQueue[1].callback(undefined);
  assert.equal(successResultOf(next), cq.applicationProtocols[1]);
  service.stopService();
  cq.constructedProtocols[1].connectionLost(lost());
  cleanUp(service, clock);
});

Deno.test("a factory that refuses connections is retried", () => {
  const [cq, service, clock] = makeReconnector({
    fireImmediately: false,
    refuseConnections: true,
  });
  const whenConnected = service.whenConnected();
  cq.connectQueue[0].callback(undefined);
  assertNoResult(whenConnected);
  clock.advance(AT_LEAST_ONE_ATTEMPT);
  assert.equal(cq.connectQueue.length, 2);
  cq.connectQueue[1].callback(undefined);
  assertNoResult(whenConnected);
  cleanUp(service, clock);
  failureResultOf(whenConnected, CancelledError);
});

Deno.test("a connection lost while stopping finishes the stop and cancels waiters", () => {
  const [cq, service, clock] = makeReconnector();
  const d = service.stopService();
  cq.constructedProtocols[0].connectionLost(lost());
  failureResultOf(service.whenConnected(), CancelledError);
  assert.equal(d.called, true);
  cleanUp(service, clock);
});

Deno.test("starting twice logs a complaint and makes no second attempt", () => {
  using logs = captureLogs();
  const [cq, service, clock] = makeReconnector({
    fireImmediately: false,
    startService: false,
  });
  service.startService();
  service.startService();
  assert.equal(cq.connectQueue.length, 1);
  assert.match(
    logs.messages.join("\n"),
    /Duplicate ClientService\.startService/,
  );
  cleanUp(service, clock);
});

Deno.test("whenConnected calls made before connecting all fire with the same protocol", () => {
  const [cq, service, clock] = makeReconnector({ fireImmediately: false });
  const a = service.whenConnected();
  const b = service.whenConnected();
  const c = service.whenConnected({ failAfterFailures: 1 });
  assertNoResult(a);
  cq.connectQueue[0].callback(undefined);
  assert.equal(successResultOf(a), cq.applicationProtocols[0]);
  assert.equal(successResultOf(b), cq.applicationProtocols[0]);
  assert.equal(successResultOf(c), cq.applicationProtocols[0]);
  service.stopService();
  cq.constructedProtocols[0].connectionLost(lost());
  cleanUp(service, clock);
});

Deno.test("whenConnected({ failAfterFailures }) fails after that many failures in a row", () => {
  const [cq, service, clock] = makeReconnector({ fireImmediately: false });
  const a0 = service.whenConnected();
  const a1 = service.whenConnected({ failAfterFailures: 1 });
  const a2 = service.whenConnected({ failAfterFailures: 2 });
  const a3 = service.whenConnected({ failAfterFailures: 3 });
  const e1 = new Error("first");
  cq.connectQueue[0].errback(e1);
  assertNoResult(a0);
  assert.equal(failureResultOf(a1).value, e1);
  assertNoResult(a2);
  clock.advance(AT_LEAST_ONE_ATTEMPT);
  const e2 = new Error("second");
  cq.connectQueue[1].errback(e2);
  assert.equal(failureResultOf(a2).value, e2);
  assertNoResult(a3);
  clock.advance(AT_LEAST_ONE_ATTEMPT);
  cq.connectQueue[2].callback(undefined);
  assert.equal(successResultOf(a0), cq.applicationProtocols[0]);
  assert.equal(successResultOf(a3), cq.applicationProtocols[0]);
  assert.equal(
    successResultOf(service.whenConnected({ failAfterFailures: 1 })),
    cq.applicationProtocols[0],
  );
  assert.throws(
    () => service.whenConnected({ failAfterFailures: 0 }),
    RangeError,
  );
  service.stopService();
  cq.constructedProtocols[0].connectionLost(lost());
  cleanUp(service, clock);
});

Deno.test("stopService fails every waiting whenConnected with CancelledError", () => {
  const [, service, clock] = makeReconnector({ fireImmediately: false });
  const a = service.whenConnected();
  const b = service.whenConnected({ failAfterFailures: 1 });
  service.stopService();
  clock.advance(AT_LEAST_ONE_ATTEMPT);
  failureResultOf(a, CancelledError);
  failureResultOf(b, CancelledError);
});

Deno.test("whenConnected fails with CancelledError when stopped between attempts", () => {
  const [cq, service, clock] = makeReconnector({ fireImmediately: false });
  const before = service.whenConnected();
  cq.connectQueue[0].errback(new Error("no connection"));
  service.stopService();
  const after = service.whenConnected();
  failureResultOf(before, CancelledError);
  failureResultOf(after, CancelledError);
  cleanUp(service, clock);
});

Deno.test("stopService before startService, or twice, fires at once", () => {
  const [, service, clock] = makeReconnector({ startService: false });
  assert.equal(successResultOf(service.stopService()), undefined);
  assert.equal(successResultOf(service.stopService()), undefined);
  cleanUp(service, clock);
});

Deno.test("stopping twice while disconnecting: both Deferreds fire when the connection is gone", () => {
  const [cq, service, clock] = makeReconnector({ fireImmediately: false });
  cq.connectQueue[0].callback(undefined);
  const first = service.stopService();
  const second = service.stopService();
  cq.constructedProtocols[0].connectionLost(lost());
  successResultOf(first);
  successResultOf(second);
  cleanUp(service, clock);
});

Deno.test("stop, start, stop while disconnecting: both Deferreds fire when the connection is gone", () => {
  const [cq, service, clock] = makeReconnector({ fireImmediately: false });
  cq.connectQueue[0].callback(undefined);
  const first = service.stopService();
  service.startService();
  const second = service.stopService();
  cq.constructedProtocols[0].connectionLost(lost());
  successResultOf(first);
  successResultOf(second);
  assert.equal(cq.connectQueue.length, 1, "it did not reconnect");
  cleanUp(service, clock);
});

Deno.test("prepareConnection is called with each new protocol, on reconnect too", () => {
  const prepared: IProtocol[] = [];
  const [cq, service, clock] = makeReconnector({
    fireImmediately: false,
    prepareConnection: (p) => void prepared.push(p),
  });
  cq.connectQueue[0].errback(new Error("refused"));
  assert.equal(prepared.length, 0, "not called for a failed attempt");
  clock.advance(AT_LEAST_ONE_ATTEMPT);
  cq.connectQueue[1].callback(undefined);
  assert.deepEqual(prepared, [cq.applicationProtocols[0]]);
  cq.constructedProtocols[0].connectionLost(lost());
  clock.advance(AT_LEAST_ONE_ATTEMPT);
  cq.connectQueue[2].callback(undefined);
  assert.deepEqual(prepared, cq.applicationProtocols);
  service.stopService();
  cq.constructedProtocols[1].connectionLost(lost());
  cleanUp(service, clock);
});

Deno.test("prepareConnection's value is ignored, and whenConnected waits for its Deferred", () => {
  const ready = new Deferred<string>();
  const [cq, service, clock] = makeReconnector({
    prepareConnection: () => ready,
  });
  const whenConnected = service.whenConnected();
  assertNoResult(whenConnected);
  ready.callback("ignored");
  assert.equal(successResultOf(whenConnected), cq.applicationProtocols[0]);
  service.stopService();
  cq.constructedProtocols[0].connectionLost(lost());
  cleanUp(service, clock);
});

Deno.test("a prepareConnection that throws closes the connection and counts as a failure", () => {
  const [cq, service, clock] = makeReconnector({
    prepareConnection: () => {
      throw new RangeError("unhealthy");
    },
  });
  const transport = (cq.constructedProtocols[0] as IProtocol & {
    transport: StringTransport;
  }).transport;
  assert.equal(
    transport.disconnecting,
    true,
    "the rejected connection is closed",
  );
  const whenConnected = service.whenConnected({ failAfterFailures: 2 });
  assertNoResult(whenConnected);
  clock.advance(AT_LEAST_ONE_ATTEMPT);
  assertNoResult(whenConnected);
  clock.advance(AT_LEAST_ONE_ATTEMPT);
  failureResultOf(whenConnected, RangeError);
  assert.equal(service.failedAttempts, 3);
  cleanUp(service, clock);
});

Deno.test("stopping while prepareConnection runs cancels it and closes the connection", () => {
  let cancelled = false;
  const [cq, service, clock] = makeReconnector({
    prepareConnection: () => new Deferred<void>(() => void (cancelled = true)),
  });
  const d = service.stopService();
  successResultOf(d);
  assert.equal(cancelled, true);
  const transport = (cq.constructedProtocols[0] as IProtocol & {
    transport: StringTransport;
  }).transport;
  assert.equal(transport.disconnecting, true);
  cleanUp(service, clock);
});

// ------------------------------------------------ ClientService over TCP

Deno.test("ClientService reconnects over TCP to a server that restarts", async () => {
  const served = new Set<Protocol>();
  class Echo extends Protocol {
    override connectionMade(): void {
      served.add(this);
    }
    override dataReceived(data: Uint8Array): void {
      this.transport!.write(data);
    }
    override connectionLost(): void {
      served.delete(this);
    }
  }
  const received: string[] = [];
  class Client extends Protocol {
    got = new Deferred<string>();
    gone = new Deferred<void>();
    override connectionLost(): void {
      this.gone.callback();
    }
    override dataReceived(data: Uint8Array): void {
      received.push(new TextDecoder().decode(data));
      if (!this.got.called) this.got.callback(received.at(-1)!);
    }
  }
  const listen = (port: number) =>
    reactor.listenTCP(port, Factory.forProtocol(Echo), {
      interface: "127.0.0.1",
    });
  let server = listen(0);
  const addr = server.getHost();
  assert.ok(addr.type === "TCP");
  const service = new ClientService(
    new TCP4ClientEndpoint(reactor, "127.0.0.1", addr.port),
    Factory.forProtocol(Client),
    { retryPolicy: () => 0.02, clock: reactor },
  );
  using logs = captureLogs();
  service.startService();
  try {
    const first = await within(
      2_000,
      "the first connection",
      service.whenConnected(),
    ) as Client;
    first.transport!.write("one");
    assert.equal(await within(2_000, "the first echo", first.got), "one");

    // The server goes away: its connection is dropped, its port closed.
    await server.stopListening();
    for (const p of served) p.transport!.loseConnection();
    await within(2_000, "the client to see the loss", first.gone);
    const refused = service.whenConnected({ failAfterFailures: 1 });
    const error = await within(
      2_000,
      "a refused attempt",
      refused.then(
        () => assert.fail("connected to a server that is down"),
        (e: unknown) => e,
      ),
    );
    assert.ok(error instanceof ConnectionRefusedError, String(error));

    // It comes back on the same port: the service finds it.
    server = listen(addr.port);
    const second = await within(
      2_000,
      "the reconnection",
      service.whenConnected(),
    ) as Client;
    assert.notEqual(second, first);
    second.transport!.write("two");
    assert.equal(await within(2_000, "the second echo", second.got), "two");
    assert.match(
      logs.messages.join("\n"),
      /Scheduling retry 1 to connect .* in 0\.02 seconds/,
    );
  } finally {
    await within(2_000, "the service to stop", service.stopService());
    await server.stopListening();
    for (const p of served) p.transport!.loseConnection();
  }
  assert.equal(service.running, false);
});
