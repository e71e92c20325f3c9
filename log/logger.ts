/**
 * Structured logging in the manner of `twisted.logger`: a {@linkcode Logger}
 * emits events, plain objects with `log_`-prefixed keys, to a
 * {@linkcode LogPublisher}, which hands each one to its observers. Events are
 * formatted lazily, only when an observer wants text.
 *
 * @module
 */

/** Severity of a log event, from least to most severe. */
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

/** What a failure attached to an event must offer to be formatted. */
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

/** A function that receives every event published to it. */
export type LogObserver = (event: LogEvent) => void;

/**
 * Fans events out to observers. An observer that throws is removed from this
 * one delivery's concern: the error is reported to the other observers as a
 * separate event, and delivery of the original event goes on.
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
  #observers: LogObserver[] = [];
  #reporting = false;

  /** The observers, in the order they were added. */
  get observers(): readonly LogObserver[] {
    return this.#observers;
  }

  /** Adds an observer; adding the same one twice has no effect. */
  addObserver(observer: LogObserver): void {
    if (!this.#observers.includes(observer)) this.#observers.push(observer);
  }

  /** Removes an observer; removing an absent one has no effect. */
  removeObserver(observer: LogObserver): void {
    const i = this.#observers.indexOf(observer);
    if (i !== -1) this.#observers.splice(i, 1);
  }

  /** Delivers an event to every observer. */
  publish(event: LogEvent): void {
    for (const observer of [...this.#observers]) {
      try {
        observer(event);
      } catch (error) {
        this.#reportObserverError(observer, error);
      }
    }
  }

  #reportObserverError(broken: LogObserver, error: unknown): void {
    if (this.#reporting) return; // an observer failing on the report itself
    this.#reporting = true;
    try {
      const report: LogEvent = {
        log_level: "error",
        log_format: "Temporarily disabling observer {observer} due to: {error}",
        log_namespace: "log",
        log_time: Date.now() / 1000,
        observer: broken.name || "anonymous observer",
        error: error instanceof Error ? error.stack ?? error.message : error,
      };
      for (const observer of this.#observers) {
        if (observer === broken) continue;
        try {
          observer(report);
        } catch { /* the report is best effort: never recurse */ }
      }
    } finally {
      this.#reporting = false;
    }
  }
}

/**
 * Fills `{field}` placeholders of an event's `log_format` with its fields.
 * A missing field renders as `{field}` left as it was, `{{`/`}}` as braces;
 * formatting never throws.
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
    if (!(name in event)) return match;
    return stringify(event[name]);
  });
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
