// The "Unhandled error in Deferred" report: a Deferred garbage-collected
// while its chain ends in a Failure logs that failure. Not part of the
// package's public API.
//
// Why the registry holds a copy of the failure, not the failure itself: V8
// keeps an Error's captured frames, including each frame's receiver, for as
// long as the Error lives (reading `stack` does not release them here). An
// error thrown by a callback has the Deferred running it among those
// receivers, so a registry holding the Failure would keep that Deferred
// alive forever and never report it. The copy keeps the error's class (so
// `check()`/`trap()` still work), message, stack text and primitive fields.
//
// Copying formats the stack, which costs microseconds, so it is done at the
// end of the current microtask checkpoint, and only for failures still
// unhandled by then: the usual "fail now, add the errback next" costs
// nothing.

import { Logger } from "../log/mod.ts";
import { Failure } from "./failure.ts";

/** One armed report; the registry's held value. */
export interface Report {
  /** The failure, until it is copied (or the report is disarmed). */
  failure: Failure | null;
  /** The copy the report logs. */
  copy: Failure | null;
  /** Creation and firing stacks, when debugging. */
  debug: string | undefined;
}

const log = new Logger("deferred");

const registry = new FinalizationRegistry<Report>((report) => {
  const failure = report.copy;
  if (failure === null) return;
  log.failure(
    "Unhandled error in Deferred:" + (report.debug ? "\n{debugInfo}" : ""),
    failure,
    "critical",
    report.debug ? { debugInfo: report.debug } : undefined,
  );
});

const uncopied: Report[] = [];

function copyPending(): void {
  for (const report of uncopied) {
    if (report.failure !== null) {
      report.copy = copyFailure(report.failure, 0);
      report.failure = null;
    }
  }
  uncopied.length = 0;
}

/** Arms the report of `failure` for when `owner` is collected. */
export function arm(
  owner: object,
  failure: Failure,
  debug: string | undefined,
): Report {
  const report: Report = { failure, copy: null, debug };
  registry.register(owner, report, owner);
  if (uncopied.push(report) === 1) queueMicrotask(copyPending);
  return report;
}

/** Disarms a report armed for `owner`. */
export function disarm(owner: object, report: Report): void {
  registry.unregister(owner);
  report.failure = null;
  report.copy = null;
}

const MAX_DEPTH = 4;

function copyFailure(failure: Failure, depth: number): Failure {
  const copy = new Failure(copyValue(failure.value, depth));
  if (failure.captureStack !== copy.captureStack) {
    Object.defineProperty(copy, "captureStack", {
      value: failure.captureStack,
    });
  }
  return copy;
}

/**
 * An object with the same prototype and the same primitive own properties
 * (message, name, stack text, codes), causes and nested Failures copied the
 * same way. Other object fields are left out: they might reach the
 * Deferred.
 */
function copyValue(value: unknown, depth: number): unknown {
  if (value === null || typeof value !== "object") {
    return typeof value === "function" ? `[function ${value.name}]` : value;
  }
  let copy: Record<string, unknown>;
  try {
    copy = Object.create(Object.getPrototypeOf(value));
  } catch {
    return Object.prototype.toString.call(value);
  }
  const source = value as Record<string, unknown>;
  if (value instanceof Error) void value.stack; // formats it now
  for (const key of Object.getOwnPropertyNames(value)) {
    let field: unknown;
    try {
      field = source[key];
    } catch {
      continue;
    }
    if (field !== null && typeof field === "object") {
      if (depth >= MAX_DEPTH) continue;
      if (field instanceof Failure) field = copyFailure(field, depth + 1);
      else if (key === "cause") field = copyValue(field, depth + 1);
      else if (
        Array.isArray(field) && field.every((f) => f instanceof Failure)
      ) {
        field = field.map((f: Failure) => copyFailure(f, depth + 1));
      } else continue;
    } else if (typeof field === "function") {
      continue;
    }
    Object.defineProperty(copy, key, {
      value: field,
      writable: true,
      configurable: true,
      enumerable: Object.prototype.propertyIsEnumerable.call(value, key),
    });
  }
  return copy;
}
