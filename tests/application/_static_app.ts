// A runner fixture exporting a ready-made `application`: echo on 127.0.0.1,
// port from the TWISTD_TEST_PORT environment variable (0 when unset).

import { Application } from "../../application/service.ts";
import { TCPServer } from "../../application/internet.ts";
import { Factory, Protocol } from "../../protocols/protocol.ts";

class Echo extends Protocol {
  override dataReceived(data: Uint8Array): void {
    this.transport!.write(data);
  }
}

export const application: Application = new Application("static-echo");
new TCPServer(
  Number(Deno.env.get("TWISTD_TEST_PORT") ?? 0),
  Factory.forProtocol(Echo),
  { interface: "127.0.0.1" },
).setServiceParent(application);
