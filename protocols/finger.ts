/**
 * The finger server of the Twisted talk ("The Evolution of Finger"): a
 * {@linkcode FingerFactory} holds the users, each connection gets a
 * {@linkcode FingerProtocol} that reads one query line, answers it, and
 * hangs up.
 *
 * Queries follow RFC 1288: an optional `/W` ("verbose") token, then a user
 * name, optionally followed by `@host` to ask this server to forward the
 * query. Forwarding is refused, as RFC 1288 recommends, and so is the
 * empty query (the list of logged-in users): both with a message saying
 * so. The lookup, `getUser(name)`, may answer at once (a string) or later
 * (a Deferred or a Promise), which is the talk's point.
 *
 * RFC 1288 ends a query with CRLF, but `nc` and some finger clients send a
 * bare LF: both are accepted. A client that has not sent a whole query
 * within the factory's `timeOut` (60 seconds by default) is disconnected,
 * so idle connections cannot pile up.
 *
 * @module
 */

import { maybeDeferred } from "../deferred/helpers.ts";
import type { Deferred } from "../deferred/deferred.ts";
import type { Failure } from "../deferred/failure.ts";
import { Logger } from "../log/mod.ts";
import { globalClock } from "../reactor/global.ts";
import type { IReactorTime } from "../reactor/interfaces.ts";
import { transportOf } from "./_transport.ts";
import { type ProtocolClass, ServerFactory } from "./protocol.ts";
import { TimedLineReceiver } from "./_timed_lines.ts";

const log = new Logger("protocols.finger");

/** The answer for a user who is not known. */
const NO_SUCH_USER = "No such user";

/** Seconds a client has to send its query, by default. */
const QUERY_TIMEOUT = 60;

/** What a finger lookup may return: the entry now, or later. */
export type FingerEntry = string | Deferred<string> | PromiseLike<string>;

/** A parsed RFC 1288 query line. */
export interface FingerQuery {
  /** Whether the `/W` token was given (a request for more detail). */
  verbose: boolean;
  /** The user name asked for; empty for "everyone". */
  user: string;
  /** The host(s) after the first `@`, when the query asks to forward. */
  host?: string;
}

/**
 * Parses one finger query line (without its CRLF), per RFC 1288:
 * `[/W] [user][@host...]`. The `/W` token is matched case-insensitively, as
 * common clients send `/w`.
 *
 * @param line The query.
 * @returns Its parts.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseFingerQuery } from "@twisted-deno/core/protocols";
 *
 * assert.deepEqual(parseFingerQuery("moshez"), { verbose: false, user: "moshez" });
 * assert.deepEqual(parseFingerQuery("/W moshez"), { verbose: true, user: "moshez" });
 * assert.deepEqual(parseFingerQuery("moshez@example.com"), {
 *   verbose: false,
 *   user: "moshez",
 *   host: "example.com",
 * });
 * assert.deepEqual(parseFingerQuery(""), { verbose: false, user: "" });
 * ```
 */
export function parseFingerQuery(line: string): FingerQuery {
  let rest = line.trim();
  let verbose = false;
  if (/^\/w(\s|$)/i.test(rest)) {
    verbose = true;
    rest = rest.slice(2).trim();
  }
  const at = rest.indexOf("@");
  if (at === -1) return { verbose, user: rest };
  return { verbose, user: rest.slice(0, at), host: rest.slice(at + 1) };
}

