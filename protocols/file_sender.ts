/**
 * {@linkcode FileSender}: a pull producer that copies a file, or any other
 * source of bytes, to a consumer such as a transport, one chunk each time
 * the consumer asks for more. (In Twisted it lives in `basic`.)
 *
 * @module
 */

import { Deferred } from "../deferred/deferred.ts";
import type { IConsumer, IPullProducer } from "../reactor/interfaces.ts";
import { isThenable } from "../deferred/_thenable.ts";

const NOTHING = new Uint8Array(0);

/** Reads into a buffer, as `Deno.FsFile` does: a count, or null at the end. */
export interface ByteReader {
  /** Fills part of `p`; resolves with how many bytes, or null at end of file. */
  read(p: Uint8Array): Promise<number | null> | number | null;
}

/**
 * What {@linkcode FileSender} can read: a `Deno.FsFile` or any
 * {@linkcode ByteReader}, a `ReadableStream` or its reader, an (async)
 * iterable of chunks, or one `Uint8Array`.
 */
export type FileSenderSource =
  | ByteReader
  | ReadableStreamDefaultReader<Uint8Array>
  | ReadableStream<Uint8Array>
  | AsyncIterable<Uint8Array>
  | Iterable<Uint8Array>
  | Uint8Array;

type Chunk = Uint8Array | null;
type Pull = () => Chunk | PromiseLike<Chunk>;

/**
 * A pull producer that copies a byte source to a consumer (usually a
 * transport), one chunk of at most `CHUNK_SIZE` bytes per
 * `resumeProducing()`. In-memory sources are read synchronously; files and
 * streams asynchronously, one read at a time. `beginFileTransfer` returns a
 * Deferred that fires with the last byte sent (empty if there was none) once
 * the end is reached and the producer unregistered; it fails if the consumer
 * calls `stopProducing()` first, or if reading fails.
 *
 * @example Copy bytes, upper-cased, to a transport
 * ```ts
 * import assert from "node:assert/strict";
 * import { FileSender } from "@twisted-deno/core/protocols";
 * import { StringTransport, successResultOf } from "@twisted-deno/core/testing";
 *
 * const transport = new StringTransport();
 * const sender = new FileSender();
 * const done = sender.beginFileTransfer(
 *   new TextEncoder().encode("Test content"),
 *   transport,
 *   (chunk) => new TextEncoder().encode(new TextDecoder().decode(chunk).toUpperCase()),
 * );
 * assert.equal(transport.producer, sender);
 * sender.resumeProducing(); // one chunk
 * sender.resumeProducing(); // the end: unregisters and fires
 * assert.equal(new TextDecoder().decode(transport.value()), "TEST CONTENT");
 * assert.deepEqual(successResultOf(done), new TextEncoder().encode("T"));
 * assert.equal(transport.producer, undefined);
 * ```
 *
 * @example Send a file from disk
 * ```ts ignore
 * using file = await Deno.open("README.md");
 * await new FileSender().beginFileTransfer(file, transport);
 * ```
 */
export class FileSender implements IPullProducer {
  /** The most bytes read per `resumeProducing()` from a `read()` source. */
  CHUNK_SIZE = 2 ** 14;
  /** The last byte written (empty before the first). */
  lastSent: Uint8Array = NOTHING;
  /** The transfer's Deferred, until it fires. */
  deferred: Deferred<Uint8Array> | undefined = undefined;

  #consumer: IConsumer | undefined;
  #transform: ((chunk: Uint8Array) => Uint8Array) | undefined;
  #pull: Pull | undefined;
  #reading = false;

  /**
   * Starts copying `file` to `consumer`, registering as a pull producer.
   *
   * @param file Where the bytes come from.
   * @param consumer Where they go.
   * @param transform Applied to each chunk before it is written.
   * @returns Fires with the last byte sent once all is written.
   */
  beginFileTransfer(
    file: FileSenderSource,
    consumer: IConsumer,
    transform?: (chunk: Uint8Array) => Uint8Array,
  ): Deferred<Uint8Array> {
    if (this.deferred !== undefined) {
      throw new Error(
        "Cannot begin a file transfer: this FileSender is already sending; use a new one",
      );
    }
    this.#pull = this.#puller(file);
    this.#consumer = consumer;
    this.#transform = transform;
    this.lastSent = NOTHING;
    const deferred = this.deferred = new Deferred<Uint8Array>();
    consumer.registerProducer(this, false);
    return deferred;
  }

