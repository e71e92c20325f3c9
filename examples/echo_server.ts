/**
 * A TCP echo server (RFC 862): every byte goes back to its sender.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 examples/echo_server.ts 7007
 * # listening on 7007
 * deno run --allow-net=127.0.0.1 examples/echo_client.ts 7007 hello
 * ```
 *
 * The first argument is the port (`0`: any free one), the second the
 * interface (`127.0.0.1`). It prints `listening on PORT` once it accepts,
 * and runs until SIGINT or SIGTERM, when the reactor closes the port and
 * every connection. This is the server `bench/run_echo.sh` measures.
 *
 * @module
 */

import { Echo, Factory } from "@twisted-deno/core/protocols";
import { type IListeningPort, reactor } from "@twisted-deno/core/reactor";

/**
 * Starts an echo server on `port`.
 *
 * @param port The port (0: any free one).
 * @param iface The interface to bind.
 * @returns The listening port.
 *
 * @example Echo a few bytes over loopback
 * ```ts
 * import assert from "node:assert/strict";
 * import { serveEcho } from "./echo_server.ts";
 *
 * const port = serveEcho(0, "127.0.0.1");
 * const host = port.getHost();
 * assert.equal(host.type, "TCP");
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: host.type === "TCP" ? host.port : 0 });
 * await conn.write(new TextEncoder().encode("hi"));
 * await conn.closeWrite(); // the server echoes, then closes too
 * const echoed = await new Response(conn.readable).text();
 * assert.equal(echoed, "hi");
 * await port.stopListening();
 * ```
 */
export function serveEcho(port: number, iface: string): IListeningPort {
  const factory = Factory.forProtocol(Echo);
  factory.noisy = false;
  return reactor.listenTCP(port, factory, { interface: iface });
}

if (import.meta.main) {
  const port = serveEcho(
    Number(Deno.args[0] ?? 7007),
    Deno.args[1] ?? "127.0.0.1",
  );
  const host = port.getHost();
  if (host.type === "TCP") console.log(`listening on ${host.port}`);
  await reactor.run();
}
