// A 10-callback chain, 100 000 times in a tight loop (no per-iteration
// harness), three ways, rounds interleaved so machine load hits each alike:
//
//   deno run bench/deferred_loop.ts [rounds] [iterations]
//
// - Deferred: new Deferred, 10 addCallback, callback(0);
// - Promise chain: Promise.resolve(0), 10 then, await;
// - bare callback list: an array of 10 functions called in turn (the
//   floor: no errbacks, arguments, pausing or result hand-over; V8 may
//   keep the short-lived array out of the heap altogether);
// - callback-list object: the same behind a class with add() and fire(),
//   for reference (not a target).
//
// Every iteration checks its result. Prints each case's median time per
// loop over the rounds with the spread (min-max), and the ratios from the
// same rounds: Promise / case (how many times faster than Promises) and
// bare list / case (1.00x = as fast as the bare list).

import { Deferred } from "../deferred/mod.ts";

const ROUNDS = Number(Deno.args[0] ?? 7);
const N = Number(Deno.args[1] ?? 100_000);

let out = -1;
const inc = (n: number): number => (out = n + 1);

function check(): void {
  if (out !== 10) throw new Error(`Expected 10, got ${out}`);
}

function deferredLoop(): void {
  for (let i = 0; i < N; i++) {
    out = -1;
    const d = new Deferred<number>();
    for (let k = 0; k < 10; k++) d.addCallback(inc);
    d.callback(0);
    check();
  }
}

async function promiseLoop(): Promise<void> {
  for (let i = 0; i < N; i++) {
    out = -1;
    let p: Promise<number> = Promise.resolve(0);
    for (let k = 0; k < 10; k++) p = p.then(inc);
    await p;
    check();
  }
}

function bareLoop(): void {
  for (let i = 0; i < N; i++) {
    out = -1;
    const fns: ((n: number) => number)[] = [];
    for (let k = 0; k < 10; k++) fns.push(inc);
    let result = 0;
    for (let k = 0; k < fns.length; k++) result = fns[k](result);
    check();
  }
}

/** The least a callback-list object can be: add() appends, fire() runs. */
class CallbackList {
  fns: ((n: number) => number)[] = [];
  add(fn: (n: number) => number): this {
    this.fns.push(fn);
    return this;
  }
  fire(value: number): number {
    const fns = this.fns;
    for (let k = 0; k < fns.length; k++) value = fns[k](value);
    return value;
  }
}

function listObjectLoop(): void {
  for (let i = 0; i < N; i++) {
    out = -1;
    const list = new CallbackList();
    for (let k = 0; k < 10; k++) list.add(inc);
    list.fire(0);
    check();
  }
}

const cases: [string, () => void | Promise<void>][] = [
  ["Deferred: new, 10 addCallback, callback", deferredLoop],
  ["Promise.resolve, 10 then, await", promiseLoop],
  ["bare callback list (array of 10 functions)", bareLoop],
  ["callback-list object (add/fire methods)", listObjectLoop],
];

// Warm-up, so every case is optimised before timing.
for (const [, run] of cases) for (let i = 0; i < 3; i++) await run();

const times: number[][] = cases.map(() => []);
for (let round = 0; round < ROUNDS; round++) {
  for (let j = 0; j < cases.length; j++) {
    const index = (j + round) % cases.length; // rotate the order
    const start = performance.now();
    await cases[index][1]();
    times[index].push(performance.now() - start);
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}
function span(xs: number[], digits: number): string {
  return `[${Math.min(...xs).toFixed(digits)}-${
    Math.max(...xs).toFixed(digits)
  }]`;
}

console.log(
  `${N} iterations, ${ROUNDS} rounds; ms per loop: median [min-max]; ` +
    `ratios from the same round: median [min-max]`,
);
for (let i = 0; i < cases.length; i++) {
  const vsPromise = times[1].map((t, r) => t / times[i][r]);
  const vsBare = times[2].map((t, r) => t / times[i][r]);
  console.log(
    `${cases[i][0].padEnd(44)} ${median(times[i]).toFixed(1)} ms ${
      span(times[i], 1)
    }  vs Promise ${median(vsPromise).toFixed(2)}x ${
      span(vsPromise, 2)
    }  vs bare list ${median(vsBare).toFixed(2)}x ${span(vsBare, 2)}`,
  );
}