/**
 * Answers one finger query: reads a line, writes the entry of the user it
 * names (or "No such user"), and closes the connection. The entry comes
 * from the factory's `getUser`, which may answer at once or later.
 *
 * - A query line may end in CRLF or a bare LF (`"moshez\n"`, as `nc`
 *   sends it).
 * - From `connectionMade`, it gives the client the factory's `timeOut`
 *   seconds (on the factory's `clock`) to send a whole query, then hangs
 *   up (`TimeoutMixin`'s `timeoutConnection`). The countdown stops once
 *   the query has arrived: a slow lookup is not cut off.
 *
 * - `user@host` (forwarding): refused with "Finger forwarding service
 *   denied ...".
 * - An empty query (list everyone): refused with "Finger online list
 *   denied ...".
 * - A query longer than `MAX_LENGTH` bytes: "Query too long ...".
 * - A lookup that throws or fails: the failure is logged, and the client
 *   gets "Internal error in server".
 *
 * Only the first line counts; anything after it is ignored.
 *
 * @example The talk's server, driven without a socket
 * ```ts
 * import assert from "node:assert/strict";
 * import { FingerFactory } from "@twisted-deno/core/protocols";
 * import { Clock, StringTransport } from "@twisted-deno/core/testing";
 *
 * // A Clock times the 60-second query timeout (the reactor by default).
 * const factory = new FingerFactory({ moshez: "Happy and well" }, { clock: new Clock() });
 * const ask = (query: string): string => {
 *   const proto = factory.buildProtocol({ type: "TCP", host: "127.0.0.1", port: 5000 })!;
 *   const transport = new StringTransport();
 *   proto.makeConnection(transport);
 *   proto.dataReceived(new TextEncoder().encode(query));
 *   assert.equal(transport.disconnecting, true);
 *   return new TextDecoder().decode(transport.value());
 * };
 * assert.equal(ask("moshez\r\n"), "Happy and well\r\n");
 * assert.equal(ask("/W moshez\r\n"), "Happy and well\r\n");
 * assert.equal(ask("glyph\r\n"), "No such user\r\n");
 * assert.equal(ask("moshez\n"), "Happy and well\r\n"); // as nc sends it
 * ```
 *
 * @example A silent client is dropped after the factory's timeOut
 * ```ts
 * import assert from "node:assert/strict";
 * import { FingerFactory } from "@twisted-deno/core/protocols";
 * import { Clock, StringTransport } from "@twisted-deno/core/testing";
 *
 * const clock = new Clock();
 * const factory = new FingerFactory({}, { clock, timeOut: 60 });
 * const proto = factory.buildProtocol({ type: "TCP", host: "127.0.0.1", port: 5000 })!;
 * const transport = new StringTransport();
 * proto.makeConnection(transport);
 * clock.advance(59);
 * assert.equal(transport.disconnecting, false);
 * clock.advance(1);
 * assert.equal(transport.disconnecting, true);
 * ```
 */
export class FingerProtocol extends TimedLineReceiver<FingerFactory> {
  /** Lines end in LF; a CR before it is dropped, so CRLF works too. */
  override delimiter = "\n";
  /** The longest query line accepted, in bytes: all before the LF, a CR included. */
  override MAX_LENGTH = 1024;

  #answered = false;

  /**
   * Starts the countdown for the query: the factory's `timeOut` on its
   * `clock` (60 seconds on the global reactor without a factory).
   */
  override connectionMade(): void {
    // Undefined at run time when no factory built this protocol.
    const factory: FingerFactory | undefined = this.factory;
    if (factory !== undefined) this.clock = factory.clock;
    this.setTimeout(factory === undefined ? QUERY_TIMEOUT : factory.timeOut);
  }

