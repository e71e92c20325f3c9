/**
 * Structured logging in the manner of `twisted.logger`: a {@linkcode Logger}
 * emits events, plain objects with `log_`-prefixed keys, to a
 * {@linkcode LogPublisher}, which hands each one to its observers. Events are
 * formatted lazily, only when an observer wants text.
 *
 * @module
 */

/**
 * Severity of a log event, from least to most severe.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LOG_LEVELS, type LogLevel } from "@twisted-deno/core/log";
 *
 * const level: LogLevel = "warn";
 * assert.ok(LOG_LEVELS[level] > LOG_LEVELS.info);
 * ```
 */
export type LogLevel = "debug" | "info" | "warn" | "error" | "critical";

/**
 * The numeric order of {@linkcode LogLevel}s, for filtering.
 *
 * @example Keep only warnings and worse
 * ```ts
 * import assert from "node:assert/strict";
 * import { LOG_LEVELS } from "@twisted-deno/core/log";
 *
 * assert.ok(LOG_LEVELS.warn > LOG_LEVELS.info);
 * ```
 */
export const LOG_LEVELS: Readonly<Record<LogLevel, number>> = Object.freeze({
  debug: 0,
  info: 1,
  warn: 2,
  error: 3,
  critical: 4,
});

/**
 * What a failure attached to an event must offer to be formatted. A
 * `Failure` is one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatEventAsText, type LoggableFailure } from "@twisted-deno/core/log";
 *
 * const failure: LoggableFailure = { value: "why", getTraceback: () => "the trace" };
 * const text = formatEventAsText({
 *   log_level: "error", log_format: "oops", log_namespace: "x", log_time: 0, log_failure: failure,
 * });
 * assert.match(text, /oops\nthe trace\n$/);
 * ```
 */
export interface LoggableFailure {
  /** The original error or value. */
  readonly value: unknown;
  /** A multi-line description with the stack, for humans. */
  getTraceback(): string;
}

/**
 * A log event: a plain object. The `log_*` keys are set by the
 * {@linkcode Logger}; any other key is a field that `log_format` may name as
 * `{field}`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatEvent, type LogEvent } from "@twisted-deno/core/log";
 *
 * const event: LogEvent = {
 *   log_level: "info", log_format: "{user} logged in", log_namespace: "auth", log_time: 0, user: "ada",
 * };
 * assert.equal(formatEvent(event), "ada logged in");
 * ```
 */
export interface LogEvent {
  /** How severe the event is. */
  log_level: LogLevel;
  /** Format string with `{field}` placeholders (`{{` and `}}` are braces). */
  log_format: string;
  /** The emitting logger's namespace. */
  log_namespace: string;
  /** Wall-clock time in seconds since the Unix epoch. */
  log_time: number;
  /** The failure this event reports, if any. */
  log_failure?: LoggableFailure;
  /** The object that emitted the event, if the logger was given one. */
  log_source?: unknown;
  /** Any other field. */
  [field: string]: unknown;
}

/**
 * A function that receives every event published to it.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Logger, LogPublisher, type LogObserver } from "@twisted-deno/core/log";
 *
 * let count = 0;
 * const counter: LogObserver = () => { count++; };
 * const publisher = new LogPublisher();
 * publisher.addObserver(counter);
 * new Logger("x", publisher).info("one");
 * assert.equal(count, 1);
 * ```
 */
export type LogObserver = (event: LogEvent) => void;

/**
 * Fans events out to observers, in the order they were added. An observer
 * that throws does not stop the delivery: the others still get the event,
 * and then a report of the error (naming the observer), which the broken
 * observer itself is spared. It stays attached for later events.
 *
 * @example Collect events from a private publisher
 * ```ts
 * import assert from "node:assert/strict";
 * import { Logger, LogPublisher, type LogEvent } from "@twisted-deno/core/log";
 *
 * const publisher = new LogPublisher();
 * const seen: LogEvent[] = [];
 * publisher.addObserver((e) => seen.push(e));
 * new Logger("demo", publisher).info("hello {who}", { who: "world" });
 * assert.equal(seen[0].who, "world");
 * ```
 */
