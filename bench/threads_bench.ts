// Thread pool round trips: ThreadPool.deferToThread against the raw
// message round trip it is built on. Run:
//   deno bench --allow-read bench/threads_bench.ts
//
// Every case does one complete round trip per iteration (send an argument
// to a worker, run `add` there, get the result back) and checks the
// result, so nothing is optimised away. Workers are started before the
// timing and reused; the pool's are unref'd, the raw ones terminated on
// unload.

import { Worker as NodeWorker } from "node:worker_threads";
import { ThreadPool } from "../reactor/threads/threads.ts";

const JOBS = "data:text/javascript,export const add = (a, b) => a + b;";
const RAW_WEB = "data:text/javascript," +
  encodeURIComponent(
    "self.onmessage = (e) => self.postMessage(e.data[0] + e.data[1]);",
  );
const RAW_NODE = "data:text/javascript," +
  encodeURIComponent(
    "import { parentPort } from 'node:worker_threads';" +
      "parentPort.on('message', (m) => parentPort.postMessage(m[0] + m[1]));",
  );

function check(got: unknown, want: number): void {
  if (got !== want) throw new Error(`Expected ${want}, got ${String(got)}`);
}

// ---------------------------------------------------------------- setup

const web = new Worker(RAW_WEB, { type: "module" });
let webResolve: (n: number) => void = () => {};
web.onmessage = (e: MessageEvent<number>) => webResolve(e.data);
const webCall = (a: number, b: number): Promise<number> =>
  new Promise((resolve) => {
    webResolve = resolve;
    web.postMessage([a, b]);
  });

const node = new NodeWorker(new URL(RAW_NODE));
let nodeResolve: (n: number) => void = () => {};
node.on("message", (n: number) => nodeResolve(n));
const nodeCall = (a: number, b: number): Promise<number> =>
  new Promise((resolve) => {
    nodeResolve = resolve;
    node.postMessage([a, b]);
  });

const pool = new ThreadPool({ minthreads: 1, maxthreads: 1 });
const pool2 = new ThreadPool({ minthreads: 2, maxthreads: 2 });

// Warm every path up (worker start-up and module load are not measured).
check(await webCall(1, 2), 3);
check(await nodeCall(1, 2), 3);
check(await pool.deferToThread(JOBS, "add", 1, 2), 3);
check(
  await Promise.all(
    [1, 2].map(() => pool2.deferToThread<number>(JOBS, "add", 1, 2)),
  )
    .then((r) => r[0] + r[1]),
  6,
);
node.unref();
globalThis.addEventListener("unload", () => {
  web.terminate();
  node.terminate();
});

let i = 0;

// ------------------------------------------------------ one round trip

const one = "one round trip (add in a worker)";
Deno.bench(
  "raw Worker.postMessage",
  { group: one, baseline: true },
  async () => {
    i++;
    check(await webCall(i, 1), i + 1);
  },
);
Deno.bench("raw node:worker_threads postMessage", { group: one }, async () => {
  i++;
  check(await nodeCall(i, 1), i + 1);
});
Deno.bench("ThreadPool.deferToThread", { group: one }, async () => {
  i++;
  check(await pool.deferToThread(JOBS, "add", i, 1), i + 1);
});

// --------------------------------------------- 100 jobs, 2 workers
//
// Like for like: the pool runs node:worker_threads workers, so the baseline
// is raw postMessage to two of those; every case counts its 100 answers as
// they come (the pool's through a callback on each job's Deferred, not a
// Promise per job) and checks their sum. Raw Web Workers are shown too.
// bench/threads_loop.ts measures the same in interleaved rounds.

const many = "100 jobs in flight, 2 workers";
const webs = [0, 1].map(() => new Worker(RAW_WEB, { type: "module" }));
const nodes = [0, 1].map(() => new NodeWorker(new URL(RAW_NODE)));
for (const w of nodes) w.unref();
globalThis.addEventListener("unload", () => {
  webs.forEach((w) => w.terminate());
  nodes.forEach((w) => w.terminate());
});
let left = 0;
let sum = 0;
let allIn: () => void = () => {};
const count = (n: number): void => {
  sum += n;
  if (--left === 0) allIn();
};
for (const w of webs) w.onmessage = (e: MessageEvent<number>) => count(e.data);
for (const w of nodes) w.on("message", count);

/** Runs `send(k)` for 100 jobs and waits for the 100 answers. */
function hundred(send: (k: number) => void): Promise<void> {
  return new Promise<void>((resolve) => {
    left = 100;
    sum = 0;
    allIn = resolve;
    for (let k = 0; k < 100; k++) send(k);
  }).then(() => check(sum, 5050));
}

Deno.bench(
  "raw node:worker_threads postMessage, 2 workers",
  { group: many, baseline: true },
  () => hundred((k) => nodes[k & 1].postMessage([k, 1])),
);
Deno.bench(
  "raw Worker.postMessage, 2 workers",
  { group: many },
  () => hundred((k) => webs[k & 1].postMessage([k, 1])),
);
Deno.bench(
  "ThreadPool.deferToThread, maxthreads 2",
  { group: many },
  () =>
    hundred((k) => {
      pool2.deferToThread<number>(JOBS, "add", k, 1).addCallback(count);
    }),
);
