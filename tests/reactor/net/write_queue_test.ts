// The write queue and text batching (reactor/net/_write_queue.ts,
// _text_batch.ts), without sockets: order, coalescing, byte counts.

import assert from "node:assert/strict";
import {
  checkWritable,
  MAX_COALESCE,
  notText,
  WRITE_ALONE,
  WriteQueue,
} from "../../../reactor/net/_write_queue.ts";
import { TEXT_BATCH, TextBatch } from "../../../reactor/net/_text_batch.ts";

const decode = (b: Uint8Array) => new TextDecoder().decode(b);

/** Everything the queue would send, write by write. */
function drain(q: WriteQueue): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let chunk = q.take(); chunk !== undefined; chunk = q.take()) {
    out.push(chunk);
    q.sent(chunk.length);
  }
  return out;
}

Deno.test("WriteQueue coalesces small chunks in order, up to 64 KiB a write", () => {
  const q = new WriteQueue();
  const small = new Uint8Array(1000).fill(1);
  for (let i = 0; i < 100; i++) q.push(small.map(() => i));
  assert.equal(q.queued, 100_000);
  const writes = drain(q);
  assert.deepEqual(writes.map((w) => w.length), [65000, 35000]);
  assert.ok(writes[0].length <= MAX_COALESCE);
  assert.equal(writes[0][0], 0);
  assert.equal(writes[0][64999], 64);
  assert.equal(writes[1][34999], 99);
  assert.equal(q.queued, 0);
  assert.equal(q.take(), undefined);
});

Deno.test("WriteQueue sends a large chunk alone, as the same array", () => {
  const q = new WriteQueue();
  const big = new Uint8Array(WRITE_ALONE);
  const tiny = new Uint8Array(5);
  q.push(big);
  q.push(tiny);
  q.push(tiny);
  const writes = drain(q);
  assert.ok(writes[0] === big, "no copy");
  assert.equal(writes[1].length, 10, "the small ones after it, together");
});

Deno.test("WriteQueue sends chunks that lie end to end in one buffer as one view, without copying", () => {
  const q = new WriteQueue();
  const slab = new Uint8Array(64).map((_, i) => i);
  q.push(slab.subarray(0, 10));
  q.push(slab.subarray(10, 30));
  q.push(slab.subarray(30, 31));
  const [one, ...rest] = drain(q);
  assert.deepEqual(rest, []);
  assert.ok(one.buffer === slab.buffer, "a view of the same buffer");
  assert.equal(one.byteOffset, 0);
  assert.deepEqual([...one], [...slab.subarray(0, 31)]);
  // A gap, or another buffer, means a copy, in order.
  q.push(slab.subarray(0, 4));
  q.push(slab.subarray(5, 8));
  q.push(new Uint8Array([99]));
  const [copied] = drain(q);
  assert.ok(copied.buffer !== slab.buffer);
  assert.deepEqual([...copied], [0, 1, 2, 3, 5, 6, 7, 99]);
});

Deno.test("WriteQueue counts bytes until sent, text by UTF-16 units until encoded", () => {
  const q = new WriteQueue();
  q.pushText("héllo", "\r\n"); // 7 units, 8 bytes
  assert.equal(q.queued, 7);
  assert.equal(q.pendingText, 7);
  q.push(new Uint8Array([65])); // encodes the text first
  assert.equal(q.pendingText, 0);
  assert.equal(q.queued, 9);
  const chunk = q.take()!;
  assert.equal(decode(chunk), "héllo\r\nA");
  assert.equal(q.queued, 9, "still counted while being written");
  q.sent(4);
  assert.equal(q.queued, 5);
  q.sent(5);
  assert.equal(q.queued, 0);
});

Deno.test("WriteQueue.takeAll and clear empty the queue; takeAll keeps the count", () => {
  const q = new WriteQueue();
  q.push(new Uint8Array([1, 2]));
  q.pushText("ab", "");
  const all = q.takeAll();
  assert.deepEqual(all.map((c) => [...c]), [[1, 2], [97, 98]]);
  assert.equal(q.queued, 4, "counted until sent on the old conn");
  assert.equal(q.take(), undefined);
  q.pushText("x", "y");
  q.clear();
  assert.equal(q.queued, 0);
  assert.equal(q.take(), undefined);
});

Deno.test("WriteQueue keeps its slot array bounded across many bursts", () => {
  const q = new WriteQueue();
  const chunk = new Uint8Array(WRITE_ALONE);
  let sent = 0;
  for (let burst = 0; burst < 50; burst++) {
    for (let i = 0; i < 3000; i++) q.push(chunk);
    for (let i = 0; i < 1500; i++) {
      const c = q.take()!;
      q.sent(c.length);
      sent++;
    }
  }
  for (const c of drain(q)) {
    assert.equal(c.length, WRITE_ALONE);
    sent++;
  }
  assert.equal(sent, 150_000);
  assert.equal(q.queued, 0);
});

Deno.test("TextBatch encodes each add on its own: lone surrogates across calls stay apart", () => {
  const out: string[] = [];
  const units: number[] = [];
  const batch = new TextBatch();
  const emit = (b: Uint8Array, n: number) => {
    out.push(decode(b));
    units.push(n);
  };
  batch.add("a\ud83d", "", emit); // a lone high surrogate at the end
  batch.add("\ude00b", "", emit); // a lone low surrogate at the start
  assert.deepEqual(out, ["a\ufffd"], "the first call was encoded on its own");
  assert.deepEqual(units, [2]);
  assert.equal(decode(batch.encode()), "\ufffdb");
  batch.add("x\ud83d", "\ude00", emit); // the same between text and suffix
  assert.deepEqual(out, ["a\ufffd", "x\ufffd"]);
  assert.equal(decode(batch.encode()), "\ufffd");
  batch.add("\ud83d\ude00", "!", emit); // a real pair within one call
  assert.equal(decode(batch.encode()), "\u{1f600}!");
  assert.equal(batch.encode().length, 0, "nothing pending");
});

Deno.test("TextBatch encodes once a batch reaches 16 Ki units; a long text is encoded alone", () => {
  const out: Uint8Array[] = [];
  const batch = new TextBatch();
  const line = "x".repeat(1000);
  for (let i = 0; i < 16; i++) batch.add(line, "\n", (b) => out.push(b));
  assert.equal(out.length, 0);
  assert.equal(batch.length, 16016);
  batch.add(line, "\n", (b) => out.push(b));
  assert.equal(out.length, 1, "emitted at the threshold");
  assert.equal(out[0].length, 17017);
  assert.ok(17017 >= TEXT_BATCH);
  assert.equal(batch.length, 0);
  const long = "é".repeat(20000); // a batch at once, over half a slab
  out.length = 0;
  batch.add(long, "", (b) => out.push(b));
  assert.equal(out.length, 1);
  assert.equal(out[0].byteLength, out[0].buffer.byteLength, "its own array");
  assert.equal(decode(out[0]), long);
});

Deno.test("checkWritable and notText name the bad value", () => {
  assert.equal(checkWritable("s"), "s");
  assert.throws(
    () => checkWritable(42),
    (e: Error) =>
      e instanceof TypeError &&
      e.message ===
        "Cannot write [object Number]: every chunk must be a Uint8Array or a string",
  );
  assert.equal(
    notText(null).message,
    "Cannot write [object Null] as text: text and suffix must be strings",
  );
});