  /** Answers the first query line; ignores any other. */
  override lineReceived(line: string): void {
    if (this.#answered) return;
    this.#answered = true;
    this.setTimeout(null);
    const query = parseFingerQuery(
      line.endsWith("\r") ? line.slice(0, -1) : line,
    );
    if (query.host !== undefined) {
      this.#respond(
        "Finger forwarding service denied: this server only answers for its own users",
      );
      return;
    }
    if (query.user === "") {
      this.#respond(
        "Finger online list denied: this server does not list its users; ask for one by name",
      );
      return;
    }
    const user = query.user;
    maybeDeferred(() => this.getUser(user)).addCallbacks(
      (entry) => this.#respond(String(entry)),
      (failure: Failure) => {
        log.failure("Finger lookup of {user} failed", failure, "error", {
          user,
        });
        this.#respond("Internal error in server");
      },
    );
  }

  /**
   * Looks `user` up: the factory's `getUser` when it has one, else "No
   * such user". Override to look elsewhere.
   */
  getUser(user: string): FingerEntry {
    // Undefined at run time when no factory built this protocol.
    const factory: FingerFactory | undefined = this.factory;
    return typeof factory?.getUser === "function"
      ? factory.getUser(user)
      : NO_SUCH_USER;
  }

  /** Answers an overlong query with a message, then closes. */
  override lineLengthExceeded(_rest: Uint8Array): void {
    if (this.#answered) return;
    this.#answered = true;
    this.setTimeout(null);
    this.#respond(`Query too long: at most ${this.MAX_LENGTH} bytes`);
  }

  #respond(message: string): void {
    const transport = transportOf(this);
    if (transport === undefined || transport.disconnecting) return;
    transport.write(`${message}\r\n`); // CRLF, whatever the query ended with
    transport.loseConnection();
  }
}

/** Options of {@linkcode FingerFactory}. */
export interface FingerFactoryOptions {
  /**
   * Seconds a client has to send a whole query before it is disconnected
   * (60 by default); null for no limit.
   */
  timeOut?: number | null;
  /** The clock that times it (the global reactor by default; tests pass a `Clock`). */
  clock?: IReactorTime;
}

/**
 * Serves {@linkcode FingerProtocol} from a table of users, as in the talk:
 * `new FingerFactory({ moshez: "Happy and well" })`. Override `getUser`
 * to look users up elsewhere; it may return a string, a Deferred or a
 * Promise.
 *
 * @example A lookup that answers later
 * ```ts
 * import assert from "node:assert/strict";
 * import { Deferred } from "@twisted-deno/core/deferred";
 * import { FingerFactory, type FingerEntry } from "@twisted-deno/core/protocols";
 * import { Clock, StringTransport } from "@twisted-deno/core/testing";
 *
 * const pending = new Deferred<string>();
 * class Slow extends FingerFactory {
 *   override getUser(_user: string): FingerEntry {
 *     return pending;
 *   }
 * }
 * const proto = new Slow({}, { clock: new Clock() }).buildProtocol({ type: "TCP", host: "127.0.0.1", port: 5000 })!;
 * const transport = new StringTransport();
 * proto.makeConnection(transport);
 * proto.dataReceived(new TextEncoder().encode("moshez\r\n"));
 * assert.equal(transport.value().length, 0);
 * pending.callback("Happy and well");
 * assert.equal(new TextDecoder().decode(transport.value()), "Happy and well\r\n");
 * ```
 */
export class FingerFactory extends ServerFactory {
  /** Builds {@linkcode FingerProtocol}. */
  override protocol: ProtocolClass = FingerProtocol;
  /** The users and their entries. */
  readonly users: Map<string, string>;
  /** Seconds a client has to send its query; null for no limit. */
  timeOut: number | null;
  /** The clock that times `timeOut`. */
  clock: IReactorTime;

  /**
   * Makes a factory serving `users`.
   *
   * @param users Entries by user name (a plain object or a Map).
   * @param options The query timeout and its clock.
   */
  constructor(
    users: Record<string, string> | Map<string, string> = {},
    options: FingerFactoryOptions = {},
  ) {
    super();
    this.users = users instanceof Map
      ? new Map(users)
      : new Map(Object.entries(users));
    this.timeOut = options.timeOut === undefined
      ? QUERY_TIMEOUT
      : options.timeOut;
    this.clock = options.clock ?? globalClock;
  }

  /** The user's entry, or "No such user". */
  getUser(user: string): FingerEntry {
    return this.users.get(user) ?? NO_SUCH_USER;
  }
}
