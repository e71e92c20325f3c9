/**
 * A LineReceiver echo server for the load generator in `bench/loadgen/`
 * (`loadgen --mode lines`): each `\r\n`-terminated line is decoded to a
 * string by `lineReceived` and sent back with `sendLine`, as Twisted's
 * `peers/twisted_lines.py` does (MAX_LENGTH 1 MiB, like it). With `bytes`
 * first, a `BytesLineReceiver` echo instead: lines stay bytes, the
 * like-for-like peer of the bytes-only raw splitter
 * (`bench/loadgen/peers/raw_deno_lines.ts`), as the string echo is of
 * `bench/raw_deno_lines_text.ts`.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 bench/line_server.ts 7008
 * # listening on 7008
 * deno run --allow-net=127.0.0.1 bench/line_server.ts bytes 0
 * ```
 *
 * The last argument is the port (`0`: any free one). It prints exactly
 * `listening on PORT` on stdout once it accepts, and runs until SIGTERM
 * (or SIGINT), when the reactor closes the port and every connection.
 * `bench/run_lines.sh` measures it.
 *
 * @module
 */

import { BytesLineReceiver, LineReceiver } from "../protocols/basic.ts";
import { Factory } from "../protocols/protocol.ts";
import { reactor } from "../reactor/reactor.ts";

/** Sends every line back. */
class LineEcho extends LineReceiver {
  override MAX_LENGTH = 1 << 20;

  override lineReceived(line: string): void {
    this.sendLine(line);
  }
}

/** Sends every line back, as bytes. */
class BytesLineEcho extends BytesLineReceiver {
  override MAX_LENGTH = 1 << 20;

  override lineReceived(line: Uint8Array): void {
    this.sendLine(line);
  }
}

const bytes = Deno.args[0] === "bytes";
const factory = bytes
  ? Factory.forProtocol(BytesLineEcho)
  : Factory.forProtocol(LineEcho);
factory.noisy = false;
const portArg = Deno.args.filter((arg) => arg !== "bytes").at(-1);
const port = reactor.listenTCP(Number(portArg ?? 0), factory, {
  interface: "127.0.0.1",
});
const host = port.getHost();
if (host.type === "TCP") console.log(`listening on ${host.port}`);
await reactor.run();
