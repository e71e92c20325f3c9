import assert from "node:assert/strict";
import { LineReceiver } from "../../protocols/basic.ts";
import { Clock } from "../../testing/clock.ts";
import { StringTransport } from "../../testing/string_transport.ts";
import { decode, encode } from "../_helpers.ts";
import { connected, feed, prng, randomChunks } from "./_framing.ts";

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
      this.transport.registerProducer(this, false);
    } else if (line.startsWith("unproduce")) {
      this.transport.unregisterProducer();
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
      if (line === "QUIT") this.transport.loseConnection();
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
      this.transport.loseConnection();
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
      this.transport.write(line + "|");
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
  // A transport without writeText: one write per line.
  const transport = new Spy();
  Object.defineProperty(transport, "writeText", { value: undefined });
  const proto = new LineReceiver();
  proto.makeConnection(transport);
  proto.sendLine("héllo");
  proto.sendLine(encode("raw"));
  proto.delimiter = "\n";
  proto.sendLine("");
  assert.equal(decode(transport.value()), "héllo\r\nraw\r\n\n");
  assert.deepEqual(writes.map(decode), ["héllo\r\n", "raw\r\n", "\n"]);
});

Deno.test("LineReceiver.sendLine hands a string line to writeText, bytes to write", () => {
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
  proto.sendLine("bye");
  assert.equal(decode(transport.value()), "héllo\r\nraw\r\nbye\n");
  assert.equal(transport.textWrites, 2);
  assert.deepEqual(writes.map(decode), ["raw\r\n"]);
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
