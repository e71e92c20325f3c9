import assert from "node:assert/strict";
import { Failure } from "../../../deferred/failure.ts";
import { LineReceiver } from "../../../protocols/basic.ts";
import { Factory, Protocol } from "../../../protocols/protocol.ts";
import {
  TimeoutFactory,
  TimeoutMixin,
  type TimeoutProtocol,
} from "../../../protocols/policies/timeouts.ts";
import { ConnectionDone } from "../../../reactor/errors.ts";
import type { IAddress } from "../../../reactor/interfaces.ts";
import { Clock } from "../../../testing/clock.ts";
import {
  StringTransport,
  StringTransportWithDisconnection,
} from "../../../testing/string_transport.ts";
import { decode, encode } from "../../_helpers.ts";

const ADDR: IAddress = { type: "TCP", host: "127.0.0.1", port: 35 };
const done = () => new Failure(new ConnectionDone());

/** Records its life, like Twisted's SimpleProtocol. */
class SimpleProtocol extends Protocol {
  disconnected = false;
  buffer = "";
  override connectionLost(_reason: Failure): void {
    this.disconnected = true;
  }
  override dataReceived(data: Uint8Array): void {
    this.buffer += decode(data);
  }
}

function timeoutSetup(
  period: number | null,
): [TimeoutProtocol, Clock, SimpleProtocol] {
  const clock = new Clock();
  const factory = new TimeoutFactory(Factory.forProtocol(SimpleProtocol), {
    timeoutPeriod: period,
    clock,
  });
  const proto = factory.buildProtocol(ADDR) as TimeoutProtocol;
  const transport = new StringTransportWithDisconnection({ protocol: proto });
  proto.makeConnection(transport);
  return [proto, clock, proto.wrappedProtocol as SimpleProtocol];
}

Deno.test("TimeoutProtocol.cancelTimeout cancels the pending timeout", () => {
  const [sut, clock, wrapped] = timeoutSetup(null);
  sut.setTimeout(3);
  assert.notEqual(sut.timeoutCall, undefined);
  clock.advance(1);
  sut.cancelTimeout();
  assert.equal(sut.timeoutCall, undefined);
  clock.advance(3);
  assert.equal(wrapped.disconnected, false);
});

Deno.test("TimeoutProtocol.cancelTimeout does nothing without a timeout, after it fired, or after an outside cancel", () => {
  const [none, , w0] = timeoutSetup(null);
  assert.equal(none.timeoutCall, undefined);
  none.cancelTimeout();
  assert.equal(w0.disconnected, false);

  const [fired, clock, w1] = timeoutSetup(null);
  fired.setTimeout(3);
  clock.advance(3);
  assert.equal(w1.disconnected, true);
  fired.cancelTimeout();

  const [outside, , w2] = timeoutSetup(null);
  outside.setTimeout(3);
  outside.timeoutCall!.cancel();
  outside.cancelTimeout();
  assert.equal(w2.disconnected, false);
});

Deno.test("TimeoutFactory drops a connection idle for the timeout period", () => {
  const [, clock, wrapped] = timeoutSetup(3);
  clock.pump([0.0, 0.5, 1.0, 1.0, 0.4]);
  assert.equal(wrapped.disconnected, false);
  clock.pump([0.0, 0.2]);
  assert.equal(wrapped.disconnected, true);
});

Deno.test("TimeoutFactory resets the countdown on every write", () => {
  const [proto, clock, wrapped] = timeoutSetup(3);
  clock.pump([0.0, 0.5, 1.0]);
  proto.write(encode("bytes bytes bytes"));
  clock.pump([0.0, 1.0, 1.0]);
  assert.equal(wrapped.disconnected, false);
  proto.writeSequence([encode("bytes"), "bytes"]);
  clock.pump([0.0, 1.0, 1.0]);
  assert.equal(wrapped.disconnected, false);
  clock.pump([0.0, 2.0]);
  assert.equal(wrapped.disconnected, true);
});

Deno.test("TimeoutFactory resets the countdown on every read", () => {
  const [proto, clock, wrapped] = timeoutSetup(3);
  clock.pump([0.0, 1.0, 0.5]);
  proto.dataReceived(encode("bytes bytes bytes"));
  assert.equal(wrapped.buffer, "bytes bytes bytes");
  clock.pump([0.0, 1.0, 1.0]);
  assert.equal(wrapped.disconnected, false);
  clock.pump([0.0, 1.0, 1.0]);
  assert.equal(wrapped.disconnected, true);
});

Deno.test("TimeoutFactory cancels the countdown when the connection is lost", () => {
  const [proto, clock] = timeoutSetup(3);
  proto.loseConnection();
  assert.equal(clock.calls.length, 0);
});

// ------------------------------------------------------------ TimeoutMixin

