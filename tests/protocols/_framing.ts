// Shared helpers of the framer tests (lines_test, netstrings_test, intn_test).
import { StringTransport } from "../../testing/string_transport.ts";

/** Feeds `wire` to `proto` in chunks of `size` bytes. */
export function feed(
  proto: { dataReceived(d: Uint8Array): void },
  wire: Uint8Array,
  size: number,
): void {
  for (let i = 0; i < wire.length; i += size) {
    // slice, not subarray: each chunk is a fresh array, as from a socket
    proto.dataReceived(wire.slice(i, i + size));
  }
}

/** A deterministic PRNG (mulberry32), so property tests replay exactly. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Splits `wire` at random points (1 to `max` bytes per chunk). */
export function randomChunks(
  wire: Uint8Array,
  rand: () => number,
  max: number,
): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  for (let i = 0; i < wire.length;) {
    const n = 1 + Math.floor(rand() * max);
    chunks.push(wire.slice(i, i + n));
    i += n;
  }
  return chunks;
}

export function connected<
  P extends { makeConnection(t: StringTransport): void },
>(
  proto: P,
): [P, StringTransport] {
  const transport = new StringTransport();
  proto.makeConnection(transport);
  return [proto, transport];
}
