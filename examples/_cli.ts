/**
 * What the runnable examples share at their command line: listening
 * without a stack trace when the address is taken, and the `--timeout`
 * option of the servers.
 *
 * @module
 */

import { CannotListenError } from "@twisted-deno/core/reactor";

/**
 * Calls `listen()`; when it cannot listen (port in use, no permission),
 * prints one line, `NAME: reason`, and exits with status 1 instead of an
 * uncaught error with two stack traces.
 *
 * @param name The example's name, for the message.
 * @param listen Starts listening and returns the port.
 * @returns What `listen()` returned.
 */
export function listenOrExit<T>(name: string, listen: () => T): T {
  try {
    return listen();
  } catch (error) {
    if (error instanceof CannotListenError) {
      console.error(`${name}: ${error.message}`);
      Deno.exit(1);
    }
    throw error;
  }
}

/**
 * Takes `--timeout SECONDS` (or `--timeout=SECONDS`) out of `args`.
 *
 * @param args The command line; the option is removed from it.
 * @param fallback The value when the option is absent.
 * @returns The seconds (0: never time out), or an error message.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { takeTimeout } from "./_cli.ts";
 *
 * const args = ["7007", "--timeout", "30"];
 * assert.equal(takeTimeout(args, 300), 30);
 * assert.deepEqual(args, ["7007"]);
 * assert.equal(takeTimeout(["--timeout=0"], 300), 0);
 * assert.equal(takeTimeout([], 300), 300);
 * assert.equal(typeof takeTimeout(["--timeout", "soon"], 300), "string");
 * ```
 */
export function takeTimeout(args: string[], fallback: number): number | string {
  const i = args.findIndex((a) =>
    a === "--timeout" || a.startsWith("--timeout=")
  );
  if (i === -1) return fallback;
  const inline = args[i].startsWith("--timeout=");
  const value = inline ? args[i].slice("--timeout=".length) : args[i + 1];
  args.splice(i, inline ? 1 : 2);
  const seconds = Number(value);
  if (
    value === undefined || value === "" || !Number.isFinite(seconds) ||
    seconds < 0
  ) {
    return `--timeout must be a number of seconds (0: never), got ${
      JSON.stringify(value ?? "")
    }`;
  }
  return seconds;
}
