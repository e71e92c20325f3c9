import assert from "node:assert/strict";
import { LineOnlyReceiver } from "../../protocols/basic.ts";
import { decode, encode } from "../_helpers.ts";
import { connected, feed } from "./_framing.ts";

class LineOnlyTester extends LineOnlyReceiver {
  override delimiter = "\n";
  override MAX_LENGTH = 64;
  received: string[] = [];
  override lineReceived(line: string): void {
    this.received.push(line);
  }
}

Deno.test("LineOnlyReceiver delivers the same lines at every chunk size", () => {
  const text = "foo\n    bleakness\n    desolation\n    plastic forks\n    ";
  const wire = encode(text);
  for (let size = 1; size <= wire.length; size++) {
    const [proto] = connected(new LineOnlyTester());
    feed(proto, wire, size);
    assert.deepEqual(proto.received, text.split("\n").slice(0, -1), `${size}`);
  }
});

Deno.test("LineOnlyReceiver drops the connection on a line longer than MAX_LENGTH", () => {
  const [proto, transport] = connected(new LineOnlyTester());
  proto.dataReceived(encode("x".repeat(66) + "\r\nr"));
  assert.equal(transport.disconnecting, true);
  const [other, t2] = connected(new LineOnlyTester());
  other.dataReceived(encode("x".repeat(64) + "\n"));
  assert.equal(t2.disconnecting, false);
  assert.deepEqual(other.received, ["x".repeat(64)]);
});

Deno.test("LineOnlyReceiver ignores lines after the one that closed the connection", () => {
  class Quitter extends LineOnlyTester {
    override lineReceived(line: string): void {
      super.lineReceived(line);
      if (line === "bye") this.transport.loseConnection();
    }
  }
  const [proto] = connected(new Quitter());
  proto.dataReceived(encode("a\nbye\nb\n"));
  assert.deepEqual(proto.received, ["a", "bye"]);
});

Deno.test("LineOnlyReceiver.sendLine writes the line and delimiter", () => {
  const [proto, transport] = connected(new LineOnlyTester());
  proto.sendLine("one");
  proto.sendLine(encode("two"));
  assert.equal(decode(transport.value()), "one\ntwo\n");
});

/** Records what lineLengthExceeded got, as text. */
class Exceeded extends LineOnlyTester {
  override MAX_LENGTH = 4;
  exceeded: [string, string][] = [];
  override lineLengthExceeded(line: Uint8Array, rest: Uint8Array): void {
    this.exceeded.push([decode(line), decode(rest)]);
  }
}

Deno.test("LineOnlyReceiver.lineLengthExceeded gets the overlong line, without its delimiter, and the rest", () => {
  const [proto, transport] = connected(new Exceeded());
  proto.dataReceived(encode("ok\ntoolong\nnext\npart"));
  // Twisted's LineOnlyReceiver passes the line alone; the rest comes too.
  assert.deepEqual(proto.received, ["ok"]);
  assert.deepEqual(proto.exceeded, [["toolong", "next\npart"]]);
  assert.equal(transport.disconnecting, false, "overridden: no close");
  // The buffer was emptied: what follows is parsed from scratch.
  proto.dataReceived(encode("ab\n"));
  assert.deepEqual(proto.received, ["ok", "ab"]);
});

Deno.test("LineOnlyReceiver.lineLengthExceeded gets an unterminated overlong line whole, with no rest", () => {
  const [proto] = connected(new Exceeded());
  proto.dataReceived(encode("abcd")); // MAX_LENGTH bytes: may still end
  assert.deepEqual(proto.exceeded, []);
  proto.dataReceived(encode("ef")); // MAX_LENGTH + delimiter + 1, no "\n"
  assert.deepEqual(proto.exceeded, [["abcdef", ""]]);
});

Deno.test("LineOnlyReceiver passes the same overlong line whenever it arrives whole", () => {
  // (In smaller chunks, MAX_LENGTH + 1 bytes without a delimiter already
  // count as too long, as in Twisted: the hook then gets those bytes.)
  const wire = encode("a\nbcdefgh\ni\nj");
  for (let size = 10; size <= wire.length; size++) {
    const [proto] = connected(new Exceeded());
    feed(proto, wire, size);
    assert.equal(proto.received[0], "a", `chunk size ${size}`);
    assert.equal(proto.exceeded.length, 1, `chunk size ${size}`);
    const [line, rest] = proto.exceeded[0];
    assert.equal(line, "bcdefgh", `chunk size ${size}`);
    // The rest is whatever had arrived with the overlong line: a prefix of
    // what followed it, never bytes from before; what came later is parsed.
    assert.ok("i\nj".startsWith(rest), `chunk size ${size}: ${rest}`);
    const later = "i\nj".slice(rest.length).split("\n").slice(0, -1);
    assert.deepEqual(proto.received, ["a", ...later], `chunk size ${size}`);
  }
});

Deno.test("LineOnlyReceiver can carry on after an overlong line by feeding the rest back", () => {
  class CarryOn extends Exceeded {
    override lineLengthExceeded(line: Uint8Array, rest: Uint8Array): void {
      super.lineLengthExceeded(line, rest);
      this.dataReceived(rest);
    }
  }
  const [proto] = connected(new CarryOn());
  proto.dataReceived(encode("x\ntoolong\ny\nz\n"));
  assert.deepEqual(proto.received, ["x", "y", "z"]);
});

Deno.test("LineOnlyReceiver pauses and resumes like the other framers", () => {
  const [proto, transport] = connected(new LineOnlyTester());
  proto.pauseProducing();
  assert.equal(transport.producerState, "paused");
  proto.dataReceived(encode("a\nb\n"));
  assert.deepEqual(proto.received, []);
  proto.resumeProducing();
  assert.equal(transport.producerState, "producing");
  assert.deepEqual(proto.received, ["a", "b"]);
});
