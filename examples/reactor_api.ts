/**
 * The reactor's API in one run: `callWhenRunning` (work once the loop is
 * up), `callLater` (a timed call, which can be cancelled or moved),
 * `iterate` (let the reactor turn without running it, as a test or a
 * script might) and `stop` (shutdown triggers run, then `run()`'s Promise
 * resolves).
 *
 * ```sh
 * deno run examples/reactor_api.ts
 * ```
 *
 * Prints each event as it happens and exits by itself once the reactor
 * has stopped.
 *
 * @module
 */

import { reactor } from "@twisted-deno/core/reactor";

/** Runs the tour; resolves once the reactor has stopped. */
export async function main(): Promise<void> {
  // iterate() works before run(): timers and sockets never need run().
  let early = false;
  reactor.callLater(0, () => early = true);
  await reactor.iterate(1); // returns as soon as the call ran
  console.log(`iterate: the early call ran: ${early}`);

  reactor.callWhenRunning(() => {
    console.log("callWhenRunning: the reactor is running");
    const start = reactor.seconds();
    const cancelled = reactor.callLater(0.05, () => console.log("never"));
    reactor.callLater(0.02, () => {
      cancelled.cancel();
      console.log(`callLater(0.02): cancelled the 0.05 s call`);
    });
    const moved = reactor.callLater(10, () => {
      const took = reactor.seconds() - start;
      console.log(`callLater(10) moved to 0.04 s: ran within 1 s: ${took < 1}`);
      console.log("stop: asking the reactor to stop");
      reactor.stop();
    });
    moved.reset(0.04);
  });
  reactor.addSystemEventTrigger("before", "shutdown", () => {
    console.log("shutdown trigger: before");
  });
  await reactor.run();
  console.log("run() resolved: the reactor has stopped");
}

if (import.meta.main) await main();
