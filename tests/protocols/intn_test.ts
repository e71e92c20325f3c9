import assert from "node:assert/strict";
import {
  Int16StringReceiver,
  Int32StringReceiver,
  Int8StringReceiver,
  type IntNStringReceiver,
  StringTooLongError,
} from "../../protocols/basic.ts";
import { StringTransport } from "../../testing/string_transport.ts";
import { decode, encode } from "../_helpers.ts";
import { connected, feed } from "./_framing.ts";

// ----------------------------------------------------- IntNStringReceiver

type IntNClass = new () => IntNStringReceiver;

function collecting(Base: IntNClass) {
  return class extends (Base as unknown as new () => Int8StringReceiver) {
    received: Uint8Array[] = [];
    limits: number[] = [];
    override MAX_LENGTH = 50;
    override stringReceived(data: Uint8Array): void {
      this.received.push(data);
    }
  };
}

const intNCases: [string, IntNClass, number][] = [
  ["Int8StringReceiver", Int8StringReceiver, 1],
  ["Int16StringReceiver", Int16StringReceiver, 2],
  ["Int32StringReceiver", Int32StringReceiver, 4],
];

function prefixed(prefix: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(prefix + payload.length);
  let n = payload.length;
  for (let i = prefix - 1; i >= 0; i--) {
    out[i] = n & 0xff;
    n = Math.floor(n / 256);
  }
  out.set(payload, prefix);
  return out;
}

for (const [name, Cls, prefix] of intNCases) {
  const Collect = collecting(Cls);

  Deno.test(`${name} receives the same strings at every chunk size`, () => {
    const strings = [
      encode("a"),
      encode("b".repeat(16)),
      new Uint8Array(0),
      encode("é"),
    ];
    const sender = new Collect();
    const out = new StringTransport();
    sender.makeConnection(out);
    for (const s of strings) sender.sendString(s);
    const wire = out.value();
    for (let size = 1; size <= wire.length; size++) {
      const [proto] = connected(new Collect());
      feed(proto, wire, size);
      assert.deepEqual(proto.received, strings, `${size}`);
    }
  });

  Deno.test(`${name} writes a big-endian ${prefix}-byte prefix`, () => {
    const [proto, transport] = connected(new Collect());
    proto.sendString("foo");
    assert.deepEqual(transport.value(), prefixed(prefix, encode("foo")));
  });

  Deno.test(`${name} delivers nothing for partial input`, () => {
    for (
      const partial of [
        prefixed(prefix, encode("hello")).subarray(0, prefix + 3),
        encode(""),
      ]
    ) {
      const [proto] = connected(new Collect());
      feed(proto, partial, 1);
      assert.deepEqual(proto.received, []);
    }
    if (prefix > 1) {
      const [proto] = connected(new Collect());
      proto.dataReceived(new Uint8Array(prefix - 1));
      assert.deepEqual(proto.received, []);
    }
  });

  Deno.test(`${name} calls lengthLimitExceeded as soon as an oversize prefix arrives`, () => {
    class Limited extends Collect {
      override lengthLimitExceeded(length: number): void {
        this.limits.push(length);
      }
    }
    const [proto, transport] = connected(new Limited());
    proto.MAX_LENGTH = 10;
    proto.dataReceived(
      prefixed(prefix, new Uint8Array(11)).subarray(0, prefix),
    );
    assert.deepEqual(proto.limits, [11]);
    assert.equal(transport.disconnecting, false, "the override decides");
    proto.dataReceived(new Uint8Array(11));
    proto.dataReceived(prefixed(prefix, encode("late")));
    assert.deepEqual(
      proto.received,
      [],
      "nothing is parsed after a bad prefix",
    );
    assert.deepEqual(proto.limits, [11]);
  });

  Deno.test(`${name} drops the connection on an oversize prefix by default and delivers nothing`, () => {
    const [proto, transport] = connected(new Collect());
    proto.MAX_LENGTH = 10;
    proto.dataReceived(prefixed(prefix, new Uint8Array(11)));
    assert.equal(transport.disconnecting, true);
    assert.deepEqual(proto.received, []);
  });

  Deno.test(`${name} throws StringTooLongError for a string its prefix cannot describe`, () => {
    const [proto, transport] = connected(new Collect());
    const max = 2 ** (8 * prefix) - 1;
    if (prefix < 4) {
      assert.throws(
        () => proto.sendString(new Uint8Array(max + 1)),
        (e: unknown) =>
          e instanceof StringTooLongError && e.length === max + 1 &&
          e.maxLength === max,
      );
      assert.equal(transport.value().length, 0, "nothing was written");
      proto.sendString(new Uint8Array(max));
      assert.equal(transport.value().length, prefix + max);
    } else {
      // A 4 GiB string is not allocated here; the limit is checked by length.
      const fake = { length: max + 1 } as unknown as Uint8Array;
      Object.setPrototypeOf(fake, Uint8Array.prototype);
      assert.throws(() => proto.sendString(fake), StringTooLongError);
    }
  });
}

Deno.test("Int32StringReceiver reads the prefix as unsigned", () => {
  class Limited extends Int32StringReceiver {
    limits: number[] = [];
    override lengthLimitExceeded(length: number): void {
      this.limits.push(length);
    }
  }
  const [proto] = connected(new Limited());
  proto.dataReceived(new Uint8Array([0xff, 0xff, 0xff, 0xff]));
  assert.deepEqual(proto.limits, [4294967295]);
});

Deno.test("Int16StringReceiver pauses and resumes delivery of buffered strings", () => {
  class OneAtATime extends Int16StringReceiver {
    received: string[] = [];
    override stringReceived(data: Uint8Array): void {
      this.received.push(decode(data));
      this.pauseProducing();
    }
  }
  const [proto] = connected(new OneAtATime());
  proto.dataReceived(new Uint8Array([0, 1, 0x61, 0, 1, 0x62]));
  assert.deepEqual(proto.received, ["a"]);
  proto.resumeProducing();
  assert.deepEqual(proto.received, ["a", "b"]);
});
