/**
 * `deferToThread`: a blocking computation (a naive Fibonacci number, a few
 * hundred milliseconds of pure CPU) runs in a Worker of the reactor's
 * thread pool, while the reactor's own thread keeps ticking: a
 * `LoopingCall` counts ticks during the computation.
 *
 * ```sh
 * deno run --allow-read examples/threads.ts [N]
 * ```
 *
 * A Worker shares no objects with the reactor, so the call names a module
 * URL and an export (here, this file's `fib`) rather than passing a
 * closure; the arguments and the result are copied across.
 *
 * @module
 */

import type { Deferred } from "@twisted-deno/core/deferred";
import {
  deferToThread,
  LoopingCall,
  reactor,
} from "@twisted-deno/core/reactor";

/** The blocking work: the `n`th Fibonacci number, computed the slow way. */
export function fib(n: number): number {
  return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

/** Computes `fib(n)` in a worker, counting reactor ticks meanwhile. */
export async function main(n: number): Promise<void> {
  let ticks = 0;
  const ticker = new LoopingCall(() => ticks++);
  ticker.start(0.01, false);
  try {
    const result: Deferred<number> = deferToThread<number>(
      import.meta.url,
      "fib",
      n,
    );
    console.log(`fib(${n}) = ${await result}`);
    console.log(`the reactor kept running: ${ticks > 0}`);
  } finally {
    ticker.stop();
    await reactor.getThreadPool().stop();
  }
}

if (import.meta.main) {
  const n = Number(Deno.args[0] ?? 30);
  if (!Number.isInteger(n) || n < 0 || n > 40) {
    console.error("threads: N must be an integer from 0 to 40");
    Deno.exit(2);
  }
  await main(n);
}