  /** Writes the next chunk, or finishes at the end of the source. */
  resumeProducing(): void {
    if (this.#reading) return; // the pending read writes when it completes
    while (this.#pull !== undefined) {
      let chunk: Chunk | PromiseLike<Chunk>;
      try {
        chunk = this.#pull();
      } catch (error) {
        this.#fail(error);
        return;
      }
      if (isThenable<Chunk>(chunk)) {
        this.#reading = true;
        chunk.then(
          (c) => {
            this.#reading = false;
            if (this.#handle(c)) this.resumeProducing();
          },
          (error) => {
            this.#reading = false;
            this.#fail(error);
          },
        );
        return;
      }
      if (!this.#handle(chunk)) return;
    }
  }

  /** Does nothing: a pull producer writes only when asked. */
  pauseProducing(): void {}

  /** The consumer is going away: the transfer's Deferred fails. */
  stopProducing(): void {
    this.#pull = undefined;
    const d = this.deferred;
    this.deferred = undefined;
    d?.errback(new Error("Consumer asked us to stop producing"));
  }

  /** @returns Whether to read again at once (the chunk was empty). */
  #handle(chunk: Chunk): boolean {
    if (this.#pull === undefined) return false; // stopped meanwhile
    if (chunk === null) {
      this.#pull = undefined;
      this.#consumer!.unregisterProducer();
      const d = this.deferred;
      this.deferred = undefined;
      d?.callback(this.lastSent);
      return false;
    }
    if (chunk.length === 0) return true; // nothing to write: nobody would ask again
    try {
      const out = this.#transform ? this.#transform(chunk) : chunk;
      this.#consumer!.write(out);
      if (out.length > 0) this.lastSent = out.slice(-1);
    } catch (error) {
      this.#fail(error);
    }
    return false;
  }

  #fail(error: unknown): void {
    if (this.#pull === undefined) return;
    this.#pull = undefined;
    try {
      this.#consumer!.unregisterProducer();
    } finally {
      const d = this.deferred;
      this.deferred = undefined;
      d?.errback(error);
    }
  }

  #puller(file: FileSenderSource): Pull {
    if (file instanceof Uint8Array) {
      let at = 0;
      return () => {
        if (at >= file.length) return null;
        const chunk = file.subarray(at, at + this.CHUNK_SIZE);
        at += chunk.length;
        return chunk;
      };
    }
    if (file instanceof ReadableStreamDefaultReader) {
      return () =>
        file.read().then((r) => (r.done ? null : r.value ?? NOTHING));
    }
    if (file instanceof ReadableStream) {
      const reader = file.getReader();
      return () =>
        reader.read().then((r) => (r.done ? null : r.value ?? NOTHING));
    }
    if (typeof (file as ByteReader).read === "function") {
      const reader = file as ByteReader;
      return () => {
        const buf = new Uint8Array(this.CHUNK_SIZE);
        const n = reader.read(buf);
        const cut = (count: number | null) =>
          count === null ? null : buf.subarray(0, count);
        return isThenable<number | null>(n) ? n.then(cut) : cut(n);
      };
    }
    if (Symbol.asyncIterator in (file as object)) {
      const it = (file as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
      return () => it.next().then((r) => (r.done ? null : r.value));
    }
    if (Symbol.iterator in (file as object)) {
      const it = (file as Iterable<Uint8Array>)[Symbol.iterator]();
      return () => {
        const r = it.next();
        return r.done ? null : r.value;
      };
    }
    throw new TypeError(
      "Cannot send this file: expected a Deno.FsFile, a reader, a ReadableStream, an iterable of Uint8Array or a Uint8Array",
    );
  }
}
