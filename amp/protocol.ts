/**
 * The AMP protocol: {@linkcode BoxDispatcher} turns calls into `_ask`
 * boxes and `_answer`/`_error` boxes back into fired Deferreds, and runs
 * responders for incoming calls; {@linkcode AMP} is a
 * {@linkcode BinaryBoxProtocol} with its own dispatcher and responders,
 * the class users extend.
 *
 * Calls are pipelined: each `_ask` carries a tag (a hex counter), answers
 * may come in any order, and every pending call fails when the connection
 * is lost. Answering a registered responder that returns a plain value
 * costs no Deferred or Promise on the responder's side.
 *
 * @module
 */

import { Deferred } from "../deferred/deferred.ts";
import { fail } from "../deferred/helpers.ts";
import { Failure } from "../deferred/failure.ts";
import { Logger } from "../log/mod.ts";
import { ConnectionDone, ConnectionLost } from "../reactor/errors.ts";
import type { StartTLSOptions } from "../reactor/interfaces.ts";
import type { Schema, Values } from "./arguments.ts";
import {
  AmpBox,
  BinaryBoxProtocol,
  type IBoxReceiver,
  type IBoxSender,
} from "./box.ts";
import {
  type Command,
  CommandLocator,
  type ErrorFields,
  type IResponderLocator,
  type Responder,
  type ResponderEntry,
  StartTLS,
  type TLSCertificate,
} from "./command.ts";
import { parseTag, text, utf8, writeBox } from "./_wire.ts";
import {
  AmpError,
  BadLocalReturn,
  MalformedAmpBox,
  NoEmptyBoxes,
  OnlyOneTLS,
  RemoteAmpError,
  UnhandledCommand,
  UnknownRemoteError,
} from "./errors.ts";

const log = new Logger("amp");

/** What `callRemote` returns: a Deferred of the response, or nothing. */
export type CallResult<R extends Schema, Q extends boolean> = Q extends false
  ? undefined
  : Deferred<Values<R>>;

/**
 * A box that closes the connection once sent (Twisted's `QuitBox`): how a
 * fatal error, or an error nobody declared, is answered.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { AMP, QuitBox } from "@twisted-deno/core/amp";
 * import { StringTransport } from "@twisted-deno/core/testing";
 *
 * const proto = new AMP();
 * const transport = new StringTransport();
 * proto.makeConnection(transport);
 * proto.sendBox(new QuitBox({ _error: "1", _error_code: "X", _error_description: "bye" }));
 * assert.equal(transport.disconnecting, true);
 * ```
 */
export class QuitBox extends AmpBox {}

interface Pending {
  deferred: Deferred<unknown>;
  // deno-lint-ignore no-explicit-any
  command: Command<any, any, boolean> | null;
  tls?: StartTLSOptions;
}

const ERROR_KEYS = ["_error", "_error_code", "_error_description"].map(utf8);
const UNKNOWN = "UNKNOWN";
const UNHANDLED = "UNHANDLED";

/**
 * Dispatches boxes both ways: sends calls and matches their answers,
 * finds responders for incoming calls through its `locator` and answers
 * them. An {@linkcode IBoxReceiver} for a {@linkcode BinaryBoxProtocol}.
 *
 * @example A dispatcher over a StringTransport
 * ```ts
 * import assert from "node:assert/strict";
 * import { AmpBox, BinaryBoxProtocol, BoxDispatcher, Command, CommandLocator, Integer } from "@twisted-deno/core/amp";
 * import { StringTransport } from "@twisted-deno/core/testing";
 *
 * const Inc = new Command("Inc", { arguments: { n: new Integer() }, response: { n: new Integer() } });
 * const dispatcher = new BoxDispatcher(new CommandLocator());
 * const proto = new BinaryBoxProtocol(dispatcher);
 * const transport = new StringTransport();
 * proto.makeConnection(transport);
 * let got = 0;
 * dispatcher.callRemote(Inc, { n: 1 }).addCallback(({ n }) => { got = n; });
 * proto.dataReceived(new AmpBox({ _answer: "1", n: "2" }).serialize());
 * assert.equal(got, 2);
 * ```
 */
