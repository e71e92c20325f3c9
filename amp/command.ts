/**
 * AMP commands and responders: {@linkcode Command} declares a command's
 * wire name, arguments, response and errors once, and both ends use it,
 * the caller to encode and type `callRemote`, the responder to decode and
 * answer. {@linkcode CommandLocator} maps command names to responders.
 *
 * @module
 */

import type { Deferred } from "../deferred/deferred.ts";
import { maybeDeferred } from "../deferred/helpers.ts";
import { AmpBox } from "./box.ts";
import {
  Argument,
  type ArgumentOptions,
  type Schema,
  type Values,
} from "./arguments.ts";
import { compile, decodeValues, encodeValues, type Plan } from "./_schema.ts";
import { utf8, type WireValue, writeBox } from "./_wire.ts";
import { BadLocalReturn, RemoteAmpError } from "./errors.ts";

/** An error class a command declares: built from the peer's description. */
export type ErrorClass = new (description: string) => Error;

/** Wire error codes to error classes (`{ ZERO_DIVISION: ZeroDivisionError }`). */
export type ErrorMap = Record<string, ErrorClass>;

/** What {@linkcode Command} takes besides its name. */
export interface CommandOptions<
  A extends Schema,
  R extends Schema,
  Q extends boolean,
> {
  /** Wire key to argument type, for the call. */
  arguments?: A;
  /** Wire key to argument type, for the answer. */
  response?: R;
  /** Errors the responder may raise; the caller gets the same class. */
  errors?: ErrorMap;
  /** Like `errors`, but the responder closes the connection after sending. */
  fatalErrors?: ErrorMap;
  /** Whether the caller waits for an answer (default true). */
  requiresAnswer?: Q;
}

/** What a responder returns: the response values, now or later. */
export type ResponderResult<R extends Schema> =
  | Values<R>
  | Deferred<Values<R>>
  | PromiseLike<Values<R>>;

/** A function that answers a command. */
export type Responder<A extends Schema, R extends Schema> = (
  args: Values<A>,
) => ResponderResult<R>;

/** The encoded error box fields: code, description, fatal. */
export type ErrorFields = [code: string, description: string, fatal: boolean];

const ASK = "_ask";
const COMMAND = "_command";
const ANSWER = "_answer";

/**
 * A command: its wire name, its `arguments` and `response` schemas, the
 * `errors` and `fatalErrors` its responder may raise, and whether it
 * `requiresAnswer`. The key order of its boxes is worked out once, here,
 * so a call encodes its box in one pass and one allocation.
 *
 * @example Declare once, encode and decode both ways
 * ```ts
 * import assert from "node:assert/strict";
 * import { Command, Integer } from "@twisted-deno/core/amp";
 *
 * class ZeroDivisionError extends Error { override name = "ZeroDivisionError"; }
 * const Divide = new Command("Divide", {
 *   arguments: { numerator: new Integer(), denominator: new Integer() },
 *   response: { result: new Integer() },
 *   errors: { ZERO_DIVISION: ZeroDivisionError },
 * });
 * const box = Divide.makeArguments({ numerator: 10, denominator: 2 });
 * assert.deepEqual(Divide.parseArguments(box), { numerator: 10, denominator: 2 });
 * assert.deepEqual(Divide.errorFields(new ZeroDivisionError("by zero")), ["ZERO_DIVISION", "by zero", false]);
 * ```
 */
export class Command<
  // deno-lint-ignore ban-types
  A extends Schema = {},
  // deno-lint-ignore ban-types
  R extends Schema = {},
  Q extends boolean = true,
