/**
 * The small standard TCP services that inetd used to run: Echo (RFC 862),
 * Discard (RFC 863), Chargen (RFC 864), QOTD (RFC 865), Who (RFC 866, the
 * "Active Users" service), Daytime (RFC 867) and Time (RFC 868). Each is a
 * few lines on top of {@linkcode Protocol}, and together they show the
 * shapes a protocol takes: react to data, speak first and hang up, or
 * produce a stream under flow control.
 *
 * The services that tell the time read it from a `clock` (an
 * `IReactorTime`, the global reactor by default), so tests pass a `Clock`.
 *
 * @module
 */

import type { Failure } from "../deferred/failure.ts";
import type {
  IBufferedProtocol,
  IDelayedCall,
  IPushProducer,
  IReactorTime,
} from "../reactor/interfaces.ts";
import { globalClock } from "../reactor/global.ts";
import { Protocol } from "./protocol.ts";

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
export class Echo extends Protocol implements IBufferedProtocol {
  #buf = new Uint8Array(0);

  /** Writes `data` back. */
  override dataReceived(data: Uint8Array): void {
    this.transport!.write(data);
  }

  /** Lends one buffer of the hinted size: stream reads land in it. */
  getBuffer(sizeHint: number): Uint8Array {
    if (this.#buf.length !== sizeHint) this.#buf = new Uint8Array(sizeHint);
    return this.#buf;
  }

  /** Writes back the `n` bytes just read into the lent buffer. */
  bufferUpdated(n: number): void {
    this.transport!.write(this.#buf.subarray(0, n));
  }
}

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
export class Discard extends Protocol {
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

/**
 * Sends RFC 864's character pattern (rotating lines of 72 printable ASCII
 * characters) until the peer hangs up, and discards what it receives.
 *
 * It is a streaming producer: `connectionMade` registers it with the
 * transport, which pauses it when its write buffer is full and resumes it
 * once drained. It writes at most `BURST` bytes at a time; if the
 * transport has not paused it by then, it goes on `REST` seconds later (on
 * `clock`), so a consumer without flow control neither locks up the event
 * loop nor stops the stream.
 *
 * @example Paused and resumed by the transport
 * ```ts
 * import assert from "node:assert/strict";
 * import { Chargen } from "@twisted-deno/core/protocols";
 * import { Clock, StringTransport } from "@twisted-deno/core/testing";
 *
 * const clock = new Clock();
 * const transport = new StringTransport();
 * const proto = new Chargen();
 * proto.clock = clock;
 * proto.makeConnection(transport);
 * assert.equal(transport.producer, proto);
 * assert.equal(transport.streaming, true);
 * const first = new TextDecoder().decode(transport.value().subarray(0, 74));
 * assert.equal(first, " !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefg\r\n");
 * clock.advance(proto.REST); // StringTransport never pauses: next burst
 * proto.pauseProducing();
 * const sent = transport.value().length;
 * clock.advance(1);
 * assert.equal(transport.value().length, sent);
 * proto.resumeProducing();
 * assert.ok(transport.value().length > sent);
 * proto.stopProducing();
 * ```
 */
export class Chargen extends Protocol implements IPushProducer {
  /** The most bytes written at once, unless paused first. */
  BURST = 65536;
  /**
   * Seconds between bursts when the transport did not pause us (a real
   * transport pauses a producer once 64 KiB are queued, so this only paces
   * consumers without flow control). Not 0: a zero-delay call scheduled
   * from a call would run in the same `Clock.advance()`, forever.
   */
  REST = 0.001;
  /** Schedules the next burst; the global reactor unless replaced (tests pass a `Clock`). */
  clock: IReactorTime = globalClock;

  #paused = false;
  #stopped = false;
  #writing = false;
  #next: IDelayedCall | undefined;

  /** Registers as a streaming producer and starts sending. */
  override connectionMade(): void {
    this.transport!.registerProducer(this, true);
    this.#produce();
  }

  /** Ignores what the peer sends. */
  override dataReceived(_data: Uint8Array): void {}

  /** Stops sending for good. */
  override connectionLost(_reason: Failure): void {
    this.stopProducing();
  }

  /** Stops writing until `resumeProducing()`. */
  pauseProducing(): void {
    this.#paused = true;
    this.#cancelNext();
  }

  /** Writing may go on. */
  resumeProducing(): void {
    this.#paused = false;
    this.#produce();
  }

  /** Stops writing for good. */
  stopProducing(): void {
    this.#stopped = true;
    this.#cancelNext();
  }

  #canWrite(): boolean {
    return !this.#paused && !this.#stopped &&
      this.transport !== undefined && !this.transport.disconnecting;
  }

  #produce(): void {
    // The transport may pause and resume us from inside write(): the burst
    // already running goes on; no nested burst.
    if (this.#writing) return;
    this.#writing = true;
    try {
      let sent = 0;
      while (this.#canWrite() && sent < this.BURST) {
        this.transport!.write(CHARGEN_PERIOD);
        sent += CHARGEN_PERIOD.length;
      }
    } finally {
      this.#writing = false;
    }
    if (this.#canWrite() && this.#next === undefined) {
      this.#next = this.clock.callLater(this.REST, () => {
        this.#next = undefined;
        this.#produce();
      });
    }
  }

  #cancelNext(): void {
    if (this.#next?.active()) this.#next.cancel();
    this.#next = undefined;
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
export class QOTD extends Protocol {
  /** Writes the quote and closes. */
  override connectionMade(): void {
    this.transport!.write(this.getQuote());
    this.transport!.loseConnection();
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
export class Who extends Protocol {
  /** Writes the users and closes. */
  override connectionMade(): void {
    this.transport!.write(this.getUsers());
    this.transport!.loseConnection();
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
export class Daytime extends Protocol {
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
    this.transport!.write(text);
    this.transport!.loseConnection();
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
export class Time extends Protocol {
  /** Where the time comes from (Unix seconds); the global reactor unless replaced. */
  clock: IReactorTime = globalClock;

  /** Writes the four bytes and closes. */
  override connectionMade(): void {
    const since1900 = mod32(
      Math.floor(this.clock.seconds()) + RFC868_EPOCH_OFFSET,
    );
    const out = new Uint8Array(4);
    new DataView(out.buffer).setUint32(0, since1900);
    this.transport!.write(out);
    this.transport!.loseConnection();
  }
}
