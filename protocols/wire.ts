/**
 * The small standard TCP services that inetd used to run: Echo (RFC 862),
 * Discard (RFC 863), Chargen (RFC 864), QOTD (RFC 865), Who (RFC 866, the
 * "Active Users" service), Daytime (RFC 867) and Time (RFC 868). Each is a
 * few lines on top of {@linkcode Protocol}, and together they show the
 * shapes a protocol takes: react to data, speak first and hang up, or
 * produce a stream under flow control (Chargen, a pull producer).
 *
 * The services that tell the time read it from a `clock` (an
 * `IReactorTime`, the global reactor by default), so tests pass a `Clock`.
 *
 * @module
 */

import type { Failure } from "../deferred/failure.ts";
import type {
  IBufferedProtocol,
  IProtocolFactory,
  IPullProducer,
  IReactorTime,
} from "../reactor/interfaces.ts";
import { globalClock } from "../reactor/global.ts";
import { transportOf } from "./_transport.ts";
import { type Factory, Protocol } from "./protocol.ts";

/**
 * Writes back whatever it receives (RFC 862). On a stream transport it
 * lends its own buffer ({@linkcode IBufferedProtocol}): bytes are read
 * into it and written back from it, with no copy and no array per read;
 * other transports call `dataReceived`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Echo } from "@twisted-deno/core/protocols";
 * import { StringTransport } from "@twisted-deno/core/testing";
 *
 * const transport = new StringTransport();
 * const proto = new Echo();
 * proto.makeConnection(transport);
 * proto.dataReceived(new TextEncoder().encode("hello"));
 * proto.dataReceived(new TextEncoder().encode("world"));
 * assert.equal(new TextDecoder().decode(transport.value()), "helloworld");
 * ```
 */
