/**
 * The one receive buffer every framer shares (lines, netstrings, length
 * prefixes: `_framer.ts` owns one per connection), and the line decoding
 * and encoding their paths share. Private: not exported from `mod.ts`.
 *
 * {@linkcode ByteBuffer} keeps the unparsed bytes of a connection in one
 * array with a read offset, so taking a frame off the front costs nothing
 * and appending is amortised O(1):
 *
 * ```text
 *   #buf:  [ consumed | live bytes ............ | free space ]
 *           0        #start                   #end         #buf.length
 * ```
 *
 * - An append to an empty buffer adopts the chunk instead of copying it
 *   (`dataReceived` hands the protocol arrays it may keep), so a chunk that
 *   holds whole frames is parsed in place. A second append copies the live
 *   bytes into an owned array first: adopted arrays are never written to.
 * - When an append does not fit, the live bytes move to the front if that
 *   frees at least half the array (the copy is smaller than what was consumed
 *   since the last one), else the array doubles.
 * - {@linkcode ByteBuffer.findLine} remembers how far it has searched, so a
 *   line that arrives a byte at a time is still scanned once: O(n) overall.
 *
 * @module
 */

import { utf8Encoder } from "./_helpers.ts";

const EMPTY = new Uint8Array(0);
/** First owned array: room for a few typical lines. */
const MIN_CAPACITY = 4096;
/**
 * An emptied owned array up to this size is kept for the next partial frame;
 * a larger one is dropped, so an idle connection does not hold on to the
 * memory a burst needed.
 */
const MAX_SPARE = 16384;

/** {@linkcode ByteBuffer.findLine}: no complete line yet, within limits. */
export const NEED_MORE = -1;
/**
 * {@linkcode ByteBuffer.findLine}: a line is over the limit (complete and
 * longer than `maxLength`, or unterminated at `maxLength + delimiter`).
 */
export const TOO_LONG = -2;

/**
 * A growable byte queue: append at the end, parse and consume at the front.
 * Offsets given to its methods are relative to the first live byte.
 *
 * Arrays returned by {@linkcode ByteBuffer.view} are only valid until the
 * next mutation; those from {@linkcode ByteBuffer.slice} and
 * {@linkcode ByteBuffer.takeAll} are the caller's to keep.
 */
export class ByteBuffer {
  #buf: Uint8Array = EMPTY;
  #start = 0;
  #end = 0;
  /** How many bytes were ever consumed: the stream offset of the first live byte. */
  #position = 0;
  /** Whether `#buf` is a received chunk we adopted (never written to). */
  #borrowed = false;
  /** An owned array kept for reuse while `#buf` is a borrowed chunk. */
  #spare: Uint8Array | null = null;
  /**
   * `#buf` cut at `#end`, so searches never read stale bytes past the live
   * region (which could cost O(capacity) per search). Consuming keeps it
   * valid; appending invalidates it.
   */
  #window: Uint8Array | null = null;
  /** Live bytes already searched by `findLine` with `#scannedFor`. */
  #scanned = 0;
  #scannedFor: Uint8Array | null = null;

  /** How many live bytes are buffered. */
  get length(): number {
    return this.#end - this.#start;
  }

  /**
   * The stream offset of the first live byte: how many bytes were consumed
   * since the buffer was made. A byte keeps its stream offset for as long
   * as it is buffered.
   */
  get position(): number {
    return this.#position;
  }