class TimeoutTester extends TimeoutMixin(Protocol) {
  override timeOut: number | null = 3;
  timedOut = false;
  constructor(clock: Clock) {
    super();
    this.clock = clock;
  }
  override connectionMade(): void {
    this.setTimeout(this.timeOut);
  }
  override dataReceived(_data: Uint8Array): void {
    this.resetTimeout();
  }
  override timeoutConnection(): void {
    this.timedOut = true;
  }
}

Deno.test("TimeoutMixin schedules on the protocol's clock", () => {
  const clock = new Clock();
  const proto = new TimeoutTester(clock);
  proto.setTimeout(10);
  assert.equal(clock.calls.length, 1);
});

Deno.test("TimeoutMixin times out after timeOut seconds", () => {
  const clock = new Clock();
  const proto = new TimeoutTester(clock);
  proto.makeConnection(new StringTransport());
  clock.pump([0, 0.5, 1.0, 1.0]);
  assert.equal(proto.timedOut, false);
  clock.pump([0, 1.0]);
  assert.equal(proto.timedOut, true);
});

Deno.test("TimeoutMixin.resetTimeout on data delays the timeout", () => {
  const clock = new Clock();
  const proto = new TimeoutTester(clock);
  proto.makeConnection(new StringTransport());
  clock.pump([0, 0.5, 1.0, 1.0]);
  assert.equal(proto.timedOut, false);
  proto.dataReceived(encode("hello there"));
  clock.pump([0, 1.0, 1.0, 0.5]);
  assert.equal(proto.timedOut, false);
  clock.pump([0, 1.0]);
  assert.equal(proto.timedOut, true);
});

Deno.test("TimeoutMixin.setTimeout with a new period replaces the old one", () => {
  const clock = new Clock();
  const proto = new TimeoutTester(clock);
  proto.timeOut = null;
  proto.makeConnection(new StringTransport());
  proto.setTimeout(1);
  assert.equal(proto.timeOut, 1);
  clock.pump([0, 0.9]);
  assert.equal(proto.timedOut, false);
  clock.pump([0, 0.2]);
  assert.equal(proto.timedOut, true);
});

Deno.test("TimeoutMixin.setTimeout(null) cancels the timeout", () => {
  const clock = new Clock();
  const proto = new TimeoutTester(clock);
  proto.timeOut = 5;
  proto.makeConnection(new StringTransport());
  proto.setTimeout(null);
  assert.equal(proto.timeOut, null);
  clock.pump([0, 5, 5, 5]);
  assert.equal(proto.timedOut, false);
  assert.equal(clock.calls.length, 0);
});

Deno.test("TimeoutMixin.setTimeout returns the previous period", () => {
  const proto = new TimeoutTester(new Clock());
  proto.timeOut = 5;
  assert.equal(proto.setTimeout(10), 5);
  assert.equal(proto.setTimeout(null), 10);
  assert.equal(proto.setTimeout(1), null);
  assert.equal(proto.timeOut, 1);
  proto.setTimeout(null);
});

Deno.test("TimeoutMixin.setTimeout(null) copes with a timeout cancelled elsewhere", () => {
  const clock = new Clock();
  const proto = new TimeoutTester(clock);
  proto.setTimeout(3);
  clock.getDelayedCalls()[0].cancel();
  assert.notEqual(proto.timeOut, null);
  proto.setTimeout(null);
  assert.equal(proto.timeOut, null);
  proto.setTimeout(2);
  clock.advance(2);
  assert.equal(proto.timedOut, true, "a new timeout works after that");
});

Deno.test("TimeoutMixin does not reset a timeout that already fired", () => {
  const clock = new Clock();
  const proto = new TimeoutTester(clock);
  proto.makeConnection(new StringTransport());
  clock.advance(3);
  assert.equal(proto.timedOut, true);
  proto.resetTimeout();
  assert.equal(clock.calls.length, 0);
});

Deno.test("TimeoutMixin cancels the countdown on connectionLost, and drops the connection by default", () => {
  const order: string[] = [];
  class Idle extends TimeoutMixin(LineReceiver) {
    override connectionLost(reason: Failure): void {
      order.push(`lost, ${this.clock.getDelayedCalls().length} calls`);
      super.connectionLost(reason);
    }
  }
  const clock = new Clock();
  const proto = new Idle();
  proto.clock = clock;
  const transport = new StringTransport();
  proto.makeConnection(transport);
  proto.setTimeout(5);
  proto.connectionLost(done());
  assert.deepEqual(order, ["lost, 1 calls"]);
  assert.equal(
    clock.calls.length,
    0,
    "cancelled by the mixin's connectionLost",
  );

  const other = new Idle();
  other.clock = clock;
  const t2 = new StringTransport();
  other.makeConnection(t2);
  other.setTimeout(5);
  clock.advance(5);
  assert.equal(t2.disconnecting, true);
});
