// A fixture for portforward_test.ts: a port forwarder on our reactor to
// 127.0.0.1:PORT (the first argument). Prints "listening on PORT"; stops
// on SIGTERM.
//
// Started with --expose-gc, it collects garbage every 50 ms, so that its
// RSS shows what the forwarder holds (queued bytes) rather than spent
// 64 KiB read buffers, which V8 only collects once about 64 MB of them
// have piled up. With FORWARD_NO_FLOW_CONTROL=1 it unregisters the
// producers, to show the test can fail.
import { ProxyClient, ProxyFactory } from "../../protocols/mod.ts";
import { reactor } from "../../reactor/mod.ts";

if (Deno.env.get("FORWARD_NO_FLOW_CONTROL") === "1") {
  const connectionMade = ProxyClient.prototype.connectionMade;
  ProxyClient.prototype.connectionMade = function (this: ProxyClient) {
    connectionMade.call(this);
    this.transport?.unregisterProducer();
    this.peer?.transport?.unregisterProducer();
  };
}
const gc = (globalThis as { gc?: () => void }).gc;
const collector = gc === undefined ? undefined : setInterval(gc, 50);
const factory = new ProxyFactory("127.0.0.1", Number(Deno.args[0]));
factory.noisy = false;
const port = reactor.listenTCP(0, factory, { interface: "127.0.0.1" });
const host = port.getHost();
if (host.type === "TCP") console.log(`listening on ${host.port}`);
await reactor.run();
clearInterval(collector);
