// 100 jobs in flight on 2 workers: ThreadPool.deferToThread against raw
// postMessage to 2 workers, in one process, rounds interleaved so that
// machine load hits every case alike. Run:
//
//   deno run --allow-read bench/threads_loop.ts [rounds] [batches]
//
// Every case sends 100 (a, b) pairs, has `a + b` computed in a worker, and
// waits for all 100 answers, counted as they come and their sum checked:
//
// - raw Worker: Web Workers, one postMessage per job, the answers counted;
// - raw node:worker_threads: the same with the Worker class the pool uses
//   (the like-for-like baseline);
// - ThreadPool: deferToThread per job, each answer read by a callback on
//   its Deferred (no Promise per job);
// - ThreadPool, pipeline 1: one job per worker at a time, as before
//   pipelining.
//
// Prints, per case, the median time per 100-job batch over the rounds,
// the spread (min-max of the round medians), and the ratio of the raw
// node:worker_threads time to the case's in the same round (higher is
// faster): the median over the rounds and its spread.

import { Worker as NodeWorker } from "node:worker_threads";
import { ThreadPool } from "../reactor/threads/threads.ts";

const ROUNDS = Number(Deno.args[0] ?? 7);
const BATCHES = Number(Deno.args[1] ?? 40);
const JOBS = 100;
const SUM = (JOBS * (JOBS - 1)) / 2 + JOBS; // sum of k + 1 for k < JOBS

const MODULE = "data:text/javascript,export const add = (a, b) => a + b;";
const RAW_WEB = "data:text/javascript," +
  encodeURIComponent(
    "self.onmessage = (e) => self.postMessage(e.data[0] + e.data[1]);",
  );
const RAW_NODE = "data:text/javascript," +
  encodeURIComponent(
    "import { parentPort } from 'node:worker_threads';" +
      "parentPort.on('message', (m) => parentPort.postMessage(m[0] + m[1]));",
  );

function check(got: number): void {
  if (got !== SUM) throw new Error(`Expected ${SUM}, got ${got}`);
}

type Case = { name: string; batch: () => Promise<void> };

// ------------------------------------------------------------- raw web

const webs = [0, 1].map(() => new Worker(RAW_WEB, { type: "module" }));
let webDone: () => void = () => {};
let webLeft = 0;
let webSum = 0;
for (const w of webs) {
  w.onmessage = (e: MessageEvent<number>) => {
    webSum += e.data;
    if (--webLeft === 0) webDone();
  };
}
const rawWeb: Case = {
  name: "raw Worker.postMessage, 2 workers",
  batch: () =>
    new Promise<void>((resolve) => {
      webLeft = JOBS;
      webSum = 0;
      webDone = () => {
        check(webSum);
        resolve();
      };
      for (let k = 0; k < JOBS; k++) webs[k & 1].postMessage([k, 1]);
    }),
};

// ------------------------------------------------------------ raw node

const nodes = [0, 1].map(() => new NodeWorker(new URL(RAW_NODE)));
let nodeDone: () => void = () => {};
let nodeLeft = 0;
let nodeSum = 0;
for (const w of nodes) {
  w.on("message", (n: number) => {
    nodeSum += n;
    if (--nodeLeft === 0) nodeDone();
  });
}
const rawNode: Case = {
  name: "raw node:worker_threads postMessage, 2 workers",
  batch: () =>
    new Promise<void>((resolve) => {
      nodeLeft = JOBS;
      nodeSum = 0;
      nodeDone = () => {
        check(nodeSum);
        resolve();
      };
      for (let k = 0; k < JOBS; k++) nodes[k & 1].postMessage([k, 1]);
    }),
};

// ---------------------------------------------------------------- pools

function poolCase(name: string, pool: ThreadPool): Case {
  return {
    name,
    batch: () =>
      new Promise<void>((resolve, reject) => {
        let left = JOBS;
        let sum = 0;
        const add = (n: number): void => {
          sum += n;
          if (--left === 0) {
            check(sum);
            resolve();
          }
        };
        for (let k = 0; k < JOBS; k++) {
          pool.deferToThread<number>(MODULE, "add", k, 1).addCallbacks(
            add,
            (f) => reject(f.value),
          );
        }
      }),
  };
}

const pool = new ThreadPool({ minthreads: 2, maxthreads: 2 });
const pool1 = new ThreadPool({ minthreads: 2, maxthreads: 2, pipeline: 1 });
const cases: Case[] = [
  rawNode,
  rawWeb,
  poolCase("ThreadPool.deferToThread, maxthreads 2", pool),
  poolCase("ThreadPool.deferToThread, maxthreads 2, pipeline 1", pool1),
];

// Warm-up: worker start-up and module loading are not measured.
for (const c of cases) for (let i = 0; i < 20; i++) await c.batch();

const medians: number[][] = cases.map(() => []);
for (let round = 0; round < ROUNDS; round++) {
  // Interleaved: each round runs every case, in a rotating order.
  for (let j = 0; j < cases.length; j++) {
    const index = (j + round) % cases.length;
    const times: number[] = [];
    for (let b = 0; b < BATCHES; b++) {
      const start = performance.now();
      await cases[index].batch();
      times.push(performance.now() - start);
    }
    medians[index].push(median(times));
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

console.log(
  `100 jobs in flight on 2 workers; ${ROUNDS} rounds x ${BATCHES} batches; ` +
    `ms per batch: median of the round medians [min-max]; ` +
    `ratio = raw node / case, per round: median [min-max]`,
);
for (let i = 0; i < cases.length; i++) {
  // Per-round ratios: each round's cases ran back to back.
  const ratios = medians[i].map((t, r) => medians[0][r] / t);
  console.log(
    `${cases[i].name.padEnd(52)} ${median(medians[i]).toFixed(3)} ms [${
      Math.min(...medians[i]).toFixed(3)
    }-${Math.max(...medians[i]).toFixed(3)}]  ratio ${
      median(ratios).toFixed(2)
    }x [${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)}]`,
  );
}

for (const w of webs) w.terminate();
for (const w of nodes) await w.terminate();
await pool.stop();
await pool1.stop();
