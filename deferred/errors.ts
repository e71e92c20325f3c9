/**
 * The error classes of the Deferred layer, one per condition.
 *
 * @module
 */

import type { Failure } from "./failure.ts";

/**
 * Thrown by `callback()`/`errback()` on a Deferred that already has a result.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { AlreadyCalledError, Deferred } from "@twisted-deno/core/deferred";
 *
 * const d = new Deferred<number>();
 * d.callback(1);
 * assert.throws(() => d.callback(2), AlreadyCalledError);
 * ```
 */
export class AlreadyCalledError extends Error {
  /** The error's name: `"AlreadyCalledError"`. */
  override readonly name = "AlreadyCalledError";
  /**
   * Makes the error.
   *
   * @param detail Extra text, such as the first firing's stack.
   * @param options The cause, if any.
   */
  constructor(detail = "", options?: ErrorOptions) {
    super(
      "Cannot fire Deferred: it already has a result" +
        (detail ? `\n${detail}` : ""),
      options,
    );
  }
}

/**
 * The reason a Deferred fails when it is cancelled.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CancelledError, Deferred } from "@twisted-deno/core/deferred";
 *
 * const d = new Deferred();
 * let reason: unknown;
 * d.addErrback((f) => { reason = f.value; });
 * d.cancel();
 * assert.ok(reason instanceof CancelledError);
 * ```
 */
export class CancelledError extends Error {
  /** The error's name: `"CancelledError"`. */
  override readonly name = "CancelledError";
  /**
   * Makes the error.
   *
   * @param message What was cancelled.
   * @param options The cause, if any.
   */
  constructor(message = "Deferred was cancelled", options?: ErrorOptions) {
    super(message, options);
  }
}

/**
 * The reason a Deferred given `addTimeout()` fails when its time runs out.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TimeoutError } from "@twisted-deno/core/deferred";
 *
 * const e = new TimeoutError(5);
 * assert.equal(e.message, "Deferred timed out after 5 seconds");
 * ```
 */
export class TimeoutError extends Error {
  /** The error's name: `"TimeoutError"`. */
  override readonly name = "TimeoutError";
  /**
   * Makes the error.
   *
   * @param timeout The timeout, in seconds.
   * @param options The cause (the CancelledError), if any.
   */
  constructor(readonly timeout?: number, options?: ErrorOptions) {
    super(
      timeout === undefined
        ? "Deferred timed out"
        : `Deferred timed out after ${timeout} seconds`,
      options,
    );
  }
}

/**
 * The failure value of `gatherResults` (or a DeferredList with
 * `fireOnOneErrback`): which Deferred failed first and how.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Failure, FirstError } from "@twisted-deno/core/deferred";
 *
 * const e = new FirstError(new Failure(new Error("no")), 2);
 * assert.equal(e.index, 2);
 * assert.match(e.message, /index 2: Error: no/);
 * ```
 */
export class FirstError extends Error {
  /** The error's name: `"FirstError"`. */
  override readonly name = "FirstError";
  /**
   * Makes the error; its cause is the sub-failure's value.
   *
   * @param subFailure The failure of the Deferred that failed.
   * @param index Its position in the list.
   */
  constructor(readonly subFailure: Failure, readonly index: number) {
    super(
      `Deferred at index ${index}: ${
        subFailure.type?.name ?? "Error"
      }: ${subFailure.getErrorMessage()}`,
      { cause: subFailure.value },
    );
  }
}

/**
 * The failure value of `race` when every Deferred failed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Failure, FailureGroup } from "@twisted-deno/core/deferred";
 *
 * const e = new FailureGroup([new Failure(new Error("a"))]);
 * assert.equal(e.failures.length, 1);
 * ```
 */
export class FailureGroup extends Error {
  /** The error's name: `"FailureGroup"`. */
  override readonly name = "FailureGroup";
  /**
   * Makes the error.
   *
   * @param failures Every failure, in list order.
   */
  constructor(readonly failures: Failure[]) {
    super(`All ${failures.length} Deferreds failed`);
  }
}

/**
 * Thrown by `DeferredQueue.put()` when the queue is full.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DeferredQueue, QueueOverflow } from "@twisted-deno/core/deferred";
 *
 * const q = new DeferredQueue<number>(1);
 * q.put(1);
 * assert.throws(() => q.put(2), QueueOverflow);
 * ```
 */
export class QueueOverflow extends Error {
  /** The error's name: `"QueueOverflow"`. */
  override readonly name = "QueueOverflow";
  /**
   * Makes the error.
   *
   * @param message What overflowed.
   * @param options The cause, if any.
   */
  constructor(
    message = "Cannot put: the queue is full",
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * Thrown by `DeferredQueue.get()` when its backlog of waiting gets is full.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DeferredQueue, QueueUnderflow } from "@twisted-deno/core/deferred";
 *
 * const q = new DeferredQueue<number>(Infinity, 1);
 * q.get();
 * assert.throws(() => q.get(), QueueUnderflow);
 * ```
 */
export class QueueUnderflow extends Error {
  /** The error's name: `"QueueUnderflow"`. */
  override readonly name = "QueueUnderflow";
  /**
   * Makes the error.
   *
   * @param message What underflowed.
   * @param options The cause, if any.
   */
  constructor(
    message = "Cannot get: too many gets are already waiting",
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