export class BoxDispatcher implements IBoxReceiver {
  /** Finds responders for incoming calls. */
  locator: IResponderLocator;
  /** Where boxes go; set by `startReceivingBoxes`. */
  boxSender: IBoxSender | undefined;
  #pending = new Map<number, Pending>();
  #counter = 0;
  #failReason: Failure | null = null;

  /**
   * Makes one.
   * @param locator Finds responders for incoming calls.
   */
  constructor(locator: IResponderLocator) {
    this.locator = locator;
  }

  /** Boxes will arrive from, and answers go to, `boxSender`. */
  startReceivingBoxes(boxSender: IBoxSender): void {
    this.boxSender = boxSender;
  }

  /** No more boxes: fails every pending call (see `failAllOutgoing`). */
  stopReceivingBoxes(reason: Failure): void {
    this.failAllOutgoing(reason);
  }

  /**
   * Fails every pending call, and every later one. A clean close becomes
   * `ConnectionLost` (a call cannot have succeeded); other reasons, such
   * as the protocol error that dropped the connection, are kept.
   */
  failAllOutgoing(reason: Failure): void {
    const why = reason.value instanceof ConnectionDone
      ? new Failure(
        new ConnectionLost(
          "the connection closed before the AMP call was answered",
          { cause: reason.value },
        ),
      )
      : reason;
    this.#failReason = why;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) p.deferred.errback(why);
  }

  /** How many calls are waiting for an answer. */
  get pendingCalls(): number {
    return this.#pending.size;
  }

  /**
   * Calls `command` on the peer with `args`. Returns a Deferred of the
   * response values (or `undefined` when the command does not require an
   * answer). It fails with the declared error class for a declared code,
   * `UnhandledCommand` when the peer has no responder,
   * `UnknownRemoteError` for any other error, and the connection's loss
   * reason if it closes first.
   *
   * @throws {InvalidSignature} When an argument is missing or undeclared:
   *   nothing is sent.
   * @throws {TypeError} When an argument does not fit its type: nothing is
   *   sent.
   * @throws {TooLong} When a value is over 65 535 bytes: nothing is sent.
   * @throws {AmpError} When the connection is not made yet.
   * @throws {OnlyOneTLS} For a second `StartTLS` on one connection.
   */
  callRemote<A extends Schema, R extends Schema, Q extends boolean>(
    command: Command<A, R, Q>,
    args: Values<A>,
  ): CallResult<R, Q> {
    const answer = command.requiresAnswer as boolean;
    if (this.#failReason !== null) {
      return (answer ? fail(this.#failReason) : undefined) as CallResult<R, Q>;
    }
    if (this.boxSender === undefined) throw notConnected(command.commandName);
    const tag = ++this.#counter;
    const bytes = command._askBytes(args, answer ? tag.toString(16) : null);
    let tls: StartTLSOptions | undefined;
    if ((command as unknown) === StartTLS) {
      if ((this.boxSender as BinaryBoxProtocol).tlsStarted) {
        throw new OnlyOneTLS();
      }
      tls = clientTLS(args as Values<typeof StartTLS.arguments>);
    }
    this.boxSender!.sendBox(bytes);
    if (tls !== undefined) (this.boxSender as BinaryBoxProtocol)._prepareTLS();
    if (!answer) return undefined as CallResult<R, Q>;
    const deferred = new Deferred<Values<R>>();
    this.#pending.set(tag, { deferred, command, tls });
    return deferred as CallResult<R, Q>;
  }

  /**
   * Sends a call by name with raw values (Twisted's `callRemoteString`):
   * the Deferred fires with the answer box, or fails with
   * {@linkcode RemoteAmpError} carrying the peer's code.
   */
  callRemoteString(
    command: string,
    args: Record<string, Uint8Array | string> = {},
    requiresAnswer = true,
  ): Deferred<AmpBox> | undefined {
    if (this.#failReason !== null) {
      return requiresAnswer ? fail(this.#failReason) : undefined;
    }
    if (this.boxSender === undefined) throw notConnected(command);
    const box = new AmpBox(args);
    box.set("_command", utf8(command));
    const tag = ++this.#counter;
    if (requiresAnswer) box.set("_ask", utf8(tag.toString(16)));
    this.boxSender!.sendBox(box);
    if (!requiresAnswer) return undefined;
    const deferred = new Deferred<AmpBox>();
    this.#pending.set(tag, {
      deferred: deferred as Deferred<unknown>,
      command: null,
    });
    return deferred;
  }

  /** Logs `failure` and drops the connection (the sender decides how). */
  unhandledError(failure: Failure): void {
    log.failure(
      "Unhandled error in AMP dispatch: dropping the connection",
      failure,
    );
    this.boxSender?.unhandledError(failure);
  }

  /**
   * Routes a received box: `_answer` and `_error` to the pending call,
   * `_command` to a responder.
   *
   * @throws {MalformedAmpBox} For an answer no call waits for.
   * @throws {NoEmptyBoxes} For a box that is none of the three.
   */
  ampBoxReceived(box: AmpBox): void {
    let v = box.get("_answer");
    if (v !== undefined) return this.#answerReceived(v, box);
    v = box.get("_error");
    if (v !== undefined) return this.#errorReceived(v, box);
    v = box.get("_command");
    if (v !== undefined) return this.#commandReceived(text(v), box);
    throw new NoEmptyBoxes([...box.keys()]);
  }

  /**
   * Runs the responder for a received call box; the Deferred fires with
   * the answer box or fails (with {@linkcode RemoteAmpError} `UNHANDLED`
   * when nothing responds).
   */
  dispatchCommand(box: AmpBox): Deferred<AmpBox> {
    const name = box.getText("_command") ?? "";
    const responder = this.locator.locateResponder(name);
    if (responder === undefined) {
      return fail(
        new RemoteAmpError(
          UNHANDLED,
          `Unhandled Command: ${JSON.stringify(name)}`,
        ),
      );
    }
    try {
      return responder(box);
    } catch (e) {
      return fail(e);
    }
  }

  #take(tagBytes: Uint8Array, what: string): Pending {
    const tag = parseTag(tagBytes);
    const p = this.#pending.get(tag);
    if (p === undefined) {
      throw new MalformedAmpBox(
        `an ${what} for tag ${
          JSON.stringify(text(tagBytes))
        }, which no call is waiting for`,
      );
    }
    this.#pending.delete(tag);
    return p;
  }

