/**
 * The finger server as an application for the runner: the talk's
 * "finger as a service" step. Where `examples/finger.ts` calls
 * `reactor.listenTCP` itself, this module only says *what* runs (a
 * `TCPServer` in an `Application`); the runner does the rest: start,
 * logging, graceful stop on Ctrl-C or SIGTERM, and `--workers`.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 --allow-read application/twistd.ts examples/finger_service.ts
 * deno task twistd examples/finger_service.ts --port 7079      # with the task's permissions
 * printf 'moshez\n' | nc 127.0.0.1 1079                         # Happy and well
 * deno run --allow-net --allow-read --allow-run application/twistd.ts --workers 2 \
 *   examples/finger_service.ts --interface 0.0.0.0             # two processes, one port (Linux)
 * ```
 *
 * Arguments after the module: `--port PORT` (1079), `--interface HOST`
 * (127.0.0.1) and `--timeout SECONDS` (60), as for `examples/finger.ts`,
 * whose talk-style `FingerFactory` it serves.
 *
 * @module
 */

import {
  Application,
  type ServiceMakerOptions,
  TCPServer,
} from "@twisted-deno/core/application";
import { FingerFactory, parseFingerArgs, USERS } from "./finger.ts";

/**
 * Builds the finger application from the runner's options.
 *
 * @throws {TypeError} On bad arguments (the runner prints the message and
 *   exits 78).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { makeService } from "./finger_service.ts";
 *
 * const app = makeService({ args: ["--port", "0"], worker: 0, workers: 1, reusePort: false });
 * assert.equal(app.name, "finger");
 * assert.equal([...app].length, 1);
 * ```
 */
export function makeService(options: ServiceMakerOptions): Application {
  const parsed = parseFingerArgs(options.args);
  if (typeof parsed === "string") {
    throw new TypeError(parsed.split("\n")[0]);
  }
  const application = new Application("finger");
  const server = new TCPServer(
    parsed.port,
    new FingerFactory(USERS, parsed.timeout),
    {
      interface: parsed.interface,
    },
  );
  server.setName("finger-tcp");
  server.setServiceParent(application);
  return application;
}
