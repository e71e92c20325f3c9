// The read buffer and the slab (reactor/net/_read_buffer.ts), without sockets:
// sizes of successive reads, what is handed over, what is copied.

import assert from "node:assert/strict";
import {
  INITIAL_READ,
  lent,
  MAX_READ,
  MIN_READ,
  ReadBuffer,
  Slab,
} from "../../../reactor/net/_read_buffer.ts";

/** Fills the next read buffer with `n` bytes counting from `seed`. */
function read(rb: ReadBuffer, n: number, seed = 0): Uint8Array {
  const buf = rb.buffer();
  for (let i = 0; i < n; i++) buf[i] = (seed + i) & 0xff;
  return buf;
}

Deno.test("ReadBuffer grows x4 while reads fill it, up to 64 KiB, never past", () => {
  const rb = new ReadBuffer();
  const sizes: number[] = [];
  for (let i = 0; i < 6; i++) {
    sizes.push(rb.size);
    read(rb, rb.size);
    rb.take(rb.size);
  }
  assert.deepEqual(sizes, [
    INITIAL_READ,
    1024,
    4096,
    16384,
    MAX_READ,
    MAX_READ,
  ]);
  assert.equal(INITIAL_READ, MIN_READ, "an idle connection keeps its first");
  assert.equal(MAX_READ, 64 * 1024, "below glibc's 128 KiB mmap threshold");
});

Deno.test("ReadBuffer hands a half-full or full buffer over without a copy and reads into a new one", () => {
  const rb = new ReadBuffer(4096);
  const first = read(rb, 3000, 7);
  const half = rb.take(3000);
  assert.ok(half.buffer === first.buffer, "a view of the buffer read into");
  assert.equal(half.length, 3000);
  assert.equal(half[0], 7);
  assert.equal(rb.size, 4096, "a half-full read keeps the size");
  const second = read(rb, 4096, 9);
  assert.ok(second.buffer !== first.buffer, "the next read gets a new buffer");
  assert.equal(half[0], 7, "what was handed over is left alone");
  const full = rb.take(4096);
  assert.ok(full === second, "the very array read into");
  assert.equal(rb.size, 16384);
});

Deno.test("ReadBuffer copies a small read out, keeps its buffer, and shrinks after a read of an eighth or less", () => {
  const rb = new ReadBuffer(16384);
  const buf = read(rb, 2000, 3);
  const data = rb.take(2000); // > 1 KiB: its own copy, buffer kept
  assert.equal(data.length, 2000);
  assert.equal(data[0], 3);
  assert.ok(data.buffer !== buf.buffer);
  assert.equal(rb.size, 4096, "shrunk to the power of two >= 2n");
  const again = read(rb, 20);
  assert.equal(again.length, 4096);
  rb.take(20);
  assert.equal(rb.size, MIN_READ, "never below the smallest");
  const kept = rb.buffer();
  read(rb, 100);
  rb.take(100); // more than an eighth, less than half: copied, buffer kept
  assert.equal(rb.size, MIN_READ);
  assert.ok(rb.buffer() === kept);
});

Deno.test("Slab copies small chunks side by side, 8-byte aligned, and starts a new slab when full", () => {
  const slab = new Slab(64);
  const src = Uint8Array.from({ length: 60 }, (_, i) => i);
  const a = slab.copy(src, 5);
  const b = slab.copy(src.subarray(10), 3);
  assert.deepEqual([...a], [0, 1, 2, 3, 4]);
  assert.deepEqual([...b], [10, 11, 12]);
  assert.ok(a.buffer === b.buffer, "one ArrayBuffer for both");
  assert.equal(b.byteOffset, 8);
  const c = slab.copy(src, 50); // 16 + 50 > 64: a new slab
  assert.ok(c.buffer !== a.buffer);
  assert.deepEqual([...a], [0, 1, 2, 3, 4], "earlier chunks untouched");
  src.fill(99);
  assert.equal(c[49], 49, "a copy, not a view of the source");
});

Deno.test("ReadBuffer puts reads of at most 1 KiB in the shared slab; resize adapts a lent buffer's hint", () => {
  const rb = new ReadBuffer(MIN_READ * 8);
  read(rb, 10);
  const a = rb.take(10);
  read(rb, 10, 50);
  const b = rb.take(10);
  assert.ok(a.buffer === b.buffer, "both in one slab");
  assert.equal(a[0], 0);
  assert.equal(b[0], 50);
  const hinted = new ReadBuffer(4096);
  hinted.resize(4096, 4096);
  assert.equal(hinted.size, 16384, "a full lent buffer grows the hint");
  hinted.resize(100, 16384);
  assert.equal(hinted.size, MIN_READ);
  hinted.resize(900, 4096); // not an eighth of what was lent: unchanged
  assert.equal(hinted.size, MIN_READ);
});

Deno.test("lent accepts a non-empty Uint8Array and names anything else", () => {
  const buf = new Uint8Array(3);
  assert.ok(lent(buf) === buf);
  assert.throws(() => lent(new Uint8Array(0)), TypeError);
  assert.throws(
    () => lent([1, 2]),
    (e: Error) =>
      e instanceof TypeError &&
      e.message ===
        "Cannot read into [object Array]: getBuffer must return a non-empty Uint8Array",
  );
});
