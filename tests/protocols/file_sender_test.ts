import assert from "node:assert/strict";
import { FileSender } from "../../protocols/file_sender.ts";
import { StringTransport } from "../../testing/string_transport.ts";
import {
  assertNoResult,
  failureResultOf,
  successResultOf,
} from "../../testing/results.ts";
import { decode, encode, within } from "../_helpers.ts";

Deno.test("FileSender registers as a pull producer", () => {
  const consumer = new StringTransport();
  const sender = new FileSender();
  sender.beginFileTransfer(encode("Test content"), consumer);
  assert.equal(consumer.producer, sender);
  assert.equal(consumer.streaming, false);
});

Deno.test("FileSender sends the content and fires with the last byte after reaching the end", () => {
  const consumer = new StringTransport();
  const sender = new FileSender();
  const d = sender.beginFileTransfer(encode("Test content"), consumer);
  sender.resumeProducing();
  assertNoResult(d);
  sender.resumeProducing();
  assert.equal(consumer.producer, undefined);
  assert.deepEqual(successResultOf(d), encode("t"));
  assert.equal(decode(consumer.value()), "Test content");
});

Deno.test("FileSender writes at most CHUNK_SIZE bytes per resumeProducing", () => {
  const consumer = new StringTransport();
  const sender = new FileSender();
  sender.CHUNK_SIZE = 4;
  const d = sender.beginFileTransfer(encode("Test content"), consumer);
  sender.resumeProducing();
  assert.equal(decode(consumer.value()), "Test");
  sender.resumeProducing();
  assert.equal(decode(consumer.value()), "Test con");
  sender.resumeProducing();
  assert.equal(decode(consumer.value()), "Test content");
  assertNoResult(d);
  sender.resumeProducing();
  assert.deepEqual(successResultOf(d), encode("t"));
});

Deno.test("FileSender applies the transform to each chunk", () => {
  const consumer = new StringTransport();
  const sender = new FileSender();
  const swap = (c: Uint8Array) =>
    encode(
      [...decode(c)].map((ch) =>
        ch === ch.toUpperCase() ? ch.toLowerCase() : ch.toUpperCase()
      ).join(""),
    );
  const d = sender.beginFileTransfer(encode("Test content"), consumer, swap);
  sender.resumeProducing();
  sender.resumeProducing();
  assert.deepEqual(successResultOf(d), encode("T"));
  assert.equal(decode(consumer.value()), "tEST CONTENT");
});

Deno.test("FileSender fails its Deferred when the consumer stops it", () => {
  const consumer = new StringTransport();
  const sender = new FileSender();
  const d = sender.beginFileTransfer(encode("Test content"), consumer);
  sender.stopProducing();
  const f = failureResultOf(d, Error);
  assert.equal(f.getErrorMessage(), "Consumer asked us to stop producing");
  sender.resumeProducing();
  assert.equal(consumer.value().length, 0);
});

Deno.test("FileSender fires with an empty array for an empty source", () => {
  const consumer = new StringTransport();
  const d = new FileSender().beginFileTransfer([], consumer);
  (consumer.producer as FileSender).resumeProducing();
  assert.deepEqual(successResultOf(d), new Uint8Array(0));
});

/**
 * A consumer that asks a pull producer for more after each write, as a
 * transport does once its buffer drains (here: on the next microtask).
 */
class PullingConsumer {
  chunks: Uint8Array[] = [];
  producer: FileSender | undefined;
  registerProducer(producer: FileSender, streaming: boolean): void {
    assert.equal(streaming, false);
    this.producer = producer;
    queueMicrotask(() => this.producer?.resumeProducing());
  }
  unregisterProducer(): void {
    this.producer = undefined;
  }
  write(data: Uint8Array | string): void {
    this.chunks.push(typeof data === "string" ? encode(data) : data);
    queueMicrotask(() => this.producer?.resumeProducing());
  }
  value(): Uint8Array {
    const out = new Uint8Array(this.chunks.reduce((a, c) => a + c.length, 0));
    let at = 0;
    for (const c of this.chunks) {
      out.set(c, at);
      at += c.length;
    }
    return out;
  }
}

Deno.test("FileSender copies a Deno.FsFile in CHUNK_SIZE reads", async () => {
  const path = await Deno.makeTempFile();
  try {
    const content = new Uint8Array(40_000).map((_, i) => i % 251);
    await Deno.writeFile(path, content);
    using file = await Deno.open(path);
    const consumer = new PullingConsumer();
    const last = await within(
      5_000,
      "the file transfer",
      new FileSender().beginFileTransfer(file, consumer),
    );
    assert.deepEqual(consumer.value(), content);
    assert.deepEqual(consumer.chunks.map((c) => c.length), [
      16384,
      16384,
      7232,
    ]);
    assert.deepEqual(last, content.slice(-1));
    assert.equal(consumer.producer, undefined);
  } finally {
    await Deno.remove(path);
  }
});

Deno.test("FileSender copies a ReadableStream, its reader and an async iterable", async () => {
  const parts = ["one", "", "two", "three"].map(encode);
  const sources = [
    () => ReadableStream.from(parts),
    () => ReadableStream.from(parts).getReader(),
    () =>
      (async function* () {
        yield* parts;
      })(),
  ];
  for (const make of sources) {
    const consumer = new PullingConsumer();
    const last = await within(
      5_000,
      "the stream transfer",
      new FileSender().beginFileTransfer(make(), consumer),
    );
    assert.equal(decode(consumer.value()), "onetwothree");
    assert.deepEqual(last, encode("e"));
  }
});

Deno.test("FileSender fails its Deferred and unregisters when reading fails", async () => {
  const consumer = new PullingConsumer();
  let reads = 0;
  const reader = {
    read(p: Uint8Array): Promise<number | null> {
      if (reads++ === 0) {
        p[0] = 0x61;
        return Promise.resolve(1);
      }
      return Promise.reject(new Deno.errors.BadResource("disk on fire"));
    },
  };
  const d = new FileSender().beginFileTransfer(reader, consumer);
  await assert.rejects(
    within(5_000, "the failed transfer", d),
    Deno.errors.BadResource,
  );
  assert.equal(decode(consumer.value()), "a");
  assert.equal(consumer.producer, undefined);
});

Deno.test("FileSender refuses a second transfer and an unreadable source", () => {
  const sender = new FileSender();
  sender.beginFileTransfer(encode("x"), new StringTransport());
  assert.throws(
    () => sender.beginFileTransfer(encode("y"), new StringTransport()),
    /already sending/,
  );
  assert.throws(
    () =>
      new FileSender().beginFileTransfer(
        42 as unknown as Uint8Array,
        new StringTransport(),
      ),
    TypeError,
  );
});
