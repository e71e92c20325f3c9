/**
 * {@linkcode Failure}: a thrown value captured as data, so it can travel
 * down a Deferred's errback chain and be inspected, trapped or re-thrown.
 *
 * @module
 */

/**
 * What `check()`/`trap()` accept: a class, or a class or error name.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Failure, type FailureType } from "@twisted-deno/core/deferred";
 *
 * const wanted: FailureType[] = [TypeError, "RangeError"];
 * assert.equal(new Failure(new RangeError("x")).check(...wanted), "RangeError");
 * ```
 */
// deno-lint-ignore no-explicit-any
export type FailureType = (abstract new (...args: any[]) => unknown) | string;

let debugging = false;

/**
 * Turns Deferred debugging on or off. When on, Deferreds record the stack
 * where they were created and first fired, and failures record where they
 * were captured; `AlreadyCalledError` and unhandled-error reports include
 * them. It costs a stack capture per Deferred, so leave it off in production.
 *
 * @param on Whether to record debugging stacks.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { getDebugging, setDebugging } from "@twisted-deno/core/deferred";
 *
 * setDebugging(true);
 * assert.equal(getDebugging(), true);
 * setDebugging(false);
 * ```
 */
export function setDebugging(on: boolean): void {
  debugging = on;
}

/**
 * Whether Deferred debugging is on (see {@linkcode setDebugging}).
 *
 * @returns The current setting.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { getDebugging } from "@twisted-deno/core/deferred";
 *
 * assert.equal(getDebugging(), false);
 * ```
 */
export function getDebugging(): boolean {
  return debugging;
}

/**
 * A captured error. `value` is exactly what was thrown (usually an
 * `Error`); `type` is its class. Errbacks receive Failures.
 *
 * @example Trap one kind of error, let others through
 * ```ts
 * import assert from "node:assert/strict";
 * import { Failure } from "@twisted-deno/core/deferred";
 *
 * const f = new Failure(new RangeError("too big"));
 * assert.equal(f.check(TypeError, RangeError), RangeError);
 * assert.equal(f.check(TypeError), null);
 * assert.equal(f.getErrorMessage(), "too big");
 * assert.throws(() => f.trap(TypeError), RangeError);
 * ```
 */
export class Failure {
  /** The thrown value itself. */
  readonly value: unknown;
  /** The class of `value` (its constructor), or null for `null`/`undefined`. */
  readonly type: (abstract new (...args: never[]) => unknown) | null;
  /** Where the Failure was made, when debugging is on. */
  readonly captureStack?: string;

  /**
   * Captures a thrown value.
   *
   * @param value The thrown value. A Failure given another Failure copies it.
   */
  constructor(value: unknown) {
    if (value instanceof Failure) {
      this.value = value.value;
      this.type = value.type;
      this.captureStack = value.captureStack;
      return;
    }
    this.value = value;
    let type = null;
    if (value !== null && value !== undefined) {
      try {
        type = Object(value).constructor ?? null;
      } catch {
        // A Proxy or getter that throws: the value is kept, the type unknown.
      }
    }
    this.type = type;
    if (debugging) {
      this.captureStack = new Error("Failure captured").stack?.split("\n")
        .slice(2).join("\n");
    }
  }

  /**
   * Whether `value` is an instance of (or, for a string, has the name of a
   * class in its prototype chain matching) one of `types`.
   *
   * @returns The first matching type, or null.
   */
  check<const T extends FailureType[]>(...types: T): T[number] | null {
    for (const type of types) {
      if (typeof type === "string") {
        if (this.#hasName(type)) return type;
      } else if (this.value instanceof (type as unknown as typeof Object)) {
        return type;
      }
    }
    return null;
  }

  /**
   * Like `check()`, but re-throws `value` when nothing matches: the idiom
   * for an errback that handles some errors and passes the rest on.
   *
   * @returns The matching type.
   */
  trap<const T extends FailureType[]>(...types: T): T[number] {
    const found = this.check(...types);
    if (found === null) this.raiseException();
    return found;
  }

  /** The error's message (or the value as a string). */
  getErrorMessage(): string {
    const value = this.value;
    if (value instanceof Error) return value.message;
    try {
      return String(value);
    } catch {
      return Object.prototype.toString.call(value);
    }
  }

  /** The error's stack trace (or a one-line description) for humans. */
  getTraceback(): string {
    const value = this.value;
    let text: string;
    if (value instanceof Error && typeof value.stack === "string") {
      text = value.stack;
      if (value.cause !== undefined) {
        text += `\nCaused by: ${new Failure(value.cause).getTraceback()}`;
      }
    } else {
      text = `${this.#typeName()}: ${this.getErrorMessage()}`;
    }
    if (this.captureStack) text += `\n(Failure captured)\n${this.captureStack}`;
    return text;
  }

  /** Throws `value`, as it was originally thrown. */
  raiseException(): never {
    throw this.value;
  }

  /** A short description: `[Failure instance: RangeError: too big]`. */
  toString(): string {
    return `[Failure instance: ${this.#typeName()}: ${this.getErrorMessage()}]`;
  }

  #typeName(): string {
    const value = this.value;
    if (value instanceof Error) return value.name;
    return this.type?.name ?? String(value);
  }

  #hasName(name: string): boolean {
    const value = this.value;
    if (value instanceof Error && value.name === name) return true;
    let proto = value === null || value === undefined
      ? null
      : Object.getPrototypeOf(Object(value));
    while (proto !== null) {
      if (proto.constructor?.name === name) return true;
      proto = Object.getPrototypeOf(proto);
    }
    return false;
  }
}
