/**
 * Deferreds from the talk: a chain of callbacks that take extra arguments,
 * and its error-handling sample, where `fail` raises and `recover` returns
 * the error's value, which puts the chain back on its callback track.
 *
 * ```sh
 * deno run examples/deferred_chain.ts
 * ```
 *
 * Everything here runs synchronously: `callback()` runs the whole chain
 * before it returns, so the lines print in the order of the code.
 *
 * @module
 */

import { Deferred, type Failure } from "@twisted-deno/core/deferred";

/** Adds `n` to the result: a callback with an extra argument. */
export function add(result: number, n: number): number {
  return result + n;
}

/** Multiplies the result by `n`. */
export function times(result: number, n: number): number {
  return result * n;
}

/** The talk's `fail`: turns any result into an error. */
export function fail(result: unknown): never {
  throw new Error(`failed on ${String(result)}`);
}

/** The talk's `recover`: returns the error itself, so the chain goes on. */
export function recover(failure: Failure): unknown {
  return failure.value;
}

/** Runs both samples, printing what each callback sees. */
export function main(): void {
  // Extra arguments go after the callback, as in Twisted.
  const d = new Deferred<number>();
  d.addCallback(add, 1)
    .addCallback(times, 2)
    .addCallback((result: number, label: string) => {
      console.log(`${label}: ${result}`);
      return result;
    }, "chain result");
  d.callback(20); // (20 + 1) * 2
  console.log("after callback(20)"); // printed after the chain ran

  // fail raises, the errback recovers with the error object, and the
  // next callback gets that error as an ordinary result.
  const e = new Deferred<number>();
  e.addCallback(fail)
    .addErrback(recover)
    .addCallback((value: unknown) => {
      const error = value as Error;
      console.log(`recovered: ${error.name}: ${error.message}`);
    });
  e.callback(1);

  // An errback that does not recover passes the failure on; one that
  // traps a type it does not match does too.
  const f = new Deferred<number>();
  f.addCallback(() => {
    throw new RangeError("too far");
  })
    .addErrback((failure: Failure) => failure.trap(TypeError))
    .addCallback(() => console.log("not reached"))
    .addErrback((failure: Failure) => {
      console.log(`still failing: ${failure.getErrorMessage()}`);
    });
  f.callback(0);
}

if (import.meta.main) main();
