// plain_echo_server.ts: an echo server whose protocol only implements
// dataReceived (each chunk is the protocol's to keep), for bench/run_stream.sh:
// the figure to hold against raw_deno_alloc_echo. Prints "listening on PORT".
//   deno run --allow-net=127.0.0.1 bench/plain_echo_server.ts PORT

import { Factory, Protocol } from "../protocols/mod.ts";
import { reactor } from "../reactor/mod.ts";

class PlainEcho extends Protocol {
  override dataReceived(data: Uint8Array): void {
    this.transport!.write(data);
  }
}

const factory = Factory.forProtocol(PlainEcho);
factory.noisy = false;
const port = reactor.listenTCP(Number(Deno.args[0] ?? 0), factory, {
  interface: "127.0.0.1",
});
const host = port.getHost();
if (host.type === "TCP") console.log(`listening on ${host.port}`);
await reactor.run();
