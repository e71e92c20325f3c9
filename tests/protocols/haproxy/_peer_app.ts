// A runner fixture for haproxy_e2e_test.ts: serves, behind the PROXY
// protocol, on 127.0.0.1 at `--port N`; each connection is answered with
// "PEER_HOST PEER_PORT HOST_PORT PID\n" (what getPeer() and getHost() say)
// and closed.

import { Application, TCPServer } from "../../../application/mod.ts";
import type { ServiceMakerOptions } from "../../../application/mod.ts";
import { HAProxyWrappingFactory } from "../../../protocols/haproxy/mod.ts";
import { Factory, Protocol } from "../../../protocols/protocol.ts";

class WhoAmI extends Protocol {
  override connectionMade(): void {
    const peer = this.transport!.getPeer();
    const host = this.transport!.getHost();
    if (peer.type !== "TCP" || host.type !== "TCP") {
      this.transport!.write(`not TCP: ${peer.type} ${host.type}\n`);
    } else {
      this.transport!.write(
        `${peer.host} ${peer.port} ${host.port} ${Deno.pid}\n`,
      );
    }
    this.transport!.loseConnection();
  }
}

export function makeService(options: ServiceMakerOptions): Application {
  const i = options.args.indexOf("--port");
  const port = i === -1 ? 0 : Number(options.args[i + 1]);
  const application = new Application("whoami");
  const factory = Factory.forProtocol(WhoAmI);
  factory.noisy = false;
  new TCPServer(port, new HAProxyWrappingFactory(factory), {
    interface: "127.0.0.1",
  }).setServiceParent(application);
  return application;
}
