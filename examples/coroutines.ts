/**
 * Co-routines from generators, two ways:
 *
 * - `inlineCallbacks(function* ...)`: each `yield` waits for a Deferred (or
 *   a Promise) and resumes with its result; a failure is thrown at the
 *   `yield`, so plain `try`/`catch` handles it.
 * - `cooperate(generator)`: long work cut into steps; the `Cooperator`
 *   runs a few steps of every task per reactor turn, so two tasks
 *   interleave and the reactor stays responsive.
 *
 * ```sh
 * deno run examples/coroutines.ts
 * ```
 *
 * @module
 */

import {
  type Deferred,
  fail,
  inlineCallbacks,
  succeed,
} from "@twisted-deno/core/deferred";
import { cooperate, deferLater, reactor } from "@twisted-deno/core/reactor";

/** Waits for three results in turn, catching the one that fails. */
export const sequence: () => Deferred<string[]> = inlineCallbacks(
  function* () {
    const seen: string[] = [];
    const a: number = yield succeed(1); // already fired: resumes at once
    seen.push(`got ${a}`);
    const b: number = yield deferLater(reactor, 0.01, () => a + 1);
    seen.push(`got ${b} later`);
    try {
      yield fail(new Error("lookup failed"));
    } catch (error) {
      seen.push(`caught: ${(error as Error).message}`);
    }
    return seen;
  },
);

/** A task that counts to `n`, one step per `yield`. */
function* counter(name: string, n: number, log: string[]): Generator<void> {
  for (let i = 1; i <= n; i++) {
    log.push(`${name}${i}`);
    yield;
  }
}

/** Runs both samples and prints what they did. */
export async function main(): Promise<void> {
  for (const line of await sequence()) console.log(`inlineCallbacks: ${line}`);

  const log: string[] = [];
  const a = cooperate(counter("a", 3, log));
  const b = cooperate(counter("b", 3, log));
  await Promise.all([a.whenDone(), b.whenDone()]);
  console.log(`cooperate: ${log.join(" ")}`);
}

if (import.meta.main) await main();