export class LogPublisher {
  // Replaced, never mutated, on add and remove: publish() iterates the
  // array it started with, without copying it per event.
  #observers: readonly LogObserver[] = [];
  #reporting = false;

  /** The observers, in the order they were added. */
  get observers(): readonly LogObserver[] {
    return this.#observers;
  }

  /**
   * Adds an observer; adding the same one twice has no effect.
   *
   * @param observer The function to call with each event.
   * @throws {TypeError} When `observer` is not a function.
   */
  addObserver(observer: LogObserver): void {
    if (typeof observer !== "function") {
      throw new TypeError(
        `Cannot add log observer: ${String(observer)} is not a function`,
      );
    }
    if (!this.#observers.includes(observer)) {
      this.#observers = [...this.#observers, observer];
    }
  }

  /**
   * Removes an observer; removing an absent one has no effect.
   *
   * @param observer The function to remove.
   */
  removeObserver(observer: LogObserver): void {
    if (this.#observers.includes(observer)) {
      this.#observers = this.#observers.filter((o) => o !== observer);
    }
  }

  /**
   * Delivers an event to every observer (those attached when it starts).
   *
   * @param event The event.
   */
  publish(event: LogEvent): void {
    let broken: [LogObserver, unknown][] | undefined;
    for (const observer of this.#observers) {
      try {
        observer(event);
      } catch (error) {
        (broken ??= []).push([observer, error]);
      }
    }
    if (broken !== undefined && !this.#reporting) this.#report(broken);
  }

  /** Tells the working observers which ones threw, after the delivery. */
  #report(broken: [LogObserver, unknown][]): void {
    this.#reporting = true; // an observer failing on a report is not reported
    try {
      for (const [observer, error] of broken) {
        const report: LogEvent = {
          log_level: "error",
          log_format:
            "Temporarily disabling observer {observer} due to: {error}",
          log_namespace: "log",
          log_time: Date.now() / 1000,
          observer: observer.name || "anonymous observer",
          error: error instanceof Error ? error.stack ?? error.message : error,
        };
        for (const other of this.#observers) {
          if (broken.some(([b]) => b === other)) continue;
          try {
            other(report);
          } catch {
            // Best effort: reporting this too could loop forever, and the
            // first error has been reported to the others already.
          }
        }
      }
    } finally {
      this.#reporting = false;
    }
  }
}

/**
 * Fills `{field}` placeholders of an event's `log_format` with its fields;
 * `{peer.host}` reads a property of a field and `{peers[0]}` or
 * `{counts[tcp]}` an element or key, as in Twisted. A missing field leaves its
 * placeholder as it was; `{{`/`}}` are literal braces. Strings are used as
 * they are, errors as `Name: message`, plain objects as JSON, anything else
 * through `String()`. Formatting never throws.
 *
 * @param event The event to format.
 * @returns The formatted text (without the failure's traceback).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatEvent } from "@twisted-deno/core/log";
 *
 * const text = formatEvent({
 *   log_level: "info",
 *   log_format: "{n} users {{online}}",
 *   log_namespace: "demo",
 *   log_time: 0,
 *   n: 3,
 * });
 * assert.equal(text, "3 users {online}");
 * ```
 */
export function formatEvent(event: LogEvent): string {
  const format = event.log_format;
  if (typeof format !== "string") return "";
  return format.replace(/\{\{|\}\}|\{([^{}]*)\}/g, (match, name) => {
    if (match === "{{") return "{";
    if (match === "}}") return "}";
    const found = lookUp(event, name);
    return found === NOT_FOUND ? match : stringify(found);
  });
}

const NOT_FOUND = Symbol("not found");

/** `a.b[0][key]` as the keys `a`, `b`, `0`, `key` (Python's format fields). */
function keysOf(path: string): string[] {
  return path.replace(/\[([^\]]*)\]/g, ".$1").split(".");
}

