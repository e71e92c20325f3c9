/**
 * {@linkcode captureLogs}: collect what code under test logs, so a test can
 * assert on it, and fail on errors nobody expected.
 *
 * @module
 */

import { Failure, type FailureType } from "../deferred/failure.ts";
import {
  defaultLogObserver,
  formatEvent,
  globalLogPublisher,
  type LogEvent,
  type LogPublisher,
} from "../log/mod.ts";

/**
 * Options of {@linkcode captureLogs}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Logger, LogPublisher } from "@twisted-deno/core/log";
 * import { captureLogs, type CaptureLogsOptions } from "@twisted-deno/core/testing";
 *
 * const publisher = new LogPublisher();
 * const options: CaptureLogsOptions = { publisher };
 * using logs = captureLogs(options);
 * new Logger("mine", publisher).info("private");
 * assert.deepEqual(logs.messages, ["private"]);
 * ```
 */
export interface CaptureLogsOptions {
  /** The publisher to watch (the global one by default). */
  publisher?: LogPublisher;
  /** Keep the default stderr observer attached (off by default). */
  echo?: boolean;
}

/**
 * Events collected by {@linkcode captureLogs}. Disposing it (`using`)
 * stops the capture and throws if a logged failure was never flushed, as
 * Twisted's trial fails a test that logs an unexpected error.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Failure } from "@twisted-deno/core/deferred";
 * import { Logger } from "@twisted-deno/core/log";
 * import { captureLogs } from "@twisted-deno/core/testing";
 *
 * const logs = captureLogs();
 * new Logger("x").failure("oops", new Failure(new RangeError("bad")));
 * logs.stop();
 * assert.throws(() => logs.assertNoFailures(), /1 unexpected failure/);
 * assert.equal(logs.flushLoggedErrors(RangeError).length, 1);
 * logs.assertNoFailures();
 * ```
 */
export class LogCapture implements Disposable {
  /** Every event seen, in order. */
  readonly events: LogEvent[] = [];
  #flushed = new WeakSet<object>();
  #publisher: LogPublisher;
  #removedDefault: boolean;
  #stopped = false;
  #observer = (event: LogEvent): void => {
    this.events.push(event);
  };

  /** @internal Use {@linkcode captureLogs}. */
  constructor(options: CaptureLogsOptions = {}) {
    this.#publisher = options.publisher ?? globalLogPublisher;
    this.#removedDefault = !options.echo &&
      this.#publisher.observers.includes(defaultLogObserver);
    if (this.#removedDefault) {
      this.#publisher.removeObserver(defaultLogObserver);
    }
    this.#publisher.addObserver(this.#observer);
  }

  /** The formatted messages of the events so far. */
  get messages(): string[] {
    return this.events.map(formatEvent);
  }

  /** Failures logged and not yet flushed. */
  failures(): Failure[] {
    const found: Failure[] = [];
    for (const event of this.events) {
      const f = event.log_failure;
      if (f instanceof Failure && !this.#flushed.has(event)) found.push(f);
    }
    return found;
  }

  /**
   * Marks logged failures of `types` (all, when none given) as expected
   * and returns them, as Twisted's `flushLoggedErrors` does.
   *
   * @param types Error classes or names to flush.
   * @returns The failures flushed now, in the order they were logged.
   */
  flushLoggedErrors(...types: FailureType[]): Failure[] {
    const flushed: Failure[] = [];
    for (const event of this.events) {
      const f = event.log_failure;
      if (!(f instanceof Failure) || this.#flushed.has(event)) continue;
      if (types.length === 0 || f.check(...types) !== null) {
        this.#flushed.add(event);
        flushed.push(f);
      }
    }
    return flushed;
  }

  /**
   * Asserts that every logged failure was flushed.
   *
   * @throws {Error} When failures were logged and not flushed, listing
   *   their tracebacks.
   */
  assertNoFailures(): void {
    const left = this.failures();
    if (left.length > 0) {
      throw new Error(
        `${left.length} unexpected failure(s) logged:\n` +
          left.map((f) => f.getTraceback()).join("\n"),
      );
    }
  }

  /** Stops capturing and restores the default observer. */
  stop(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#publisher.removeObserver(this.#observer);
    if (this.#removedDefault) this.#publisher.addObserver(defaultLogObserver);
  }

  /** Stops capturing, then asserts no unflushed failure was logged. */
  [Symbol.dispose](): void {
    this.stop();
    this.assertNoFailures();
  }
}

/**
 * Starts collecting log events (and silences the stderr observer while it
 * does). Use with `using` so the capture ends, and unexpected failures fail
 * the test, when the scope does.
 *
 * @param options Which publisher to watch, and whether to echo.
 * @returns The capture.
 *
 * @example A test that expects one logged error
 * ```ts
 * import assert from "node:assert/strict";
 * import { Logger } from "@twisted-deno/core/log";
 * import { Failure } from "@twisted-deno/core/deferred";
 * import { captureLogs } from "@twisted-deno/core/testing";
 *
 * using logs = captureLogs();
 * new Logger("demo").failure("oops", new Failure(new TypeError("bad")));
 * assert.equal(logs.flushLoggedErrors(TypeError).length, 1);
 * ```
 */
export function captureLogs(options?: CaptureLogsOptions): LogCapture {
  return new LogCapture(options);
}
