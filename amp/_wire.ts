/**
 * Private byte helpers shared by the box layer, the argument types and the
 * dispatcher: key encoding, the one-allocation box writer, ASCII decoding.
 * Not exported from `mod.ts`.
 *
 * @module
 */

import { TooLong } from "./errors.ts";

/** The longest key, in bytes. */
export const MAX_KEY_LENGTH = 0xff;
/** The longest value, in bytes. */
export const MAX_VALUE_LENGTH = 0xffff;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A wire value: bytes, or text to write as UTF-8. */
export type WireValue = Uint8Array | string;

/**
 * The UTF-8 bytes of `text`. ASCII, the common case for numbers and names,
 * skips `TextEncoder`, whose call costs more than short strings do.
 */
export function utf8(text: string): Uint8Array {
  const n = text.length;
  if (n < 64) {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c > 0x7f) return encoder.encode(text);
      out[i] = c;
    }
    return out;
  }
  return encoder.encode(text);
}

/** Text from UTF-8 `bytes` (invalid bytes become U+FFFD). */
export function text(bytes: Uint8Array): string {
  const n = bytes.length;
  if (n < 32) {
    let s = "";
    for (let i = 0; i < n; i++) {
      const c = bytes[i];
      if (c > 0x7f) return decoder.decode(bytes);
      s += String.fromCharCode(c);
    }
    return s;
  }
  return decoder.decode(bytes);
}

/** Text from the UTF-8 bytes `data[at, at + n)`, without a view for ASCII. */
export function textAt(data: Uint8Array, at: number, n: number): string {
  if (n < 32) {
    let s = "";
    for (let i = at; i < at + n; i++) {
      const c = data[i];
      if (c > 0x7f) return decoder.decode(data.subarray(at, at + n));
      s += String.fromCharCode(c);
    }
    return s;
  }
  return decoder.decode(data.subarray(at, at + n));
}

// Keys recur in every box ("_ask", "_command", argument names): a small
// cache, checked byte by byte, hands back the same string instead of
// building a new one per key.
const keyCache: (string | undefined)[] = new Array(512);

/** A key from `data[at, at + n)`, from the cache when it was seen before. */
export function keyAt(data: Uint8Array, at: number, n: number): string {
  if (n === 0 || n > 32) return textAt(data, at, n);
  const slot = (n * 31 + data[at] * 7 + data[at + n - 1]) & 511;
  const hit = keyCache[slot];
  if (hit !== undefined && hit.length === n) {
    let i = 0;
    while (i < n && hit.charCodeAt(i) === data[at + i]) i++;
    if (i === n) return hit;
  }
  const key = textAt(data, at, n);
  // Only one-byte-per-unit (ASCII) keys can ever match the check above.
  if (key.length === n) keyCache[slot] = key;
  return key;
}

/** A key's bytes, checked: 1 to 255 bytes. */
export function encodeKey(key: string): Uint8Array {
  const bytes = utf8(key);
  if (bytes.length > MAX_KEY_LENGTH) {
    throw new TooLong(true, true, bytes.length);
  }
  if (bytes.length === 0) {
    throw new TypeError(
      "Cannot use an empty AMP key: a zero length ends the box on the wire",
    );
  }
  return bytes;
}

/**
 * Serializes one box from encoded keys and their values, in the order
 * given, into one array: each string is a 16-bit big-endian length and
 * the bytes, and a zero length ends the box. Values that are strings are
 * encoded here, and null ones (absent optional arguments) are left out. A
 * value over 65 535 bytes throws {@linkcode TooLong} and nothing is
 * returned.
 */
export function writeBox(
  keys: readonly Uint8Array[],
  values: (WireValue | null)[],
  count: number,
): Uint8Array {
  let total = 2;
  for (let i = 0; i < count; i++) {
    let v = values[i];
    if (v === null) continue;
    if (typeof v === "string") {
      v = values[i] = asciiOrUtf8(v);
    }
    if (v.length > MAX_VALUE_LENGTH) {
      throw new TooLong(false, true, v.length, text(keys[i]));
    }
    total += 4 + keys[i].length + v.length;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (let i = 0; i < count; i++) {
    const v = values[i];
    if (v === null) continue;
    const k = keys[i];
    out[at] = 0;
    out[at + 1] = k.length;
    out.set(k, at + 2);
    at += 2 + k.length;
    const n = v.length;
    out[at] = n >>> 8;
    out[at + 1] = n & 0xff;
    at += 2;
    if (typeof v === "string") {
      // asciiOrUtf8 left it a string only when every unit is one byte.
      for (let j = 0; j < n; j++) out[at + j] = v.charCodeAt(j);
    } else if (n < 16) {
      for (let j = 0; j < n; j++) out[at + j] = v[j];
    } else {
      out.set(v, at);
    }
    at += n;
  }
  // The two final zero bytes are already zero.
  return out;
}

/** `s` itself when it is ASCII (written byte per unit), else its UTF-8. */
function asciiOrUtf8(s: string): WireValue {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    if (s.charCodeAt(i) > 0x7f) return encoder.encode(s);
  }
  return s;
}

/** Compares two byte strings as Python compares `bytes`. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return a.length - b.length;
}

/** The number a lower-case hex ask tag spells, or -1 if it is not one. */
export function parseTag(bytes: Uint8Array): number {
  const n = bytes.length;
  if (n === 0 || n > 13) return -1;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const c = bytes[i];
    let d: number;
    if (c >= 48 && c <= 57) d = c - 48;
    else if (c >= 97 && c <= 102) d = c - 87;
    else return -1;
    v = v * 16 + d;
  }
  return v;
}
