// Private: recognising thenables, the one home of isThenable() for the
// package (deferred/, reactor/, protocols/ and testing/ import it from
// here). Not part of the package's public API.

import type { AnyFn } from "./_chain.ts";
import { Failure } from "./failure.ts";

/** Whether `value` has a callable `then`: a Promise or other thenable. */
export function isThenable<T = unknown>(
  value: unknown,
): value is PromiseLike<T> {
  return value !== null &&
    (typeof value === "object" || typeof value === "function") &&
    typeof (value as { then?: unknown }).then === "function";
}

/**
 * The `then` method of a thenable, or undefined. Reading `then` runs user
 * code (a getter, a Proxy): what it throws is returned as a Failure.
 */
export function thenOf(value: object): AnyFn | undefined | Failure {
  try {
    const then = (value as { then?: unknown }).then;
    return typeof then === "function" ? then as AnyFn : undefined;
  } catch (error) {
    return new Failure(error);
  }
}
