import assert from "node:assert/strict";
import {
  Int16StringReceiver,
  Int32StringReceiver,
  Int8StringReceiver,
  type IntNStringReceiver,
  LineOnlyReceiver,
  LineReceiver,
  NetstringReceiver,
  StringTooLongError,
} from "../../protocols/basic.ts";
import { Clock } from "../../testing/clock.ts";
import { StringTransport } from "../../testing/string_transport.ts";
import { decode, encode } from "../_helpers.ts";

/** Feeds `wire` to `proto` in chunks of `size` bytes. */
function feed(
  proto: { dataReceived(d: Uint8Array): void },
  wire: Uint8Array,
  size: number,
): void {
  for (let i = 0; i < wire.length; i += size) {
    // slice, not subarray: each chunk is a fresh array, as from a socket
    proto.dataReceived(wire.slice(i, i + size));
  }
}

/** A deterministic PRNG (mulberry32), so property tests replay exactly. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Splits `wire` at random points (1 to `max` bytes per chunk). */
function randomChunks(
  wire: Uint8Array,
  rand: () => number,
  max: number,
): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < wire.length;) {
    const n = 1 + Math.floor(rand() * max);
    chunks.push(wire.slice(i, i + n));
    i += n;
  }
  return chunks;
}

function connected<P extends { makeConnection(t: StringTransport): void }>(
  proto: P,
): [P, StringTransport] {
  const transport = new StringTransport();
  proto.makeConnection(transport);
  return [proto, transport];
}

// ------------------------------------------------------------ LineReceiver

/** Twisted's LineTester: reacts to "len N", "pause", "stop" and friends. */
class LineTester extends LineReceiver {
  override delimiter = "\n";
  override MAX_LENGTH = 64;
  received: string[] = [];
  length = 0;
  constructor(readonly clock?: Clock) {
    super();
  }
  override lineReceived(line: string): void {
    this.received.push(line);
    if (line === "") {
      this.setRawMode();
    } else if (line === "pause") {
      this.pauseProducing();
      this.clock!.callLater(0, () => this.resumeProducing());
    } else if (line === "rawpause") {
      this.pauseProducing();
      this.setRawMode();
      this.received.push("");
      this.clock!.callLater(0, () => this.resumeProducing());
    } else if (line === "stop") {
      this.stopProducing();
    } else if (line.startsWith("len ")) {
      this.length = Number(line.slice(4));
    } else if (line.startsWith("produce")) {
      this.transport!.registerProducer(this, false);
    } else if (line.startsWith("unproduce")) {
      this.transport!.unregisterProducer();
    }
  }
  override rawDataReceived(data: Uint8Array): void {
    const mine = data.subarray(0, this.length);
    const rest = data.subarray(this.length);
    this.length -= mine.length;
    this.received[this.received.length - 1] += decode(mine);
    if (this.length === 0) this.setLineMode(rest);
  }
  override lineLengthExceeded(rest: Uint8Array): void {
    if (rest.length > this.MAX_LENGTH + 1) {
      this.setLineMode(rest.subarray(this.MAX_LENGTH + 1));
    }
  }
}

const testerInput = encode(
  "len 10\n\n0123456789len 5\n\n1234\nlen 20\nfoo 123\n\n0123456789\n012345678len 0\nfoo 5\n\n" +
    "1234567890".repeat(7) + "\nlen 1\n\na",
);
const testerOutput = [
  "len 10",
  "0123456789",
  "len 5",
  "1234\n",
  "len 20",
  "foo 123",
  "0123456789\n012345678",
  "len 0",
  "foo 5",
  "",
  "67890",
  "len 1",
  "a",
];

Deno.test("LineReceiver switches between lines and raw data identically at every chunk size", () => {
  for (let size = 1; size <= testerInput.length; size++) {
    const [proto] = connected(new LineTester());
    feed(proto, testerInput, size);
    assert.deepEqual(proto.received, testerOutput, `chunk size ${size}`);
  }
});

