// A fixture for udp_test.ts: run with `deno run --no-config` and no
// --unstable-net, as a user's own script outside the package's deno.json
// would be. Prints what listenUDP threw.
import { DatagramProtocol } from "../../../protocols/protocol.ts";
import { reactor } from "../../../reactor/reactor.ts";

try {
  const port = reactor.listenUDP(0, new DatagramProtocol(), {
    interface: "127.0.0.1",
  });
  console.log("listened", JSON.stringify(port.getHost()));
  await port.stopListening();
} catch (e) {
  const error = e as Error;
  console.log(`${error.name}: ${error.message}`);
}
