import assert from "node:assert/strict";
import {
  StringTransport,
  StringTransportWithDisconnection,
} from "../../testing/string_transport.ts";
import { Protocol } from "../../protocols/protocol.ts";
import type { Failure } from "../../deferred/failure.ts";
import { ConnectionAborted, ConnectionDone } from "../../reactor/errors.ts";
import type { IPushProducer } from "../../reactor/interfaces.ts";

const text = (t: StringTransport) => new TextDecoder().decode(t.value());
const producer = (): IPushProducer => ({
  pauseProducing() {},
  resumeProducing() {},
  stopProducing() {},
});

Deno.test("StringTransport.value() holds every byte written, strings as UTF-8", () => {
  const t = new StringTransport();
  assert.deepEqual(t.value(), new Uint8Array());
  t.write(new Uint8Array([0x61, 0x62]));
  t.write("cé");
  t.writeSequence(["d", new Uint8Array([0x65]), ""]);
  assert.equal(text(t), "abcéde");
  assert.deepEqual(t.value().slice(2, 5), new Uint8Array([0x63, 0xc3, 0xa9]));
});

Deno.test("StringTransport.value() returns a copy that later writes leave alone", () => {
  const t = new StringTransport();
  t.write("one");
  const before = t.value();
  t.write("two");
  t.clear();
  t.write("xyz");
  assert.equal(new TextDecoder().decode(before), "one");
  assert.equal(text(t), "xyz");
});

Deno.test("StringTransport records a written array's bytes, not the array", () => {
  const t = new StringTransport();
  const chunk = new Uint8Array([1, 2, 3]);
  t.write(chunk);
  chunk[0] = 9;
  assert.deepEqual(t.value(), new Uint8Array([1, 2, 3]));
});

Deno.test("StringTransport keeps large and many small writes intact", () => {
  const t = new StringTransport();
  const big = new Uint8Array(100_000).map((_, i) => i % 251);
  for (let i = 0; i < big.length; i += 7) t.write(big.subarray(i, i + 7));
  assert.deepEqual(t.value(), big);
});

Deno.test("StringTransport.clear() forgets what was written", () => {
  const t = new StringTransport();
  t.write("abc");
  t.clear();
  assert.equal(t.value().length, 0);
  t.write("d");
  assert.equal(text(t), "d");
});

Deno.test("StringTransport.write rejects a value that is neither bytes nor string", () => {
  const t = new StringTransport();
  assert.throws(() => t.write(42 as unknown as string), {
    name: "TypeError",
    message: /expected a Uint8Array or a string, got number/,
  });
  assert.throws(
    () => t.writeSequence(["ok", null as unknown as string]),
    TypeError,
  );
  assert.equal(t.value().length, 0, "a bad sequence records nothing");
});

Deno.test("StringTransport.loseConnection sets disconnecting and still records writes", () => {
  const t = new StringTransport();
  assert.equal(t.disconnecting, false);
  t.write("a");
  t.loseConnection();
  assert.equal(t.disconnecting, true);
  assert.equal(t.disconnected, false);
  t.write("b");
  assert.equal(text(t), "ab");
});

Deno.test("StringTransport.abortConnection sets disconnected and drops later writes", () => {
  const t = new StringTransport();
  t.write("a");
  t.abortConnection();
  assert.equal(t.disconnecting, true);
  assert.equal(t.disconnected, true);
  t.write("b");
  t.writeSequence(["c"]);
  assert.equal(text(t), "a");
});

Deno.test("StringTransport.loseWriteConnection drops later writes", () => {
  const t = new StringTransport();
  t.write("a");
  t.loseWriteConnection();
  assert.equal(t.writeDisconnected, true);
  assert.equal(t.disconnecting, false);
  t.write("b");
  assert.equal(text(t), "a");
});

Deno.test("StringTransport addresses default to TCP loopback and follow the options", () => {
  const t = new StringTransport();
  assert.deepEqual(t.getHost(), {
    type: "TCP",
    host: "127.0.0.1",
    port: 12345,
  });
  assert.deepEqual(t.getPeer(), {
    type: "TCP",
    host: "127.0.0.1",
    port: 54321,
  });
  const host = { type: "UNIX", name: "/tmp/s" } as const;
  const peer = { type: "TCP", host: "::1", port: 7 } as const;
  const u = new StringTransport({ hostAddress: host, peerAddress: peer });
  assert.equal(u.getHost(), host);
  assert.equal(u.getPeer(), peer);
});

