/**
 * Waiting on several Deferreds at once: {@linkcode DeferredList} (every
 * outcome, or the first success or failure), {@linkcode gatherResults}
 * (every result, or the first failure) and {@linkcode race} (the first
 * success, cancelling the rest).
 *
 * Each works by adding a callback to every Deferred it is given, so (as in
 * Twisted) callbacks added to those Deferreds before the call change what it
 * sees, and callbacks added after see what it passes on.
 *
 * @module
 */

import { Logger } from "../log/mod.ts";
import { Deferred } from "./deferred.ts";
import { FailureGroup, FirstError } from "./errors.ts";
import { Failure } from "./failure.ts";

const log = new Logger("deferred");

/**
 * One entry of a {@linkcode DeferredList}'s result: `[true, result]` for a
 * Deferred that succeeded, `[false, failure]` for one that failed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type DeferredListResult, Failure } from "@twisted-deno/core/deferred";
 *
 * const entries: DeferredListResult<number>[] = [[true, 1], [false, new Failure(new Error("x"))]];
 * const values = entries.flatMap(([ok, v]) => ok ? [v] : []);
 * assert.deepEqual(values, [1]);
 * ```
 */
export type DeferredListResult<T> =
  | [success: true, result: T]
  | [success: false, failure: Failure];

/**
 * Options of {@linkcode DeferredList}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DeferredList, type DeferredListOptions, fail } from "@twisted-deno/core/deferred";
 *
 * const options: DeferredListOptions = { fireOnOneErrback: true, consumeErrors: true };
 * let failed = false;
 * new DeferredList([fail(new Error("x"))], options).addErrback(() => { failed = true; });
 * assert.equal(failed, true);
 * ```
 */
export interface DeferredListOptions {
  /**
   * Fire with `[result, index]` as soon as one Deferred succeeds. With an
   * empty list, the DeferredList then never fires.
   */
  fireOnOneCallback?: boolean;
  /**
   * Fail with a {@linkcode FirstError} (carrying the failure and its index)
   * as soon as one Deferred fails.
   */
  fireOnOneErrback?: boolean;
  /**
   * After the DeferredList has seen a failure, replace it with `undefined`
   * in that Deferred's own chain, so it is not also reported there as an
   * unhandled error.
   */
  consumeErrors?: boolean;
}

/**
 * The result type of a Deferred.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type DeferredResult, succeed } from "@twisted-deno/core/deferred";
 *
 * const d = succeed("text");
 * const value: DeferredResult<typeof d> = "also text";
 * assert.equal(typeof value, "string");
 * ```
 */
export type DeferredResult<D> = D extends Deferred<infer V> ? V : never;

function checkDeferreds<T>(list: Iterable<Deferred<T>>, who: string) {
  if (list === null || typeof list !== "object" && typeof list !== "function") {
    throw new TypeError(
      `${who} needs an iterable of Deferreds, not ${String(list)}`,
    );
  }
  const copy = [...list];
  for (let i = 0; i < copy.length; i++) {
    if (!(copy[i] instanceof Deferred)) {
      throw new TypeError(
        `${who} needs Deferreds: the item at index ${i} is ${
          String(copy[i])
        }; wrap other values with succeed() or maybeDeferred()`,
      );
    }
  }
  return copy;
}

/**
 * A Deferred that fires once every Deferred in a list has a result, with
 * `[success, resultOrFailure]` for each, in list order.
 *
 * - `fireOnOneCallback`: fire with `[result, index]` at the first success
 *   (and, if all fail, with the full list as usual). An empty list then
 *   never fires.
 * - `fireOnOneErrback`: fail with {@linkcode FirstError} at the first
 *   failure.
 * - `consumeErrors`: failures are not passed on down each Deferred's own
 *   chain (it continues with `undefined`).
 *
 * `cancel()` before it fires cancels every Deferred in the list; an error a
 * canceller throws is logged and the others are still cancelled.
 *
 * @typeParam T The result type of the Deferreds.
 * @typeParam F Whether `fireOnOneCallback` is set (inferred from the
 *   options), which decides the result type.
 *
 * @example Every outcome
 * ```ts
 * import assert from "node:assert/strict";
 * import { Deferred, DeferredList, succeed } from "@twisted-deno/core/deferred";
 *
 * const late = new Deferred<number>();
 * const dl = new DeferredList([succeed(1), late], { consumeErrors: true });
 * let outcome: unknown;
 * dl.addCallback((results) => { outcome = results.map(([ok]) => ok); });
 * late.errback(new Error("nope"));
 * assert.deepEqual(outcome, [true, false]);
 * ```
 *
 * @example The first success
 * ```ts
 * import assert from "node:assert/strict";
 * import { Deferred, DeferredList } from "@twisted-deno/core/deferred";
 *
 * const a = new Deferred<string>();
 * const b = new Deferred<string>();
 * let first: [string, number] | undefined;
 * new DeferredList([a, b], { fireOnOneCallback: true })
 *   .addCallback((pair) => { first = pair; });
 * b.callback("b wins");
 * assert.deepEqual(first, ["b wins", 1]);
 * ```
 */
