// Endpoints: TCP endpoints on loopback sockets (UNIX endpoints on real
// sockets are in _unix_cases.ts); description strings are tested in
// endpoint_descriptions_test.ts.

import assert from "node:assert/strict";
import { Factory, Protocol } from "../../../protocols/protocol.ts";
import type { Failure } from "../../../deferred/failure.ts";
import { reactor } from "../../../reactor/reactor.ts";
import {
  CannotListenError,
  ConnectionDone,
  ConnectionRefusedError,
  NoProtocol,
} from "../../../reactor/errors.ts";
import {
  clientFromString,
  serverFromString,
} from "../../../reactor/endpoints/endpoint_descriptions.ts";
import {
  ConnectingCancelledError,
  connectProtocol,
  TCP4ClientEndpoint,
  TCP4ServerEndpoint,
} from "../../../reactor/endpoints/endpoints.ts";
import type {
  IClientFactory,
  IConnector,
  IProtocolFactory,
  IReactorTCP,
} from "../../../reactor/interfaces.ts";
import { captureLogs } from "../../../testing/logs.ts";
import { decode, within } from "../../_helpers.ts";
import {
  EchoRecorder,
  freePort,
  fullListener,
  portOf,
  Recorder,
} from "../net/_stream_helpers.ts";

const WAIT = 10_000;

// ------------------------------------------------------------- sockets

Deno.test("TCP endpoints from strings listen and connect; connect fires after connectionMade", async () => {
  using _logs = captureLogs();
  const factory = Factory.forProtocol(EchoRecorder);
  factory.noisy = false;
  const port = await serverFromString(reactor, "tcp:0:interface=127.0.0.1")
    .listen(factory);
  const portNumber = portOf(port.getHost());
  try {
    class Hello extends Recorder {
      override connectionMade(): void {
        super.connectionMade();
        this.transport!.write("hello");
      }
    }
    const proto = new Hello();
    const connecting = connectProtocol(
      clientFromString(reactor, `tcp:127.0.0.1:${portNumber}`),
      proto,
    );
    const connected = await within(
      WAIT,
      "the endpoint",
      connecting.asPromise(),
    );
    assert.equal(connected, proto);
    assert.deepEqual(proto.events, ["connectionMade"]);
    await within(WAIT, "the echo", proto.bytes(5));
    assert.equal(decode(proto.data()), "hello");
    proto.transport!.loseConnection();
    const reason = await within(WAIT, "connectionLost", proto.lost.promise);
    assert.ok(reason.check(ConnectionDone));
  } finally {
    await port.stopListening();
  }
});

Deno.test("a server endpoint on a port in use fails with CannotListenError", async () => {
  using _logs = captureLogs();
  const first = reactor.listenTCP(0, new Factory(), { interface: "127.0.0.1" });
  try {
    const endpoint = new TCP4ServerEndpoint(reactor, portOf(first.getHost()), {
      interface: "127.0.0.1",
    });
    await assert.rejects(
      endpoint.listen(new Factory()).asPromise(),
      CannotListenError,
    );
  } finally {
    await first.stopListening();
  }
});

Deno.test("a client endpoint fails with the connector's reason, or NoProtocol", async () => {
  using logs = captureLogs();
  const refused = new TCP4ClientEndpoint(reactor, "127.0.0.1", freePort());
  await assert.rejects(
    refused.connect(Factory.forProtocol(Protocol)).asPromise(),
    ConnectionRefusedError,
  );
  const port = reactor.listenTCP(0, Factory.forProtocol(Recorder), {
    interface: "127.0.0.1",
  });
  try {
    const endpoint = new TCP4ClientEndpoint(
      reactor,
      "127.0.0.1",
      portOf(port.getHost()),
    );
    const nothing: IProtocolFactory = {
      buildProtocol: () => null,
      doStart() {},
      doStop() {},
    };
    await assert.rejects(endpoint.connect(nothing).asPromise(), NoProtocol);
    class Bad extends Protocol {
      override connectionMade(): void {
        throw new RangeError("bad start");
      }
    }
    await assert.rejects(
      connectProtocol(endpoint, new Bad()).asPromise(),
      RangeError,
    );
    assert.equal(logs.flushLoggedErrors(RangeError).length, 1);
  } finally {
    await port.stopListening();
  }
});

Deno.test("cancelling a client endpoint's Deferred stops connecting with ConnectingCancelledError", async () => {
  using _logs = captureLogs();
  // A listener that never accepts, its queue full: connecting hangs.
  const { listener, fillers } = await fullListener();
  // A reactor stand-in that lets the test see the attempt wind down.
  const settled = Promise.withResolvers<Failure>();
  const watching: IReactorTCP = {
    listenTCP: reactor.listenTCP.bind(reactor),
    connectTCP(host, port, factory: IClientFactory, options) {
      const watched: IClientFactory = {
        buildProtocol: (a) => factory.buildProtocol(a),
        doStart: () => factory.doStart(),
        doStop: () => factory.doStop(),
        startedConnecting: (c: IConnector) => factory.startedConnecting(c),
        clientConnectionLost: (c, r) => factory.clientConnectionLost(c, r),
        clientConnectionFailed: (c, r) => {
          factory.clientConnectionFailed(c, r);
          settled.resolve(r);
        },
      };
      return reactor.connectTCP(host, port, watched, options);
    },
  };
  try {
    const endpoint = new TCP4ClientEndpoint(
      watching,
      "127.0.0.1",
      listener.addr.port,
    );
    const d = endpoint.connect(Factory.forProtocol(Protocol));
    d.cancel();
    const failure = await d.asPromise().then(
      () => assert.fail("connected"),
      (e) => e,
    );
    assert.ok(failure instanceof ConnectingCancelledError);
    assert.deepEqual(failure.address, {
      type: "TCP",
      host: "127.0.0.1",
      port: listener.addr.port,
    });
    await within(WAIT, "the attempt to wind down", settled.promise);
  } finally {
    for (const c of fillers) c.close();
    listener.close();
  }
});

Deno.test("a half-closeable protocol connected through an endpoint still hears readConnectionLost", async () => {
  using _logs = captureLogs();
  class Closer extends Recorder {
    override connectionMade(): void {
      super.connectionMade();
      this.transport!.write("bye");
      this.transport!.loseWriteConnection();
    }
  }
  const server = new Closer();
  const factory = new Factory();
  factory.noisy = false;
  factory.buildProtocol = () => server;
  const port = reactor.listenTCP(0, factory, { interface: "127.0.0.1" });
  try {
    class Half extends Recorder {
      readConnectionLost(): void {
        this.events.push("readConnectionLost");
        this.transport!.loseConnection();
      }
      writeConnectionLost(): void {}
    }
    const proto = new Half();
    await within(
      WAIT,
      "connected",
      connectProtocol(
        new TCP4ClientEndpoint(reactor, "127.0.0.1", portOf(port.getHost())),
        proto,
      ).asPromise(),
    );
    await within(WAIT, "connectionLost", proto.lost.promise);
    await within(WAIT, "server connectionLost", server.lost.promise);
    assert.equal(decode(proto.data()), "bye");
    assert.deepEqual(proto.events, [
      "connectionMade",
      "dataReceived",
      "readConnectionLost",
      "connectionLost",
    ]);
  } finally {
    await port.stopListening();
  }
});
