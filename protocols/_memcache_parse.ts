/**
 * The memcache client's errors, result types and argument checks (private
 * helpers of `memcache.ts`, which re-exports the public names).
 *
 * @module
 */

const encoder = new TextEncoder();

/**
 * The server does not know the command it was sent (its `ERROR` reply).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NoSuchCommand } from "@twisted-deno/core/protocols";
 *
 * const e = new NoSuchCommand("gat");
 * assert.equal(e.name, "NoSuchCommand");
 * assert.equal(e.command, "gat");
 * assert.match(e.message, /"gat"/);
 * ```
 */
export class NoSuchCommand extends Error {
  /** The error's name: `"NoSuchCommand"`. */
  override readonly name = "NoSuchCommand";
  /**
   * Makes the error.
   *
   * @param command The command the server did not know.
   * @param options The cause, if any.
   */
  constructor(readonly command: string, options?: ErrorOptions) {
    super(
      `Cannot run memcache command ${
        JSON.stringify(command)
      }: the server answered ERROR (no such command)`,
      options,
    );
  }
}

/**
 * A bad request: refused before sending (a bad key, flags, CAS or
 * number, or a connection that is not open), or by the server
 * (`CLIENT_ERROR`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ClientError } from "@twisted-deno/core/protocols";
 *
 * const e = new ClientError("Cannot get key \"a b\": it holds a space");
 * assert.equal(e.name, "ClientError");
 * assert.ok(e instanceof Error);
 * ```
 */
export class ClientError extends Error {
  /** The error's name: `"ClientError"`. */
  override readonly name = "ClientError";
  /**
   * Makes the error.
   *
   * @param message What was refused and why.
   * @param options The cause, if any.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/**
 * The server failed (`SERVER_ERROR`, such as an object too large), or
 * sent a reply that fits no request.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ServerError } from "@twisted-deno/core/protocols";
 *
 * const e = new ServerError("Memcache server failed set: out of memory");
 * assert.equal(e.name, "ServerError");
 * assert.match(e.message, /out of memory/);
 * ```
 */
export class ServerError extends Error {
  /** The error's name: `"ServerError"`. */
  override readonly name = "ServerError";
  /**
   * Makes the error.
   *
   * @param message What failed.
   * @param options The cause, if any.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
  }
}

/**
 * What `get` gives: the item's flags and value; `[0, null]` when the key
 * is absent.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { GetResult } from "@twisted-deno/core/protocols";
 *
 * const missing: GetResult = [0, null];
 * assert.equal(missing[1], null);
 * ```
 */
export type GetResult = [flags: number, value: Uint8Array | null];

/**
 * What `get(key, true)` (`gets`) gives: flags, the CAS identifier for
 * `checkAndSet`, and the value; `[0, "", null]` when the key is absent.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import type { GetsResult } from "@twisted-deno/core/protocols";
 *
 * const missing: GetsResult = [0, "", null];
 * assert.equal(missing[1], "");
 * ```
 */
export type GetsResult = [
  flags: number,
  cas: string,
  value: Uint8Array | null,
];

function preview(key: string): string {
  return JSON.stringify(key.length > 40 ? `${key.slice(0, 40)}...` : key);
}

/**
 * Why `key` cannot be sent, or undefined when it can: memcached keys are
 * 1 to `maxLength` bytes with no space or control character (a space
 * would split the command line, a CR or LF end it).
 */
export function checkKey(
  command: string,
  key: unknown,
  maxLength: number,
): ClientError | undefined {
  if (typeof key !== "string") {
    return new ClientError(
      `Cannot ${command}: a key must be a string, got ${
        key === null ? "null" : typeof key
      }`,
    );
  }
  if (key === "") return new ClientError(`Cannot ${command}: the key is empty`);
  if (!key.isWellFormed()) {
    return new ClientError(
      `Cannot ${command} key ${
        preview(key)
      }: it holds a lone UTF-16 surrogate, which has no UTF-8 form`,
    );
  }
  const bytes = encoder.encode(key);
  if (bytes.length > maxLength) {
    return new ClientError(
      `Cannot ${command} key ${
        preview(key)
      }: it is ${bytes.length} bytes long in UTF-8; at most ${maxLength} are allowed`,
    );
  }
  for (const byte of bytes) {
    if (byte <= 0x20 || byte === 0x7f) {
      return new ClientError(
        `Cannot ${command} key ${preview(key)}: it holds ${
          byte === 0x20 ? "a space" : "a control character"
        } (byte 0x${
          byte.toString(16).padStart(2, "0")
        }); memcached keys may not`,
      );
    }
  }
  return undefined;
}

/** Why `value` is not an integer from 0 to `max`, or undefined. */
export function checkUnsigned(
  command: string,
  what: string,
  value: unknown,
  max: number,
): ClientError | undefined {
  if (
    Number.isSafeInteger(value) && 0 <= (value as number) &&
    (value as number) <= max
  ) {
    return undefined;
  }
  return new ClientError(
    `Cannot ${command}: ${what} ${
      String(value)
    } is not an integer from 0 to ${max}`,
  );
}

/** Why `cas` is not a CAS identifier (a 64-bit unsigned number), or undefined. */
export function checkCas(key: string, cas: unknown): ClientError | undefined {
  if (typeof cas === "string" && /^\d{1,20}$/.test(cas)) return undefined;
  return new ClientError(
    `Cannot cas key ${preview(key)}: CAS identifier ${
      JSON.stringify(cas)
    } is not the decimal number get(key, true) returns`,
  );
}

function isControl(char: string): boolean {
  const code = char.charCodeAt(0);
  return code < 0x20 || code === 0x7f;
}

/** Why `arg` cannot follow `stats`, or undefined. */
export function checkStatsArgument(arg: unknown): ClientError | undefined {
  if (typeof arg === "string" && ![...arg].some(isControl)) return undefined;
  return new ClientError(
    `Cannot get stats ${
      JSON.stringify(arg)
    }: the argument must be a string without control characters`,
  );
}