export class Echo<F extends IProtocolFactory = Factory> extends Protocol<F>
  implements IBufferedProtocol {
  #buf = new Uint8Array(0);

  /** Writes `data` back. */
  override dataReceived(data: Uint8Array): void {
    this.transport.write(data);
  }

  /** Lends one buffer of the hinted size: stream reads land in it. */
  getBuffer(sizeHint: number): Uint8Array {
    if (this.#buf.length !== sizeHint) this.#buf = new Uint8Array(sizeHint);
    return this.#buf;
  }

  /**
   * Writes back the `n` bytes just read into the lent buffer. A subclass
   * that overrides `dataReceived` but not this still gets every chunk
   * there, as a copy of its own, so it keeps the "bytes are yours" contract;
   * one that overrides both handles lent buffers itself.
   */
  bufferUpdated(n: number): void {
    if (
      this.dataReceived === echoDataReceived ||
      this.bufferUpdated !== echoBufferUpdated
    ) {
      this.transport.write(this.#buf.subarray(0, n));
    } else {
      this.dataReceived(this.#buf.slice(0, n));
    }
  }
}

const echoDataReceived = Echo.prototype.dataReceived;
const echoBufferUpdated = Echo.prototype.bufferUpdated;

/**
 * Reads and ignores everything (RFC 863).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Discard } from "@twisted-deno/core/protocols";
 * import { StringTransport } from "@twisted-deno/core/testing";
 *
 * const transport = new StringTransport();
 * const proto = new Discard();
 * proto.makeConnection(transport);
 * proto.dataReceived(new TextEncoder().encode("into the void"));
 * assert.equal(transport.value().length, 0);
 * ```
 */
export class Discard<F extends IProtocolFactory = Factory> extends Protocol<F> {
  /** Ignores `data`. */
  override dataReceived(_data: Uint8Array): void {}
}

/** One period of RFC 864's pattern: 95 lines of 72 characters, each CRLF-ended. */
const CHARGEN_PERIOD: Uint8Array = (() => {
  const printable: number[] = [];
  for (let c = 0x20; c < 0x7f; c++) printable.push(c);
  const out = new Uint8Array(printable.length * 74);
  let at = 0;
  for (let line = 0; line < printable.length; line++) {
    for (let i = 0; i < 72; i++) {
      out[at++] = printable[(line + i) % printable.length];
    }
    out[at++] = 13;
    out[at++] = 10;
  }
  return out;
})();

/** `periods` copies of {@linkcode CHARGEN_PERIOD} in one array, cached for the last count asked. */
let burstCache: Uint8Array = CHARGEN_PERIOD;
function burstOf(periods: number): Uint8Array {
  if (burstCache.length !== periods * CHARGEN_PERIOD.length) {
    const out = new Uint8Array(periods * CHARGEN_PERIOD.length);
    for (let i = 0; i < periods; i++) {
      out.set(CHARGEN_PERIOD, i * CHARGEN_PERIOD.length);
    }
    burstCache = out;
  }
  return burstCache;
}

/**
 * Sends RFC 864's character pattern (rotating lines of 72 printable ASCII
 * characters) until the peer hangs up, and discards what it receives.
 *
 * As Twisted's, it is a pull producer: `connectionMade` registers it with
 * `registerProducer(this, false)`, and the transport calls
 * `resumeProducing()` each time it wants more (a stream transport: at
 * once, then whenever its write queue has drained), so it never writes
 * faster than the peer reads and needs no timer. Each call writes `BURST`
 * bytes, rounded up to whole 95-line periods of the pattern, so the lines
 * run on unbroken from one call to the next.
 *
 * @example Driven by hand, as the transport would
 * ```ts
 * import assert from "node:assert/strict";
 * import { Chargen } from "@twisted-deno/core/protocols";
 * import { StringTransport } from "@twisted-deno/core/testing";
 *
 * const transport = new StringTransport();
 * const proto = new Chargen();
 * proto.makeConnection(transport);
 * assert.equal(transport.producer, proto);
 * assert.equal(transport.streaming, false); // a pull producer
 * assert.equal(transport.value().length, 0); // StringTransport never pulls
 * proto.resumeProducing();
 * const first = new TextDecoder().decode(transport.value().subarray(0, 74));
 * assert.equal(first, " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefg\r\n");
 * const sent = transport.value().length;
 * assert.ok(sent >= proto.BURST);
 * proto.stopProducing();
 * proto.resumeProducing();
 * assert.equal(transport.value().length, sent);
 * ```
 */
export class Chargen<F extends IProtocolFactory = Factory> extends Protocol<F>
  implements IPullProducer {
  /** The least bytes written per `resumeProducing()` (whole periods of the pattern). */
  BURST = 65536;

  #stopped = false;

  /** Registers as a pull producer: the transport asks for the data. */
  override connectionMade(): void {
    this.transport.registerProducer(this, false);
  }

  /** Ignores what the peer sends. */
  override dataReceived(_data: Uint8Array): void {}

  /** Stops writing for good. */
  override connectionLost(_reason: Failure): void {
    this.stopProducing();
  }

  /** Writes the next `BURST` bytes of the pattern (nothing once stopped or closing). */
  resumeProducing(): void {
    const transport = transportOf(this);
    if (this.#stopped || transport === undefined || transport.disconnecting) {
      return;
    }
    const periods = Math.max(
      1,
      Math.ceil(this.BURST / CHARGEN_PERIOD.length),
    );
    transport.write(burstOf(periods));
  }

  /** Stops writing for good. */
  stopProducing(): void {
    this.#stopped = true;
  }
}

/**
 * Sends a quote and hangs up (RFC 865). Override `getQuote()`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { QOTD } from "@twisted-deno/core/protocols";
 * import { StringTransport } from "@twisted-deno/core/testing";
 *
 * const transport = new StringTransport();
 * new QOTD().makeConnection(transport);
 * assert.equal(new TextDecoder().decode(transport.value()), "An apple a day keeps the doctor away.\r\n");
 * assert.equal(transport.disconnecting, true);
 * ```
 */
export class QOTD<F extends IProtocolFactory = Factory> extends Protocol<F> {
  /** Writes the quote and closes. */
  override connectionMade(): void {
    this.transport.write(this.getQuote());
    this.transport.loseConnection();
  }

  /** The quote, with its line ending. Override to say something else. */
  getQuote(): string {
    return "An apple a day keeps the doctor away.\r\n";
  }
}

/**
 * Sends the list of active users and hangs up (RFC 866). Override
 * `getUsers()`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Who } from "@twisted-deno/core/protocols";
 * import { StringTransport } from "@twisted-deno/core/testing";
 *
 * class Team extends Who {
 *   override getUsers(): string {
 *     return "moshez\r\nglyph\r\n";
 *   }
 * }
 * const transport = new StringTransport();
 * new Team().makeConnection(transport);
 * assert.equal(new TextDecoder().decode(transport.value()), "moshez\r\nglyph\r\n");
 * assert.equal(transport.disconnecting, true);
 * ```
 */
export class Who<F extends IProtocolFactory = Factory> extends Protocol<F> {
  /** Writes the users and closes. */
  override connectionMade(): void {
    this.transport.write(this.getUsers());
    this.transport.loseConnection();
  }

  /** The users, one per CRLF-ended line. Override to list real ones. */
  getUsers(): string {
    return "root\r\n";
  }
}

const DAYS = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];
const MONTHS = [
  "Jan",
  "Feb",
  "Mar",
  "Apr",
  "May",
  "Jun",
  "Jul",
  "Aug",
  "Sep",
  "Oct",
  "Nov",
  "Dec",
];

function two(n: number): string {
  return String(n).padStart(2, "0");
}

/**
 * Sends the date and time as text, C's `asctime` format in UTC, and hangs
 * up (RFC 867): `"Thu Jan  1 00:00:00 1970\r\n"`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Daytime } from "@twisted-deno/core/protocols";
 * import { Clock, StringTransport } from "@twisted-deno/core/testing";
 *
 * const clock = new Clock();
 * clock.advance(Date.UTC(2024, 1, 29, 13, 5, 9) / 1000);
 * const proto = new Daytime();
 * proto.clock = clock;
 * const transport = new StringTransport();
 * proto.makeConnection(transport);
 * assert.equal(new TextDecoder().decode(transport.value()), "Thu Feb 29 13:05:09 2024\r\n");
 * assert.equal(transport.disconnecting, true);
 * ```
 */
export class Daytime<F extends IProtocolFactory = Factory> extends Protocol<F> {
  /** Where the time comes from (Unix seconds); the global reactor unless replaced. */
  clock: IReactorTime = globalClock;

  /** Writes the date and closes. */
  override connectionMade(): void {
    const d = new Date(Math.floor(this.clock.seconds()) * 1000);
    const text = `${DAYS[d.getUTCDay()]} ${MONTHS[d.getUTCMonth()]} ${
      String(d.getUTCDate()).padStart(2, " ")
    } ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${
      two(d.getUTCSeconds())
    } ${d.getUTCFullYear()}\r\n`;
    this.transport.write(text);
    this.transport.loseConnection();
  }
}

/** Seconds from 1900-01-01 (RFC 868's epoch) to 1970-01-01 (Unix's). */
const RFC868_EPOCH_OFFSET = 2208988800;

function mod32(n: number): number {
  return ((n % 2 ** 32) + 2 ** 32) % 2 ** 32;
}

/**
 * Sends the time as RFC 868 says and hangs up: the seconds since
 * 1900-01-01 00:00 UTC as a 32-bit big-endian unsigned integer. (Twisted's
 * `Time` sends Unix seconds, since 1970: a different number.) The count
 * wraps modulo 2^32, as RFC 868 clients expect, in February 2036.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Time } from "@twisted-deno/core/protocols";
 * import { Clock, StringTransport } from "@twisted-deno/core/testing";
 *
 * const proto = new Time();
 * proto.clock = new Clock(); // at 0: 1970-01-01, 2208988800 s after 1900
 * const transport = new StringTransport();
 * proto.makeConnection(transport);
 * assert.deepEqual([...transport.value()], [0x83, 0xaa, 0x7e, 0x80]);
 * assert.equal(new DataView(transport.value().buffer).getUint32(0), 2208988800);
 * assert.equal(transport.disconnecting, true);
 * ```
 */
export class Time<F extends IProtocolFactory = Factory> extends Protocol<F> {
  /** Where the time comes from (Unix seconds); the global reactor unless replaced. */
  clock: IReactorTime = globalClock;

  /** Writes the four bytes and closes. */
  override connectionMade(): void {
    const since1900 = mod32(
      Math.floor(this.clock.seconds()) + RFC868_EPOCH_OFFSET,
    );
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, since1900);
    this.transport.write(out);
    this.transport.loseConnection();
  }
}
