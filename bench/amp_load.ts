/**
 * AMP calls per second over loopback TCP, our end of the comparison that
 * `bench/run_amp.sh` runs against Twisted's AMP (`bench/amp_twisted.py`,
 * the same protocol, the same load).
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 bench/amp_load.ts server      # prints its port
 * deno run --allow-net=127.0.0.1 bench/amp_load.ts client PORT [SECONDS]
 * ```
 *
 * The client opens 10 connections and keeps 100 `Sum` calls in flight on
 * each (pipelined: a new call goes out as each answer comes back), warms up
 * for 1 s, counts answers for SECONDS (default 5), checks every total, and
 * prints one JSON line: `{"impl":"ours","calls":N,"seconds":S,"rate":R}`.
 * The server stops by itself after 300 s if nobody ends it first.
 *
 * @module
 */

import * as amp from "../amp/mod.ts";
import { Factory } from "../protocols/protocol.ts";
import {
  connectProtocol,
  reactor,
  TCP4ClientEndpoint,
} from "../reactor/mod.ts";

const CONNECTIONS = 10;
const WINDOW = 100;

const Sum = new amp.Command("Sum", {
  arguments: { a: new amp.Integer(), b: new amp.Integer() },
  response: { total: new amp.Integer() },
});

class SumServer extends amp.AMP {
  constructor() {
    super();
    this.responder(Sum, ({ a, b }) => ({ total: a + b }));
  }
}

async function server(): Promise<void> {
  const port = reactor.listenTCP(0, Factory.forProtocol(SumServer), {
    interface: "127.0.0.1",
  });
  const addr = port.getHost();
  if (addr.type !== "TCP") throw new Error("Expected a TCP port");
  console.log(addr.port);
  await new Promise((resolve) => setTimeout(resolve, 300_000));
  await port.stopListening();
  Deno.exit(0);
}

async function client(port: number, seconds: number): Promise<void> {
  const protos = await Promise.all(
    Array.from({ length: CONNECTIONS }, () =>
      connectProtocol(
        new TCP4ClientEndpoint(reactor, "127.0.0.1", port),
        new amp.AMP(),
      ).asPromise()),
  );
  let answered = 0;
  let running = true;
  let wrong = 0;
  for (const proto of protos) {
    let n = 0;
    const again = (r: { total: number }): void => {
      if (r.total !== 2 * (r.total >> 1) + 1) wrong++; // a + (a + 1) is odd
      answered++;
      if (running) send();
    };
    const send = (): void => {
      n = (n + 1) & 0xffff;
      proto.callRemote(Sum, { a: n, b: n + 1 }).addCallback(again);
    };
    for (let i = 0; i < WINDOW; i++) send();
  }
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const start = answered;
  const t0 = performance.now();
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
  const calls = answered - start;
  const elapsed = (performance.now() - t0) / 1000;
  running = false;
  if (wrong > 0) throw new Error(`${wrong} answers had a wrong total`);
  if (calls === 0) throw new Error("No call was answered");
  console.log(JSON.stringify({
    impl: "ours",
    calls,
    seconds: Number(elapsed.toFixed(3)),
    rate: Math.round(calls / elapsed),
  }));
  for (const p of protos) p.transport!.abortConnection();
  Deno.exit(0);
}

const [mode, port, seconds] = Deno.args;
if (mode === "server") await server();
else if (mode === "client") await client(Number(port), Number(seconds ?? 5));
else {
  console.error("Usage: amp_load.ts server | client PORT [SECONDS]");
  Deno.exit(2);
}