Deno.test("LineReceiver delivers the same lines at every chunk size", () => {
  class Recorder extends LineReceiver {
    lines: string[] = [];
    override lineReceived(line: string): void {
      this.lines.push(line);
    }
  }
  const wire = encode("alpha\r\nbe\nta\r\n\r\ngamma\r\nrest");
  for (let size = 1; size <= wire.length; size++) {
    const [proto] = connected(new Recorder());
    feed(proto, wire, size);
    assert.deepEqual(proto.lines, ["alpha", "be\nta", "", "gamma"], `${size}`);
    assert.equal(proto.clearLineBuffer(), "rest", `${size}`);
  }
});

Deno.test("LineReceiver pauses inside a chunk and resumes with the buffered lines", () => {
  const wire = encode("twiddle1\ntwiddle2\npause\ntwiddle3\n");
  for (let size = 1; size <= wire.length; size++) {
    const clock = new Clock();
    const [proto, transport] = connected(new LineTester(clock));
    feed(proto, wire, size);
    assert.deepEqual(
      proto.received,
      ["twiddle1", "twiddle2", "pause"],
      `${size}`,
    );
    assert.equal(transport.producerState, "paused");
    clock.advance(0);
    assert.deepEqual(
      proto.received,
      ["twiddle1", "twiddle2", "pause", "twiddle3"],
      `${size}`,
    );
    assert.equal(transport.producerState, "producing");
  }
});

Deno.test("LineReceiver pauses in raw mode and resumes with the raw data", () => {
  const wire = encode("twiddle1\ntwiddle2\nlen 5\nrawpause\n12345twiddle3\n");
  for (let size = 1; size <= wire.length; size++) {
    const clock = new Clock();
    const [proto] = connected(new LineTester(clock));
    feed(proto, wire, size);
    assert.deepEqual(
      proto.received,
      ["twiddle1", "twiddle2", "len 5", "rawpause", ""],
      `${size}`,
    );
    clock.advance(0);
    assert.deepEqual(
      proto.received,
      ["twiddle1", "twiddle2", "len 5", "rawpause", "12345", "twiddle3"],
      `${size}`,
    );
  }
});

Deno.test("LineReceiver delivers nothing after stopProducing", () => {
  const wire = encode("twiddle1\ntwiddle2\nstop\nmore\nstuff\n");
  for (let size = 1; size <= wire.length; size++) {
    const [proto, transport] = connected(new LineTester());
    feed(proto, wire, size);
    assert.deepEqual(
      proto.received,
      ["twiddle1", "twiddle2", "stop"],
      `${size}`,
    );
    assert.equal(transport.producerState, "stopped");
  }
});

Deno.test("LineReceiver can register and unregister itself as a producer from lineReceived", () => {
  const [proto, transport] = connected(new LineTester());
  proto.dataReceived(encode("produce\nhello world\nunproduce\ngoodbye\n"));
  assert.deepEqual(proto.received, [
    "produce",
    "hello world",
    "unproduce",
    "goodbye",
  ]);
  assert.equal(transport.producer, undefined);
});

Deno.test("LineReceiver.clearLineBuffer returns and removes the buffered data from inside lineReceived", () => {
  class Clearing extends LineReceiver {
    line = "";
    rest = "";
    override lineReceived(line: string): void {
      this.line = line;
      this.rest = this.clearLineBuffer();
    }
  }
  const proto = new Clearing(); // never connected: no transport at all
  proto.dataReceived(encode("foo\r\nbar\r\nbaz"));
  assert.equal(proto.line, "foo");
  assert.equal(proto.rest, "bar\r\nbaz");
  proto.dataReceived(encode("quux\r\n"));
  assert.equal(proto.line, "quux");
  assert.equal(proto.rest, "");
});

Deno.test("LineReceiver switches mode 100 000 times in one chunk without growing the stack", () => {
  class Flipping extends LineReceiver {
    override delimiter = "\n";
    lines: string[] = [];
    override lineReceived(line: string): void {
      this.lines.push(line);
      this.setRawMode();
    }
    override rawDataReceived(data: Uint8Array): void {
      this.setLineMode(data.subarray(1));
    }
  }
  const [proto] = connected(new Flipping());
  const n = 100_000;
  proto.dataReceived(encode("x\nx".repeat(n)));
  assert.equal(proto.lines.length, n);
  assert.equal(proto.lines.join(""), "x".repeat(n));
});

