/**
 * A `BytesLineReceiver` echo server for the load generator in
 * `bench/loadgen/` (`loadgen --mode lines`): each `\r\n`-terminated line
 * reaches `lineReceived` as bytes (no decoding) and goes back with
 * `sendLine`. It is the like-for-like peer of the bytes-only raw splitter
 * `bench/loadgen/peers/raw_deno_lines.ts`, as `bench/line_server.ts`
 * (strings) is of `bench/raw_deno_lines_text.ts`.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 bench/bytes_line_server.ts 0
 * # listening on PORT
 * ```
 *
 * @module
 */

import { BytesLineReceiver } from "../protocols/basic.ts";
import { Factory } from "../protocols/protocol.ts";
import { reactor } from "../reactor/reactor.ts";

/** Sends every line back, as bytes. */
class BytesLineEcho extends BytesLineReceiver {
  override MAX_LENGTH = 1 << 20;

  override lineReceived(line: Uint8Array): void {
    this.sendLine(line);
  }
}

const factory = Factory.forProtocol(BytesLineEcho);
factory.noisy = false;
const port = reactor.listenTCP(Number(Deno.args[0] ?? 0), factory, {
  interface: "127.0.0.1",
});
const host = port.getHost();
if (host.type === "TCP") console.log(`listening on ${host.port}`);
await reactor.run();
