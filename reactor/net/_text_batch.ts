/**
 * Written text kept as one string and encoded a batch at a time, without
 * the socket. {@linkcode TextBatch} is private to the write queue.
 *
 * @module
 */

const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);

/** The size of a slab that text is encoded into. */
export const OUT_SLAB_SIZE = 64 * 1024;
/**
 * Text is kept as one string until this many UTF-16 units are pending,
 * then encoded at once.
 */
export const TEXT_BATCH = 16 * 1024;

// Text is encoded into a shared slab: one TextEncoder call per batch
// instead of one per string (a call costs more than encoding a short line),
// and a view of the slab per batch instead of an array per string. Views
// never overlap and a slab is never written twice.
let outSlab = new Uint8Array(OUT_SLAB_SIZE);
let outUsed = 0;

/** Whether `unit` is a UTF-16 low (trailing) surrogate. */
function isLowSurrogate(unit: number): boolean {
  return unit >= 0xdc00 && unit <= 0xdfff;
}

/**
 * Text waiting to be encoded as UTF-8. Each {@linkcode TextBatch.add}
 * call's strings are encoded as if on their own: a lone surrogate at the
 * end of one call and at the start of the next do not join into one
 * character (the batch is encoded first).
 */
export class TextBatch {
  #text = "";

  /** UTF-16 units pending. */
  get length(): number {
    return this.#text.length;
  }

  /**
   * Adds `text` then `suffix`. Whatever must be encoded now (a surrogate
   * boundary, or a batch of 16 Ki units) goes to `emit`, in order.
   *
   * @param text The text.
   * @param suffix More text, after it.
   * @param emit Takes encoded bytes and the UTF-16 units they came from.
   */
  add(
    text: string,
    suffix: string,
    emit: (bytes: Uint8Array, units: number) => void,
  ): void {
    // A low surrogate right after pending text could join a high surrogate
    // ending it: encode the pending text first, as separate writes would.
    if (isLowSurrogate(text.charCodeAt(0)) && this.#text.length !== 0) {
      const units = this.#text.length;
      emit(this.encode(), units);
    }
    let pending = this.#text + text;
    if (isLowSurrogate(suffix.charCodeAt(0)) && pending.length !== 0) {
      this.#text = pending;
      emit(this.encode(), pending.length);
      pending = "";
    }
    this.#text = pending += suffix;
    if (pending.length >= TEXT_BATCH) emit(this.encode(), pending.length);
  }

  /**
   * Encodes what is pending and empties the batch.
   *
   * @returns The UTF-8 bytes (lone surrogates become U+FFFD); only to be
   *   read or sent, as they may share a slab with other batches.
   */
  encode(): Uint8Array {
    const text = this.#text;
    this.#text = "";
    if (text.length === 0) return EMPTY;
    const most = text.length * 3; // UTF-8: at most 3 bytes per UTF-16 unit
    if (most > OUT_SLAB_SIZE >> 1) return encoder.encode(text);
    if (OUT_SLAB_SIZE - outUsed < most) {
      outSlab = new Uint8Array(OUT_SLAB_SIZE);
      outUsed = 0;
    }
    const start = outUsed;
    const end = start +
      encoder.encodeInto(text, outSlab.subarray(start, start + most)).written;
    outUsed = end;
    return outSlab.subarray(start, end);
  }

  /** Drops what is pending. */
  clear(): void {
    this.#text = "";
  }
}