Deno.test("LineReceiver drops the connection on a complete line longer than MAX_LENGTH", () => {
  const [proto, transport] = connected(new LineReceiver());
  proto.dataReceived(encode("x".repeat(proto.MAX_LENGTH + 1) + "\r\nr"));
  assert.equal(transport.disconnecting, true);
});

Deno.test("LineReceiver drops the connection on MAX_LENGTH + delimiter bytes without a delimiter", () => {
  const [proto, transport] = connected(new LineReceiver());
  proto.dataReceived(encode("x".repeat(proto.MAX_LENGTH + 1)));
  assert.equal(transport.disconnecting, false, "one byte short of the limit");
  proto.dataReceived(encode("x"));
  assert.equal(transport.disconnecting, true);
});

Deno.test("LineReceiver keeps a line of MAX_LENGTH whose delimiter is still arriving", () => {
  const [proto, transport] = connected(new LineReceiver());
  proto.dataReceived(encode("x".repeat(proto.MAX_LENGTH) + "\r"));
  assert.equal(transport.disconnecting, false);
});

Deno.test("LineReceiver accepts a MAX_LENGTH line whose delimiter was split across chunks", () => {
  const [proto, transport] = connected(new LineTester());
  proto.MAX_LENGTH = 4;
  proto.delimiter = "\r\n";
  const line = "xxx";
  proto.dataReceived(encode(line));
  proto.dataReceived(encode("\r"));
  proto.dataReceived(encode("\n" + line));
  assert.equal(transport.disconnecting, false);
  assert.deepEqual(proto.received, [line]);
});

class LongLineCatcher extends LineReceiver {
  override MAX_LENGTH = 6;
  longLines: string[] = [];
  lines: string[] = [];
  override lineReceived(line: string): void {
    this.lines.push(line);
  }
  override lineLengthExceeded(rest: Uint8Array): void {
    this.longLines.push(decode(rest));
  }
}

Deno.test("LineReceiver.lineLengthExceeded gets all the bytes of an unterminated long line", () => {
  const [proto] = connected(new LongLineCatcher());
  const excessive = "x".repeat(6 * 2 + 2);
  proto.dataReceived(encode(excessive));
  assert.deepEqual(proto.longLines, [excessive]);
});

Deno.test("LineReceiver.lineLengthExceeded gets the bytes after a short line", () => {
  const [proto] = connected(new LongLineCatcher());
  const excessive = "x".repeat(6 * 2 + 2);
  proto.dataReceived(encode("x\r\n" + excessive));
  assert.deepEqual(proto.lines, ["x"]);
  assert.deepEqual(proto.longLines, [excessive]);
});

Deno.test("LineReceiver.lineLengthExceeded gets the whole rest of the buffer, delimiters included", () => {
  for (
    const excessive of [
      ["x".repeat(14), "x".repeat(14)].join("\r\n"),
      ("x".repeat(14) + "\r\n").repeat(2),
    ]
  ) {
    const [proto] = connected(new LongLineCatcher());
    proto.dataReceived(encode(excessive));
    assert.deepEqual(proto.longLines, [excessive]);
    assert.deepEqual(proto.lines, []);
    assert.equal(proto.clearLineBuffer(), "", "the buffer is left empty");
  }
});

Deno.test("LineReceiver decodes UTF-8 split across chunks at every chunk size", () => {
  class Recorder extends LineReceiver {
    lines: string[] = [];
    override lineReceived(line: string): void {
      this.lines.push(line);
    }
  }
  const lines = ["héllo wörld", "€ 𝄞 日本語", "\uFEFFbom kept", ""];
  const wire = encode(lines.map((l) => l + "\r\n").join(""));
  for (let size = 1; size <= wire.length; size++) {
    const [proto] = connected(new Recorder());
    feed(proto, wire, size);
    assert.deepEqual(proto.lines, lines, `${size}`);
  }
});

