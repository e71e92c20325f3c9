/**
 * A memcached client, as Twisted's `twisted.protocols.memcache`:
 * {@linkcode MemCacheProtocol} speaks memcached's text protocol over one
 * connection, one Deferred per request, answered in order.
 *
 * Requests are pipelined: each is written at once and the replies are
 * matched to them first in, first out. Keys are checked before anything is
 * sent (a bad key fails that request with {@linkcode ClientError} and
 * writes nothing), so one bad call cannot desynchronise the stream. A reply
 * that fits no request (a protocol error) fails every pending request with
 * {@linkcode ServerError} and drops the connection, as the stream can no
 * longer be trusted.
 *
 * Value blocks are read in `LineReceiver` raw mode straight into one array
 * of the announced size, so a 500 kB value costs one allocation, whatever
 * the chunking.
 *
 * @module
 */

import { Deferred } from "../deferred/deferred.ts";
import { fail } from "../deferred/helpers.ts";
import { TimeoutError } from "../deferred/errors.ts";
import type { Failure } from "../deferred/failure.ts";
import { Logger } from "../log/mod.ts";
import type { IDelayedCall, IReactorTime } from "../reactor/interfaces.ts";
import { globalClock } from "../reactor/global.ts";
import { LineReceiver } from "./basic.ts";
import {
  checkCas,
  checkKey,
  checkStatsArgument,
  checkUnsigned,
  ClientError,
  type GetResult,
  type GetsResult,
  NoSuchCommand,
  ServerError,
} from "./_memcache_parse.ts";

export {
  ClientError,
  type GetResult,
  type GetsResult,
  NoSuchCommand,
  ServerError,
} from "./_memcache_parse.ts";

const log = new Logger("protocols.memcache");
const encoder = new TextEncoder();
const CRLF = encoder.encode("\r\n");

/**
 * memcached's standard port.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { DEFAULT_PORT } from "@twisted-deno/core/protocols";
 *
 * assert.equal(DEFAULT_PORT, 11211);
 * ```
 */
export const DEFAULT_PORT = 11211;

/** The storage commands: each writes a header line and a data block. */
type StoreCommand = "set" | "add" | "replace" | "append" | "prepend" | "cas";

/** One request waiting for its reply. */
interface Pending {
  /** The command word sent. */
  readonly command: string;
  // deno-lint-ignore no-explicit-any
  readonly deferred: Deferred<any>;
  /** get/gets: whether the caller asked for several keys. */
  readonly multiple?: boolean;
  /** get/gets: each key asked for, with what arrived for it so far. */
  readonly values?: Map<string, GetsResult>;
  /** stats: the STAT lines so far. */
  readonly stats?: Map<string, string>;
}

/** The value block being read in raw mode. */
interface ValueBlock {
  key: string;
  flags: number;
  cas: string;
  data: Uint8Array;
  /** Bytes of `data` filled so far. */
  got: number;
  /** Bytes of the trailing CRLF seen so far (0 to 2). */
  trailer: number;
}

/**
 * Options of the {@linkcode MemCacheProtocol} constructor.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { type MemCacheOptions, MemCacheProtocol } from "@twisted-deno/core/protocols";
 * import { Clock } from "@twisted-deno/core/testing";
 *
 * const options: MemCacheOptions = { clock: new Clock() };
 * assert.equal(new MemCacheProtocol(30, options).persistentTimeOut, 30);
 * ```
 */
export interface MemCacheOptions {
  /**
   * Times the requests. Required while a timeout is set: a default
   * global reactor is not wired into protocols yet.
   */
  clock?: IReactorTime;
}

