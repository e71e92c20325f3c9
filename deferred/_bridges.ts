// Private: the parts of Deferred that only use its public methods, kept
// out of deferred.ts: addTimeout, the bridges to and from Promises, and
// toString.
// Not part of the package's public API.

import { type Extra, observedFailures } from "./_chain.ts";
import type { Deferred } from "./deferred.ts";
import type { CallLaterClock } from "./deferred_types.ts";
import { CancelledError, TimeoutError } from "./errors.ts";
import { Failure } from "./failure.ts";

/** The body of `Deferred.addTimeout`. */
export function addTimeout<T>(
  d: Deferred<T>,
  seconds: number,
  clock: CallLaterClock,
  onTimeoutCancel?: (result: unknown, timeout: number) => unknown,
): Deferred<T> {
  let timedOut = false;
  const call = clock.callLater(seconds, () => {
    timedOut = true;
    d.cancel();
  });
  d.addBoth((result) => {
    if (call.active()) call.cancel();
    if (!timedOut) return result;
    if (onTimeoutCancel) return onTimeoutCancel(result, seconds);
    if (result instanceof Failure) {
      result.trap(CancelledError);
      throw new TimeoutError(seconds, { cause: result.value });
    }
    return result;
  });
  return d;
}

/** The body of `Deferred.asPromise`. */
export function promiseOf<T>(d: Deferred<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    d.addCallbacks(
      (result: T) => {
        resolve(result);
        return result;
      },
      (failure: Failure) => {
        observedFailures.add(failure);
        reject(failure.value);
        return failure;
      },
    );
  });
}

/**
 * The body of `Deferred.fromPromise`. The class comes as an argument so that
 * this module needs no value import of `deferred.ts` (no import circle).
 */
export function deferredOf<T>(
  DeferredClass: typeof Deferred,
  promise: PromiseLike<T>,
): Deferred<T> {
  const d = new DeferredClass<T>();
  try {
    promise.then(
      (value) => {
        if (value instanceof DeferredClass) value.chainDeferred(d);
        else d.callback(value);
      },
      (reason) => d.errback(reason),
    );
  } catch (error) {
    // A thenable whose then() throws: a rejection, as for a Promise.
    if (!d.called) d.errback(error);
  }
  return d;
}

/** The body of `Deferred.toString`, from its state. */
export function describe(
  DeferredClass: typeof Deferred,
  result: unknown,
  called: boolean,
  extra: Extra | null,
): string {
  if (
    result instanceof DeferredClass ||
    (extra !== null && extra.chainedTo !== null)
  ) {
    return "Deferred { waiting on a Deferred }";
  }
  if (!called) return "Deferred { no result }";
  let shown: string;
  try {
    shown = result instanceof Failure ? result.toString() : String(result);
  } catch {
    shown = Object.prototype.toString.call(result);
  }
  return `Deferred { current result: ${shown} }`;
}