> {
  /** The wire name. */
  readonly commandName: string;
  /** The argument schema. */
  readonly arguments: A;
  /** The response schema. */
  readonly response: R;
  /** Declared errors, by wire code. */
  readonly errors: Readonly<ErrorMap>;
  /** Declared fatal errors, by wire code. */
  readonly fatalErrors: Readonly<ErrorMap>;
  /** Whether callers wait for an answer. */
  readonly requiresAnswer: Q;
  #askPlan: Plan;
  #answerPlan: Plan;
  #name: Uint8Array;
  #askAt: number;
  #commandAt: number;
  #answerAt: number;
  #errorCodes: [ErrorClass, string, boolean][] = [];

  /**
   * Makes one.
   * @param commandName The wire name.
   * @param options Schemas, errors and `requiresAnswer`.
   */
  constructor(commandName: string, options: CommandOptions<A, R, Q> = {}) {
    if (typeof commandName !== "string" || commandName.length === 0) {
      throw new TypeError(
        `Cannot declare an AMP command named ${
          String(commandName)
        }: the name must be a non-empty string`,
      );
    }
    this.commandName = commandName;
    this.arguments = options.arguments ?? {} as A;
    this.response = options.response ?? {} as R;
    this.errors = { ...options.errors };
    this.fatalErrors = { ...options.fatalErrors };
    this.requiresAnswer = (options.requiresAnswer ?? true) as Q;
    for (const [code, cls] of Object.entries(this.errors)) {
      this.#errorCodes.push([cls, code, false]);
    }
    for (const [code, cls] of Object.entries(this.fatalErrors)) {
      this.#errorCodes.push([cls, code, true]);
    }
    this.#name = utf8(commandName);
    this.#askPlan = compile(this.arguments, [ASK, COMMAND]);
    this.#answerPlan = compile(this.response, [ANSWER]);
    this.#askAt = this.#askPlan.names.indexOf(ASK);
    this.#commandAt = this.#askPlan.names.indexOf(COMMAND);
    this.#answerAt = this.#answerPlan.names.indexOf(ANSWER);
  }

  /**
   * The call's box (with `_command`, without `_ask`).
   *
   * @throws {InvalidSignature} When a value is missing or undeclared.
   * @throws {TypeError} When a value does not fit its type.
   */
  makeArguments(values: Values<A>): AmpBox {
    return boxOf(this.#askPlan, this._encodeAsk(values, null));
  }

  /** The argument values of a received call's box. */
  parseArguments(box: ReadonlyMap<string, Uint8Array>): Values<A> {
    return decodeValues(
      this.#askPlan,
      box,
      `${this.commandName} argument`,
    ) as Values<A>;
  }

  /**
   * The answer's box (without `_answer`).
   *
   * @throws {TypeError} When a value is missing or does not fit.
   */
  makeResponse(values: Values<R>): AmpBox {
    const wire = encodeValues(
      this.#answerPlan,
      values as Record<string, unknown>,
      `${this.commandName} response value`,
      null,
    );
    return boxOf(this.#answerPlan, wire);
  }

  /** The response values of a received answer's box. */
  parseResponse(box: ReadonlyMap<string, Uint8Array>): Values<R> {
    return decodeValues(
      this.#answerPlan,
      box,
      `${this.commandName} response value`,
    ) as Values<R>;
  }

  /**
   * The wire code, description and fatality for an error a responder
   * raised, or `undefined` when the command does not declare it.
   */
  errorFields(error: unknown): ErrorFields | undefined {
    if (error instanceof RemoteAmpError) {
      return [error.errorCode, error.description, error.fatal];
    }
    for (const [cls, code, fatal] of this.#errorCodes) {
      if (error instanceof cls) return [code, (error as Error).message, fatal];
    }
    return undefined;
  }

  /** The error to raise at the caller for a received code, if declared. */
  errorClass(code: string): ErrorClass | undefined {
    return Object.hasOwn(this.errors, code)
      ? this.errors[code]
      : Object.hasOwn(this.fatalErrors, code)
      ? this.fatalErrors[code]
      : undefined;
  }

  /**
   * @internal The call's wire bytes, with `tag` as `_ask` (none if null).
   * One pass over the plan, one allocation.
   */
  _encodeAsk(values: Values<A>, tag: string | null): (WireValue | null)[] {
    const wire = encodeValues(
      this.#askPlan,
      values as Record<string, unknown>,
      `${this.commandName} argument`,
      this.commandName,
    );
    wire[this.#askAt] = tag;
    wire[this.#commandAt] = this.#name;
    return wire;
  }

  /** @internal The serialized call box. */
  _askBytes(values: Values<A>, tag: string | null): Uint8Array {
    const wire = this._encodeAsk(values, tag);
    return writeBox(this.#askPlan.keys, wire, wire.length);
  }

  /** @internal The serialized answer box for `tag`. */
  _answerBytes(values: Values<R>, tag: Uint8Array): Uint8Array {
    const wire = encodeValues(
      this.#answerPlan,
      values as Record<string, unknown>,
      `${this.commandName} response value`,
      null,
    );
    wire[this.#answerAt] = tag;
    return writeBox(this.#answerPlan.keys, wire, wire.length);
  }
}

function boxOf(plan: Plan, wire: (WireValue | null)[]): AmpBox {
  const box = new AmpBox();
  for (let i = 0; i < wire.length; i++) {
    const v = wire[i];
    if (v !== null) box.set(plan.names[i], typeof v === "string" ? utf8(v) : v);
  }
  return box;
}

/** A registered responder, as the dispatcher's fast path reads it. */
export type ResponderEntry = readonly [
  // deno-lint-ignore no-explicit-any
  command: Command<any, any, boolean>,
  // deno-lint-ignore no-explicit-any
  responder: Responder<any, any>,
];

/** Finds the function that answers a command, from its wire name. */
export interface IResponderLocator {
  /**
   * A function from the received box to the answer box, or `undefined`
   * when no responder handles `name`.
   */
  locateResponder(
    name: string,
  ): ((box: AmpBox) => Deferred<AmpBox>) | undefined;
}

/**
 * Responders registered per command: Twisted's `CommandLocator` with
 * `Command.responder`, as a method call instead of a decorator.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { AmpBox, Command, CommandLocator, Integer } from "@twisted-deno/core/amp";
 *
 * const Double = new Command("Double", { arguments: { n: new Integer() }, response: { n: new Integer() } });
 * const locator = new CommandLocator();
 * locator.responder(Double, ({ n }) => ({ n: n * 2 }));
 * const answer = locator.locateResponder("Double")!(new AmpBox({ n: "21" }));
 * let got = "";
 * answer.addCallback((box) => { got = box.getText("n")!; });
 * assert.equal(got, "42");
 * assert.equal(locator.locateResponder("Nope"), undefined);
 * ```
 */
export class CommandLocator implements IResponderLocator {
  #responders = new Map<string, ResponderEntry>();

  /**
   * Makes `fn` answer `command`: it gets the decoded arguments and returns
   * the response values, a Deferred of them, or a Promise of them. Errors
   * it throws (or fails with) that the command declares go back as their
   * code; any other is logged here and the caller gets
   * `UnknownRemoteError`.
   *
   * @throws {TypeError} When `command` already has a responder here.
   */
  responder<A extends Schema, R extends Schema, Q extends boolean>(
    command: Command<A, R, Q>,
    fn: Responder<A, R>,
  ): void {
    if (this.#responders.has(command.commandName)) {
      throw new TypeError(
        `Cannot register a responder for ${command.commandName}: it already has one`,
      );
    }
    this.#responders.set(command.commandName, [command, fn]);
  }

  /** @internal The registered command and function for `name`. */
  _lookup(name: string): ResponderEntry | undefined {
    return this.#responders.get(name);
  }

  /**
   * Twisted's `locateResponder`: a function from a call's box to a
   * Deferred of the answer box (declared errors become
   * {@linkcode RemoteAmpError}s), or `undefined`.
   */
  locateResponder(
    name: string,
  ): ((box: AmpBox) => Deferred<AmpBox>) | undefined {
    const entry = this.#responders.get(name);
    if (entry === undefined) return undefined;
    const [command, fn] = entry;
    return (box) =>
      maybeDeferred(() => fn(command.parseArguments(box))).addCallbacks(
        (values) => {
          try {
            return command.makeResponse(values);
          } catch (e) {
            throw new BadLocalReturn(command.commandName, e);
          }
        },
        (failure) => {
          const fields = command.errorFields(failure.value);
          if (fields === undefined) return failure as never;
          throw new RemoteAmpError(fields[0], fields[1], fields[2], {
            cause: failure.value,
          });
        },
      );
  }
}

/** A server certificate and key, PEM encoded, for {@linkcode StartTLS}. */
export interface TLSCertificate {
  /** The PEM certificate chain. */
  cert: string;
  /** The PEM private key. */
  key: string;
}

/**
 * An argument that never goes on the wire: the TLS settings
 * {@linkcode StartTLS} passes to the local end (Twisted's
 * `_LocalArgument`). Always optional.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { LocalArgument } from "@twisted-deno/core/amp";
 *
 * const arg = new LocalArgument<string[]>();
 * assert.equal(arg.local, true);
 * assert.throws(() => arg.toWire(["x"]), TypeError);
 * ```
 */
export class LocalArgument<T> extends Argument<T, true> {
  /** Marks the argument as local: schemas leave it off the wire. */
  readonly local = true;
  /**
   * Makes one.
   * @param _options Ignored: a local argument is always optional.
   */
  constructor(_options?: ArgumentOptions<true>) {
    super({ optional: true });
  }
  /** Never called: local arguments are not sent. */
  toWire(_value: T): never {
    throw new TypeError("Cannot send a LocalArgument: it stays on this side");
  }
  /** Never called: local arguments are not received. */
  fromWire(_bytes: Uint8Array): never {
    throw new TypeError(
      "Cannot receive a LocalArgument: it stays on this side",
    );
  }
}

/**
 * The command that switches a connection to TLS, if its transport
 * supports `startTLS`. The caller passes `tls_verifyAuthorities` (PEM CA
 * certificates to trust), optionally `tls_hostname` (the name to verify)
 * and `tls_localCertificate`; the responder returns at least
 * `tls_localCertificate` (the server's certificate and key). None of these
 * travel: the answer goes out in clear, then both ends start TLS, and
 * boxes the caller sends meanwhile wait and go out encrypted.
 *
 * @example The responder's side, on a StringTransport
 * ```ts
 * import assert from "node:assert/strict";
 * import { AMP, AmpBox, StartTLS } from "@twisted-deno/core/amp";
 * import { StringTransport } from "@twisted-deno/core/testing";
 *
 * const server = new AMP();
 * server.responder(StartTLS, () => ({ tls_localCertificate: { cert: "CERT", key: "KEY" } }));
 * const transport = new StringTransport();
 * server.makeConnection(transport);
 * server.dataReceived(new AmpBox({ _ask: "1", _command: "StartTLS" }).serialize());
 * assert.deepEqual(transport.tlsStarts, [{ side: "server", cert: "CERT", key: "KEY", caCerts: undefined }]);
 * ```
 */
export const StartTLS: Command<
  {
    tls_localCertificate: LocalArgument<TLSCertificate>;
    tls_verifyAuthorities: LocalArgument<string[]>;
    tls_hostname: LocalArgument<string>;
  },
  {
    tls_localCertificate: LocalArgument<TLSCertificate>;
    tls_verifyAuthorities: LocalArgument<string[]>;
  },
  true
> = new Command("StartTLS", {
  arguments: {
    tls_localCertificate: new LocalArgument<TLSCertificate>(),
    tls_verifyAuthorities: new LocalArgument<string[]>(),
    tls_hostname: new LocalArgument<string>(),
  },
  response: {
    tls_localCertificate: new LocalArgument<TLSCertificate>(),
    tls_verifyAuthorities: new LocalArgument<string[]>(),
  },
});
