// An echo application for the twistd runner, used by bench/run_workers.sh:
// `makeService` serves TCP echo on 127.0.0.1 at `--port N`.

import { Application, TCPServer } from "../application/mod.ts";
import type { ServiceMakerOptions } from "../application/mod.ts";
import { Factory, Protocol } from "../protocols/mod.ts";

class Echo extends Protocol {
  override dataReceived(data: Uint8Array): void {
    this.transport!.write(data);
  }
}

export function makeService(options: ServiceMakerOptions): Application {
  const i = options.args.indexOf("--port");
  const port = i === -1 ? 0 : Number(options.args[i + 1]);
  const application = new Application("echo");
  new TCPServer(port, Factory.forProtocol(Echo), { interface: "127.0.0.1" })
    .setServiceParent(application);
  return application;
}