export class DeferredList<T = unknown, F extends boolean = false>
  extends Deferred<
    F extends true ? [result: T, index: number] : DeferredListResult<T>[]
  > {
  /** The outcomes so far, by position; holes until each one fires. */
  readonly resultList: DeferredListResult<T>[];
  /** Whether it fires at the first success. */
  readonly fireOnOneCallback: boolean;
  /** Whether it fails at the first failure. */
  readonly fireOnOneErrback: boolean;
  /** Whether failures are consumed in the members' chains. */
  readonly consumeErrors: boolean;
  /** How many members have a result. */
  finishedCount = 0;
  #deferreds: Deferred<T>[];

  /**
   * Starts waiting on the Deferreds.
   *
   * @param deferredList The Deferreds to wait on (copied: adding to the
   *   iterable later changes nothing).
   * @param options When to fire, and whether to consume failures.
   * @throws {TypeError} When an item is not a Deferred.
   */
  constructor(
    deferredList: Iterable<Deferred<T>>,
    options?: DeferredListOptions & { fireOnOneCallback?: F },
  ) {
    super();
    options ??= {};
    const deferreds = checkDeferreds(deferredList, "DeferredList");
    this.#deferreds = deferreds;
    this.resultList = new Array(deferreds.length);
    this.fireOnOneCallback = options.fireOnOneCallback ?? false;
    this.fireOnOneErrback = options.fireOnOneErrback ?? false;
    this.consumeErrors = options.consumeErrors ?? false;
    if (deferreds.length === 0 && !this.fireOnOneCallback) {
      this.callback([] as never);
    }
    // The flags are set first: members that already fired call back now.
    const handler = this.#memberFired;
    for (let i = 0; i < deferreds.length; i++) {
      deferreds[i].addBoth(handler, i);
    }
  }

  #memberFired = (result: T | Failure, index: number): unknown => {
    const succeeded = !(result instanceof Failure);
    this.resultList[index] = [succeeded, result] as DeferredListResult<T>;
    this.finishedCount++;
    if (!this.called) {
      if (succeeded && this.fireOnOneCallback) {
        this.callback([result, index] as never);
      } else if (!succeeded && this.fireOnOneErrback) {
        this.errback(new Failure(new FirstError(result, index)));
      } else if (this.finishedCount === this.resultList.length) {
        this.callback(this.resultList as never);
      }
    }
    if (!succeeded && this.consumeErrors) return undefined;
    return result;
  };

  /**
   * Before it fires: cancels every Deferred in the list (logging, not
   * throwing, what a canceller throws). After: as `Deferred.cancel()`,
   * which only matters while a callback's Deferred is awaited.
   */
  override cancel(): void {
    if (this.called) return super.cancel();
    for (const d of this.#deferreds) {
      try {
        d.cancel();
      } catch (error) {
        log.failure(
          "Exception raised from user supplied canceller",
          new Failure(error),
          "error",
        );
      }
    }
  }
}

/**
 * Options of {@linkcode gatherResults}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { fail, gatherResults, type GatherResultsOptions } from "@twisted-deno/core/deferred";
 *
 * const options: GatherResultsOptions = { consumeErrors: true };
 * const member = fail<number>(new Error("x"));
 * gatherResults([member], options).addErrback(() => undefined);
 * assert.equal(await member, undefined); // consumed: no unhandled error left
 * ```
 */
