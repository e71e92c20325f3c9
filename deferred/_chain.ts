// Private: the data of a Deferred's chain and its rarely used state, and
// small helpers of deferred.ts. Not part of the package's public API.

import { arm, disarm, type Report } from "./_unhandled.ts";
import { AlreadyCalledError } from "./errors.ts";
import type { Deferred } from "./deferred.ts";
import type { Failure } from "./failure.ts";

/** Any function a chain calls. */
// deno-lint-ignore no-explicit-any
export type AnyFn = (...args: any[]) => unknown;

// The chain is an array walked by index. Each entry is one link:
//
// - a function: a callback without extra arguments, the common case, so
//   adding it allocates nothing;
// - a Link: any other callback/errback pair;
// - a Deferred: one waiting on this Deferred's result (Twisted's CONTINUE
//   link), which takes the result over when the chain reaches it.
export const NO_ARGS: readonly unknown[] = Object.freeze([]);

/** The state few Deferreds need, kept off the Deferred itself. */
export interface Extra {
  /** cancel() without a canceller: drop the next callback/errback. */
  suppressAlreadyCalled: boolean;
  /** The Deferred that will fire this one (chainDeferred), for toString. */
  chainedTo: Deferred<unknown> | null;
  /** The failure armed for the unhandled-error report. */
  reported: Failure | null;
  /** Its report. */
  report: Report | null;
  /** Where it was created, when debugging. */
  created: string | undefined;
  /** Where it was first fired, when debugging. */
  fired: string | undefined;
}

/** A callback/errback pair with their extra arguments. */
export class Link {
  constructor(
    /** The callback; null passes results on. */
    readonly cb: AnyFn | null,
    /** The errback; null passes failures on. */
    readonly eb: AnyFn | null,
    /** The callback's extra arguments. */
    readonly cbArgs: readonly unknown[],
    /** The errback's extra arguments. */
    readonly ebArgs: readonly unknown[],
  ) {}
}

/** Failures handed to an awaiting Promise: no unhandled-error report. */
export const observedFailures = new WeakSet<Failure>();

/** The stack of the caller's caller, for debugging reports. */
export function stackHere(label: string): string {
  return (new Error(label).stack ?? "").split("\n").slice(3).join("\n");
}

/** Throws the TypeError for a callback that is not a function. */
export function notAFunction(method: string, fn: unknown): never {
  throw new TypeError(`Cannot ${method}: ${String(fn)} is not a function`);
}

/** A Deferred's Extra, before anything is recorded in it. */
export function newExtra(): Extra {
  return {
    suppressAlreadyCalled: false,
    chainedTo: null,
    reported: null,
    report: null,
    created: undefined,
    fired: undefined,
  };
}

/** The creation and firing stacks recorded when debugging, as text. */
export function debugText(extra: Extra | null, again?: string): string {
  if (extra === null) return "";
  const parts: string[] = [];
  if (extra.created) parts.push(`Created at:\n${extra.created}`);
  if (extra.fired) parts.push(`First fired at:\n${extra.fired}`);
  if (again) parts.push(`Fired again at:\n${again}`);
  return parts.join("\n");
}

/**
 * A second callback/errback: dropped once after cancel() without a
 * canceller (the work's own result, arriving late), else an error.
 */
export function firedAgain(extra: Extra | null): void {
  if (extra !== null && extra.suppressAlreadyCalled) {
    extra.suppressAlreadyCalled = false;
    return;
  }
  throw new AlreadyCalledError(
    extra !== null && (extra.created || extra.fired)
      ? debugText(extra, stackHere("fired again"))
      : "",
  );
}

/** Arms the unhandled-error report of `owner` for `failure`. */
export function remember(owner: object, extra: Extra, failure: Failure): void {
  if (observedFailures.has(failure)) return forget(owner, extra);
  if (extra.reported === failure) return;
  forget(owner, extra);
  extra.reported = failure;
  extra.report = arm(owner, failure, debugText(extra) || undefined);
}

/** Disarms the unhandled-error report of `owner`. */
export function forget(owner: object, extra: Extra): void {
  if (extra.report !== null) {
    disarm(owner, extra.report);
    extra.report = null;
    extra.reported = null;
  }
}
