/**
 * A UDP echo server (RFC 862 over UDP): every datagram goes back to its
 * sender unchanged.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 examples/udp_echo.ts 7007
 * echo hi | socat - UDP:127.0.0.1:7007
 * ```
 *
 * @module
 */

import { DatagramProtocol } from "@twisted-deno/core/protocols";
import { type IAddress, reactor } from "@twisted-deno/core/reactor";
import { listenOrExit } from "./_cli.ts";

/**
 * Sends each datagram back to where it came from.
 *
 * @example Echo one datagram over loopback
 * ```ts
 * import assert from "node:assert/strict";
 * import { reactor } from "@twisted-deno/core/reactor";
 * import { UDPEcho } from "./udp_echo.ts";
 *
 * const port = reactor.listenUDP(0, new UDPEcho(), { interface: "127.0.0.1" });
 * const host = port.getHost();
 * assert.equal(host.type, "UDP");
 * const client = Deno.listenDatagram({ transport: "udp", hostname: "127.0.0.1", port: 0 });
 * if (host.type === "UDP") {
 *   await client.send(new TextEncoder().encode("hi"), { transport: "udp", hostname: host.host, port: host.port });
 * }
 * const [data] = await client.receive();
 * assert.equal(new TextDecoder().decode(data), "hi");
 * client.close();
 * await port.stopListening();
 * ```
 */
export class UDPEcho extends DatagramProtocol {
  /** Echoes `data` to `addr`. */
  override datagramReceived(data: Uint8Array, addr: IAddress): void {
    if (addr.type === "UDP") this.transport!.write(data, addr);
  }
}

if (import.meta.main) {
  const port = listenOrExit(
    "udp_echo",
    () =>
      reactor.listenUDP(Number(Deno.args[0] ?? 7007), new UDPEcho(), {
        interface: Deno.args[1] ?? "127.0.0.1",
      }),
  );
  const host = port.getHost();
  if (host.type === "UDP") console.log(`listening on ${host.port}`);
  await reactor.run();
}
