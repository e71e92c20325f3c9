/**
 * AMP's per-call cost in memory, without sockets: 100 pipelined `Sum`
 * calls through a client and a server `AMP` joined by the in-memory
 * loopback, against a hand-written baseline that does the same wire work
 * (encode each call box, parse it, add, encode the answer box, parse it)
 * with no dispatch, Deferreds or typing.
 *
 * ```sh
 * deno bench bench/amp_bench.ts
 * ```
 *
 * The socket benchmark against Twisted is `bench/run_amp.sh`. Every run
 * checks its totals, so no work is optimised away.
 *
 * @module
 */

import * as amp from "../amp/mod.ts";
import { connectedServerAndClient } from "../testing/loopback.ts";

const Sum = new amp.Command("Sum", {
  arguments: { a: new amp.Integer(), b: new amp.Integer() },
  response: { total: new amp.Integer() },
});

class SumServer extends amp.AMP {
  constructor() {
    super();
    this.responder(Sum, ({ a, b }) => ({ total: a + b }));
  }
}

const CALLS = 100;
const EXPECTED = (CALLS * (CALLS - 1)) / 2 + CALLS * 1000;
const enc = new TextEncoder();
const dec = new TextDecoder();

/** Writes a box of ASCII keys and values, as AMP does, into one array. */
function box(pairs: [string, string][]): Uint8Array {
  let n = 2;
  for (const [k, v] of pairs) n += 4 + k.length + v.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const [k, v] of pairs) {
    for (const s of [k, v]) {
      out[at] = s.length >> 8;
      out[at + 1] = s.length & 0xff;
      enc.encodeInto(s, out.subarray(at + 2));
      at += 2 + s.length;
    }
  }
  return out;
}

/** Parses one box at `at`; returns the map and where the next box starts. */
function parse(data: Uint8Array, at: number): [Map<string, string>, number] {
  const m = new Map<string, string>();
  for (;;) {
    const kl = (data[at] << 8) | data[at + 1];
    at += 2;
    if (kl === 0) return [m, at];
    const k = dec.decode(data.subarray(at, at + kl));
    at += kl;
    const vl = (data[at] << 8) | data[at + 1];
    at += 2;
    m.set(k, dec.decode(data.subarray(at, at + vl)));
    at += vl;
  }
}

const group = "100 pipelined Sum calls, in memory";

Deno.bench(
  "hand-written box encode and parse",
  { group, baseline: true },
  () => {
    let total = 0;
    for (let i = 0; i < CALLS; i++) {
      const ask = box([["_ask", i.toString(16)], ["_command", "Sum"], [
        "a",
        `${i}`,
      ], ["b", "1000"]]);
      const [call] = parse(ask, 0);
      const sum = Number(call.get("a")) + Number(call.get("b"));
      const answer = box([["_answer", call.get("_ask")!], ["total", `${sum}`]]);
      total += Number(parse(answer, 0)[0].get("total"));
    }
    if (total !== EXPECTED) {
      throw new Error(
        `Expected ${EXPECTED}, got ${total}`,
      );
    }
  },
);

const [client, , pump] = connectedServerAndClient(SumServer, amp.AMP);

Deno.bench("AMP callRemote and responder", { group }, () => {
  let total = 0;
  const add = (r: { total: number }) => {
    total += r.total;
  };
  for (let i = 0; i < CALLS; i++) {
    client.callRemote(Sum, { a: i, b: 1000 }).addCallback(add);
  }
  pump.flush();
  if (total !== EXPECTED) throw new Error(`Expected ${EXPECTED}, got ${total}`);
});