export interface GatherResultsOptions {
  /**
   * After a failure has been seen, replace it with `undefined` in that
   * Deferred's own chain, so it is not also reported as unhandled there.
   */
  consumeErrors?: boolean;
}

/**
 * A Deferred of every result, in list order, once all have succeeded; or a
 * failure with {@linkcode FirstError} (`subFailure`, `index`) as soon as one
 * fails. Cancelling it cancels every Deferred in the list.
 *
 * @param deferredList The Deferreds.
 * @param options Whether to consume the members' failures.
 * @returns A Deferred of the results (a tuple, for a tuple of Deferreds).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { FirstError, fail, gatherResults, succeed } from "@twisted-deno/core/deferred";
 *
 * let all: [number, string] | undefined;
 * gatherResults([succeed(1), succeed("two")]).addCallback((r) => { all = r; });
 * assert.deepEqual(all, [1, "two"]);
 *
 * let index = -1;
 * gatherResults([succeed(1), fail(new Error("x"))], { consumeErrors: true })
 *   .addErrback((f) => { index = (f.value as FirstError).index; });
 * assert.equal(index, 1);
 * ```
 */
export function gatherResults<const L extends readonly Deferred<unknown>[]>(
  deferredList: L,
  options?: GatherResultsOptions,
): Deferred<{ -readonly [K in keyof L]: DeferredResult<L[K]> }>;
/**
 * A Deferred of every result of an iterable of Deferreds.
 *
 * @param deferredList The Deferreds.
 * @param options Whether to consume the members' failures.
 * @returns A Deferred of the results, in order.
 */
export function gatherResults<T>(
  deferredList: Iterable<Deferred<T>>,
  options?: GatherResultsOptions,
): Deferred<T[]>;
export function gatherResults<T>(
  deferredList: Iterable<Deferred<T>>,
  options: GatherResultsOptions = {},
): Deferred<T[]> {
  return new DeferredList(checkDeferreds(deferredList, "gatherResults"), {
    fireOnOneErrback: true,
    consumeErrors: options.consumeErrors ?? false,
  }).addCallback(valuesOf);
}

function valuesOf<T>(results: DeferredListResult<T>[]): T[] {
  const values = new Array<T>(results.length);
  for (let i = 0; i < results.length; i++) values[i] = results[i][1] as T;
  return values;
}

/**
 * The first success among several Deferreds, as `[index, result]`; the
 * others are then cancelled (and their later results, or failures, go
 * nowhere). When every one fails, fails with {@linkcode FailureGroup}
 * holding their failures in list order. Cancelling it cancels them all.
 * As in Twisted, an empty list never fires.
 *
 * @param deferreds The Deferreds.
 * @returns A Deferred of the winner's index and result.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CancelledError, Deferred, race } from "@twisted-deno/core/deferred";
 *
 * const slow = new Deferred<string>();
 * const fast = new Deferred<string>();
 * let loser: unknown;
 * slow.addErrback((f) => { loser = f.value; });
 * let winner: [number, string] | undefined;
 * race([slow, fast]).addCallback((w) => { winner = w; });
 * fast.callback("fast");
 * assert.deepEqual(winner, [1, "fast"]);
 * assert.ok(loser instanceof CancelledError);
 * ```
 */
export function race<T>(
  deferreds: Iterable<Deferred<T>>,
): Deferred<[index: number, result: T]> {
  const list = checkDeferreds(deferreds, "race");
  let winner: Deferred<T> | null = null;
  const failures: Failure[] = new Array(list.length);
  let failed = 0;
  const result = new Deferred<[number, T]>(() => {
    for (const d of list) d.cancel();
  });
  const succeeded = (value: T, index: number): undefined => {
    if (winner !== null) return; // a canceller that succeeded: ignore it
    winner = list[index];
    for (const d of list) if (d !== winner) d.cancel();
    result.callback([index, value]);
  };
  const lost = (failure: Failure, index: number): undefined => {
    failures[index] = failure;
    if (++failed === list.length) result.errback(new FailureGroup(failures));
  };
  for (let i = 0; i < list.length; i++) {
    list[i].addCallbacks(succeeded, lost, {
      callbackArgs: [i],
      errbackArgs: [i],
    });
  }
  return result;
}
