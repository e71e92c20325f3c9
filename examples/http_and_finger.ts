/**
 * HTTP and finger in one application, under the runner: the finger server
 * of the talk on one port, and beside it Deno's own HTTP server (a
 * {@linkcode DenoServeService}) answering from the same table of users.
 * Both start together, and a SIGTERM stops both gracefully: the finger
 * port closes, and HTTP requests already in flight are answered before
 * the process exits.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 --allow-read application/twistd.ts examples/http_and_finger.ts
 * curl http://127.0.0.1:8080/users/moshez      # Happy and well
 * printf 'moshez\r\n' | nc 127.0.0.1 1079      # Happy and well
 * curl 'http://127.0.0.1:8080/slow?seconds=3' & kill -TERM <pid>   # still answered
 * ```
 *
 * Arguments after the module: `--http-port PORT` (8080), `--finger-port
 * PORT` (1079), `--interface HOST` (127.0.0.1); a port of 0 picks a free
 * one (the runner logs which).
 *
 * @module
 */

import {
  Application,
  DenoServeService,
  type ServiceMakerOptions,
  TCPServer,
} from "@twisted-deno/core/application";
import { Logger } from "@twisted-deno/core/log";
import { FingerFactory } from "@twisted-deno/core/protocols";
import { USERS } from "./finger.ts";

const log = new Logger("http_and_finger");

/** The example's settings. */
export interface HttpAndFingerOptions {
  /** The HTTP port (0: any free one). */
  httpPort: number;
  /** The finger port (0: any free one). */
  fingerPort: number;
  /** The address both listen on. */
  interface: string;
}

/**
 * Parses `--http-port`, `--finger-port` and `--interface` (also as
 * `--flag=value`).
 *
 * @throws {TypeError} On an unknown flag or a bad value.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseArgs } from "./http_and_finger.ts";
 *
 * assert.deepEqual(parseArgs([]), { httpPort: 8080, fingerPort: 1079, interface: "127.0.0.1" });
 * assert.deepEqual(parseArgs(["--http-port=0", "--finger-port", "0"]).httpPort, 0);
 * assert.throws(() => parseArgs(["--http-port", "web"]), /--http-port must be a number/);
 * ```
 */
export function parseArgs(args: string[]): HttpAndFingerOptions {
  const options = { httpPort: 8080, fingerPort: 1079, interface: "127.0.0.1" };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const eq = arg.indexOf("=");
    const name = eq === -1 ? arg : arg.slice(0, eq);
    const value = eq === -1 ? args[++i] : arg.slice(eq + 1);
    if (value === undefined || value === "") {
      throw new TypeError(`${name} needs a value`);
    }
    if (name === "--interface") {
      options.interface = value;
    } else if (name === "--http-port" || name === "--finger-port") {
      if (!/^\d+$/.test(value) || Number(value) > 65535) {
        throw new TypeError(
          `${name} must be a number from 0 to 65535, got ${
            JSON.stringify(value)
          }`,
        );
      }
      if (name === "--http-port") options.httpPort = Number(value);
      else options.fingerPort = Number(value);
    } else {
      throw new TypeError(`Unknown argument ${JSON.stringify(arg)}`);
    }
  }
  return options;
}

/**
 * The HTTP side: `/users/NAME` answers as finger would, `/slow?seconds=N`
 * (at most 10) answers after N seconds (to watch a graceful stop), and `/`
 * lists the routes.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { handle } from "./http_and_finger.ts";
 *
 * const r = await handle(new Request("http://x/users/moshez"));
 * assert.equal(await r.text(), "Happy and well\n");
 * assert.equal((await handle(new Request("http://x/nope"))).status, 404);
 * ```
 */
export async function handle(request: Request): Promise<Response> {
  const url = new URL(request.url);
  if (url.pathname === "/") {
    return new Response("GET /users/NAME, GET /slow?seconds=N\n");
  }
  if (url.pathname.startsWith("/users/")) {
    const user = decodeURIComponent(url.pathname.slice("/users/".length));
    const entry = await new FingerFactory(USERS).getUser(user);
    return new Response(`${entry}\n`);
  }
  if (url.pathname === "/slow") {
    const seconds = Math.min(Number(url.searchParams.get("seconds") ?? 1), 10);
    if (!(seconds >= 0)) {
      return new Response("seconds must be a number\n", { status: 400 });
    }
    log.info("Slow request started ({seconds} s)", { seconds });
    await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
    return new Response("slow done\n");
  }
  return new Response("Not found\n", { status: 404 });
}

/**
 * Builds the application from the runner's options.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeService } from "./http_and_finger.ts";
 *
 * const app = makeService({ args: ["--http-port", "0"], worker: 0, workers: 1, reusePort: false });
 * assert.deepEqual([...app].map((s) => s.name), ["finger", "http"]);
 * ```
 */
export function makeService(options: ServiceMakerOptions): Application {
  const parsed = parseArgs(options.args);
  const application = new Application("http-and-finger");
  const finger = new TCPServer(parsed.fingerPort, new FingerFactory(USERS), {
    interface: parsed.interface,
  });
  finger.setName("finger");
  finger.setServiceParent(application);
  const web = new DenoServeService(handle, {
    port: parsed.httpPort,
    hostname: parsed.interface,
  });
  web.setName("http");
  web.setServiceParent(application);
  return application;
}
