/**
 * Structured logging: {@linkcode Logger}, the {@linkcode globalLogPublisher}
 * and its observers, text and JSON-lines output.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { formatEvent, globalLogPublisher, type LogEvent, Logger } from "@twisted-deno/core/log";
 *
 * const seen: LogEvent[] = [];
 * const observer = (e: LogEvent) => { seen.push(e); };
 * globalLogPublisher.addObserver(observer);
 * new Logger("my-app").debug("Started {n} workers", { n: 4 });
 * globalLogPublisher.removeObserver(observer);
 * assert.equal(formatEvent(seen[0]), "Started 4 workers");
 * ```
 *
 * @module
 */
export * from "./logger.ts";
export * from "./observers.ts";
