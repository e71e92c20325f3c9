// The bytes of what a test transport is asked to write (private: shared by
// StringTransport and LoopbackTransport, which must reject bad input alike).

const encoder = new TextEncoder();

/**
 * `data` as bytes: a string UTF-8 encoded, a Uint8Array as it is, anything
 * else a TypeError saying what could not be done (`what`).
 */
export function bytesOf(data: Uint8Array | string, what: string): Uint8Array {
  if (typeof data === "string") return encoder.encode(data);
  if (data instanceof Uint8Array) return data;
  throw new TypeError(
    `Cannot ${what}: expected a Uint8Array or a string, got ${
      data === null ? "null" : typeof data
    }`,
  );
}