  #answerReceived(tagBytes: Uint8Array, box: AmpBox): void {
    const p = this.#take(tagBytes, "answer");
    if (p.command === null) return p.deferred.callback(box);
    let values: unknown;
    try {
      values = p.command.parseResponse(box);
    } catch (e) {
      return p.deferred.errback(e);
    }
    if (p.tls !== undefined) {
      try {
        (this.boxSender as BinaryBoxProtocol)._startTLS(p.tls);
      } catch (e) {
        // The peer has switched to TLS and we cannot: the connection is
        // unusable, so the error fails this call and drops it.
        p.deferred.errback(e);
        throw e;
      }
    }
    p.deferred.callback(values);
  }

  #errorReceived(tagBytes: Uint8Array, box: AmpBox): void {
    const p = this.#take(tagBytes, "error");
    const code = box.getText("_error_code") ?? "";
    const description = box.getText("_error_description") ?? "";
    let error: Error;
    if (code === UNHANDLED) error = new UnhandledCommand(description);
    else if (p.command === null) error = new RemoteAmpError(code, description);
    else {
      const cls = p.command.errorClass(code);
      error = cls === undefined
        ? new UnknownRemoteError(description)
        : new cls(description);
    }
    p.deferred.errback(error);
    if (p.tls !== undefined) {
      // StartTLS was refused. Calls made since were meant to go encrypted:
      // rather than send them in clear, drop the connection (they fail
      // with this error); with none waiting, go on in clear.
      const held = (this.boxSender as BinaryBoxProtocol)._abandonTLS();
      if (held > 0) throw error;
    }
  }

  #commandReceived(name: string, box: AmpBox): void {
    const ask = box.get("_ask") ?? null;
    const entry = (this.locator as Partial<CommandLocator>)._lookup?.(name);
    if (entry !== undefined) return this.#respond(entry, box, ask);
    this.dispatchCommand(box).addCallbacks(
      (answer) => {
        if (ask === null) return;
        answer.set("_answer", ask);
        this.#emit(answer);
      },
      (failure) => this.#answerError(ask, failure.value, undefined),
    );
  }

  /** The fast path: a registered responder, answered without a Deferred. */
  #respond(entry: ResponderEntry, box: AmpBox, ask: Uint8Array | null): void {
    const [command, fn] = entry;
    let result: unknown;
    try {
      result = fn(command.parseArguments(box));
    } catch (e) {
      return this.#answerError(ask, e, command);
    }
    const answer = (values: unknown): void => {
      if (ask === null) return;
      let bytes: Uint8Array;
      const tls = (command as unknown) === StartTLS;
      if (tls && (this.boxSender as BinaryBoxProtocol).tlsStarted) {
        return this.#answerError(ask, new OnlyOneTLS(), undefined);
      }
      try {
        bytes = command._answerBytes(values as Values<Schema>, ask);
      } catch (e) {
        return this.#answerError(
          ask,
          new BadLocalReturn(command.commandName, e),
          undefined,
        );
      }
      this.#emit(bytes);
      if (tls) {
        (this.boxSender as BinaryBoxProtocol)._startTLS(serverTLS(values));
      }
    };
    if (result instanceof Deferred) {
      result.addCallbacks(
        answer,
        (f: Failure) => this.#answerError(ask, f.value, command),
      );
    } else if (
      result !== null && typeof result === "object" &&
      typeof (result as PromiseLike<unknown>).then === "function"
    ) {
      (result as PromiseLike<unknown>).then(
        answer,
        (e) => this.#answerError(ask, e, command),
      );
    } else {
      answer(result);
    }
  }

  /**
   * Answers a failed call as Twisted does: a declared (or RemoteAmpError)
   * error as its code, closing after it if fatal; anything else is logged
   * here and answered `UNKNOWN`, and the connection closes. A call that
   * asked for no answer has its error logged and drops the connection.
   */
  #answerError(
    ask: Uint8Array | null,
    error: unknown,
    // deno-lint-ignore no-explicit-any
    command: Command<any, any, boolean> | undefined,
  ): void {
    const fields: ErrorFields | undefined = command !== undefined
      ? command.errorFields(error)
      : error instanceof RemoteAmpError
      ? [error.errorCode, error.description, error.fatal]
      : undefined;
    if (ask === null) {
      return this.unhandledError(new Failure(error));
    }
    let code: string, description: string, fatal: boolean;
    if (fields === undefined) {
      log.failure(
        "AMP responder failed with an undeclared error",
        new Failure(error),
      );
      [code, description, fatal] = [UNKNOWN, "Unknown Error", true];
    } else {
      [code, description, fatal] = fields;
    }
    if (fatal) {
      this.#emit(
        new QuitBox([["_error", ask], ["_error_code", utf8(code)], [
          "_error_description",
          utf8(description),
        ]]),
      );
    } else {
      this.#emit(writeBox(ERROR_KEYS, [ask, code, description], 3));
    }
  }

  /** Sends, ignoring a connection that is already gone (Twisted's _safeEmit). */
  #emit(box: AmpBox | Uint8Array): void {
    try {
      this.boxSender!.sendBox(box);
    } catch (e) {
      if (!(e instanceof ConnectionLost)) throw e;
    }
  }
}