/**
 * A memcached client connection (Twisted's `MemCacheProtocol`).
 *
 * Every method returns a Deferred and may be called as soon as the
 * connection is made, without waiting for earlier replies:
 *
 * - `get(key)` → `[flags, value]` (`[0, null]` when absent);
 *   `get(key, true)` uses `gets` and adds the CAS identifier:
 *   `[flags, cas, value]`. `getMultiple(keys)` → a `Map` from each key to
 *   the same tuples.
 * - `set`, `add`, `replace`, `append`, `prepend`, `checkAndSet` → `true`
 *   when stored, `false` when the command's condition failed.
 * - `increment`/`decrement` → the new value, or `false` when the key does
 *   not exist (as Twisted). `delete` → whether the key existed.
 * - `stats(arg?)` → a `Map` of the STAT lines; `version()` → the server's
 *   version; `flushAll()` → `true`.
 *
 * Failures: a bad key (empty, over `MAX_KEY_LENGTH` UTF-8 bytes, or
 * holding a space or control character), flags, CAS or number fails the
 * request with {@linkcode ClientError} before anything is written; the
 * server's `CLIENT_ERROR` and `SERVER_ERROR` fail it with
 * {@linkcode ClientError} and {@linkcode ServerError}, `ERROR` with
 * {@linkcode NoSuchCommand}. A call on a closed connection fails with
 * `ClientError`. When the connection is lost, every pending request fails
 * with the `connectionLost` reason (`ConnectionDone`, `ConnectionLost`).
 *
 * Timeout: while requests are pending, the server must send something at
 * least every `persistentTimeOut` seconds (`timeOut`, 60 by default, as
 * Twisted). Otherwise every pending request fails with `TimeoutError` and
 * the connection is dropped. `null` turns the timeout off.
 *
 * @example Set then get, against a scripted server
 * ```ts
 * import assert from "node:assert/strict";
 * import { MemCacheProtocol } from "@twisted-deno/core/protocols";
 * import { Clock, StringTransport, successResultOf } from "@twisted-deno/core/testing";
 *
 * const proto = new MemCacheProtocol(60, { clock: new Clock() });
 * const transport = new StringTransport();
 * proto.makeConnection(transport);
 * const stored = proto.set("greeting", "hello", 5);
 * const got = proto.get("greeting");
 * assert.equal(
 *   new TextDecoder().decode(transport.value()),
 *   "set greeting 5 0 5\r\nhello\r\nget greeting\r\n",
 * );
 * proto.dataReceived(new TextEncoder().encode("STORED\r\nVALUE greeting 5 5\r\nhello\r\nEND\r\n"));
 * assert.equal(successResultOf(stored), true);
 * const [flags, value] = successResultOf(got);
 * assert.equal(flags, 5);
 * assert.equal(new TextDecoder().decode(value!), "hello");
 * ```
 *
 * @example A server that stops answering
 * ```ts
 * import assert from "node:assert/strict";
 * import { TimeoutError } from "@twisted-deno/core/deferred";
 * import { MemCacheProtocol } from "@twisted-deno/core/protocols";
 * import { Clock, failureResultOf, StringTransport } from "@twisted-deno/core/testing";
 *
 * const clock = new Clock();
 * const proto = new MemCacheProtocol(10, { clock });
 * const transport = new StringTransport();
 * proto.makeConnection(transport);
 * const d = proto.version();
 * clock.advance(10);
 * failureResultOf(d, TimeoutError);
 * assert.equal(transport.disconnecting, true);
 * ```
 */
export class MemCacheProtocol extends LineReceiver {
  /** The longest key accepted, in UTF-8 bytes (memcached's limit). */
  MAX_KEY_LENGTH = 250;
  /** The timeout given to the constructor, in seconds (null: none). */
  timeOut: number | null;
  /** Seconds the server may stay silent while requests are pending. */
  persistentTimeOut: number | null;
  /** The clock timing requests. */
  readonly clock: IReactorTime;

  #queue: (Pending | undefined)[] = [];
  #head = 0;
  #block: ValueBlock | undefined;
  #timeoutCall: IDelayedCall | undefined;
  #disconnected = false;

