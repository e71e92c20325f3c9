// twisted-deno UDP echo (examples/udp_echo.ts on reactor.listenUDP), the
// server under test in bench/run_udp_tls.sh. Usage: udp_echo_ours.ts PORT
import { reactor } from "@twisted-deno/core/reactor";
import { UDPEcho } from "../examples/udp_echo.ts";

const port = reactor.listenUDP(Number(Deno.args[0] ?? 0), new UDPEcho(), {
  interface: "127.0.0.1",
});
const host = port.getHost();
if (host.type === "UDP") console.log(`listening on ${host.port}`);
await reactor.run(); // stops on SIGTERM