Deno.test("LineReceiver turns invalid UTF-8 into replacement characters without failing", () => {
  class Recorder extends LineReceiver {
    lines: string[] = [];
    override lineReceived(line: string): void {
      this.lines.push(line);
    }
  }
  const [proto, transport] = connected(new Recorder());
  proto.dataReceived(
    new Uint8Array([
      0x61,
      0xff,
      0x62,
      0xc3,
      13,
      10,
      0xe2,
      0x82,
      13,
      10,
      0x6f,
      0x6b,
      13,
      10,
    ]),
  );
  assert.deepEqual(proto.lines, ["a\uFFFDb\uFFFD", "\uFFFD", "ok"]);
  assert.equal(transport.disconnecting, false);
});

Deno.test("LineReceiver stops delivering lines once the transport is disconnecting", () => {
  class Quitter extends LineReceiver {
    lines: string[] = [];
    override lineReceived(line: string): void {
      this.lines.push(line);
      if (line === "QUIT") this.transport!.loseConnection();
    }
  }
  const [proto] = connected(new Quitter());
  proto.dataReceived(encode("a\r\nQUIT\r\nb\r\nc\r\n"));
  proto.dataReceived(encode("d\r\n"));
  assert.deepEqual(proto.lines, ["a", "QUIT"]);
});

Deno.test("LineReceiver stops delivering raw data once the transport is disconnecting", () => {
  class RawQuitter extends LineReceiver {
    raw: string[] = [];
    override lineReceived(_line: string): void {
      this.setRawMode();
    }
    override rawDataReceived(data: Uint8Array): void {
      this.raw.push(decode(data));
      this.transport!.loseConnection();
    }
  }
  const [proto] = connected(new RawQuitter());
  proto.dataReceived(encode("go\r\nraw"));
  proto.dataReceived(encode("more"));
  assert.deepEqual(proto.raw, ["raw"]);
});

Deno.test("LineReceiver holds lines while paused and delivers them one resume at a time", () => {
  // Twisted's ConsumingProtocol: echo a line, then pause.
  class Consuming extends LineReceiver {
    override lineReceived(line: string): void {
      this.transport!.write(line + "|");
      this.pauseProducing();
    }
  }
  const [p, t] = connected(new Consuming());
  const out = () => decode(t.value());
  p.dataReceived(encode("hello, "));
  assert.equal(out(), "");
  assert.equal(p.paused, false);
  p.dataReceived(encode("world\r\n"));
  assert.equal(out(), "hello, world|");
  assert.equal(t.producerState, "paused");
  assert.equal(p.paused, true);
  p.resumeProducing();
  assert.equal(out(), "hello, world|");
  assert.equal(t.producerState, "producing");
  assert.equal(p.paused, false);
  p.dataReceived(encode("hello\r\nworld\r\n"));
  assert.equal(out(), "hello, world|hello|");
  assert.equal(p.paused, true);
  p.resumeProducing();
  assert.equal(out(), "hello, world|hello|world|");
  assert.equal(p.paused, true);
  p.dataReceived(encode("goodbye\r\n"));
  assert.equal(out(), "hello, world|hello|world|");
  p.resumeProducing();
  assert.equal(out(), "hello, world|hello|world|goodbye|");
  assert.equal(p.paused, true);
  p.resumeProducing();
  assert.equal(out(), "hello, world|hello|world|goodbye|");
  assert.equal(p.paused, false);
});

Deno.test("LineReceiver.sendLine writes the line and the delimiter in one write", () => {
  const writes: Uint8Array[] = [];
  class Spy extends StringTransport {
    override write(data: Uint8Array | string): void {
      writes.push(typeof data === "string" ? encode(data) : data);
      super.write(data);
    }
  }
  const transport = new Spy();
  const proto = new LineReceiver();
  proto.makeConnection(transport);
  proto.sendLine("héllo");
  proto.sendLine(encode("raw"));
  proto.delimiter = "\n";
  proto.sendLine("");
  assert.equal(decode(transport.value()), "héllo\r\nraw\r\n\n");
  assert.equal(writes.length, 3);
});

