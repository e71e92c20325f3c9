import assert from "node:assert/strict";
import { BytesLineReceiver, LineReceiver } from "../../protocols/basic.ts";
import { decode, encode } from "../_helpers.ts";
import { StringTransport } from "../../testing/mod.ts";
import { connected, feed, prng, randomChunks } from "./_framing.ts";

class Collect extends BytesLineReceiver {
  lines: Uint8Array[] = [];
  override lineReceived(line: Uint8Array): void {
    this.lines.push(line);
  }
}

/** `lines` joined, each followed by CRLF. */
function wireOf(lines: Uint8Array[]): Uint8Array {
  const total = lines.reduce((n, l) => n + l.length + 2, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const line of lines) {
    out.set(line, at);
    at += line.length;
    out[at++] = 13;
    out[at++] = 10;
  }
  return out;
}

const binaryLines = [
  new Uint8Array([0xff, 0xfe, 0xfd]), // never valid UTF-8
  new Uint8Array([0xc3]), // a lone lead byte
  new Uint8Array([0xe2, 0x82]), // a truncated 3-byte character
  new Uint8Array([0xed, 0xa0, 0x80]), // an encoded surrogate
  new Uint8Array([0x00, 0x0d, 0x00, 0x0a, 0x00]), // NUL, bare CR, bare LF
  new Uint8Array([]),
  new Uint8Array([0xef, 0xbb, 0xbf, 0x41]), // a BOM, then "A"
  encode("héllo"),
];

Deno.test("BytesLineReceiver delivers invalid UTF-8 lines intact at every chunk size", () => {
  const wire = wireOf(binaryLines);
  for (let size = 1; size <= wire.length; size++) {
    const [proto] = connected(new Collect());
    feed(proto, wire, size);
    assert.deepEqual(proto.lines, binaryLines, `chunk size ${size}`);
  }
});

Deno.test("BytesLineReceiver gives the same bytes as a plain split for random binary traffic", () => {
  const rand = prng(12);
  for (let round = 0; round < 50; round++) {
    const lines: Uint8Array[] = [];
    for (let i = 0; i < 40; i++) {
      const line = new Uint8Array(Math.floor(rand() * 30));
      for (let j = 0; j < line.length; j++) {
        // Any byte, but never a CR followed by LF.
        let byte = Math.floor(rand() * 256);
        if (byte === 10 && j > 0 && line[j - 1] === 13) byte = 11;
        line[j] = byte;
      }
      if (line.at(-1) === 13) line[line.length - 1] = 14; // CR + our CRLF
      lines.push(line);
    }
    const [proto] = connected(new Collect());
    for (const chunk of randomChunks(wireOf(lines), rand, 64)) {
      proto.dataReceived(chunk);
    }
    assert.deepEqual(proto.lines, lines, `round ${round}`);
  }
});

Deno.test("BytesLineReceiver lines stay as delivered when more data arrives", () => {
  const [proto] = connected(new Collect());
  const chunk = encode("one\r\ntwo\r\nthr");
  proto.dataReceived(chunk);
  proto.dataReceived(encode("ee\r\n"));
  assert.deepEqual(proto.lines.map(decode), ["one", "two", "three"]);
});

Deno.test("BytesLineReceiver switches to raw mode and back, with setLineMode(extra)", () => {
  class Upload extends BytesLineReceiver {
    events: (string | number[])[] = [];
    remaining = 0;
    override lineReceived(line: Uint8Array): void {
      this.events.push(`line ${[...line].join(",")}`);
      this.remaining = line[0];
      this.events.push([]); // the raw bytes that follow, however they come
      this.setRawMode();
    }
    override rawDataReceived(data: Uint8Array): void {
      const mine = data.subarray(0, this.remaining);
      (this.events.at(-1) as number[]).push(...mine);
      this.remaining -= mine.length;
      if (this.remaining === 0) this.setLineMode(data.subarray(mine.length));
    }
  }
  const wire = new Uint8Array([2, 13, 10, 0xff, 13, 1, 13, 10, 0xc3]);
  for (let size = 1; size <= wire.length; size++) {
    const [proto] = connected(new Upload());
    feed(proto, wire, size);
    assert.deepEqual(
      proto.events,
      ["line 2", [0xff, 13], "line 1", [0xc3]],
      `chunk size ${size}`,
    );
  }
});

