/**
 * The finger server of the Twisted talk, on twisted-deno: one
 * {@linkcode FingerFactory} holding a few users, listening on
 * 127.0.0.1:1079 (1079, not finger's 79, so no root is needed).
 *
 * ```sh
 * deno task finger                       # = deno run --allow-net=127.0.0.1:1079 examples/finger.ts
 * printf 'moshez\r\n' | nc 127.0.0.1 1079  # Happy and well
 * deno run --allow-net=127.0.0.1:7079 examples/finger.ts --port 7079
 * deno run --allow-net=0.0.0.0:1079 examples/finger.ts --interface 0.0.0.0
 * ```
 *
 * It needs one permission: to listen on that address and port. Run plainly
 * (`deno run examples/finger.ts`) on a terminal, it asks for exactly that;
 * without a terminal it exits at once, naming the flag to pass. It stops
 * cleanly on Ctrl-C or SIGTERM.
 *
 * @module
 */

import { FingerFactory } from "@twisted-deno/core/protocols";
import { CannotListenError, reactor } from "@twisted-deno/core/reactor";

/** The talk's user, and friends. */
export const USERS: Readonly<Record<string, string>> = Object.freeze({
  moshez: "Happy and well",
  glyph: "Polishing the reactor",
  itamar: "Writing Deferreds all day",
  radix: "Reading RFC 1288 again",
});

const USAGE = "Usage: deno run --allow-net=HOST:PORT examples/finger.ts " +
  "[--port PORT (1079)] [--interface HOST (127.0.0.1)]";

/** The command-line options. */
export interface FingerOptions {
  /** The TCP port (0: any free one). */
  port: number;
  /** The address to listen on. */
  interface: string;
}

/**
 * Parses `--port N` and `--interface HOST` (also as `--flag=value`).
 *
 * @returns The options, or an error message.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseFingerArgs } from "./finger.ts";
 *
 * assert.deepEqual(parseFingerArgs([]), { port: 1079, interface: "127.0.0.1" });
 * assert.deepEqual(parseFingerArgs(["--port=79", "--interface", "::1"]), { port: 79, interface: "::1" });
 * assert.equal(typeof parseFingerArgs(["--port", "http"]), "string");
 * ```
 */
export function parseFingerArgs(args: string[]): FingerOptions | string {
  const options: FingerOptions = { port: 1079, interface: "127.0.0.1" };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const eq = arg.indexOf("=");
    const name = eq === -1 ? arg : arg.slice(0, eq);
    if (name === "--help" || name === "-h") return USAGE;
    if (name !== "--port" && name !== "--interface") {
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

  let port;
  try {
    port = reactor.listenTCP(options.port, new FingerFactory(USERS), {
      interface: options.interface,
    });
  } catch (error) {
    if (error instanceof CannotListenError) {
      console.error(`finger: ${error.message}`);
      return 1;
    }
    throw error;
  }
  const at = port.getHost();
  const where = at.type === "UNIX" ? at.name : netTarget(at.host, at.port);
  console.log(`Finger server listening on ${where}`);
  await reactor.run();
  return 0;
}

if (import.meta.main) Deno.exit(await main());