Deno.test("LineReceiver splits on a delimiter changed between chunks", () => {
  class Recorder extends LineReceiver {
    lines: string[] = [];
    override lineReceived(line: string): void {
      this.lines.push(line);
      if (line === "switch") this.delimiter = "||";
    }
  }
  const [proto] = connected(new Recorder());
  proto.dataReceived(encode("a\r\nswitch\r\nb|c||d|"));
  proto.dataReceived(encode("|"));
  assert.deepEqual(proto.lines, ["a", "switch", "b|c", "d"]);
});

Deno.test("LineReceiver refuses an empty delimiter with a TypeError", () => {
  class Bad extends LineReceiver {
    override delimiter = "";
  }
  const [proto] = connected(new Bad());
  assert.throws(() => proto.dataReceived(encode("x")), TypeError);
});

Deno.test("LineReceiver hooks that are not overridden throw", () => {
  const proto = new LineReceiver();
  assert.throws(
    () => proto.lineReceived("x"),
    /lineReceived is not implemented/,
  );
  assert.throws(
    () => proto.rawDataReceived(new Uint8Array(1)),
    /rawDataReceived is not implemented/,
  );
});

Deno.test("LineReceiver gives the same lines and raw bytes for random chunkings of random traffic", () => {
  // Messages: text lines, or "raw N" lines followed by N raw bytes.
  class Mixed extends LineReceiver {
    events: string[] = [];
    #want = 0;
    #raw: number[] = [];
    override lineReceived(line: string): void {
      this.events.push(`L:${line}`);
      if (line.startsWith("raw ")) {
        this.#want = Number(line.slice(4));
        this.setRawMode();
      }
    }
    override rawDataReceived(data: Uint8Array): void {
      const mine = data.subarray(0, this.#want);
      this.#raw.push(...mine);
      this.#want -= mine.length;
      if (this.#want === 0) {
        this.events.push(`R:${this.#raw.join(",")}`);
        this.#raw = [];
        this.setLineMode(data.subarray(mine.length));
      }
    }
  }
  for (let seed = 1; seed <= 40; seed++) {
    const rand = prng(seed);
    const parts: Uint8Array[] = [];
    const expected: string[] = [];
    for (let m = 0; m < 30; m++) {
      if (rand() < 0.3) {
        const n = 1 + Math.floor(rand() * 20);
        const raw = Array.from({ length: n }, () => Math.floor(rand() * 256));
        parts.push(encode(`raw ${n}\r\n`), new Uint8Array(raw));
        expected.push(`L:raw ${n}`, `R:${raw.join(",")}`);
      } else {
        const alphabet = "ab\ncdé€ \r";
        let line = "";
        const len = Math.floor(rand() * 12);
        for (let i = 0; i < len; i++) {
          line += alphabet[Math.floor(rand() * alphabet.length)];
        }
        line = line.replaceAll("\r", "r") + "x"; // no "\r\n" inside, no trailing "\r"
        parts.push(encode(line + "\r\n"));
        expected.push(`L:${line}`);
      }
    }
    const wire = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
    let at = 0;
    for (const p of parts) {
      wire.set(p, at);
      at += p.length;
    }
    const [proto] = connected(new Mixed());
    for (const chunk of randomChunks(wire, rand, 40)) proto.dataReceived(chunk);
    assert.deepEqual(proto.events, expected, `seed ${seed}`);
  }
});

Deno.test("LineReceiver parses a 1 MB line fed in 1 KB chunks and 1 MB of lines fed a byte at a time", () => {
  class Lengths extends LineReceiver {
    override MAX_LENGTH = 2 ** 21;
    lengths: number[] = [];
    override lineReceived(line: string): void {
      this.lengths.push(line.length);
    }
  }
  const [big] = connected(new Lengths());
  const chunk = new Uint8Array(1024).fill(0x61);
  for (let i = 0; i < 1024; i++) big.dataReceived(chunk);
  big.dataReceived(encode("\r\n"));
  assert.deepEqual(big.lengths, [1024 * 1024]);

  const [small] = connected(new Lengths());
  const line = encode("x".repeat(98) + "\r\n"); // 100 bytes
  const one = new Uint8Array(1);
  for (let n = 0; n < 10_000; n++) {
    for (let i = 0; i < line.length; i++) {
      one[0] = line[i];
      small.dataReceived(one.slice());
    }
  }
  assert.equal(small.lengths.length, 10_000);
  assert.ok(small.lengths.every((n) => n === 98));
});

Deno.test("LineReceiver decodes exactly as line-by-line TextDecoder for random mixes of ASCII, UTF-8 and invalid bytes", () => {
  // Pieces of a line: ASCII, bare CR or LF, multi-byte characters, a BOM,
  // invalid and truncated sequences.
  const pieces = [
    [0x61],
    [0x62, 0x63],
    [0x20],
    [0x0a],
    [0x0d],
    [0xc3, 0xa9],
    [0xe2, 0x82, 0xac],
    [0xf0, 0x9d, 0x84, 0x9e],
    [0xef, 0xbb, 0xbf],
    [0xff],
    [0xc3],
    [0xe2, 0x82],
    [0x80],
  ];
  const ref = new TextDecoder("utf-8", { ignoreBOM: true });
  class Recorder extends LineReceiver {
    override MAX_LENGTH = 1 << 20;
    lines: string[] = [];
    override lineReceived(line: string): void {
      this.lines.push(line);
    }
  }
  for (let seed = 1; seed <= 12; seed++) {
    const rand = prng(seed);
    const bytes: number[] = [];
    const asciiOnly = seed % 3 === 0; // some runs take the batch path throughout
    while (bytes.length < 30_000) {
      const len = Math.floor(rand() * 120);
      for (let i = 0; i < len; i++) {
        const piece = asciiOnly
          ? pieces[Math.floor(rand() * 5)]
          : pieces[Math.floor(rand() * pieces.length)];
        bytes.push(...piece);
      }
      bytes.push(0x0d, 0x0a);
    }
    const wire = new Uint8Array(bytes);
    // The reference: split at each CRLF, decode each line on its own.
    const expected: string[] = [];
    let start = 0;
    for (let i = 1; i < wire.length; i++) {
      if (wire[i] === 0x0a && wire[i - 1] === 0x0d && i - 1 >= start) {
        expected.push(ref.decode(wire.subarray(start, i - 1)));
        start = i + 1;
      }
    }
    const [proto] = connected(new Recorder());
    for (const chunk of randomChunks(wire, rand, 9000)) {
      proto.dataReceived(chunk);
    }
    assert.equal(proto.lines.length, expected.length, `seed ${seed}`);
    assert.deepEqual(proto.lines, expected, `seed ${seed}`);
  }
});

Deno.test("LineReceiver decodes the right bytes when a callback clears or re-feeds the buffer between lines", () => {
  class Meddler extends LineReceiver {
    lines: string[] = [];
    override lineReceived(line: string): void {
      this.lines.push(line);
      if (line === "clear") this.clearLineBuffer();
      if (line === "raw") this.setRawMode();
    }
    override rawDataReceived(data: Uint8Array): void {
      // Hand back everything but the first byte: the same bytes again, at
      // new stream offsets.
      this.setLineMode(data.subarray(1));
    }
  }
  const [proto] = connected(new Meddler());
  proto.dataReceived(
    encode("one\r\nclear\r\ngone\r\ngone too\r\n"),
  );
  proto.dataReceived(encode("two\r\nraw\r\nXthree\r\nfour\r\n"));
  assert.deepEqual(proto.lines, [
    "one",
    "clear",
    "two",
    "raw",
    "three",
    "four",
  ]);
});

// -------------------------------------------------------- LineOnlyReceiver

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
      if (line === "bye") this.transport!.loseConnection();
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
