// A test fixture: a SOCKSv4 proxy on a free loopback port, run as its own
// process with unrestricted --allow-net, so a v4a host name really goes to
// the system resolver (the test process may only reach loopback names).
// Prints "listening on PORT"; stops on SIGTERM.

import { SOCKSv4Factory } from "../../protocols/socks.ts";
import { reactor } from "../../reactor/reactor.ts";

const port = reactor.listenTCP(0, new SOCKSv4Factory(null, reactor), {
  interface: "127.0.0.1",
});
console.log(`listening on ${(port.getHost() as { port: number }).port}`);
await reactor.run();