Deno.test("BytesLineReceiver.clearLineBuffer returns the buffered bytes", () => {
  class Clearing extends Collect {
    cleared: Uint8Array | undefined;
    override lineReceived(line: Uint8Array): void {
      super.lineReceived(line);
      this.cleared = this.clearLineBuffer();
    }
  }
  const [proto] = connected(new Clearing());
  proto.dataReceived(new Uint8Array([0x61, 13, 10, 0xff, 13, 10, 0xfe]));
  assert.deepEqual(proto.lines, [new Uint8Array([0x61])]);
  assert.deepEqual(proto.cleared, new Uint8Array([0xff, 13, 10, 0xfe]));
});

Deno.test("BytesLineReceiver splits on a custom delimiter and sends bytes with it", () => {
  class Nl extends Collect {
    override delimiter = "\n";
  }
  const [proto, transport] = connected(new Nl());
  proto.dataReceived(new Uint8Array([0xff, 13, 10, 0x61, 10]));
  assert.deepEqual(proto.lines, [
    new Uint8Array([0xff, 13]),
    new Uint8Array([0x61]),
  ]);
  proto.sendLine(new Uint8Array([0xfe]));
  proto.sendLine("ok");
  assert.deepEqual([...transport.value()], [0xfe, 10, 0x6f, 0x6b, 10]);
});

Deno.test("BytesLineReceiver.sendLine hands the transport arrays that later lines never overwrite", () => {
  // Short lines are carved side by side from a shared slab; a transport may
  // keep what it was given (the stream transport queues it), so each array
  // must still hold its line after thousands more, across slab refills,
  // and after the caller reuses the array it sent from.
  class Keeping extends StringTransport {
    kept: Uint8Array[] = [];
    override write(data: Uint8Array | string): void {
      if (typeof data !== "string") this.kept.push(data);
      super.write(data);
    }
  }
  const transport = new Keeping();
  const proto = new Collect();
  proto.makeConnection(transport);
  const scratch = new Uint8Array(70);
  const sent: Uint8Array[] = [];
  for (let i = 0; i < 3000; i++) {
    const line = scratch.subarray(0, i % 70).fill(i & 0xff);
    sent.push(line.slice());
    proto.sendLine(line);
  }
  const long = new Uint8Array(20_000).fill(7); // past the slab: its own array
  sent.push(long);
  proto.sendLine(long);
  assert.equal(transport.kept.length, sent.length);
  transport.kept.forEach((chunk, i) => {
    assert.deepEqual([...chunk], [...sent[i], 13, 10], `line ${i}`);
  });
  assert.deepEqual([...transport.value()], [...wireOf(sent)]);
});

Deno.test("BytesLineReceiver drops the connection on an overlong line, as LineReceiver does", () => {
  class Short extends Collect {
    override MAX_LENGTH = 3;
  }
  const [proto, transport] = connected(new Short());
  proto.dataReceived(new Uint8Array([1, 2, 3, 13, 10, 1, 2, 3, 4, 13, 10]));
  assert.deepEqual(proto.lines, [new Uint8Array([1, 2, 3])]);
  assert.equal(transport.disconnecting, true);
});

Deno.test("BytesLineReceiver types lineReceived's parameter as bytes", () => {
  class Typed extends BytesLineReceiver {
    // @ts-expect-error: a BytesLineReceiver's lines are not strings
    override lineReceived(_line: string): void {}
  }
  class TextTyped extends LineReceiver {
    // @ts-expect-error: a LineReceiver's lines are not bytes
    override lineReceived(_line: Uint8Array): void {}
  }
  assert.ok(new Typed() instanceof BytesLineReceiver);
  assert.ok(new TextTyped() instanceof LineReceiver);
  const proto = new BytesLineReceiver();
  assert.throws(
    () => proto.lineReceived(new Uint8Array()),
    /BytesLineReceiver.lineReceived is not implemented/,
  );
});
