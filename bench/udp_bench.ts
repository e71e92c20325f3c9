// The JavaScript cost per datagram of UDPPort (receive, deliver, write,
// send) against the same loop written raw, both over a fake DatagramConn
// whose receive and send complete at once: the socket's own cost, the
// same for both, is left out. Run: deno bench --allow-net=127.0.0.1 bench/udp_bench.ts
import { DatagramProtocol } from "@twisted-deno/core/protocols";
import type { IAddress } from "@twisted-deno/core/reactor";
import { UDPPort } from "@twisted-deno/core/reactor/net";

const COUNT = 10_000;
const PAYLOAD = new Uint8Array(64).fill(7);
const FROM: Deno.NetAddr = {
  transport: "udp",
  hostname: "127.0.0.1",
  port: 40000,
};

/** A DatagramConn that yields COUNT datagrams, then waits until closed. */
class FakeConn {
  readonly addr: Deno.NetAddr = {
    transport: "udp",
    hostname: "127.0.0.1",
    port: 9,
  };
  received = 0;
  sent = 0;
  done = Promise.withResolvers<void>();
  #closed = Promise.withResolvers<never>();
  receive(p?: Uint8Array): Promise<[Uint8Array, Deno.NetAddr]> {
    if (this.received === COUNT) return this.#closed.promise;
    this.received++;
    const buf = p ?? new Uint8Array(PAYLOAD.length);
    buf.set(PAYLOAD);
    return Promise.resolve([buf.subarray(0, PAYLOAD.length), { ...FROM }]);
  }
  send(p: Uint8Array, _addr: Deno.Addr): Promise<number> {
    if (++this.sent === COUNT) this.done.resolve();
    return Promise.resolve(p.length);
  }
  close(): void {
    this.#closed.promise.catch(() => {}); // no receive may be waiting
    this.#closed.reject(new Deno.errors.BadResource("closed"));
  }
}

class Echo extends DatagramProtocol {
  override datagramReceived(data: Uint8Array, addr: IAddress): void {
    if (addr.type === "UDP") this.transport!.write(data, addr);
  }
}

const group = `echo ${COUNT} datagrams of 64 B`;

Deno.bench("raw receive/send loop", { group, baseline: true }, async () => {
  const conn = new FakeConn();
  const buffer = new Uint8Array(8192);
  for (let i = 0; i < COUNT; i++) {
    const [data, from] = await conn.receive(buffer);
    await conn.send(data, from);
  }
  if (conn.sent !== COUNT) throw new Error(`Sent ${conn.sent}`);
});

Deno.bench("UDPPort + DatagramProtocol", { group }, async () => {
  const conn = new FakeConn();
  const port = new UDPPort(0, new Echo(), {
    interface: "127.0.0.1",
    listenDatagram: () => conn as unknown as Deno.DatagramConn,
  });
  port.startListening();
  await conn.done.promise;
  await port.stopListening();
  if (conn.sent !== COUNT) throw new Error(`Sent ${conn.sent}`);
});