function notConnected(command: string): AmpError {
  return new AmpError(
    `Cannot call ${command}: the connection is not made yet (call it from connectionMade or later)`,
  );
}

function clientTLS(args: {
  tls_localCertificate?: TLSCertificate;
  tls_verifyAuthorities?: string[];
  tls_hostname?: string;
}): StartTLSOptions {
  return {
    side: "client",
    caCerts: args.tls_verifyAuthorities,
    hostname: args.tls_hostname,
    cert: args.tls_localCertificate?.cert,
    key: args.tls_localCertificate?.key,
  };
}

function serverTLS(values: unknown): StartTLSOptions {
  const v = (values ?? {}) as {
    tls_localCertificate?: TLSCertificate;
    tls_verifyAuthorities?: string[];
  };
  return {
    side: "server",
    cert: v.tls_localCertificate?.cert,
    key: v.tls_localCertificate?.key,
    caCerts: v.tls_verifyAuthorities,
  };
}

/**
 * An AMP connection: send calls with `callRemote`, answer them with
 * responders registered by `responder` (or, as in Twisted, methods named
 * `amp_` plus the upper-cased command name, taking and returning boxes).
 * Build it with a `Factory` for servers and clients alike.
 *
 * @example A calculator, both ends in memory
 * ```ts
 * import assert from "node:assert/strict";
 * import * as amp from "@twisted-deno/core/amp";
 * import { connectedServerAndClient } from "@twisted-deno/core/testing";
 *
 * const Sum = new amp.Command("Sum", {
 *   arguments: { a: new amp.Integer(), b: new amp.Integer() },
 *   response: { total: new amp.Integer() },
 * });
 * class Calc extends amp.AMP {
 *   constructor() {
 *     super();
 *     this.responder(Sum, ({ a, b }) => ({ total: a + b }));
 *   }
 * }
 * const [client, , pump] = connectedServerAndClient(Calc, amp.AMP);
 * let total = 0;
 * client.callRemote(Sum, { a: 13, b: 81 }).addCallback((r) => { total = r.total; });
 * pump.flush();
 * assert.equal(total, 94);
 * ```
 */
