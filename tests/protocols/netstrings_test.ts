import assert from "node:assert/strict";
import { NetstringReceiver } from "../../protocols/basic.ts";
import { StringTransport } from "../../testing/string_transport.ts";
import { decode, encode } from "../_helpers.ts";
import { connected, feed, prng, randomChunks } from "./_framing.ts";

// ------------------------------------------------------- NetstringReceiver

class TestNetstring extends NetstringReceiver {
  override MAX_LENGTH = 50;
  received: string[] = [];
  override stringReceived(data: Uint8Array): void {
    this.received.push(decode(data));
  }
}

Deno.test("NetstringReceiver receives what sendString sent at every chunk size", () => {
  const strings = [
    "hello",
    "world",
    "how",
    "are",
    "you123",
    ":today",
    "a".repeat(515),
    "",
    "1:a,",
  ];
  const sender = new TestNetstring();
  const out = new StringTransport();
  sender.makeConnection(out);
  for (const s of strings) sender.sendString(s);
  const wire = out.value();
  for (let size = 1; size <= wire.length; size++) {
    const [proto, transport] = connected(new TestNetstring());
    proto.MAX_LENGTH = 699;
    feed(proto, wire, size);
    assert.deepEqual(proto.received, strings, `${size}`);
    assert.equal(transport.disconnecting, false);
  }
});

Deno.test("NetstringReceiver receives empty, one- and two-byte and nested netstrings", () => {
  const [proto] = connected(new TestNetstring());
  proto.dataReceived(encode("0:,1:a,2:ab,4:1:a,,"));
  assert.deepEqual(proto.received, ["", "a", "ab", "1:a,"]);
});

Deno.test("NetstringReceiver drops the connection on each kind of malformed input, fed a byte at a time", () => {
  const illegal = [
    "9999999999999999999999", // too many digits
    "abc", // no length
    "4:abcde", // no comma where it belongs
    "51:" + "a".repeat(51) + ",", // over MAX_LENGTH 50
    "2:aaa,", // more data than announced
    "0:a,", // data in an empty netstring
    ":aaa,", // colon without digits
    "3aaa,", // missing colon
    "aaa,", // missing number and colon
    "007:abcdefg,", // leading zeros
    "00:,", // leading zero
  ];
  for (const s of illegal) {
    const [proto, transport] = connected(new TestNetstring());
    feed(proto, encode(s), 1);
    assert.equal(transport.disconnecting, true, s);
    assert.equal(proto.brokenPeer, true, s);
    assert.deepEqual(proto.received, [], s);
  }
});

Deno.test("NetstringReceiver refuses a length by its digit count before the colon arrives", () => {
  const [proto, transport] = connected(new TestNetstring()); // MAX_LENGTH 50: 2 digits
  proto.dataReceived(encode("10"));
  assert.equal(transport.disconnecting, false);
  proto.dataReceived(encode("0"));
  assert.equal(transport.disconnecting, true);
});

Deno.test("NetstringReceiver accepts a length equal to MAX_LENGTH and refuses one more", () => {
  const [ok, t1] = connected(new TestNetstring());
  ok.MAX_LENGTH = 12;
  ok.dataReceived(encode("12:" + "x".repeat(12) + ","));
  assert.deepEqual(ok.received, ["x".repeat(12)]);
  assert.equal(t1.disconnecting, false);
  const [bad, t2] = connected(new TestNetstring());
  bad.MAX_LENGTH = 11;
  bad.dataReceived(encode("12:"));
  assert.equal(t2.disconnecting, true);
  const [worse, t3] = connected(new TestNetstring());
  worse.MAX_LENGTH = 11;
  worse.dataReceived(encode("1000"));
  assert.equal(t3.disconnecting, true);
});

Deno.test("NetstringReceiver takes netstrings split anywhere, including inside the length", () => {
  const [proto] = connected(new TestNetstring());
  for (const part of ["1", "0:01234", "56789", ","]) {
    proto.dataReceived(encode(part));
  }
  proto.dataReceived(encode("1:a,1"));
  assert.deepEqual(proto.received, ["0123456789", "a"]);
  proto.dataReceived(encode(":b,"));
  assert.deepEqual(proto.received, ["0123456789", "a", "b"]);
});

Deno.test("NetstringReceiver ignores input after a parse error and keeps earlier strings", () => {
  const [proto] = connected(new TestNetstring());
  proto.dataReceived(encode("1:a,x1:b,"));
  proto.dataReceived(encode("1:c,"));
  assert.deepEqual(proto.received, ["a"]);
});

Deno.test("NetstringReceiver pauses and resumes delivery of buffered netstrings", () => {
  class OneAtATime extends TestNetstring {
    override stringReceived(data: Uint8Array): void {
      super.stringReceived(data);
      this.pauseProducing();
    }
  }
  const [proto, transport] = connected(new OneAtATime());
  proto.dataReceived(encode("1:a,1:b,1:c,"));
  assert.deepEqual(proto.received, ["a"]);
  assert.equal(transport.producerState, "paused");
  proto.resumeProducing();
  assert.deepEqual(proto.received, ["a", "b"]);
  proto.resumeProducing();
  proto.resumeProducing();
  assert.deepEqual(proto.received, ["a", "b", "c"]);
});

Deno.test("NetstringReceiver gives the same strings for random chunkings of random payloads", () => {
  for (let seed = 1; seed <= 30; seed++) {
    const rand = prng(seed);
    const payloads: Uint8Array[] = [];
    const sender = new NetstringReceiver();
    const out = new StringTransport();
    sender.makeConnection(out);
    for (let i = 0; i < 25; i++) {
      const p = Uint8Array.from(
        { length: Math.floor(rand() * 120) },
        () => Math.floor(rand() * 256),
      );
      payloads.push(p);
      sender.sendString(p);
    }
    const got: Uint8Array[] = [];
    class Collect extends NetstringReceiver {
      override stringReceived(data: Uint8Array): void {
        got.push(data);
      }
    }
    const [proto] = connected(new Collect());
    for (const chunk of randomChunks(out.value(), rand, 200)) {
      proto.dataReceived(chunk);
    }
    assert.deepEqual(got, payloads, `seed ${seed}`);
  }
});
