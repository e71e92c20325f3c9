/**
 * The read side of a stream connection without the socket: how large the
 * next read is, which buffer it fills, and what the protocol is handed
 * afterwards. {@linkcode ReadBuffer} is private to `stream.ts`.
 *
 * @module
 */

const EMPTY = new Uint8Array(0);

/**
 * The first read buffer of a connection: the smallest, so a connection
 * that only ever exchanges short messages never allocates another (a busy
 * one reaches the largest in three reads).
 */
export const INITIAL_READ = 256;
/**
 * The smallest read buffer. A pending read holds its buffer, so an idle
 * connection costs about this much plus Deno's own ~7 KiB (a 64-byte
 * message still fits in one read).
 */
export const MIN_READ = 256;
/**
 * The largest read buffer. Each full read hands its buffer to the protocol
 * and allocates the next one, so this stays well below glibc's mmap
 * threshold (128 KiB at first, raised as mmapped blocks are freed): a
 * larger buffer costs an mmap, page faults and an munmap per read, and a
 * speed that depends on the process's history.
 */
export const MAX_READ = 64 * 1024;
/**
 * The block {@linkcode tuneAllocator} allocates and frees once per process.
 */
export const TUNE_BLOCK = 16 * 1024 * 1024;

let tuned = false;

/**
 * Once per process (later calls do nothing): allocates and frees one
 * {@linkcode TUNE_BLOCK}, so that a busy connection's reads stop paying
 * page faults for fresh memory.
 *
 * Each full read hands its 64 KiB buffer to the protocol and allocates the
 * next. When the garbage collector frees a batch of those, glibc's heap
 * gives its free top back to the kernel (above the trim threshold, 128 KiB
 * at start), and the next reads fault fresh pages in: measured on a plain
 * `dataReceived` echo, 3.5x the minor faults, twice the kernel time per
 * byte, and half the throughput (about 700 against 1 300 MB/s), in about a
 * third to a half of server processes, depending on what the process freed
 * before. glibc raises its mmap threshold to the size of a freed mmapped
 * block and its trim threshold to twice that, so freeing one 16 MiB block
 * keeps up to 32 MiB of freed heap for reuse (an 8 MiB block still left
 * one process in four in the slow mode). This is what
 * `MALLOC_TRIM_THRESHOLD_=33554432` in the environment does, from inside
 * the process. Elsewhere (musl, macOS, Windows) it is one short-lived
 * allocation and nothing more.
 *
 * @example
 * ```ts
 * import { tuneAllocator } from "./_read_buffer.ts";
 * tuneAllocator(); // the first stream transport does this itself
 * ```
 */
export function tuneAllocator(): void {
  if (tuned) return;
  tuned = true;
  // transfer(0) detaches the block, which frees it now rather than at the
  // next garbage collection.
  new ArrayBuffer(TUNE_BLOCK).transfer(0);
}

/** Reads up to this size are copied into the shared slab. */
export const SLAB_READ = 1024;
/** The size of a slab. */
export const SLAB_SIZE = 16 * 1024;

/**
 * Small chunks copied side by side into shared 16 KiB buffers, as Node
 * pools small Buffers: one ArrayBuffer per 16 KiB of small chunks instead
 * of one per chunk, which spares the allocator and the garbage collector.
 * Views never overlap and a slab is never written twice, so each chunk is
 * its holder's to keep; a kept chunk keeps its slab alive.
 */
export class Slab {
  #slab: Uint8Array;
  #used = 0;
  readonly #size: number;

  /** @param size The size of each slab. */
  constructor(size = SLAB_SIZE) {
    this.#size = size;
    this.#slab = new Uint8Array(size);
  }

  /**
   * Copies `source[0, n)` into the slab.
   *
   * @param source The bytes.
   * @param n How many (at most the slab size).
   * @returns A view of the copy, never shared with another.
   */
  copy(source: Uint8Array, n: number): Uint8Array {
    if (this.#size - this.#used < n) {
      this.#slab = new Uint8Array(this.#size);
      this.#used = 0;
    }
    const start = this.#used;
    this.#slab.set(source.subarray(0, n), start);
    this.#used = (start + n + 7) & ~7; // 8-byte aligned, for typed views
    return this.#slab.subarray(start, start + n);
  }
}

const sharedSlab = new Slab();

/**
 * `buffer`, when a buffered protocol's `getBuffer` may return it.
 *
 * @param buffer What `getBuffer` returned.
 * @throws {TypeError} When it is not a non-empty Uint8Array.
 */
export function lent(buffer: unknown): Uint8Array {
  if (buffer instanceof Uint8Array && buffer.length !== 0) return buffer;
  throw new TypeError(
    `Cannot read into ${
      Object.prototype.toString.call(buffer)
    }: getBuffer must return a non-empty Uint8Array`,
  );
}

/**
 * One connection's read buffer. It starts at 256 bytes, grows (x4, up to
 * 64 KiB) while reads fill it and shrinks after a small read, so busy
 * connections read in large chunks and idle ones hold little memory.
 * What {@linkcode ReadBuffer.take} returns is the caller's to keep: up
 * to 1 KiB is copied into a shared {@linkcode Slab}; more, from a buffer
 * at least half full, is handed over (no copy) and the next read gets a
 * new buffer; otherwise it is copied out and the buffer kept.
 */
export class ReadBuffer {
  #buf: Uint8Array = EMPTY;
  #size: number;
  readonly #slab: Slab;

  /**
   * @param initial The first buffer's size.
   * @param slab Where small reads are copied.
   */
  constructor(initial = INITIAL_READ, slab: Slab = sharedSlab) {
    tuneAllocator();
    this.#size = initial;
    this.#slab = slab;
  }

  /** The size of the next read. */
  get size(): number {
    return this.#size;
  }

  /** The buffer the next read fills (allocated when needed). */
  buffer(): Uint8Array {
    if (this.#buf.length !== this.#size) this.#buf = new Uint8Array(this.#size);
    return this.#buf;
  }

  /**
   * The `n` bytes the last read put into {@linkcode ReadBuffer.buffer}, as
   * an array the caller may keep; adapts the next read's size.
   *
   * @param n Bytes read (1 to the buffer's size).
   * @returns Those bytes.
   */
  take(n: number): Uint8Array {
    const buf = this.#buf;
    const size = buf.length;
    if (n > SLAB_READ && n >= size >> 1) {
      this.#buf = EMPTY;
      this.resize(n, size);
      return n === size ? buf : buf.subarray(0, n);
    }
    const data = n <= SLAB_READ ? this.#slab.copy(buf, n) : buf.slice(0, n);
    this.resize(n, size);
    return data;
  }

  /**
   * Adapts the next read's size to a read of `n` bytes into `size`: grows
   * after a full read, shrinks after one of at most an eighth.
   *
   * @param n Bytes read.
   * @param size The size of the buffer they were read into.
   */
  resize(n: number, size: number): void {
    if (n >= size) {
      if (size < MAX_READ) this.#size = Math.min(size * 4, MAX_READ);
    } else if (size > MIN_READ && n <= size >> 3) {
      let next = MIN_READ;
      while (next < n * 2) next *= 2;
      this.#size = next;
    }
  }

  /** Drops the buffer (the connection is closed). */
  release(): void {
    this.#buf = EMPTY;
  }
}