function lookUp(event: LogEvent, path: string): unknown {
  let value: unknown = event;
  for (const key of keysOf(path)) {
    if (
      value === null || typeof value !== "object" && typeof value !== "function"
    ) return NOT_FOUND;
    try {
      if (!Object.hasOwn(value, key) && !(key in value)) return NOT_FOUND;
      if (value === event && !Object.hasOwn(value, key)) return NOT_FOUND;
      value = (value as Record<string, unknown>)[key];
    } catch {
      return NOT_FOUND;
    }
  }
  return value;
}

function stringify(value: unknown): string {
  if (typeof value === "string") return value;
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  try {
    const text = typeof value === "object" && value !== null &&
        value.toString === Object.prototype.toString
      ? JSON.stringify(value)
      : String(value);
    return text ?? String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}

/**
 * Emits events for one namespace. Methods take a format string and optional
 * fields, as in Twisted: `log.info("Connection from {peer}", { peer })`.
 *
 * @example Log a failure with its traceback
 * ```ts
 * import assert from "node:assert/strict";
 * import { Logger, LogPublisher, type LogEvent } from "@twisted-deno/core/log";
 * import { Failure } from "@twisted-deno/core/deferred";
 *
 * const publisher = new LogPublisher();
 * const seen: LogEvent[] = [];
 * publisher.addObserver((e) => seen.push(e));
 * const log = new Logger("demo", publisher);
 * log.failure("Lookup failed", new Failure(new Error("boom")));
 * assert.equal(seen[0].log_level, "critical");
 * assert.equal(seen[0].log_failure?.value instanceof Error, true);
 * ```
 */
export class Logger {
  /**
   * Makes a logger for one namespace.
   *
   * @param namespace The namespace stamped on each event.
   * @param publisher Where events go; the global publisher by default.
   * @param source The object emitting events, recorded as `log_source`.
   */
  constructor(
    readonly namespace: string = "twisted-deno",
    readonly publisher: LogPublisher = globalLogPublisher,
    readonly source?: unknown,
  ) {}

  /** Emits an event at the given level. */
  emit(
    level: LogLevel,
    format: string,
    fields?: Record<string, unknown>,
  ): void {
    const event: LogEvent = {
      ...fields,
      log_level: level,
      log_format: format,
      log_namespace: this.namespace,
      log_time: Date.now() / 1000,
    };
    if (this.source !== undefined) event.log_source = this.source;
    this.publisher.publish(event);
  }

  /** Emits a debug event. */
  debug(format: string, fields?: Record<string, unknown>): void {
    this.emit("debug", format, fields);
  }
  /** Emits an informational event. */
  info(format: string, fields?: Record<string, unknown>): void {
    this.emit("info", format, fields);
  }
  /** Emits a warning event. */
  warn(format: string, fields?: Record<string, unknown>): void {
    this.emit("warn", format, fields);
  }
  /** Emits an error event. */
  error(format: string, fields?: Record<string, unknown>): void {
    this.emit("error", format, fields);
  }
  /** Emits a critical event. */
  critical(format: string, fields?: Record<string, unknown>): void {
    this.emit("critical", format, fields);
  }

  /**
   * Emits an event carrying a failure (`log_failure`), by default at the
   * critical level, as Twisted's `Logger.failure` does.
   */
  failure(
    format: string,
    failure: LoggableFailure,
    level: LogLevel = "critical",
    fields?: Record<string, unknown>,
  ): void {
    this.emit(level, format, { ...fields, log_failure: failure });
  }
}

/**
 * The process-wide publisher. It starts with {@linkcode defaultLogObserver}
 * attached, so events at `info` and above reach stderr unless it is removed.
 *
 * @example Add and remove an observer
 * ```ts
 * import assert from "node:assert/strict";
 * import { globalLogPublisher, Logger, type LogEvent } from "@twisted-deno/core/log";
 *
 * const seen: LogEvent[] = [];
 * const observer = (e: LogEvent) => seen.push(e);
 * globalLogPublisher.addObserver(observer);
 * new Logger("demo").debug("quiet");
 * globalLogPublisher.removeObserver(observer);
 * assert.equal(seen.length, 1);
 * ```
 */
export const globalLogPublisher: LogPublisher = new LogPublisher();
