/**
 * The finger server of the Twisted talk, written as a user writes it: a
 * `FingerProtocol` that reads one line (the user name) and answers from its
 * `FingerFactory`, which holds the users and hands out answers as
 * Deferreds. `this.factory` and `this.transport` are typed, so the code
 * needs no casts and no `!`. (The library also ships a complete RFC 1288
 * server as `FingerFactory` in `@twisted-deno/core/protocols`; this file
 * is the talk's own, smaller one.)
 *
 * ```sh
 * deno task finger                          # 127.0.0.1:1079
 * printf 'moshez\n' | nc 127.0.0.1 1079      # Happy and well
 * deno task finger --port 79                # as root; then: finger moshez@127.0.0.1
 * deno run --allow-net=127.0.0.1:7079 examples/finger.ts --port 7079
 * deno run --allow-net=0.0.0.0:1079 examples/finger.ts --interface 0.0.0.0
 * ```
 *
 * A query may end in `\r\n` (finger clients, RFC 1288) or in `\n` alone
 * (`nc`, `echo`). A client that has not sent a whole line within 60
 * seconds (`--timeout S`) is dropped. The program needs one permission: to
 * listen on its address and port. Run plainly (`deno run
 * examples/finger.ts`) on a terminal, it asks for exactly that; without a
 * terminal it exits at once, naming the flag to pass. A port already in
 * use is one line on stderr and exit status 1. It stops cleanly on Ctrl-C
 * or SIGTERM.
 *
 * @module
 */

import { type Deferred, succeed } from "@twisted-deno/core/deferred";
import {
  LineReceiver,
  type ProtocolClass,
  ServerFactory,
  TimeoutMixin,
} from "@twisted-deno/core/protocols";
import { reactor } from "@twisted-deno/core/reactor";
import { listenOrExit } from "./_cli.ts";

/**
 * One finger conversation: a line in, one answer out, then hang up.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { Clock, StringTransport } from "@twisted-deno/core/testing";
 * import { FingerFactory, FingerProtocol } from "./finger.ts";
 *
 * const factory = new FingerFactory({ moshez: "Happy and well" });
 * const proto = new FingerProtocol();
 * proto.factory = factory; // as factory.buildProtocol() does
 * const transport = new StringTransport();
 * proto.makeConnection(transport);
 * proto.dataReceived(new TextEncoder().encode("moshez\r\n"));
 * assert.equal(new TextDecoder().decode(transport.value()), "Happy and well\r\n");
 * assert.equal(transport.disconnecting, true);
 *
 * // Silent for the factory's timeout (60 s): dropped.
 * const clock = new Clock();
 * const idle = new FingerProtocol();
 * idle.factory = factory;
 * idle.clock = clock;
 * const idleTransport = new StringTransport();
 * idle.makeConnection(idleTransport);
 * clock.advance(59);
 * assert.equal(idleTransport.disconnecting, false);
 * clock.advance(1);
 * assert.equal(idleTransport.disconnecting, true);
 * ```
 */
export class FingerProtocol extends TimeoutMixin(LineReceiver<FingerFactory>) {
  /** Lines end in LF; a CR before it is stripped in `lineReceived`. */
  override delimiter = "\n";

  /** Starts the countdown: a whole request must come within the timeout. */
  override connectionMade(): void {
    if (this.factory.timeout > 0) this.setTimeout(this.factory.timeout);
  }

  /** The user's name arrived: answer it and hang up. */
  override lineReceived(line: string): void {
    this.setTimeout(null);
    const user = line.endsWith("\r") ? line.slice(0, -1) : line;
    this.factory.getUser(user)
      .addErrback(() => "Internal error in server")
      .addCallback((message: string) => {
        this.transport.write(message + "\r\n");
        this.transport.loseConnection();
      });
  }
}

/** Holds the users; builds a {@linkcode FingerProtocol} per connection. */
export class FingerFactory extends ServerFactory {
  // Annotated: the class's type must not depend on FingerProtocol's, whose
  // base class is computed from this one (TimeoutMixin(...)).
  override protocol: ProtocolClass = FingerProtocol;

  /**
   * @param users Each user's answer.
   * @param timeout Seconds a client has to send its query (0: forever).
   */
  constructor(
    readonly users: Readonly<Record<string, string>>,
    readonly timeout: number = 60,
  ) {
    super();
  }

