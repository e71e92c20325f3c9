/**
 * Observers that write log events out: human-readable text lines and JSON
 * lines, each to any sink that takes a string (stderr by default).
 *
 * @module
 */

import {
  formatEvent,
  globalLogPublisher,
  LOG_LEVELS,
  type LogEvent,
  type LogLevel,
  type LogObserver,
} from "./logger.ts";

/**
 * Options shared by the writing observers.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { textFileLogObserver, type WritingObserverOptions } from "@twisted-deno/core/log";
 *
 * const options: WritingObserverOptions = { minLevel: "error" };
 * const lines: string[] = [];
 * const observer = textFileLogObserver((t) => { lines.push(t); }, options);
 * observer({ log_level: "info", log_format: "quiet", log_namespace: "x", log_time: 0 });
 * assert.equal(lines.length, 0);
 * ```
 */
export interface WritingObserverOptions {
  /** Events below this level are ignored; `debug` (everything) by default. */
  minLevel?: LogLevel;
}

const encoder = new TextEncoder();

/**
 * Writes text to the process's standard error, synchronously so nothing is
 * lost if the process exits next.
 *
 * @param text The text, written whole.
 *
 * @example As the sink of an observer
 * ```ts
 * import assert from "node:assert/strict";
 * import { textFileLogObserver, writeStderr } from "@twisted-deno/core/log";
 *
 * const observer = textFileLogObserver(writeStderr, { minLevel: "critical" });
 * assert.equal(typeof observer, "function");
 * writeStderr(""); // writes nothing
 * ```
 */
export function writeStderr(text: string): void {
  const bytes = encoder.encode(text);
  let offset = 0;
  while (offset < bytes.length) {
    offset += Deno.stderr.writeSync(bytes.subarray(offset));
  }
}

/**
 * Formats an event as one line of text (more lines when it carries a
 * failure): `2026-11-25T10:00:00.000Z [namespace#level] message`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatEventAsText } from "@twisted-deno/core/log";
 *
 * const line = formatEventAsText({
 *   log_level: "warn",
 *   log_format: "disk {pct}% full",
 *   log_namespace: "disk",
 *   log_time: 0,
 *   pct: 91,
 * });
 * assert.equal(line, "1970-01-01T00:00:00.000Z [disk#warn] disk 91% full\n");
 * ```
 */
export function formatEventAsText(event: LogEvent): string {
  const when = new Date((event.log_time ?? 0) * 1000).toISOString();
  let text = `${when} [${event.log_namespace}#${event.log_level}] ${
    formatEvent(event)
  }\n`;
  const failure = event.log_failure;
  if (failure !== undefined) {
    let trace: string;
    try {
      trace = failure.getTraceback();
    } catch {
      trace = String(failure.value);
    }
    text += trace.endsWith("\n") ? trace : `${trace}\n`;
  }
  return text;
}

/**
 * An observer writing {@linkcode formatEventAsText} lines to `write`.
 *
 * @param write Where text goes (stderr by default).
 * @param options Level filter.
 * @returns The observer, to pass to `addObserver`.
 *
 * @example Collect text in memory
 * ```ts
 * import assert from "node:assert/strict";
 * import { Logger, LogPublisher, textFileLogObserver } from "@twisted-deno/core/log";
 *
 * let out = "";
 * const publisher = new LogPublisher();
 * publisher.addObserver(textFileLogObserver((t) => (out += t), { minLevel: "info" }));
 * const log = new Logger("app", publisher);
 * log.debug("hidden");
 * log.info("shown");
 * assert.match(out, /\[app#info\] shown\n$/);
 * assert.doesNotMatch(out, /hidden/);
 * ```
 */
export function textFileLogObserver(
  write?: (text: string) => void,
  options?: WritingObserverOptions,
): LogObserver {
  write ??= writeStderr;
  options ??= {};
  const min = LOG_LEVELS[options.minLevel ?? "debug"];
  return function textObserver(event: LogEvent): void {
    if ((LOG_LEVELS[event.log_level] ?? LOG_LEVELS.info) < min) return;
    write(formatEventAsText(event));
  };
}

/**
 * An observer writing each event as one JSON object per line: every field
 * that JSON can carry (bigints as strings, errors as `Name: message`, bytes
 * as `<n bytes>`), plus `text` (the formatted message) and, for a failure,
 * `log_failure` as `{ type, message, traceback }`. `log_source` is left out.
 * If the fields cannot be written (a cycle), the line keeps only the level,
 * namespace, time, text and failure.
 *
 * @param write Where lines go (stderr by default).
 * @param options Level filter.
 * @returns The observer.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { jsonFileLogObserver, Logger, LogPublisher } from "@twisted-deno/core/log";
 *
 * const lines: string[] = [];
 * const publisher = new LogPublisher();
 * publisher.addObserver(jsonFileLogObserver((t) => lines.push(t)));
 * new Logger("app", publisher).info("{n} jobs", { n: 2 });
 * const event = JSON.parse(lines[0]);
 * assert.equal(event.text, "2 jobs");
 * assert.equal(event.n, 2);
 * ```
 */
export function jsonFileLogObserver(
  write?: (text: string) => void,
  options?: WritingObserverOptions,
): LogObserver {
  write ??= writeStderr;
  options ??= {};
  const min = LOG_LEVELS[options.minLevel ?? "debug"];
  return function jsonObserver(event: LogEvent): void {
    if ((LOG_LEVELS[event.log_level] ?? LOG_LEVELS.info) < min) return;
    const record: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(event)) {
      if (key === "log_failure" || key === "log_source") continue;
      record[key] = value;
    }
    record.text = formatEvent(event);
    const failure = event.log_failure;
    if (failure !== undefined) {
      const value = failure.value;
      record.log_failure = {
        type: value instanceof Error ? value.name : typeof value,
        message: value instanceof Error ? value.message : String(value),
        traceback: failure.getTraceback(),
      };
    }
    let line: string;
    try {
      line = JSON.stringify(record, jsonSafe);
    } catch {
      // A field JSON cannot carry (a cycle): keep the event, drop fields.
      const minimal: Record<string, unknown> = {};
      for (const key of ["log_level", "log_namespace", "log_time", "text"]) {
        minimal[key] = record[key];
      }
      if (record.log_failure !== undefined) {
        minimal.log_failure = record.log_failure;
      }
      line = JSON.stringify(minimal, jsonSafe);
    }
    write(line + "\n");
  };
}

function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  if (value instanceof Uint8Array) return `<${value.length} bytes>`;
  return value;
}

/**
 * The observer the global publisher starts with: text at `info` and above
 * to stderr. Remove it with
 * `globalLogPublisher.removeObserver(defaultLogObserver)` to take over
 * output.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { defaultLogObserver, globalLogPublisher } from "@twisted-deno/core/log";
 *
 * assert.ok(globalLogPublisher.observers.includes(defaultLogObserver));
 * ```
 */
export const defaultLogObserver: LogObserver = textFileLogObserver(
  writeStderr,
  { minLevel: "info" },
);
globalLogPublisher.addObserver(defaultLogObserver);
