// Servers for bench/run_proxy.sh, each printing "listening on PORT":
//
//   deno run --allow-net=127.0.0.1 bench/proxy_servers.ts echo PORT
//   deno run --allow-net=127.0.0.1 bench/proxy_servers.ts proxy-echo PORT
//   deno run --allow-net=127.0.0.1 bench/proxy_servers.ts forward PORT TARGET_PORT
//
// echo: the plain Echo protocol; proxy-echo: the same Echo inside an
// HAProxyWrappingFactory (each connection starts with a PROXY header);
// forward: a ProxyFactory forwarding to 127.0.0.1:TARGET_PORT.

import {
  Echo,
  Factory,
  HAProxyWrappingFactory,
  ProxyFactory,
} from "../protocols/mod.ts";
import type { IProtocolFactory } from "../reactor/mod.ts";
import { reactor } from "../reactor/mod.ts";

const [kind, portArg, targetArg] = Deno.args;
const echo = Factory.forProtocol(Echo);
echo.noisy = false;
let factory: IProtocolFactory;
if (kind === "echo") factory = echo;
else if (kind === "proxy-echo") factory = new HAProxyWrappingFactory(echo);
else if (kind === "forward") {
  const forward = new ProxyFactory("127.0.0.1", Number(targetArg));
  forward.noisy = false;
  factory = forward;
} else {
  console.error(
    "usage: proxy_servers.ts echo|proxy-echo|forward PORT [TARGET_PORT]",
  );
  Deno.exit(2);
}
const port = reactor.listenTCP(Number(portArg ?? 0), factory, {
  interface: "127.0.0.1",
});
const host = port.getHost();
if (host.type === "TCP") console.log(`listening on ${host.port}`);
await reactor.run();
