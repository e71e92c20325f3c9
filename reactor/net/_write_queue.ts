/**
 * The write side of a stream connection without the socket: what is
 * queued, how many bytes that is, and what the next `conn.write` sends.
 * {@linkcode WriteQueue} is private to `stream.ts`.
 *
 * @module
 */

import { TextBatch } from "./_text_batch.ts";

const EMPTY = new Uint8Array(0);

/** A queued chunk at least this large is written alone, without a copy. */
export const WRITE_ALONE = 16 * 1024;
/**
 * At most this many queued bytes are copied into one `conn.write` (below
 * glibc's mmap threshold, so a coalesced buffer is a plain allocation).
 */
export const MAX_COALESCE = 64 * 1024;

/**
 * The error for writing a value that is neither bytes nor a string.
 *
 * @param value The value.
 * @param what What it was ("data", "every chunk").
 */
export function notWritable(value: unknown, what: string): TypeError {
  return new TypeError(
    `Cannot write ${
      Object.prototype.toString.call(value)
    }: ${what} must be a Uint8Array or a string`,
  );
}

/**
 * `value`, when it can be written.
 *
 * @param value A chunk for `writeSequence`.
 * @throws {TypeError} When it is neither a Uint8Array nor a string.
 */
export function checkWritable(value: unknown): Uint8Array | string {
  if (typeof value === "string" || value instanceof Uint8Array) return value;
  throw notWritable(value, "every chunk");
}

/**
 * The error for writing a value as text that is not a string.
 *
 * @param value The value.
 */
export function notText(value: unknown): TypeError {
  return new TypeError(
    `Cannot write ${
      Object.prototype.toString.call(value)
    } as text: text and suffix must be strings`,
  );
}

/** Whether `chunks[from, to)` lie end to end in one ArrayBuffer. */
function adjacent(chunks: Uint8Array[], from: number, to: number): boolean {
  const buffer = chunks[from].buffer;
  let next = chunks[from].byteOffset + chunks[from].length;
  for (let i = from + 1; i < to; i++) {
    const chunk = chunks[i];
    if (chunk.buffer !== buffer || chunk.byteOffset !== next) return false;
    next += chunk.length;
  }
  return true;
}

/**
 * Chunks waiting for the socket, in order, and the text written after
 * them. {@linkcode WriteQueue.queued} counts bytes queued or being written,
 * and pending text by its UTF-16 length until it is encoded (at the latest
 * by the next {@linkcode WriteQueue.take}, or before bytes queued after
 * it).
 */
export class WriteQueue {
  #chunks: Uint8Array[] = []; // queued in [#head, #tail); emptied when drained
  #head = 0;
  #tail = 0;
  #queued = 0;
  // Made on the first text written (most connections never write any).
  #text: TextBatch | undefined = undefined;
  #emit: ((bytes: Uint8Array, units: number) => void) | undefined = undefined;

  /** Bytes queued or being written (pending text: its UTF-16 length). */
  get queued(): number {
    return this.#queued;
  }

  /** UTF-16 units of text not yet encoded. */
  get pendingText(): number {
    return this.#text?.length ?? 0;
  }

  /**
   * Queues `data` as it is (kept, not copied), after any pending text.
   *
   * @param data Bytes (not empty).
   */
  push(data: Uint8Array): void {
    if (this.#text !== undefined && this.#text.length !== 0) this.encodeText();
    this.#chunks[this.#tail++] = data;
    this.#queued += data.length;
  }

  /**
   * Queues `text` then `suffix`, to be UTF-8 encoded a batch at a time.
   *
   * @param text The text.
   * @param suffix More text, after it.
   */
  pushText(text: string, suffix: string): void {
    const units = text.length + suffix.length;
    this.#queued += units; // what add() encodes now is recounted by #emit
    if (this.#text === undefined) {
      this.#text = new TextBatch();
      this.#emit = (bytes, units) => {
        this.#queued -= units;
        this.#append(bytes);
      };
    }
    this.#text.add(text, suffix, this.#emit!);
  }

  /** Encodes pending text and queues it as a chunk. */
  encodeText(): void {
    const units = this.#text?.length ?? 0;
    if (units === 0) return;
    this.#queued -= units;
    this.#append(this.#text!.encode());
  }

  /** Queues encoded text (its units no longer counted). */
  #append(bytes: Uint8Array): void {
    if (bytes.length === 0) return;
    this.#chunks[this.#tail++] = bytes;
    this.#queued += bytes.length;
  }

  /**
   * The next bytes to send: a large chunk alone, or small ones copied
   * together (many small writes, few `conn.write` calls). They stay counted
   * in {@linkcode WriteQueue.queued} until {@linkcode WriteQueue.sent}.
   *
   * @returns The bytes, or `undefined` when nothing is queued.
   */
  take(): Uint8Array | undefined {
    if (this.#text !== undefined && this.#text.length !== 0) this.encodeText();
    const chunks = this.#chunks;
    const head = this.#head;
    const tail = this.#tail;
    if (head === tail) return undefined;
    const first = chunks[head];
    let end = head + 1;
    let total = first.length;
    if (total < WRITE_ALONE) {
      while (end < tail) {
        const next = chunks[end].length;
        if (total + next > MAX_COALESCE) break;
        total += next;
        end++;
      }
    }
    let out = first;
    if (end - head > 1) {
      if (adjacent(chunks, head, end)) {
        // Side by side in one buffer (lines carved from a slab): one view.
        out = new Uint8Array(first.buffer, first.byteOffset, total);
      } else {
        out = new Uint8Array(total);
        let offset = 0;
        for (let i = head; i < end; i++) {
          out.set(chunks[i], offset);
          offset += chunks[i].length;
        }
      }
    }
    chunks.fill(EMPTY, head, end); // let the sent chunks be collected
    if (end === tail) {
      // Empty: let the slots go (an idle connection holds no array).
      this.#head = this.#tail = 0;
      chunks.length = 0;
    } else if (end > 1024 && end > tail >> 1) {
      chunks.copyWithin(0, end, tail); // keep the array from growing forever
      chunks.fill(EMPTY, tail - end, tail);
      this.#head = 0;
      this.#tail = tail - end;
    } else {
      this.#head = end;
    }
    return out;
  }

  /**
   * Counts `n` bytes of what {@linkcode WriteQueue.take} returned as sent.
   *
   * @param n Bytes the socket took.
   */
  sent(n: number): void {
    this.#queued -= n;
  }

  /**
   * Removes every queued chunk (pending text encoded first); they stay
   * counted until {@linkcode WriteQueue.sent}.
   *
   * @returns The chunks, in order.
   */
  takeAll(): Uint8Array[] {
    this.encodeText();
    const all = this.#chunks.slice(this.#head, this.#tail);
    this.#chunks = [];
    this.#head = this.#tail = 0;
    return all;
  }

  /** Drops everything queued. */
  clear(): void {
    this.#chunks = [];
    this.#head = this.#tail = 0;
    this.#text?.clear();
    this.#queued = 0;
  }
}
