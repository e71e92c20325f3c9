/**
 * How the stream ports and connectors report an error thrown by a
 * factory's method (`buildProtocol`, `doStop`, `clientConnectionLost` ...):
 * logged as critical, naming the factory and the method, and otherwise
 * swallowed, so one bad factory does not break the reactor. Private to the
 * reactor (not exported from mod.ts).
 *
 * @module
 */

import { Failure } from "../../deferred/failure.ts";
import type { Logger } from "../../log/mod.ts";

/**
 * Logs `error`, thrown by `factory`'s `method`, as critical.
 *
 * @param log The transport's logger.
 * @param factory The factory's name in the log line.
 * @param method The method that threw.
 * @param error What it threw.
 */
export function logFactoryError(
  log: Logger,
  factory: string,
  method: string,
  error: unknown,
): void {
  log.failure(
    `Unhandled error in {factory}.${method}`,
    new Failure(error),
    "critical",
    { factory },
  );
}
