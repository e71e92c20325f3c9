/**
 * LineReceiver parsing throughput, against a hand-written splitter doing
 * the same work on raw bytes, and the linearity of the shared buffer.
 *
 * ```sh
 * deno bench bench/lines_bench.ts
 * ```
 *
 * - "64 B lines": 1 MiB of 64-byte lines (62 bytes + CRLF) in 64 KiB
 *   chunks, so lines straddle chunk boundaries. The baseline and
 *   LineReceiver both find each CRLF, carry the unfinished line over to the
 *   next chunk and deliver each line as a string (target: LineReceiver >=
 *   0.8x the baseline). A bytes-only splitter, which decodes nothing, shows
 *   the floor.
 * - "bytes one at a time": 1 MB, then 10 MB, of 100-byte lines fed a byte
 *   per `dataReceived`: linear buffering means 10x the bytes take ~10x the
 *   time (quadratic buffering would take ~100x).
 * - "one long line in 1 KiB chunks": a 100 KB line, then a 1 MB one: the
 *   search offset keeps it ~10x, not ~100x.
 *
 * Every run checks its count, so no work is optimised away.
 *
 * @module
 */

import { LineOnlyReceiver, LineReceiver } from "../protocols/basic.ts";
import { StringTransport } from "../testing/string_transport.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

function chunked(data: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let i = 0; i < data.length; i += size) {
    out.push(data.slice(i, i + size));
  }
  return out;
}

const LINE = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"; // 62 bytes
const LINES = 16384; // 16384 x 64 B = 1 MiB
const wire = encoder.encode((LINE + "\r\n").repeat(LINES));
const chunks = chunked(wire, 65536);

/**
 * The hand-written baseline: what a careful programmer writes without a
 * framework. Keeps the unfinished tail, joins it with the next chunk, finds
 * LF with indexOf, checks the CR before it, decodes the line.
 */
class Splitter {
  count = 0;
  #rest: Uint8Array | null = null;

  push(chunk: Uint8Array): void {
    let data = chunk;
    const rest = this.#rest;
    if (rest !== null) {
      data = new Uint8Array(rest.length + chunk.length);
      data.set(rest);
      data.set(chunk, rest.length);
    }
    let start = 0;
    for (let lf = data.indexOf(10); lf !== -1; lf = data.indexOf(10, lf + 1)) {
      if (lf > start && data[lf - 1] === 13) {
        const line = decoder.decode(data.subarray(start, lf - 1));
        this.onLine(line);
        start = lf + 1;
      }
    }
    this.#rest = start < data.length ? data.subarray(start) : null;
  }

  onLine(line: string): void {
    if (line.length === 62) this.count++;
  }
}

class Counter extends LineReceiver {
  count = 0;
  override MAX_LENGTH = 1 << 21;
  override lineReceived(line: string): void {
    if (line.length === 62) this.count++;
  }
}

class OnlyCounter extends LineOnlyReceiver {
  count = 0;
  override lineReceived(line: string): void {
    if (line.length === 62) this.count++;
  }
}

function check(what: string, got: number, want: number): void {
  if (got !== want) {
    throw new Error(`${what}: counted ${got}, expected ${want}`);
  }
}

const group = "64 B lines, 1 MiB in 64 KiB chunks";

Deno.bench("hand-written splitter (indexOf + TextDecoder)", {
  group,
  baseline: true,
}, () => {
  const s = new Splitter();
  for (const c of chunks) s.push(c);
  check("splitter", s.count, LINES);
});

// For context: the same loop without decoding (what the raw Deno line echo
// peer of the load generator does), the floor for any line framer.
Deno.bench("hand-written splitter, bytes only (no decoding)", { group }, () => {
  let count = 0;
  let rest: Uint8Array | null = null;
  for (const chunk of chunks) {
    let data = chunk;
    if (rest !== null) {
      data = new Uint8Array(rest.length + chunk.length);
      data.set(rest);
      data.set(chunk, rest.length);
    }
    let start = 0;
    for (let lf = data.indexOf(10); lf !== -1; lf = data.indexOf(10, lf + 1)) {
      if (lf > start && data[lf - 1] === 13) {
        if (lf - 1 - start === 62) count++;
        start = lf + 1;
      }
    }
    rest = start < data.length ? data.subarray(start) : null;
  }
  check("bytes-only splitter", count, LINES);
});

Deno.bench("LineReceiver", { group }, () => {
  const proto = new Counter();
  proto.makeConnection(new StringTransport());
  for (const c of chunks) proto.dataReceived(c);
  check("LineReceiver", proto.count, LINES);
});

Deno.bench("LineOnlyReceiver", { group }, () => {
  const proto = new OnlyCounter();
  proto.makeConnection(new StringTransport());
  for (const c of chunks) proto.dataReceived(c);
  check("LineOnlyReceiver", proto.count, LINES);
});

// ---------------------------------------------------------------- linearity

class Lengths extends LineReceiver {
  count = 0;
  override MAX_LENGTH = 1 << 21;
  override lineReceived(line: string): void {
    if (line.length > 0) this.count++;
  }
}

const HUNDRED = encoder.encode("x".repeat(98) + "\r\n");

function bytesOfLines(total: number): Uint8Array {
  const out = new Uint8Array(total);
  for (let i = 0; i < total; i += HUNDRED.length) out.set(HUNDRED, i);
  return out;
}

const oneMB = bytesOfLines(1_000_000);
const tenMB = bytesOfLines(10_000_000);

function feedBytes(data: Uint8Array): void {
  const proto = new Lengths();
  proto.makeConnection(new StringTransport());
  // Views into one array: each call gets its own Uint8Array of one byte,
  // never written to afterwards (dataReceived may keep its argument).
  for (let i = 0; i < data.length; i++) {
    proto.dataReceived(data.subarray(i, i + 1));
  }
  check("bytes one at a time", proto.count, data.length / 100);
}

const byteGroup = "bytes one at a time (linear: 10 MB ~ 10x 1 MB)";
Deno.bench(
  "1 MB",
  { group: byteGroup, baseline: true, n: 5, warmup: 1 },
  () => feedBytes(oneMB),
);
Deno.bench(
  "10 MB",
  { group: byteGroup, n: 3, warmup: 1 },
  () => feedBytes(tenMB),
);

function longLine(size: number): Uint8Array[] {
  const data = new Uint8Array(size + 2).fill(0x61);
  data[size] = 13;
  data[size + 1] = 10;
  return chunked(data, 1024);
}

const line100k = longLine(100_000);
const line1M = longLine(1_000_000);

function feedLine(parts: Uint8Array[]): void {
  const proto = new Lengths();
  proto.makeConnection(new StringTransport());
  for (const p of parts) proto.dataReceived(p);
  check("long line", proto.count, 1);
}

const lineGroup = "one long line in 1 KiB chunks (linear: 1 MB ~ 10x 100 KB)";
Deno.bench(
  "100 KB line",
  { group: lineGroup, baseline: true },
  () => feedLine(line100k),
);
Deno.bench("1 MB line", { group: lineGroup }, () => feedLine(line1M));