  /** The user's answer, or "No such user". */
  getUser(user: string): Deferred<string> {
    return succeed(
      Object.hasOwn(this.users, user) ? this.users[user] : "No such user",
    );
  }
}

/** The talk's user, and friends. */
export const USERS: Readonly<Record<string, string>> = Object.freeze({
  moshez: "Happy and well",
  glyph: "Polishing the reactor",
  itamar: "Writing Deferreds all day",
  radix: "Reading RFC 1288 again",
});

const USAGE = "Usage: deno run --allow-net=HOST:PORT examples/finger.ts " +
  "[--port PORT (1079)] [--interface HOST (127.0.0.1)] [--timeout SECONDS (60)]";

/** The command-line options. */
export interface FingerOptions {
  /** The TCP port (0: any free one). */
  port: number;
  /** The address to listen on. */
  interface: string;
  /** Seconds a client has to send its query (0: forever). */
  timeout: number;
}

/**
 * Parses `--port N`, `--interface HOST` and `--timeout SECONDS` (also as
 * `--flag=value`).
 *
 * @returns The options, or an error message.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseFingerArgs } from "./finger.ts";
 *
 * assert.deepEqual(parseFingerArgs([]), { port: 1079, interface: "127.0.0.1", timeout: 60 });
 * assert.deepEqual(
 *   parseFingerArgs(["--port=79", "--interface", "::1", "--timeout", "5"]),
 *   { port: 79, interface: "::1", timeout: 5 },
 * );
 * assert.equal(typeof parseFingerArgs(["--port", "http"]), "string");
 * ```
 */
export function parseFingerArgs(args: string[]): FingerOptions | string {
  const options: FingerOptions = {
    port: 1079,
    interface: "127.0.0.1",
    timeout: 60,
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const eq = arg.indexOf("=");
    const name = eq === -1 ? arg : arg.slice(0, eq);
    if (name === "--help" || name === "-h") return USAGE;
    if (name !== "--port" && name !== "--interface" && name !== "--timeout") {
      return `Unknown argument ${JSON.stringify(arg)}\n${USAGE}`;
    }
    const value = eq === -1 ? args[++i] : arg.slice(eq + 1);
    if (value === undefined || value === "") {
      return `${name} needs a value\n${USAGE}`;
    }
    if (name === "--port") {
      const port = Number(value);
      if (!/^\d+$/.test(value) || port > 65535) {
        return `--port must be a number from 0 to 65535, got ${
          JSON.stringify(value)
        }`;
      }
      options.port = port;
    } else if (name === "--timeout") {
      const seconds = Number(value);
      if (!Number.isFinite(seconds) || seconds < 0) {
        return `--timeout must be a number of seconds (0: never), got ${
          JSON.stringify(value)
        }`;
      }
      options.timeout = seconds;
    } else {
      options.interface = value;
    }
  }
  return options;
}

/** `host:port` as Deno's `--allow-net` writes it (IPv6 in brackets). */
function netTarget(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

async function main(): Promise<number> {
  const options = parseFingerArgs(Deno.args);
  if (typeof options === "string") {
    console.error(options);
    return options === USAGE ? 0 : 2;
  }
  const target = netTarget(options.interface, options.port);
  const permission = { name: "net", host: target } as const;
  let state = (await Deno.permissions.query(permission)).state;
  if (state === "prompt" && Deno.stdin.isTerminal()) {
    state = (await Deno.permissions.request(permission)).state;
  }
  if (state !== "granted") {
    const rest = Deno.args.length > 0 ? " " + Deno.args.join(" ") : "";
    console.error(
      `finger: needs permission to listen on ${target}. Run it with:\n` +
        `  deno run --allow-net=${target} examples/finger.ts${rest}`,
    );
    return 2;
  }

  const factory = new FingerFactory(USERS, options.timeout);
  const port = listenOrExit(
    "finger",
    () =>
      reactor.listenTCP(options.port, factory, {
        interface: options.interface,
      }),
  );
  const at = port.getHost();
  const where = at.type === "UNIX" ? at.name : netTarget(at.host, at.port);
  console.log(`Finger server listening on ${where}`);
  await reactor.run();
  return 0;
}

if (import.meta.main) Deno.exit(await main());
