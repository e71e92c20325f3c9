// Deferred hot paths against the equivalent Promise code, in one run:
//
//   deno bench bench/deferred_bench.ts
//
// Each group's baseline does the same work with Promises and `await`. Every
// iteration checks its result, so nothing is optimised away.

import {
  Deferred,
  DeferredList,
  gatherResults,
  succeed,
} from "../deferred/mod.ts";

const inc = (n: number): number => n + 1;

// Results are read through these, not through a fresh closure per run;
// each run resets them first, so a stale value cannot pass the check.
let out = -1;
const read = (n: number): void => {
  out = n;
};
let outList: unknown[] = [];
const readList = (list: unknown[]): void => {
  outList = list;
};

function check(actual: unknown, expected: unknown): void {
  if (actual !== expected) {
    throw new Error(`Expected ${expected}, got ${actual}`);
  }
}

// ------------------------------------------------------------- chain

const chain = "10-callback chain: fire, read the result";

Deno.bench(
  "awaited Promise chain",
  { group: chain, baseline: true },
  async () => {
    let p: Promise<number> = Promise.resolve(0);
    for (let i = 0; i < 10; i++) p = p.then(inc);
    check(await p, 10);
  },
);

Deno.bench("Deferred chain", { group: chain }, () => {
  out = -1;
  const d = new Deferred<number>();
  for (let i = 0; i < 10; i++) d.addCallback(inc);
  d.callback(0);
  d.addCallback(read);
  check(out, 10);
});

Deno.bench(
  "Deferred chain, callbacks added after firing",
  { group: chain },
  () => {
    out = -1;
    const d = succeed(0);
    for (let i = 0; i < 10; i++) d.addCallback(inc);
    d.addCallback(read);
    check(out, 10);
  },
);

Deno.bench("Deferred chain, awaited", { group: chain }, async () => {
  const d = new Deferred<number>();
  for (let i = 0; i < 10; i++) d.addCallback(inc);
  d.callback(0);
  check(await d, 10);
});

// ------------------------------------------------------------- lists

const lists = "1 000 results gathered";
const N = 1000;

Deno.bench(
  "Promise.all, awaited",
  { group: lists, baseline: true },
  async () => {
    const resolvers: ((n: number) => void)[] = new Array(N);
    const promises = new Array<Promise<number>>(N);
    for (let i = 0; i < N; i++) {
      promises[i] = new Promise<number>((resolve) => {
        resolvers[i] = resolve;
      });
    }
    const all = Promise.all(promises);
    for (let i = 0; i < N; i++) resolvers[i](i);
    const values = await all;
    check(values.length, N);
    check(values[N - 1], N - 1);
  },
);

Deno.bench("gatherResults", { group: lists }, () => {
  const ds = new Array<Deferred<number>>(N);
  outList = [];
  for (let i = 0; i < N; i++) ds[i] = new Deferred<number>();
  gatherResults(ds).addCallback(readList);
  for (let i = 0; i < N; i++) ds[i].callback(i);
  check(outList.length, N);
  check(outList[N - 1], N - 1);
});

Deno.bench("DeferredList", { group: lists }, () => {
  const ds = new Array<Deferred<number>>(N);
  outList = [];
  for (let i = 0; i < N; i++) ds[i] = new Deferred<number>();
  new DeferredList(ds).addCallback(readList);
  for (let i = 0; i < N; i++) ds[i].callback(i);
  check(outList.length, N);
  check((outList[N - 1] as [boolean, number])[1], N - 1);
});

// ------------------------------------------------------------- nesting

const nesting = "10 000 nested, innermost fired last";
const DEPTH = 10_000;

Deno.bench(
  "Promises resolved with the next Promise, awaited",
  { group: nesting, baseline: true },
  async () => {
    let resolveInnermost!: (n: number) => void;
    let p: Promise<number> = new Promise((resolve) => {
      resolveInnermost = resolve;
    });
    for (let i = 1; i < DEPTH; i++) {
      const inner = p;
      p = new Promise<number>((resolve) => resolve(inner));
    }
    resolveInnermost(7);
    check(await p, 7);
  },
);

Deno.bench("Deferreds returning the next Deferred", { group: nesting }, () => {
  out = -1;
  const innermost = new Deferred<number>();
  let outer = innermost;
  for (let i = 1; i < DEPTH; i++) {
    const inner = outer;
    outer = new Deferred<number>();
    outer.addCallback(() => inner);
    outer.callback(0);
  }
  outer.addCallback(read);
  innermost.callback(7);
  check(out, 7);
});
