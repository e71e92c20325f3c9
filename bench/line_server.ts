/**
 * A LineReceiver echo server for the load generator in `bench/loadgen/`
 * (`loadgen --mode lines`): each `\r\n`-terminated line is decoded to a
 * string by `lineReceived` and sent back with `sendLine`, as Twisted's
 * `peers/twisted_lines.py` does (MAX_LENGTH 1 MiB, like it).
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 bench/line_server.ts 7008
 * # listening on 7008
 * ```
 *
 * The first argument is the port (`0`: any free one). It prints exactly
 * `listening on PORT` on stdout once it accepts, and runs until SIGTERM
 * (or SIGINT), when the reactor closes the port and every connection.
 * `bench/run_lines.sh` measures it.
 *
 * @module
 */

import { LineReceiver } from "../protocols/basic.ts";
import { Factory } from "../protocols/protocol.ts";
import { reactor } from "../reactor/reactor.ts";

/** Sends every line back. */
class LineEcho extends LineReceiver {
  override MAX_LENGTH = 1 << 20;

  override lineReceived(line: string): void {
    this.sendLine(line);
  }
}

const factory = Factory.forProtocol(LineEcho);
factory.noisy = false;
const port = reactor.listenTCP(Number(Deno.args[0] ?? 0), factory, {
  interface: "127.0.0.1",
});
const host = port.getHost();
if (host.type === "TCP") console.log(`listening on ${host.port}`);
await reactor.run();
