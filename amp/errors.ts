/**
 * The errors of AMP, one class per condition, named as in Twisted's
 * `twisted.protocols.amp`. A {@linkcode RemoteAmpError} is what travels in
 * an `_error` box; the others are raised locally.
 *
 * @module
 */

/**
 * The base of every AMP error.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { AmpError, UnhandledCommand } from "@twisted-deno/core/amp";
 *
 * assert.ok(new UnhandledCommand("Sum") instanceof AmpError);
 * ```
 */
export class AmpError extends Error {
  /** The error's name: `"AmpError"`. */
  override readonly name: string = "AmpError";
}

/**
 * A key over 255 bytes or a value over 65 535 bytes: refused before
 * anything is sent (`isLocal`), or received from the peer (a key length
 * over 255 drops the connection).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { AmpBox, TooLong } from "@twisted-deno/core/amp";
 *
 * const box = new AmpBox({ k: new Uint8Array(65_536) });
 * assert.throws(() => box.serialize(), TooLong);
 * ```
 */
export class TooLong extends AmpError {
  /** The error's name: `"TooLong"`. */
  override readonly name: string = "TooLong";
  /**
   * Makes the error.
   * @param isKey Whether the string was a key (else a value).
   * @param isLocal Whether we tried to send it (else the peer sent it).
   * @param length Its length in bytes.
   * @param keyName For a value, its key.
   */
  constructor(
    readonly isKey: boolean,
    readonly isLocal: boolean,
    readonly length: number,
    readonly keyName?: string,
  ) {
    const what = isKey ? "key" : `value of key ${JSON.stringify(keyName)}`;
    const limit = isKey ? 255 : 65_535;
    super(
      isLocal
        ? `Cannot send AMP box: ${what} is ${length} bytes, over the ${limit}-byte limit`
        : `Cannot read AMP box: the peer sent a ${what} of ${length} bytes, over the ${limit}-byte limit`,
    );
  }
}

/**
 * The byte stream is not AMP: the connection is dropped with this reason.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MalformedAmpBox } from "@twisted-deno/core/amp";
 *
 * assert.match(new MalformedAmpBox("no such tag").message, /no such tag/);
 * ```
 */
export class MalformedAmpBox extends AmpError {
  /** The error's name: `"MalformedAmpBox"`. */
  override readonly name: string = "MalformedAmpBox";
  /**
   * Makes the error.
   * @param reason What was wrong with the box.
   */
  constructor(reason: string) {
    super(`Cannot handle AMP box: ${reason}`);
  }
}

/**
 * A box with none of `_ask`/`_command`, `_answer` or `_error`, or an empty
 * box, was received.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { MalformedAmpBox, NoEmptyBoxes } from "@twisted-deno/core/amp";
 *
 * assert.ok(new NoEmptyBoxes(["x"]) instanceof MalformedAmpBox);
 * ```
 */
export class NoEmptyBoxes extends MalformedAmpBox {
  /** The error's name: `"NoEmptyBoxes"`. */
  override readonly name: string = "NoEmptyBoxes";
  /**
   * Makes the error.
   * @param keys The keys the box had.
   */
  constructor(readonly keys: string[]) {
    super(
      `a box needs _command, _answer or _error; it had ${
        keys.length ? JSON.stringify(keys) : "no keys"
      }`,
    );
  }
}

/**
 * A call left out a required argument or passed one its command does not
 * declare.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { InvalidSignature } from "@twisted-deno/core/amp";
 *
 * assert.equal(new InvalidSignature("Sum", "forgot b").name, "InvalidSignature");
 * ```
 */
export class InvalidSignature extends AmpError {
  /** The error's name: `"InvalidSignature"`. */
  override readonly name: string = "InvalidSignature";
  /**
   * Makes the error.
   * @param command The command's name.
   * @param reason What was wrong.
   */
  constructor(command: string, reason: string) {
    super(`Cannot call ${command}: ${reason}`);
  }
}

/**
 * An error that came, or goes, over the wire as an `_error` box: its code
 * and description. Responders may throw one to choose the code; `fatal`
 * ones close the connection once sent.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RemoteAmpError } from "@twisted-deno/core/amp";
 *
 * const e = new RemoteAmpError("NOPE", "not today");
 * assert.equal(e.message, "Code<NOPE>: not today");
 * ```
 */
export class RemoteAmpError extends AmpError {
  /** The error's name: `"RemoteAmpError"`. */
  override readonly name: string = "RemoteAmpError";
  /**
   * Makes the error.
   * @param errorCode The wire code.
   * @param description The text for people.
   * @param fatal Whether sending it closes the connection.
   * @param options The local cause, if any.
   */
  constructor(
    readonly errorCode: string,
    readonly description: string,
    readonly fatal = false,
    options?: ErrorOptions,
  ) {
    super(`Code<${errorCode}>: ${description}`, options);
  }
}

/**
 * The peer failed with an error its command does not declare (wire code
 * `UNKNOWN`); the peer logged the details.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { RemoteAmpError, UnknownRemoteError } from "@twisted-deno/core/amp";
 *
 * const e = new UnknownRemoteError("Unknown Error");
 * assert.ok(e instanceof RemoteAmpError);
 * assert.equal(e.errorCode, "UNKNOWN");
 * ```
 */
export class UnknownRemoteError extends RemoteAmpError {
  /** The error's name: `"UnknownRemoteError"`. */
  override readonly name: string = "UnknownRemoteError";
  /**
   * Makes the error.
   * @param description The peer's description.
   */
  constructor(description: string) {
    super("UNKNOWN", description);
  }
}

/**
 * The peer has no responder for the command (wire code `UNHANDLED`).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { UnhandledCommand } from "@twisted-deno/core/amp";
 *
 * assert.match(new UnhandledCommand("Unhandled Command: 'Nope'").message, /Nope/);
 * ```
 */
export class UnhandledCommand extends AmpError {
  /** The error's name: `"UnhandledCommand"`. */
  override readonly name: string = "UnhandledCommand";
  /**
   * Makes the error.
   * @param description The peer's description.
   */
  constructor(readonly description: string) {
    super(description);
  }
}

/**
 * A responder returned something its command's response cannot encode.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { BadLocalReturn } from "@twisted-deno/core/amp";
 *
 * const e = new BadLocalReturn("Sum", new TypeError("total: missing"));
 * assert.match(e.message, /Sum/);
 * ```
 */
export class BadLocalReturn extends AmpError {
  /** The error's name: `"BadLocalReturn"`. */
  override readonly name: string = "BadLocalReturn";
  /**
   * Makes the error.
   * @param command The command's name.
   * @param cause Why the result could not be encoded.
   */
  constructor(command: string, cause: unknown) {
    super(
      `Cannot answer ${command}: the responder's result does not fit its response: ${
        cause instanceof Error ? cause.message : String(cause)
      }`,
      { cause },
    );
  }
}

/**
 * TLS was started a second time on one connection.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { OnlyOneTLS } from "@twisted-deno/core/amp";
 *
 * assert.equal(new OnlyOneTLS().name, "OnlyOneTLS");
 * ```
 */
export class OnlyOneTLS extends AmpError {
  /** The error's name: `"OnlyOneTLS"`. */
  override readonly name: string = "OnlyOneTLS";
  /** Makes the error. */
  constructor() {
    super("Cannot start TLS: TLS was already started on this connection");
  }
}
