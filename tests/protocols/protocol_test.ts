import assert from "node:assert/strict";
import {
  ClientFactory,
  DatagramProtocol,
  Factory,
  ProcessProtocol,
  Protocol,
  ServerFactory,
} from "../../protocols/protocol.ts";
import { StringTransport } from "../../testing/string_transport.ts";
import { captureLogs } from "../../testing/logs.ts";
import type {
  IProcessTransport,
  ITransport,
  IUDPTransport,
} from "../../reactor/interfaces.ts";

const addr = { type: "TCP", host: "127.0.0.1", port: 1 } as const;

Deno.test("Protocol.logPrefix is the class name", () => {
  class SomeThing extends Protocol {}
  assert.equal(new SomeThing().logPrefix(), "SomeThing");
});

Deno.test("Protocol.makeConnection sets the transport, then calls connectionMade", () => {
  const seen: (ITransport | undefined)[] = [];
  class Some extends Protocol {
    override connectionMade(): void {
      seen.push(this.transport);
      assert.equal(this.connected, true);
    }
  }
  const proto = new Some();
  assert.equal(proto.connected, false);
  assert.throws(() => proto.transport, {
    name: "NotConnectedError",
    message:
      "Cannot use Some.transport: not connected (makeConnection has not run)",
  });
  const transport = new StringTransport();
  proto.makeConnection(transport);
  assert.deepEqual(seen, [transport]);
  assert.equal(proto.connected, true);
});

Deno.test("Protocol's default event methods do nothing", () => {
  const proto = new Protocol();
  const transport = new StringTransport();
  proto.makeConnection(transport);
  proto.dataReceived(new Uint8Array([1]));
  assert.equal(transport.value().length, 0);
  assert.equal(transport.disconnecting, false);
});

Deno.test("Factory.buildProtocol makes its protocol and attaches itself", () => {
  class Some extends Protocol {}
  const f = new Factory();
  f.protocol = Some;
  const a = f.buildProtocol(addr);
  const b = f.buildProtocol(addr);
  assert.ok(a instanceof Some);
  assert.notEqual(a, b, "one protocol per connection");
  assert.equal((a as Some).factory, f);
});

Deno.test("Factory.buildProtocol without a protocol class says so", () => {
  class Unset extends Factory {}
  assert.throws(() => new Unset().buildProtocol(addr), {
    name: "TypeError",
    message: "Cannot build a protocol: Unset.protocol is not set",
  });
});

Deno.test("Factory.forProtocol passes its arguments to the factory's constructor", () => {
  class ArgTaking extends Factory {
    constructor(readonly a: number, readonly b: string) {
      super();
    }
  }
  const f = ArgTaking.forProtocol(Protocol, 1, "two");
  assert.ok(f instanceof ArgTaking);
  assert.equal(f.protocol, Protocol);
  assert.equal(f.a, 1);
  assert.equal(f.b, "two");
});

Deno.test("Factory.logPrefix is the factory class's name", () => {
  class SomeKindOfFactory extends Factory {}
  assert.equal(new SomeKindOfFactory().logPrefix(), "SomeKindOfFactory");
});

Deno.test("doStart and doStop call startFactory once and stopFactory after the last", () => {
  const events: string[] = [];
  class Counted extends Factory {
    override startFactory(): void {
      events.push(`start ${this.numPorts}`);
    }
    override stopFactory(): void {
      events.push(`stop ${this.numPorts}`);
    }
  }
  const f = new Counted();
  f.noisy = false;
  f.doStart();
  f.doStart();
  f.doStart();
  assert.equal(f.numPorts, 3);
  f.doStop();
  f.doStop();
  assert.deepEqual(events, ["start 0"]);
  f.doStop();
  assert.deepEqual(events, ["start 0", "stop 0"]);
  f.doStop();
  assert.equal(f.numPorts, 0, "an extra doStop is ignored");
  assert.deepEqual(events, ["start 0", "stop 0"]);
  f.doStart();
  assert.deepEqual(events, ["start 0", "stop 0", "start 0"]);
});

Deno.test("a noisy factory logs starting and stopping; a quiet one does not", () => {
  using logs = captureLogs();
  class MyFactory extends Factory {}
  const f = new MyFactory();
  f.doStart();
  f.doStop();
  const quiet = new MyFactory();
  quiet.noisy = false;
  quiet.doStart();
  quiet.doStop();
  assert.deepEqual(logs.messages, [
    "Starting factory MyFactory",
    "Stopping factory MyFactory",
  ]);
});

Deno.test("ServerFactory and ClientFactory are Factories; ClientFactory's hooks do nothing", () => {
  assert.ok(new ServerFactory() instanceof Factory);
  const f = ClientFactory.forProtocol(Protocol);
  assert.ok(f instanceof ClientFactory);
  const connector = {
    stopConnecting() {},
    disconnect() {},
    connect() {},
    getDestination: () => addr,
  };
  f.startedConnecting(connector);
  assert.ok(f.buildProtocol(addr) instanceof Protocol);
});

// ------------------------------------------------------------ datagrams

class CountingDatagram extends DatagramProtocol {
  events: string[] = [];
  override startProtocol(): void {
    this.events.push("start");
  }
  override stopProtocol(): void {
    this.events.push(`stop (transport set: ${this.transport !== undefined})`);
  }
}

Deno.test("DatagramProtocol starts with its first port and stops after its last", () => {
  const proto = new CountingDatagram();
  const t1 = {} as IUDPTransport;
  const t2 = {} as IUDPTransport;
  proto.makeConnection(t1);
  assert.equal(proto.transport, t1);
  proto.makeConnection(t2);
  assert.equal(proto.numPorts, 2);
  assert.deepEqual(proto.events, ["start"]);
  proto.doStop();
  assert.deepEqual(proto.events, ["start"]);
  proto.doStop();
  assert.deepEqual(proto.events, ["start", "stop (transport set: true)"]);
  assert.equal(proto.transport, undefined);
  proto.doStop();
  assert.equal(proto.numPorts, 0, "an extra doStop is ignored");
  assert.equal(proto.logPrefix(), "CountingDatagram");
});

// ------------------------------------------------------------ processes

class Routed extends ProcessProtocol {
  events: string[] = [];
  override connectionMade(): void {
    this.events.push(`made ${this.transport !== undefined}`);
  }
  override outReceived(data: Uint8Array): void {
    this.events.push(`out ${new TextDecoder().decode(data)}`);
  }
  override errReceived(data: Uint8Array): void {
    this.events.push(`err ${new TextDecoder().decode(data)}`);
  }
  override inConnectionLost(): void {
    this.events.push("in lost");
  }
  override outConnectionLost(): void {
    this.events.push("out lost");
  }
  override errConnectionLost(): void {
    this.events.push("err lost");
  }
}

Deno.test("ProcessProtocol routes fds 1 and 2 to outReceived and errReceived", () => {
  const proto = new Routed();
  proto.makeConnection({} as IProcessTransport);
  const enc = new TextEncoder();
  proto.childDataReceived(1, enc.encode("a"));
  proto.childDataReceived(2, enc.encode("b"));
  proto.childDataReceived(3, enc.encode("ignored"));
  assert.deepEqual(proto.events, ["made true", "out a", "err b"]);
});

Deno.test("ProcessProtocol routes the closing of fds 0, 1 and 2", () => {
  const proto = new Routed();
  for (const fd of [2, 0, 1, 5]) proto.childConnectionLost(fd);
  assert.deepEqual(proto.events, ["err lost", "in lost", "out lost"]);
});