  /**
   * Makes the protocol; connect it with `ClientCreator` or a factory.
   *
   * @param timeOut Seconds of server silence allowed while requests are
   *   pending (60); null for no timeout.
   * @param options The clock (the global reactor by default).
   * @throws {RangeError} When `timeOut` is not a positive number or null.
   */
  constructor(timeOut: number | null = 60, options: MemCacheOptions = {}) {
    super();
    if (timeOut !== null && !(timeOut > 0 && Number.isFinite(timeOut))) {
      throw new RangeError(
        `Cannot make MemCacheProtocol with timeOut ${timeOut}: give a positive number of seconds, or null for none`,
      );
    }
    this.timeOut = this.persistentTimeOut = timeOut;
    this.clock = options.clock ?? globalClock;
  }

  /** How many requests wait for a reply. */
  get pendingRequests(): number {
    return this.#queue.length - this.#head;
  }

  // ------------------------------------------------------------ requests

  /**
   * Gets one key: `[flags, value]`, or with `withIdentifier` (`gets`)
   * `[flags, cas, value]`; the value is null (and flags 0) when absent.
   */
  get(key: string, withIdentifier?: false): Deferred<GetResult>;
  /** Gets one key with its CAS identifier (`gets`). */
  get(key: string, withIdentifier: true): Deferred<GetsResult>;
  /** Gets one key, with its CAS identifier when `withIdentifier`. */
  get(
    key: string,
    withIdentifier?: boolean,
  ): Deferred<GetResult | GetsResult>;
  get(
    key: string,
    withIdentifier = false,
  ): Deferred<GetResult | GetsResult> {
    return this.#get([key], withIdentifier, false).addCallback((values) =>
      values.get(key)!
    );
  }

  /**
   * Gets several keys in one request: a `Map` from every key asked for to
   * `[flags, value]` (or `[flags, cas, value]` with `withIdentifier`).
   */
  getMultiple(
    keys: Iterable<string>,
    withIdentifier?: false,
  ): Deferred<Map<string, GetResult>>;
  /** Gets several keys with their CAS identifiers (`gets`). */
  getMultiple(
    keys: Iterable<string>,
    withIdentifier: true,
  ): Deferred<Map<string, GetsResult>>;
  /** Gets several keys, with CAS identifiers when `withIdentifier`. */
  getMultiple(
    keys: Iterable<string>,
    withIdentifier?: boolean,
  ): Deferred<Map<string, GetResult | GetsResult>>;
  getMultiple(
    keys: Iterable<string>,
    withIdentifier = false,
  ): Deferred<Map<string, GetResult | GetsResult>> {
    return this.#get([...keys], withIdentifier, true);
  }

  #get(
    keys: string[],
    withIdentifier: boolean,
    multiple: boolean,
  ): Deferred<Map<string, GetResult | GetsResult>> {
    const command = withIdentifier ? "gets" : "get";
    if (keys.length === 0) {
      return fail(new ClientError(`Cannot ${command}: no key given`));
    }
    const values = new Map<string, GetsResult>();
    for (const key of keys) {
      const problem = checkKey(command, key, this.MAX_KEY_LENGTH);
      if (problem !== undefined) return fail(problem);
      values.set(key, [0, "", null]);
    }
    return this.#send(
      { command, deferred: new Deferred(), multiple, values },
      [`${command} ${keys.join(" ")}\r\n`],
    );
  }

  /** Stores `value` under `key`: `true` once stored. */
  set(
    key: string,
    value: Uint8Array | string,
    flags = 0,
    expireTime = 0,
  ): Deferred<boolean> {
    return this.#store("set", key, value, flags, expireTime);
  }

  /** Stores `value` only if `key` is absent: `false` when it exists. */
  add(
    key: string,
    value: Uint8Array | string,
    flags = 0,
    expireTime = 0,
  ): Deferred<boolean> {
    return this.#store("add", key, value, flags, expireTime);
  }

  /** Stores `value` only if `key` exists: `false` when it is absent. */
  replace(
    key: string,
    value: Uint8Array | string,
    flags = 0,
    expireTime = 0,
  ): Deferred<boolean> {
    return this.#store("replace", key, value, flags, expireTime);
  }

  /** Appends `value` to an existing key's value: `false` when absent. */
  append(key: string, value: Uint8Array | string): Deferred<boolean> {
    return this.#store("append", key, value, 0, 0);
  }

  /** Prepends `value` to an existing key's value: `false` when absent. */
  prepend(key: string, value: Uint8Array | string): Deferred<boolean> {
    return this.#store("prepend", key, value, 0, 0);
  }

  /**
   * Stores `value` only if `key` still has the CAS identifier `cas` (from
   * `get(key, true)`): `false` when it changed or is absent.
   */
  checkAndSet(
    key: string,
    value: Uint8Array | string,
    cas: string,
    flags = 0,
    expireTime = 0,
  ): Deferred<boolean> {
    return this.#store("cas", key, value, flags, expireTime, cas);
  }

  #store(
    command: StoreCommand,
    key: string,
    value: Uint8Array | string,
    flags: number,
    expireTime: number,
    cas?: string,
  ): Deferred<boolean> {
    const problem = checkKey(command, key, this.MAX_KEY_LENGTH) ??
      checkUnsigned(command, "flags", flags, 0xffff_ffff) ??
      (Number.isSafeInteger(expireTime) ? undefined : new ClientError(
        `Cannot ${command} key ${
          JSON.stringify(key)
        }: expireTime ${expireTime} is not an integer`,
      )) ??
      (cas === undefined ? undefined : checkCas(key, cas));
    if (problem !== undefined) return fail(problem);
    if (typeof value !== "string" && !(value instanceof Uint8Array)) {
      return fail(
        new ClientError(
          `Cannot ${command} key ${
            JSON.stringify(key)
          }: the value must be a Uint8Array or a string, got ${typeof value}`,
        ),
      );
    }
    const data = typeof value === "string" ? encoder.encode(value) : value;
    const suffix = cas === undefined ? "" : ` ${cas}`;
    const header =
      `${command} ${key} ${flags} ${expireTime} ${data.length}${suffix}\r\n`;
    return this.#send({ command, deferred: new Deferred() }, [
      header,
      data,
      CRLF,
    ]);
  }

  /**
   * Adds `by` (1) to the counter at `key`: the new value, or `false` when
   * the key is absent.
   */
  increment(key: string, by = 1): Deferred<number | false> {
    return this.#incrdecr("incr", key, by);
  }

  /**
   * Subtracts `by` (1) from the counter at `key` (memcached stops at 0):
   * the new value, or `false` when the key is absent.
   */
  decrement(key: string, by = 1): Deferred<number | false> {
    return this.#incrdecr("decr", key, by);
  }

  #incrdecr(
    command: "incr" | "decr",
    key: string,
    by: number,
  ): Deferred<number | false> {
    const problem = checkKey(command, key, this.MAX_KEY_LENGTH) ??
      checkUnsigned(command, "by", by, Number.MAX_SAFE_INTEGER);
    if (problem !== undefined) return fail(problem);
    return this.#send({ command, deferred: new Deferred() }, [
      `${command} ${key} ${by}\r\n`,
    ]);
  }

  /** Deletes `key`: whether it existed. */
  delete(key: string): Deferred<boolean> {
    const problem = checkKey("delete", key, this.MAX_KEY_LENGTH);
    if (problem !== undefined) return fail(problem);
    return this.#send({ command: "delete", deferred: new Deferred() }, [
      `delete ${key}\r\n`,
    ]);
  }

  /**
   * The server's statistics (`stats`, or `stats <arg>` such as `"slabs"`)
   * as a `Map` from name to value.
   */
  stats(arg?: string): Deferred<Map<string, string>> {
    if (arg !== undefined && arg !== "") {
      const problem = checkStatsArgument(arg);
      if (problem !== undefined) return fail(problem);
    }
    const line = arg ? `stats ${arg}\r\n` : "stats\r\n";
    return this.#send(
      { command: "stats", deferred: new Deferred(), stats: new Map() },
      [line],
    );
  }

  /** The server's version string. */
  version(): Deferred<string> {
    return this.#send({ command: "version", deferred: new Deferred() }, [
      "version\r\n",
    ]);
  }

  /** Invalidates every item on the server: `true` once done. */
  flushAll(): Deferred<boolean> {
    return this.#send({ command: "flush_all", deferred: new Deferred() }, [
      "flush_all\r\n",
    ]);
  }

  // deno-lint-ignore no-explicit-any
  #send(pending: Pending, chunks: (string | Uint8Array)[]): Deferred<any> {
    const transport = this.transport;
    if (
      transport === undefined || this.#disconnected || transport.disconnecting
    ) {
      return fail(
        new ClientError(
          `Cannot send ${pending.command}: the connection is ${
            transport === undefined ? "not made yet" : "closed"
          }`,
        ),
      );
    }
    if (this.pendingRequests === 0) this.#startTimeout();
    this.#queue.push(pending);
    transport.writeSequence(chunks);
    return pending.deferred;
  }

  // ------------------------------------------------------------- replies

  /** Matches one reply line to the oldest pending request. */
  override lineReceived(line: string): void {
    this.#resetTimeout();
    const pending = this.#queue[this.#head];
    if (pending === undefined) {
      return this.#protocolError(`reply ${quote(line)} with no request`);
    }
    const space = line.indexOf(" ");
    const word = space === -1 ? line : line.slice(0, space);
    const rest = space === -1 ? "" : line.slice(space + 1);
    const command = pending.command;
    const retrieval = command === "get" || command === "gets";
    const storage = STORE_COMMANDS.has(command);
    switch (word) {
      case "VALUE":
        if (!retrieval) break;
        return this.#startValue(pending, rest, line);
      case "END":
        if (retrieval) return this.#finish(getResults(pending));
        if (command === "stats") return this.#finish(pending.stats);
        break;
      case "STAT":
        if (command !== "stats" || space === -1) break;
        {
          const sp = rest.indexOf(" ");
          if (sp === -1) pending.stats!.set(rest, "");
          else pending.stats!.set(rest.slice(0, sp), rest.slice(sp + 1));
        }
        return;
      case "STORED":
        if (storage) return this.#finish(true);
        break;
      case "NOT_STORED":
      case "EXISTS":
        if (storage) return this.#finish(false);
        break;
      case "NOT_FOUND":
        if (command === "cas" || command === "delete") {
          return this.#finish(false);
        }
        if (command === "incr" || command === "decr") {
          return this.#finish(false);
        }
        break;
      case "DELETED":
        if (command === "delete") return this.#finish(true);
        break;
      case "OK":
        if (command === "flush_all") return this.#finish(true);
        break;
      case "VERSION":
        if (command === "version") return this.#finish(rest);
        break;
      case "ERROR":
        return this.#fail(new NoSuchCommand(command));
      case "CLIENT_ERROR":
        return this.#fail(
          new ClientError(`Memcache server refused ${command}: ${rest}`),
        );
      case "SERVER_ERROR":
        return this.#fail(
          new ServerError(`Memcache server failed ${command}: ${rest}`),
        );
      default:
        if ((command === "incr" || command === "decr") && isDigits(line)) {
          return this.#finish(Number(line.trim()));
        }
    }
    this.#protocolError(`reply ${quote(line)} to ${command}`);
  }

  #startValue(pending: Pending, header: string, line: string): void {
    const parts = header.split(" ");
    const withCas = pending.command === "gets";
    const [key, flagsText, lengthText, cas = ""] = parts;
    if (
      parts.length !== (withCas ? 4 : 3) || !isDigits(flagsText) ||
      !isDigits(lengthText) || (withCas && !isDigits(cas)) ||
      !pending.values!.has(key)
    ) {
      return this.#protocolError(`reply ${quote(line)} to ${pending.command}`);
    }
    this.#block = {
      key,
      flags: Number(flagsText),
      cas,
      data: new Uint8Array(Number(lengthText)),
      got: 0,
      trailer: 0,
    };
    this.setRawMode();
  }

  /** Fills the value block being read; back to lines after its CRLF. */
  override rawDataReceived(data: Uint8Array): void {
    this.#resetTimeout();
    const block = this.#block;
    if (block === undefined) return; // dropped by a protocol error
    let used = Math.min(block.data.length - block.got, data.length);
    block.data.set(data.subarray(0, used), block.got);
    block.got += used;
    while (block.got === block.data.length && block.trailer < 2) {
      if (used === data.length) return; // the CRLF is still to come
      if (data[used] !== CRLF[block.trailer]) {
        return this.#protocolError(
          `value of ${quote(block.key)} not followed by CRLF`,
        );
      }
      block.trailer++;
      used++;
    }
    if (block.trailer < 2) return;
    this.#block = undefined;
    const pending = this.#queue[this.#head]!;
    pending.values!.set(block.key, [block.flags, block.cas, block.data]);
    this.setLineMode(data.subarray(used));
  }

  /** A reply line too long for any reply: the stream is broken. */
  override lineLengthExceeded(_rest: Uint8Array): void {
    this.#protocolError(`a reply line over ${this.MAX_LENGTH} bytes`);
  }

  // deno-lint-ignore no-explicit-any
  #finish(result: any): void {
    const pending = this.#shift();
    if (this.pendingRequests === 0) this.#stopTimeout();
    pending.deferred.callback(result);
  }

  #fail(error: Error): void {
    const pending = this.#shift();
    if (this.pendingRequests === 0) this.#stopTimeout();
    pending.deferred.errback(error);
  }

  #shift(): Pending {
    const pending = this.#queue[this.#head]!;
    this.#queue[this.#head++] = undefined;
    if (this.#head === this.#queue.length) {
      this.#queue.length = 0;
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#queue.length) {
      // Over half the array is answered slots: dropping them costs fewer
      // moves than were replies since, so each reply stays O(1) amortised.
      this.#queue.splice(0, this.#head);
      this.#head = 0;
    }
    return pending;
  }

  /** Fails every pending request with `reason`, oldest first. */
  #failAll(reason: Failure | Error): void {
    this.#stopTimeout();
    this.#block = undefined;
    while (this.pendingRequests > 0) this.#shift().deferred.errback(reason);
  }

  #protocolError(what: string): void {
    const error = new ServerError(`Cannot parse memcache reply: ${what}`);
    log.error("{error}; dropping the connection", { error: error.message });
    this.#failAll(error);
    this.transport?.abortConnection();
  }

  // ------------------------------------------------------------- timeout

  #startTimeout(): void {
    const period = this.persistentTimeOut;
    if (period === null) return;
    this.#timeoutCall = this.clock.callLater(
      period,
      () => this.timeoutConnection(),
    );
  }

  #resetTimeout(): void {
    const call = this.#timeoutCall;
    if (call?.active() && this.persistentTimeOut !== null) {
      call.reset(this.persistentTimeOut);
    }
  }

  #stopTimeout(): void {
    const call = this.#timeoutCall;
    this.#timeoutCall = undefined;
    if (call?.active()) call.cancel();
  }

  /**
   * The server was silent too long: fails every pending request with
   * `TimeoutError` and drops the connection.
   */
  timeoutConnection(): void {
    this.#timeoutCall = undefined;
    this.#failAll(new TimeoutError(this.persistentTimeOut ?? undefined));
    this.transport?.abortConnection();
  }

  /** Fails every pending request with `reason`. */
  override connectionLost(reason: Failure): void {
    this.#disconnected = true;
    this.#failAll(reason);
  }
}

const STORE_COMMANDS: ReadonlySet<string> = new Set([
  "set",
  "add",
  "replace",
  "append",
  "prepend",
  "cas",
]);

function isDigits(text: string): boolean {
  return /^\d+$/.test(text.trim());
}

function quote(text: string): string {
  return JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}...` : text);
}

function getResults(
  pending: Pending,
): Map<string, GetResult | GetsResult> {
  const values = pending.values!;
  if (pending.command === "gets") return values;
  const out = new Map<string, GetResult>();
  for (const [key, [flags, , value]] of values) out.set(key, [flags, value]);
  return out;
}
