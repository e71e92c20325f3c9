/**
 * Errors of the reactor and its transports, one class per condition, each
 * with a message naming what failed and why.
 *
 * @module
 */

function reasonOf(cause: unknown, fallback: string): string {
  if (cause instanceof Error) return cause.message;
  if (cause !== undefined) return String(cause);
  return fallback;
}

/**
 * The connection was closed cleanly: the `connectionLost` reason of an
 * orderly close.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ConnectionDone } from "@twisted-deno/core/reactor";
 *
 * assert.equal(new ConnectionDone().message, "Connection was closed cleanly");
 * ```
 */
export class ConnectionDone extends Error {
  /** The error's name: `"ConnectionDone"`. */
  override readonly name: string = "ConnectionDone";
  /**
   * Makes the error.
   * @param message The message.
   * @param options The cause, if any.
   */
  constructor(
    message = "Connection was closed cleanly",
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * The connection was lost in a non-clean fashion (reset, broken pipe ...).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ConnectionLost } from "@twisted-deno/core/reactor";
 *
 * const e = new ConnectionLost("reset by peer");
 * assert.match(e.message, /reset by peer/);
 * ```
 */
export class ConnectionLost extends Error {
  /** The error's name: `"ConnectionLost"`. */
  override readonly name: string = "ConnectionLost";
  /**
   * Makes the error.
   * @param detail More about what happened.
   * @param options The cause, if any.
   */
  constructor(detail?: string, options?: ErrorOptions) {
    super(
      "Connection to the other side was lost in a non-clean fashion" +
        (detail ? `: ${detail}` : ""),
      options,
    );
  }
}

/**
 * The connection was aborted locally with `abortConnection()`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ConnectionAborted, ConnectionLost } from "@twisted-deno/core/reactor";
 *
 * assert.ok(new ConnectionAborted() instanceof ConnectionLost);
 * ```
 */
export class ConnectionAborted extends ConnectionLost {
  /** The error's name: `"ConnectionAborted"`. */
  override readonly name: string = "ConnectionAborted";
  /**
   * Makes the error.
   * @param options The cause, if any.
   */
  constructor(options?: ErrorOptions) {
    super("the connection was aborted locally", options);
  }
}

/**
 * An outgoing connection failed. Subclasses say how.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ConnectError } from "@twisted-deno/core/reactor";
 *
 * assert.equal(new ConnectError("no route").message, "An error occurred while connecting: no route");
 * ```
 */
export class ConnectError extends Error {
  /** The error's name: `"ConnectError"`. */
  override readonly name: string = "ConnectError";
  /**
   * Makes the error.
   * @param detail More about what happened.
   * @param options The cause, if any.
   */
  constructor(detail?: string, options?: ErrorOptions) {
    super(
      "An error occurred while connecting" + (detail ? `: ${detail}` : ""),
      options,
    );
  }
}

/**
 * The peer refused the connection (nothing listening).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ConnectError, ConnectionRefusedError } from "@twisted-deno/core/reactor";
 *
 * const e = new ConnectionRefusedError("127.0.0.1:1");
 * assert.ok(e instanceof ConnectError);
 * assert.match(e.message, /refused.*127\.0\.0\.1:1/);
 * ```
 */
export class ConnectionRefusedError extends ConnectError {
  /** The error's name: `"ConnectionRefusedError"`. */
  override readonly name: string = "ConnectionRefusedError";
  /**
   * Makes the error.
   * @param destination The address that was tried.
   * @param options The cause, if any.
   */
  constructor(destination?: string, options?: ErrorOptions) {
    super(
      "Connection was refused by other side" +
        (destination ? ` (${destination})` : ""),
      options,
    );
  }
}

/**
 * The connection attempt took longer than its timeout.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { TCPTimedOutError } from "@twisted-deno/core/reactor";
 *
 * assert.match(new TCPTimedOutError("10.0.0.1:80", 30).message, /timed out after 30 s/);
 * ```
 */
export class TCPTimedOutError extends ConnectError {
  /** The error's name: `"TCPTimedOutError"`. */
  override readonly name: string = "TCPTimedOutError";
  /**
   * Makes the error.
   * @param destination The address that was tried.
   * @param timeout The timeout, in seconds.
   * @param options The cause, if any.
   */
  constructor(destination?: string, timeout?: number, options?: ErrorOptions) {
    super(
      "TCP connection timed out" +
        (timeout !== undefined ? ` after ${timeout} s` : "") +
        (destination ? ` (${destination})` : ""),
      options,
    );
  }
}

/**
 * A host name could not be resolved.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DNSLookupError } from "@twisted-deno/core/reactor";
 *
 * assert.match(new DNSLookupError("nowhere.invalid").message, /nowhere\.invalid/);
 * ```
 */
export class DNSLookupError extends ConnectError {
  /** The error's name: `"DNSLookupError"`. */
  override readonly name: string = "DNSLookupError";
  /**
   * Makes the error.
   * @param host The host (or interface) concerned.
   * @param options The cause, if any.
   */
  constructor(host: string, options?: ErrorOptions) {
    super(
      `DNS lookup failed for ${host}: ${
        reasonOf(options?.cause, "no address")
      }`,
      options,
    );
  }
}

/**
 * A listening socket could not be opened.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { CannotListenError } from "@twisted-deno/core/reactor";
 *
 * const e = new CannotListenError("127.0.0.1", 1079, { cause: new Error("address in use") });
 * assert.equal(e.message, "Cannot listen on 127.0.0.1:1079: address in use");
 * ```
 */
export class CannotListenError extends Error {
  /** The error's name: `"CannotListenError"`. */
  override readonly name: string = "CannotListenError";
  /**
   * Makes the error.
   * @param host The interface asked for.
   * @param port The port (or a UNIX socket path).
   * @param options The cause: the error the bind failed with.
   */
  constructor(
    readonly host: string,
    readonly port: number | string,
    options?: ErrorOptions,
  ) {
    super(
      `Cannot listen on ${host ? `${host}:` : ""}${port}: ${
        reasonOf(options?.cause, "unknown reason")
      }`,
      options,
    );
  }
}

/**
 * A factory's `buildProtocol` returned null: the connection was refused.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NoProtocol } from "@twisted-deno/core/reactor";
 *
 * assert.equal(new NoProtocol().name, "NoProtocol");
 * ```
 */
export class NoProtocol extends ConnectError {
  /** The error's name: `"NoProtocol"`. */
  override readonly name: string = "NoProtocol";
  /**
   * Makes the error.
   * @param options The cause, if any.
   */
  constructor(options?: ErrorOptions) {
    super("the factory's buildProtocol returned null", options);
  }
}

/**
 * A delayed call was cancelled, delayed or reset after it ran.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { AlreadyCalled } from "@twisted-deno/core/reactor";
 *
 * assert.match(new AlreadyCalled().message, /already been called/);
 * ```
 */
export class AlreadyCalled extends Error {
  /** The error's name: `"AlreadyCalled"`. */
  override readonly name = "AlreadyCalled";
  /**
   * Makes the error.
   * @param message The message.
   */
  constructor(message = "Cannot change the call: it has already been called") {
    super(message);
  }
}

/**
 * A delayed call was cancelled, delayed or reset after it was cancelled.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { AlreadyCancelled } from "@twisted-deno/core/reactor";
 *
 * assert.match(new AlreadyCancelled().message, /already been cancelled/);
 * ```
 */
export class AlreadyCancelled extends Error {
  /** The error's name: `"AlreadyCancelled"`. */
  override readonly name = "AlreadyCancelled";
  /**
   * Makes the error.
   * @param message The message.
   */
  constructor(
    message = "Cannot change the call: it has already been cancelled",
  ) {
    super(message);
  }
}

/**
 * `stop()` was called on a reactor that is not running.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ReactorNotRunning } from "@twisted-deno/core/reactor";
 *
 * assert.match(new ReactorNotRunning().message, /not running/);
 * ```
 */
export class ReactorNotRunning extends Error {
  /** The error's name: `"ReactorNotRunning"`. */
  override readonly name = "ReactorNotRunning";
  /**
   * Makes the error.
   * @param message The message.
   */
  constructor(message = "Cannot stop the reactor: it is not running") {
    super(message);
  }
}

/**
 * `run()` was called on a reactor that is already running.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ReactorAlreadyRunning } from "@twisted-deno/core/reactor";
 *
 * assert.match(new ReactorAlreadyRunning().message, /already running/);
 * ```
 */
export class ReactorAlreadyRunning extends Error {
  /** The error's name: `"ReactorAlreadyRunning"`. */
  override readonly name = "ReactorAlreadyRunning";
  /**
   * Makes the error.
   * @param message The message.
   */
  constructor(message = "Cannot run the reactor: it is already running") {
    super(message);
  }
}

/**
 * `run()` was called on a reactor that has already been stopped.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ReactorNotRestartable } from "@twisted-deno/core/reactor";
 *
 * assert.match(new ReactorNotRestartable().message, /cannot be restarted/);
 * ```
 */
export class ReactorNotRestartable extends Error {
  /** The error's name: `"ReactorNotRestartable"`. */
  override readonly name = "ReactorNotRestartable";
  /**
   * Makes the error.
   * @param message The message.
   */
  constructor(
    message = "Cannot run the reactor: a stopped reactor cannot be restarted",
  ) {
    super(message);
  }
}

/**
 * Raised by `installReactor` when a different reactor is installed already.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { ReactorAlreadyInstalledError } from "@twisted-deno/core/reactor";
 *
 * assert.match(new ReactorAlreadyInstalledError().message, /already installed/);
 * ```
 */
export class ReactorAlreadyInstalledError extends Error {
  /** The error's name: `"ReactorAlreadyInstalledError"`. */
  override readonly name = "ReactorAlreadyInstalledError";
  /**
   * Makes the error.
   * @param message The message.
   */
  constructor(
    message = "Cannot install a reactor: another reactor is already installed",
  ) {
    super(message);
  }
}

/**
 * Raised by `getGlobalReactor` (and so by default clocks) before any reactor
 * was installed.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { NoReactorInstalledError } from "@twisted-deno/core/reactor";
 *
 * assert.match(new NoReactorInstalledError().message, /no reactor is installed/);
 * ```
 */
export class NoReactorInstalledError extends Error {
  /** The error's name: `"NoReactorInstalledError"`. */
  override readonly name = "NoReactorInstalledError";
  /**
   * Makes the error.
   * @param message The message.
   */
  constructor(
    message =
      'Cannot use the global reactor: no reactor is installed; import { reactor } from "@twisted-deno/core/reactor" to install the Deno reactor, or pass a clock or reactor explicitly',
  ) {
    super(message);
  }
}
