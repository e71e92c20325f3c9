// Test helpers: PROXY headers built byte by byte from the spec's layout.

import { V2Parser } from "../../../protocols/haproxy/v2.ts";

export const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
export const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

/** A v2 header: version/command byte, family/transport byte, body. */
export function v2(
  verCmd: number,
  famProto: number,
  body: number[] | Uint8Array,
): Uint8Array {
  const bytes = [...body];
  return new Uint8Array([
    ...V2Parser.SIGNATURE,
    verCmd,
    famProto,
    bytes.length >> 8,
    bytes.length & 0xff,
    ...bytes,
  ]);
}

/** The INET address block for src:sport -> dst:dport. */
export function inet(
  src: number[],
  dst: number[],
  sport: number,
  dport: number,
): number[] {
  return [...src, ...dst, sport >> 8, sport & 0xff, dport >> 8, dport & 0xff];
}

/** A TLV: type, 2-byte length, value. */
export function tlv(type: number, value: number[]): number[] {
  return [type, value.length >> 8, value.length & 0xff, ...value];
}

/** Feeds `bytes` to `feed` in pieces of `size`, returning the first non-null result. */
export function feedInPieces<T>(
  feed: (b: Uint8Array) => T | null,
  bytes: Uint8Array,
  size: number,
): { result: T | null; fedUpTo: number } {
  for (let i = 0; i < bytes.length; i += size) {
    const result = feed(bytes.slice(i, i + size));
    if (result !== null) {
      return { result, fedUpTo: Math.min(i + size, bytes.length) };
    }
  }
  return { result: null, fedUpTo: bytes.length };
}
