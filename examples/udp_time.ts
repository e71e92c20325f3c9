/**
 * The Time Protocol (RFC 868) over UDP: a client sends any datagram, the
 * server answers with the time as 4 bytes, big-endian, in seconds since
 * 1900-01-01T00:00:00Z.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 examples/udp_time.ts serve 7037
 * deno run --allow-net=127.0.0.1 examples/udp_time.ts query 127.0.0.1 7037
 * ```
 *
 * @module
 */

import { Deferred } from "@twisted-deno/core/deferred";
import { DatagramProtocol } from "@twisted-deno/core/protocols";
import { type IAddress, reactor } from "@twisted-deno/core/reactor";
import { listenOrExit } from "./_cli.ts";

/** Seconds from 1900-01-01 to 1970-01-01, RFC 868's offset from Unix time. */
export const RFC868_OFFSET = 2208988800;

/**
 * Answers every datagram with the current RFC 868 time.
 *
 * @example The answer is the clock's time since 1900
 * ```ts
 * import assert from "node:assert/strict";
 * import { RFC868_OFFSET, UDPTimeServer } from "./udp_time.ts";
 *
 * const sent: Uint8Array[] = [];
 * const server = new UDPTimeServer(() => 1_000_000);
 * server.makeConnection({ write: (d: Uint8Array) => sent.push(d) } as never);
 * server.datagramReceived(new Uint8Array(), { type: "UDP", host: "127.0.0.1", port: 9 });
 * assert.equal(new DataView(sent[0].buffer).getUint32(0), 1_000 + RFC868_OFFSET);
 * ```
 */
export class UDPTimeServer extends DatagramProtocol {
  /**
   * @param now The wall clock in milliseconds since the Unix epoch.
   */
  constructor(readonly now: () => number = Date.now) {
    super();
  }

  /** Replies to `addr` with the time, whatever the datagram holds. */
  override datagramReceived(_data: Uint8Array, addr: IAddress): void {
    if (addr.type !== "UDP") return;
    const answer = new Uint8Array(4);
    const seconds = Math.floor(this.now() / 1000) + RFC868_OFFSET;
    new DataView(answer.buffer).setUint32(0, seconds % 2 ** 32);
    this.transport!.write(answer, addr);
  }
}

/**
 * Asks one server for the time: connects its transport to the server, sends
 * an empty datagram, and fires `time` with the answer as a `Date`.
 *
 * @example Ask a server over loopback
 * ```ts
 * import assert from "node:assert/strict";
 * import { reactor } from "@twisted-deno/core/reactor";
 * import { UDPTimeClient, UDPTimeServer } from "./udp_time.ts";
 *
 * const server = reactor.listenUDP(0, new UDPTimeServer(() => Date.UTC(2024, 0, 1)), {
 *   interface: "127.0.0.1",
 * });
 * const at = server.getHost();
 * assert.equal(at.type, "UDP");
 * const client = new UDPTimeClient(at.type === "UDP" ? at.host : "", at.type === "UDP" ? at.port : 0);
 * const port = reactor.listenUDP(0, client, { interface: "127.0.0.1" });
 * assert.equal((await client.time).toISOString(), "2024-01-01T00:00:00.000Z");
 * await port.stopListening();
 * await server.stopListening();
 * ```
 */
export class UDPTimeClient extends DatagramProtocol {
  /** Fires with the server's time, or fails on a malformed answer. */
  readonly time: Deferred<Date> = new Deferred<Date>();

  /**
   * @param host The server's IP address.
   * @param port The server's port.
   */
  constructor(readonly host: string, readonly port: number) {
    super();
  }

  /** Connects to the server and sends the request. */
  override startProtocol(): void {
    this.transport!.connect(this.host, this.port);
    this.transport!.write(new Uint8Array());
  }

  /** Decodes the answer. */
  override datagramReceived(data: Uint8Array, _addr: IAddress): void {
    if (this.time.called) return;
    if (data.length !== 4) {
      this.time.errback(
        new RangeError(
          `Cannot read an RFC 868 time: expected 4 bytes, got ${data.length}`,
        ),
      );
      return;
    }
    const seconds = new DataView(data.buffer, data.byteOffset, 4).getUint32(0);
    this.time.callback(new Date((seconds - RFC868_OFFSET) * 1000));
  }
}

if (import.meta.main) {
  const [mode, a, b] = Deno.args;
  if (mode === "query") {
    const client = new UDPTimeClient(a ?? "127.0.0.1", Number(b ?? 7037));
    const port = reactor.listenUDP(0, client, { interface: "127.0.0.1" });
    console.log((await client.time).toISOString());
    await port.stopListening();
  } else {
    const port = listenOrExit(
      "udp_time",
      () =>
        reactor.listenUDP(Number(a ?? 7037), new UDPTimeServer(), {
          interface: b ?? "127.0.0.1",
        }),
    );
    const host = port.getHost();
    if (host.type === "UDP") console.log(`listening on ${host.port}`);
    await reactor.run();
  }
}