export class AMP extends BinaryBoxProtocol implements IResponderLocator {
  #dispatcher: BoxDispatcher;
  #locator = new CommandLocator();

  /**
   * Makes one.
   * @param boxReceiver Takes the received boxes instead of this AMP's own
   *   dispatcher (rarely needed).
   * @param locator Finds responders instead of this AMP.
   */
  constructor(boxReceiver?: IBoxReceiver, locator?: IResponderLocator) {
    const dispatcher = new BoxDispatcher(
      locator ?? { locateResponder: () => undefined },
    );
    super(boxReceiver ?? dispatcher);
    this.#dispatcher = dispatcher;
    if (locator === undefined) dispatcher.locator = this;
  }

  /** The dispatcher that sends this connection's calls. */
  get dispatcher(): BoxDispatcher {
    return this.#dispatcher;
  }

  /** Registers `fn` to answer `command`; see {@linkcode CommandLocator.responder}. */
  responder<A extends Schema, R extends Schema, Q extends boolean>(
    command: Command<A, R, Q>,
    fn: Responder<A, R>,
  ): void {
    this.#locator.responder(command, fn);
  }

  /** @internal The dispatcher's fast path to registered responders. */
  _lookup(name: string): ResponderEntry | undefined {
    return this.#locator._lookup(name);
  }

  /**
   * A registered responder for `name`, else a method `amp_NAME` (the name
   * upper-cased) that takes the call's box and returns the answer box.
   */
  locateResponder(
    name: string,
  ): ((box: AmpBox) => Deferred<AmpBox>) | undefined {
    const found = this.#locator.locateResponder(name);
    if (found !== undefined) return found;
    const method =
      (this as unknown as Record<string, unknown>)[`amp_${name.toUpperCase()}`];
    if (typeof method !== "function") return undefined;
    return (box) => {
      const d = new Deferred<AmpBox>();
      try {
        const result = method.call(this, box);
        if (result instanceof Deferred) result.chainDeferred(d);
        else d.callback(result as AmpBox);
      } catch (e) {
        d.errback(e);
      }
      return d;
    };
  }

  /** Calls `command` on the peer; see {@linkcode BoxDispatcher.callRemote}. */
  callRemote<A extends Schema, R extends Schema, Q extends boolean>(
    command: Command<A, R, Q>,
    args: Values<A>,
  ): CallResult<R, Q> {
    return this.#dispatcher.callRemote(command, args);
  }

  /** Calls by name with raw values; see {@linkcode BoxDispatcher.callRemoteString}. */
  callRemoteString(
    command: string,
    args?: Record<string, Uint8Array | string>,
    requiresAnswer?: boolean,
  ): Deferred<AmpBox> | undefined {
    return this.#dispatcher.callRemoteString(command, args, requiresAnswer);
  }

  /** Sends `box`; a {@linkcode QuitBox} closes the connection after it. */
  override sendBox(box: AmpBox | Uint8Array): void {
    super.sendBox(box);
    if (box instanceof QuitBox) this.transport?.loseConnection();
  }
}
