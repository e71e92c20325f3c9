/**
 * Structured logging: {@linkcode Logger}, the {@linkcode globalLogPublisher}
 * and its observers, text and JSON-lines output.
 *
 * @example
 * ```ts
 * import { Logger } from "@twisted-deno/core/log";
 *
 * new Logger("my-app").debug("Started {n} workers", { n: 4 });
 * ```
 *
 * @module
 */
export * from "./logger.ts";
export * from "./observers.ts";
