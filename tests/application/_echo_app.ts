// A runner fixture: `makeService` serves TCP echo on 127.0.0.1 at the port
// given as `--port N` (0: any); with `--pid`, each connection is answered
// with the serving process's pid and closed instead.

import { Application } from "../../application/service.ts";
import { TCPServer } from "../../application/internet.ts";
import type { ServiceMakerOptions } from "../../application/service.ts";
import { Factory, Protocol } from "../../protocols/protocol.ts";

class Echo extends Protocol {
  override dataReceived(data: Uint8Array): void {
    this.transport!.write(data);
  }
}

class Pid extends Protocol {
  override connectionMade(): void {
    this.transport!.write(`${Deno.pid}\n`);
    this.transport!.loseConnection();
  }
}

export function makeService(options: ServiceMakerOptions): Application {
  const i = options.args.indexOf("--port");
  const port = i === -1 ? 0 : Number(options.args[i + 1]);
  const application = new Application("echo");
  const protocol = options.args.includes("--pid") ? Pid : Echo;
  new TCPServer(port, Factory.forProtocol(protocol), {
    interface: "127.0.0.1",
  }).setServiceParent(application);
  return application;
}
