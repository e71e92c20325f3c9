// stream_echo_server.ts: echo servers on the stream transport for
// bench/run_stream.sh. The first argument picks the protocol, the second is
// the port (0: any); it prints "listening on PORT" and serves until SIGTERM.
//   plain  only dataReceived (each chunk is the protocol's to keep): the
//          figure to hold against raw_deno_alloc_echo
//   lent   an IBufferedProtocol echo that lends one buffer (sized by the
//          transport's hint) and writes back from it: zero copy, the figure
//          to hold against raw_deno_echo
//   deno run --allow-net=127.0.0.1 bench/stream_echo_server.ts lent 0

import { Factory, Protocol } from "../protocols/mod.ts";
import { type IBufferedProtocol, reactor } from "../reactor/mod.ts";

class PlainEcho extends Protocol {
  override dataReceived(data: Uint8Array): void {
    this.transport!.write(data);
  }
}

class LentEcho extends PlainEcho implements IBufferedProtocol {
  #buf = new Uint8Array(0);
  getBuffer(sizeHint: number): Uint8Array {
    if (this.#buf.length !== sizeHint) this.#buf = new Uint8Array(sizeHint);
    return this.#buf;
  }
  bufferUpdated(n: number): void {
    this.transport!.write(this.#buf.subarray(0, n));
  }
}

const kind = Deno.args[0];
if (kind !== "plain" && kind !== "lent") {
  console.error("usage: stream_echo_server.ts plain|lent PORT");
  Deno.exit(2);
}
const factory = Factory.forProtocol(kind === "lent" ? LentEcho : PlainEcho);
factory.noisy = false;
const port = reactor.listenTCP(Number(Deno.args[1] ?? 0), factory, {
  interface: "127.0.0.1",
});
const host = port.getHost();
if (host.type === "TCP") console.log(`listening on ${host.port}`);
await reactor.run();
