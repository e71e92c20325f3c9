// A fixture for tcp_test.ts: an echo server on our reactor, started with a
// low open-file limit so that accepting runs into EMFILE. Prints
// "listening on PORT"; logs (to stderr) as the reactor does; stops on
// SIGTERM.
import { Echo, Factory } from "../../../protocols/mod.ts";
import { reactor } from "../../../reactor/mod.ts";

const factory = Factory.forProtocol(Echo);
factory.noisy = false;
const port = reactor.listenTCP(0, factory, { interface: "127.0.0.1" });
const host = port.getHost();
if (host.type === "TCP") console.log(`listening on ${host.port}`);
await reactor.run();