  /** Adds `data` at the end. The buffer may keep `data` itself (never writes to it). */
  append(data: Uint8Array): void {
    const n = data.length;
    if (n === 0) return;
    if (this.#start === this.#end) {
      this.#adopt(data);
      return;
    }
    if (this.#borrowed || this.#end + n > this.#buf.length) this.#makeRoom(n);
    this.#buf.set(data, this.#end);
    this.#end += n;
    this.#window = null;
  }

  /** The byte at offset `i` (undefined past the end). */
  byteAt(i: number): number | undefined {
    return i < this.length ? this.#buf[this.#start + i] : undefined;
  }

  /** The offset of the first `byte` at or after `from`, or -1. */
  indexOf(byte: number, from = 0): number {
    const at = this.#start + from;
    const end = this.#end;
    if (at >= end) return -1;
    if (end - at <= 16) {
      // A few new bytes (a chunk of a byte or two): a plain loop costs less
      // than the native call and the window it may need.
      const buf = this.#buf;
      for (let i = at; i < end; i++) {
        if (buf[i] === byte) return i - this.#start;
      }
      return -1;
    }
    let hay = this.#buf;
    if (this.#end !== hay.length) {
      hay = this.#window ??= this.#buf.subarray(0, this.#end);
    }
    const i = hay.indexOf(byte, at);
    return i === -1 ? -1 : i - this.#start;
  }

  /** The offset of the last `byte` before offset `before`, or -1. */
  lastIndexOf(byte: number, before: number): number {
    if (before <= 0) return -1;
    const i = this.#buf.lastIndexOf(byte, this.#start + before - 1);
    return i < this.#start ? -1 : i - this.#start;
  }

  /** Whether the bytes at offset `at` equal `pattern` (false if they run past the end or `at < 0`). */
  matches(pattern: Uint8Array, at: number): boolean {
    if (at < 0 || at + pattern.length > this.length) return false;
    const buf = this.#buf;
    const base = this.#start + at;
    for (let i = 0; i < pattern.length; i++) {
      if (buf[base + i] !== pattern[i]) return false;
    }
    return true;
  }

  /**
   * Finds the first complete line ending in `delimiter` and checks it
   * against `maxLength`, with Twisted's two limits: a complete line longer
   * than `maxLength`, or no delimiter in `maxLength + delimiter.length`
   * buffered bytes, is {@linkcode TOO_LONG}.
   *
   * The search looks for the delimiter's last byte and then checks the
   * whole delimiter ending there (for `"\r\n"`, a bare `"\n"` inside a line
   * is skipped). Bytes already searched are not searched again. Example:
   * with `"ab\r"` buffered, a search scans 3 bytes and remembers 3; after
   * `"\ncd"` arrives, the next search starts at offset 3, finds `"\n"`, sees
   * `"\r\n"` at offset 2, and returns the line length 2.
   *
   * @returns The line's length (the delimiter starts there), or
   * {@linkcode NEED_MORE}, or {@linkcode TOO_LONG}.
   */
  findLine(delimiter: Uint8Array, maxLength: number): number {
    const dl = delimiter.length;
    const last = delimiter[dl - 1];
    if (this.#scannedFor !== delimiter) {
      this.#scannedFor = delimiter;
      this.#scanned = 0;
    }
    const start = this.#start;
    const live = this.#end - start;
    let from = this.#scanned;
    for (;;) {
      const i = this.indexOf(last, from);
      if (i === -1) {
        // No delimiter ends in these bytes: skipping them next time keeps a
        // long line that arrives in small chunks linear, not quadratic.
        this.#scanned = live;
        return live >= maxLength + dl ? TOO_LONG : NEED_MORE;
      }
      const lineLength = i + 1 - dl;
      if (lineLength >= 0) {
        // Compare the rest of the delimiter, backwards from its last byte.
        const buf = this.#buf;
        let k = dl - 2;
        const base = start + lineLength;
        while (k >= 0 && buf[base + k] === delimiter[k]) k--;
        if (k < 0) {
          this.#scanned = i; // found again if asked again before consuming
          return lineLength > maxLength ? TOO_LONG : lineLength;
        }
      }
      from = i + 1;
    }
  }

  /** The bytes from `from` to `to`, without copying: valid until the next mutation. */
  view(from: number, to: number): Uint8Array {
    return this.#buf.subarray(this.#start + from, this.#start + to);
  }

  /**
   * The bytes from `from` to `to`, for the caller to keep. A range of an
   * adopted chunk is returned as a view of it (no copy: it never changes).
   */
  slice(from: number, to: number): Uint8Array {
    const a = this.#start + from;
    const b = this.#start + to;
    return this.#borrowed ? this.#buf.subarray(a, b) : this.#buf.slice(a, b);
  }

  /** Drops the first `n` bytes. */
  consume(n: number): void {
    if (n <= 0) return;
    this.#scanned = 0;
    const taken = Math.min(n, this.length);
    this.#position += taken;
    this.#start += taken;
    if (this.#start === this.#end) this.#reset();
  }

  /** Every live byte, for the caller to keep; the buffer is left empty. */
  takeAll(): Uint8Array {
    if (this.length === 0) return EMPTY;
    // An adopted chunk is never written to, and an owned array is handed
    // over and forgotten: either way no copy.
    const out = this.#buf.subarray(this.#start, this.#end);
    this.#position += out.length;
    if (!this.#borrowed) this.#buf = EMPTY;
    this.#start = this.#end = 0;
    this.#reset();
    return out;
  }

  /** Empties the buffer. */
  clear(): void {
    this.#position += this.length;
    this.#start = this.#end = 0;
    this.#reset();
  }

  /** Frees memory once empty: a borrowed chunk is released, a big owned array dropped. */
  #reset(): void {
    this.#start = this.#end = 0;
    this.#scanned = 0;
    this.#window = null;
    if (this.#borrowed) {
      this.#borrowed = false;
      this.#buf = this.#spare ?? EMPTY;
      this.#spare = null;
    }
    if (this.#buf.length > MAX_SPARE) this.#buf = EMPTY;
  }

  #adopt(data: Uint8Array): void {
    if (!this.#borrowed && this.#buf.length > 0) this.#spare = this.#buf;
    this.#buf = data;
    this.#start = 0;
    this.#end = data.length;
    this.#borrowed = true;
    this.#scanned = 0;
    this.#window = null;
  }

  /** Called when an append of `extra` bytes does not fit in place. */
  #makeRoom(extra: number): void {
    const live = this.#end - this.#start;
    const need = live + extra;
    if (!this.#borrowed && need <= this.#buf.length >> 1) {
      // Over half the array is consumed bytes, so this copy moves fewer bytes
      // than were consumed since the last one: appends stay amortised O(1).
      this.#buf.copyWithin(0, this.#start, this.#end);
    } else {
      let grown: Uint8Array;
      const spare = this.#spare;
      if (this.#borrowed && spare !== null && spare.length >= need) {
        grown = spare;
      } else {
        const doubled = this.#borrowed ? 0 : this.#buf.length * 2;
        grown = new Uint8Array(Math.max(need, doubled, MIN_CAPACITY));
      }
      grown.set(this.#buf.subarray(this.#start, this.#end));
      this.#buf = grown;
      this.#borrowed = false;
      this.#spare = null;
    }
    this.#start = 0;
    this.#end = live;
    this.#window = null;
  }
}

// Non-fatal: invalid UTF-8 becomes U+FFFD instead of throwing. ignoreBOM
// keeps a leading U+FEFF in a line, where TextDecoder would drop it.
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });

/** How many bytes past a line {@linkcode LineDecoder} decodes ahead. */
const DECODE_AHEAD = 4096;

/**
 * Decodes lines (UTF-8, invalid bytes as U+FFFD) out of a
 * {@linkcode ByteBuffer}, several at a time when it can.
 *
 * A `TextDecoder` call costs far more than the bytes of a short line, so
 * when more data follows the line, it decodes up to `DECODE_AHEAD` bytes
 * more (cut after a delimiter) in one call and serves the following lines
 * as substrings of that text. This is only exact when every byte became
 * one UTF-16 unit (ASCII, or bytes that are each invalid on their own):
 * then string offsets are byte offsets, and a substring equals what
 * decoding its bytes alone gives. The text's length says whether that
 * holds; when it does not (multi-byte characters), the lines up to where
 * it looked are decoded one by one, so each byte is decoded at most twice.
 *
 * The text is keyed by stream offsets ({@linkcode ByteBuffer.position}),
 * which never change for a buffered byte, so whatever a callback does to
 * the buffer between lines (consume, clear, re-append) cannot make it
 * serve the wrong bytes. Like `String.prototype.split`'s results, a line
 * may share memory with the text of up to `DECODE_AHEAD` bytes it came in.
 */
export class LineDecoder {
  #text = "";
  /** The stream offsets the text covers: [#from, #to). */
  #from = 0;
  #to = 0;
  /** Lines that start before this stream offset are decoded alone. */
  #aloneUntil = 0;