Deno.test("StringTransport records TCP options and startTLS calls", () => {
  const t = new StringTransport();
  assert.equal(t.tcpNoDelay, false);
  assert.equal(t.tcpKeepAlive, false);
  t.setTcpNoDelay(true);
  t.setTcpKeepAlive(true);
  t.startTLS({ hostname: "example.test" });
  assert.equal(t.tcpNoDelay, true);
  assert.equal(t.tcpKeepAlive, true);
  assert.deepEqual(t.tlsStarts, [{ hostname: "example.test" }]);
});

Deno.test("StringTransport.registerProducer records the producer and streaming flag", () => {
  const t = new StringTransport();
  assert.equal(t.producer, undefined);
  assert.equal(t.streaming, undefined);
  const p = producer();
  t.registerProducer(p, true);
  assert.equal(t.producer, p);
  assert.equal(t.streaming, true);
});

Deno.test("StringTransport refuses a second producer and keeps the first", () => {
  const t = new StringTransport();
  const first = producer();
  t.registerProducer(first, true);
  assert.throws(() => t.registerProducer(producer(), false), {
    message: /one is already registered/,
  });
  assert.equal(t.producer, first);
  assert.equal(t.streaming, true);
});

Deno.test("StringTransport.unregisterProducer forgets it so another can register", () => {
  const t = new StringTransport();
  t.registerProducer(producer(), false);
  t.unregisterProducer();
  assert.equal(t.producer, undefined);
  assert.equal(t.streaming, undefined);
  const next = producer();
  t.registerProducer(next, true);
  assert.equal(t.producer, next);
});

Deno.test("StringTransport.unregisterProducer throws when none is registered", () => {
  assert.throws(() => new StringTransport().unregisterProducer(), {
    message: /none is registered/,
  });
});

Deno.test("StringTransport producerState follows pause, resume and stop", () => {
  const t = new StringTransport();
  assert.equal(t.producerState, "producing");
  t.pauseProducing();
  assert.equal(t.producerState, "paused");
  t.resumeProducing();
  assert.equal(t.producerState, "producing");
  t.stopProducing();
  assert.equal(t.producerState, "stopped");
});

Deno.test("StringTransport cannot pause or resume once stopped", () => {
  const t = new StringTransport();
  t.stopProducing();
  assert.throws(() => t.pauseProducing(), { message: /was stopped/ });
  assert.throws(() => t.resumeProducing(), { message: /was stopped/ });
  assert.equal(t.producerState, "stopped");
});

Deno.test("StringTransport cannot pause or resume once disconnecting", () => {
  const t = new StringTransport();
  t.pauseProducing();
  t.loseConnection();
  assert.throws(() => t.pauseProducing(), { message: /disconnecting/ });
  assert.throws(() => t.resumeProducing(), { message: /disconnecting/ });
  assert.equal(t.producerState, "paused");
});

Deno.test("a lenient StringTransport may resume after loseConnection but not after stop", () => {
  const t = new StringTransport({ lenient: true });
  t.loseConnection();
  t.pauseProducing();
  t.resumeProducing();
  assert.equal(t.producerState, "producing");
  t.stopProducing();
  assert.throws(() => t.resumeProducing(), { message: /was stopped/ });
});

class Recorder extends Protocol {
  reasons: Failure[] = [];
  override connectionLost(reason: Failure): void {
    this.reasons.push(reason);
  }
}

Deno.test("StringTransportWithDisconnection.loseConnection calls connectionLost once with ConnectionDone", () => {
  const proto = new Recorder();
  const t = new StringTransportWithDisconnection();
  t.protocol = proto;
  proto.makeConnection(t);
  t.loseConnection();
  t.loseConnection();
  assert.equal(proto.reasons.length, 1);
  assert.ok(proto.reasons[0].value instanceof ConnectionDone);
  assert.equal(t.connected, false);
  assert.equal(t.disconnecting, true);
});

Deno.test("StringTransportWithDisconnection.abortConnection reports ConnectionAborted", () => {
  const proto = new Recorder();
  const t = new StringTransportWithDisconnection({ protocol: proto });
  t.abortConnection();
  t.loseConnection();
  assert.equal(proto.reasons.length, 1);
  assert.ok(proto.reasons[0].value instanceof ConnectionAborted);
  assert.equal(t.disconnected, true);
});

Deno.test("StringTransportWithDisconnection without a protocol says so on close", () => {
  const t = new StringTransportWithDisconnection();
  assert.throws(() => t.loseConnection(), {
    name: "TypeError",
    message: /protocol is not set/,
  });
});

Deno.test("StringTransportWithDisconnection lets connectionLost close again without re-entry", () => {
  let calls = 0;
  class Reclose extends Protocol {
    override connectionLost(): void {
      calls++;
      this.transport!.loseConnection();
    }
  }
  const proto = new Reclose();
  const t = new StringTransportWithDisconnection({ protocol: proto });
  proto.makeConnection(t);
  t.loseConnection();
  assert.equal(calls, 1);
});
