/**
 * The types a `Deferred` is used with: {@linkcode DeferredCallback},
 * the type of the functions added to its chain, and
 * {@linkcode CallLaterClock}, what `addTimeout` schedules on.
 *
 * @module
 */

/**
 * The part of a reactor's time service that `Deferred.addTimeout`
 * needs. Every `IReactorTime` (the reactor, `Clock`) satisfies it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type CallLaterClock, Deferred } from "@twisted-deno/core/deferred";
 * import { Clock } from "@twisted-deno/core/testing";
 *
 * const clock: CallLaterClock = new Clock();
 * const d = new Deferred().addTimeout(1, clock);
 * d.addErrback(() => "timed out");
 * (clock as Clock).advance(1);
 * assert.equal(await d, "timed out");
 * ```
 */
export interface CallLaterClock {
  /** Schedules `fn` after `delay` seconds. */
  callLater(
    delay: number,
    fn: () => void,
  ): { cancel(): void; active(): boolean };
}

/**
 * The type of a function added to a Deferred: called with the result (or
 * Failure) and the extra arguments. It is checked bivariantly, as methods
 * are, so that a `Deferred<number>` is usable where a `Deferred<unknown>` is
 * expected, as a `Promise<number>` is; callers still get full inference
 * for `result`.
 *
 * @typeParam In The result it is called with.
 * @typeParam A Its extra arguments.
 * @typeParam Out What it returns.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type DeferredCallback, succeed } from "@twisted-deno/core/deferred";
 *
 * const addTo: DeferredCallback<number, [number], number> = (n, k) => n + k;
 * assert.equal(await succeed(1).addCallback(addTo, 2), 3);
 * ```
 */
export type DeferredCallback<In, A extends unknown[], Out> = {
  bivarianceHack(result: In, ...args: A): Out;
}["bivarianceHack"];