  /**
   * The first `length` bytes of `buffer`, decoded; `delimiter` follows them.
   */
  decode(buffer: ByteBuffer, length: number, delimiter: Uint8Array): string {
    const at = buffer.position;
    if (at >= this.#from && at + length <= this.#to) {
      const i = at - this.#from;
      return this.#text.substring(i, i + length);
    }
    const lineEnd = length + delimiter.length;
    if (buffer.length > lineEnd && at >= this.#aloneUntil) {
      // More follows: decode ahead, up to the last delimiter byte in reach
      // (never inside a character: delimiter bytes end a line).
      const reach = Math.min(buffer.length, lineEnd + DECODE_AHEAD);
      const cut = buffer.lastIndexOf(delimiter[delimiter.length - 1], reach) +
        1;
      const text = decoder.decode(buffer.view(0, cut));
      if (text.length === cut) {
        this.#text = text;
        this.#from = at;
        this.#to = at + cut;
        return text.substring(0, length);
      }
      this.#aloneUntil = at + cut;
    }
    return decoder.decode(buffer.view(0, length));
  }

  /** Forgets the decoded text (call when the buffer is empty: frees it). */
  clear(): void {
    this.#text = "";
    this.#from = this.#to = 0;
  }
}

/** Decodes all of `bytes` as UTF-8 (invalid bytes as U+FFFD, a BOM kept). */
export function decodeUtf8(bytes: Uint8Array): string {
  return decoder.decode(bytes);
}

const encoder = utf8Encoder;
const SLAB_SIZE = 65536;
let slab = new Uint8Array(SLAB_SIZE);
let slabUsed = 0;

/** Where `n` more bytes fit in the slab (a fresh one when they do not). */
function room(n: number): number {
  if (SLAB_SIZE - slabUsed < n) {
    slab = new Uint8Array(SLAB_SIZE);
    slabUsed = 0;
  }
  return slabUsed;
}

/**
 * Encodes `text` as UTF-8 followed by `suffix` into one new array. Small
 * arrays are carved from a shared slab (allocating a typed array per line
 * costs more than encoding it); a carved range is never reused, so the
 * transport may keep it.
 */
export function encodeWithSuffix(text: string, suffix: Uint8Array): Uint8Array {
  // UTF-8 needs at most 3 bytes per UTF-16 code unit.
  const most = text.length * 3 + suffix.length;
  if (most > SLAB_SIZE >> 2) {
    const body = encoder.encode(text);
    const out = new Uint8Array(body.length + suffix.length);
    out.set(body);
    out.set(suffix, body.length);
    return out;
  }
  const start = room(most);
  let at = start + encoder.encodeInto(text, slab.subarray(start)).written;
  for (let i = 0; i < suffix.length; i++) slab[at++] = suffix[i];
  slabUsed = at;
  return slab.subarray(start, at);
}

/**
 * `a` followed by `b` in one array, carved from the same shared slab as
 * {@linkcode encodeWithSuffix} when small (a fresh array per line costs more
 * than copying the line); the range is never reused, so it may be kept.
 */
export function bytesWithSuffix(a: Uint8Array, b: Uint8Array): Uint8Array {
  const n = a.length + b.length;
  if (n > SLAB_SIZE >> 2) return concatBytes(a, b);
  const start = room(n);
  slab.set(a, start);
  slab.set(b, start + a.length);
  slabUsed = start + n;
  return slab.subarray(start, start + n);
}

/** Concatenates `a` and `b` into one new array. */
export function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
