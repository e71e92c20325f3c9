import assert from "node:assert/strict";
import { Failure } from "../../deferred/failure.ts";
import {
  type ProxyClient,
  ProxyClientFactory,
  ProxyFactory,
  type ProxyServer,
} from "../../protocols/portforward.ts";
import {
  ConnectionDone,
  ConnectionRefusedError,
  reactor,
  type TCPAddress,
} from "../../reactor/mod.ts";
import { MemoryReactor } from "../../testing/memory_reactor.ts";
import { StringTransport } from "../../testing/string_transport.ts";
import { readExactly, within } from "../_helpers.ts";

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);
const ADDR = { type: "TCP", host: "127.0.0.1", port: 1 } as const;
const WAIT = 10_000;

function pair() {
  const memory = new MemoryReactor();
  const factory = new ProxyFactory("192.0.2.5", 8000, { reactor: memory });
  const server = factory.buildProtocol(ADDR) as ProxyServer;
  const serverTransport = new StringTransport();
  server.makeConnection(serverTransport);
  const record = memory.tcpClients[0];
  return { memory, factory, server, serverTransport, record };
}

function connectClient(record: ReturnType<typeof pair>["record"]) {
  const client = record.factory.buildProtocol(ADDR) as ProxyClient;
  const clientTransport = new StringTransport();
  client.makeConnection(clientTransport);
  return { client, clientTransport };
}

Deno.test("ProxyServer pauses, connects to the factory's host and port, and resumes once the client is up", () => {
  const { server, serverTransport, record } = pair();
  assert.equal(serverTransport.producerState, "paused");
  assert.equal(record.host, "192.0.2.5");
  assert.equal(record.port, 8000);
  assert.ok(record.factory instanceof ProxyClientFactory);
  server.dataReceived(enc("early "));
  const { client, clientTransport } = connectClient(record);
  assert.equal(server.peer, client);
  assert.equal(client.peer, server);
  assert.equal(serverTransport.producerState, "producing");
  assert.equal(clientTransport.producer, serverTransport);
  assert.equal(clientTransport.streaming, true);
  assert.equal(serverTransport.producer, clientTransport);
  assert.equal(serverTransport.streaming, true);
  assert.equal(
    dec(clientTransport.value()),
    "early ",
    "bytes read before the client was up are sent first",
  );
  server.dataReceived(enc("up"));
  client.dataReceived(enc("down"));
  assert.equal(dec(clientTransport.value()), "early up");
  assert.equal(dec(serverTransport.value()), "down");
});

Deno.test("ProxyProtocol closes the other side when one side is lost", async (t) => {
  await t.step("server side lost", () => {
    const { server, record } = pair();
    const { clientTransport } = connectClient(record);
    server.connectionLost(new Failure(new ConnectionDone()));
    assert.equal(clientTransport.disconnecting, true);
  });
  await t.step("client side lost", () => {
    const { serverTransport, record } = pair();
    const { client } = connectClient(record);
    client.connectionLost(new Failure(new ConnectionDone()));
    assert.equal(serverTransport.disconnecting, true);
  });
});

Deno.test("ProxyClientFactory closes the server side when the outgoing connection fails", () => {
  const { serverTransport, record } = pair();
  (record.factory as ProxyClientFactory).clientConnectionFailed(
    record.connector,
    new Failure(new ConnectionRefusedError("192.0.2.5:8000")),
  );
  assert.equal(serverTransport.disconnecting, true);
});

Deno.test("ProxyServer lost before its client connects abandons the attempt and closes a late client", () => {
  const { server, record } = pair();
  let stopped = 0;
  record.connector.disconnect = () => void stopped++;
  server.connectionLost(new Failure(new ConnectionDone()));
  assert.equal(stopped, 1);
  const { clientTransport } = connectClient(record);
  assert.equal(clientTransport.disconnecting, true);
  assert.equal(clientTransport.producer, undefined);
});

Deno.test("ProxyFactory refuses a bad host or port", () => {
  assert.throws(
    () => new ProxyFactory("", 80),
    /Cannot forward to host "": it must be a non-empty string/,
  );
  for (const port of [0, 65536, 1.5, Number.NaN]) {
    assert.throws(
      () => new ProxyFactory("127.0.0.1", port),
      /Cannot forward to port .*: it must be an integer 1-65535/,
    );
  }
});

// ------------------------------------------------------------ real sockets

async function readAtLeastLine(
  reader: ReadableStreamDefaultReader<Uint8Array>,
): Promise<string> {
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await within(
      WAIT,
      "the forwarder to start",
      reader.read(),
    );
    if (done) throw new Error(`The forwarder exited: ${text}`);
    text += dec(value);
  }
  return text;
}

function rssKiB(pid: number): number {
  // Deno asks for --allow-all to read /proc directly; cat needs only --allow-run.
  const status = dec(
    new Deno.Command("cat", { args: [`/proc/${pid}/status`] }).outputSync()
      .stdout,
  );
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]);
}

const TOTAL = 100 * 1024 * 1024;

/** Writes `TOTAL` bytes of a counting pattern to `conn` as fast as it takes them, then closes its writing half. */
async function writeFast(conn: Deno.Conn): Promise<void> {
  const chunk = new Uint8Array(1 << 20);
  for (let i = 0; i < chunk.length; i++) chunk[i] = i % 251;
  for (let sent = 0; sent < TOTAL; sent += chunk.length) {
    let off = 0;
    while (off < chunk.length) off += await conn.write(chunk.subarray(off));
  }
  await conn.closeWrite();
}

/**
 * Reads `TOTAL` bytes slowly (a pause after every 64 KiB read), checking
 * the pattern, and samples the forwarder's RSS; returns the peak growth
 * over the RSS once the first MiB was through.
 */
async function readSlowly(conn: Deno.Conn, pid: number): Promise<number> {
  const buf = new Uint8Array(64 * 1024);
  let got = 0;
  let baseline = 0;
  let peak = 0;
  let reads = 0;
  while (got < TOTAL) {
    const n = await conn.read(buf);
    if (n === null) throw new Error(`EOF after ${got} of ${TOTAL} bytes`);
    for (let i = 0; i < n; i += 4099) {
      assert.equal(buf[i], (got + i) % (1 << 20) % 251, `byte ${got + i}`);
    }
    got += n;
    if (baseline === 0 && got >= 1 << 20) baseline = rssKiB(pid);
    if (baseline !== 0 && ++reads % 32 === 0) {
      peak = Math.max(peak, rssKiB(pid) - baseline);
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  return peak;
}

Deno.test("ProxyFactory forwards 100 MB each way to a slow reader with the forwarder's memory bounded", async (t) => {
  // The far end: a raw Deno server; the test decides per connection
  // whether it writes fast or reads slowly.
  const target = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net=127.0.0.1",
      "--allow-env",
      "--v8-flags=--expose-gc",
      new URL("./_portforward_child.ts", import.meta.url).pathname,
      String(target.addr.port),
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const out = child.stdout.getReader();
  try {
    const port = Number(
      /listening on (\d+)/.exec(await readAtLeastLine(out))?.[1],
    );
    assert.ok(port > 0);

    await t.step("far end writes fast, client reads slowly", async () => {
      const client = await Deno.connect({ hostname: "127.0.0.1", port });
      const far = await within(
        WAIT,
        "the forwarded connection",
        target.accept(),
      );
      try {
        const [peak] = await within(
          120_000,
          "100 MB through the forwarder",
          Promise.all([readSlowly(client, child.pid), writeFast(far)]),
        );
        console.log(
          `forwarder RSS growth, far end -> slow client: ${
            (peak / 1024).toFixed(1)
          } MiB`,
        );
        assert.ok(peak < 30 * 1024, `RSS grew by ${peak} KiB`);
        assert.equal(
          await client.read(new Uint8Array(1)),
          null,
          "EOF follows the data",
        );
      } finally {
        client.close();
        far.close();
      }
    });

    await t.step("client writes fast, far end reads slowly", async () => {
      const client = await Deno.connect({ hostname: "127.0.0.1", port });
      const far = await within(
        WAIT,
        "the forwarded connection",
        target.accept(),
      );
      try {
        const [peak] = await within(
          120_000,
          "100 MB through the forwarder",
          Promise.all([readSlowly(far, child.pid), writeFast(client)]),
        );
        console.log(
          `forwarder RSS growth, client -> slow far end: ${
            (peak / 1024).toFixed(1)
          } MiB`,
        );
        assert.ok(peak < 30 * 1024, `RSS grew by ${peak} KiB`);
      } finally {
        client.close();
        far.close();
      }
    });
  } finally {
    target.close();
    child.kill("SIGTERM");
    await within(WAIT, "the forwarder to exit", child.status);
    await out.cancel();
  }
});

Deno.test("ProxyFactory closes the client when the far end refuses", async () => {
  const closed = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const deadPort = closed.addr.port;
  closed.close();
  const forwarder = reactor.listenTCP(
    0,
    new ProxyFactory("127.0.0.1", deadPort),
    { interface: "127.0.0.1" },
  );
  try {
    const conn = await Deno.connect({
      hostname: "127.0.0.1",
      port: (forwarder.getHost() as TCPAddress).port,
    });
    try {
      await conn.write(enc("anyone?"));
      assert.equal(
        await within(WAIT, "the close", conn.read(new Uint8Array(8))),
        null,
      );
    } finally {
      conn.close();
    }
  } finally {
    await forwarder.stopListening();
  }
});

Deno.test("ProxyFactory relays both ways over real sockets and passes the far end's close on", async () => {
  const target = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const forwarder = reactor.listenTCP(
    0,
    new ProxyFactory("127.0.0.1", target.addr.port),
    { interface: "127.0.0.1" },
  );
  try {
    const conn = await Deno.connect({
      hostname: "127.0.0.1",
      port: (forwarder.getHost() as TCPAddress).port,
    });
    const far = await within(WAIT, "the forwarded connection", target.accept());
    try {
      await conn.write(enc("hello far"));
      assert.equal(
        dec(await within(WAIT, "bytes at the far end", readExactly(far, 9))),
        "hello far",
      );
      await far.write(enc("hello near"));
      assert.equal(
        dec(await within(WAIT, "bytes at the client", readExactly(conn, 10))),
        "hello near",
      );
      far.close();
      assert.equal(
        await within(WAIT, "the close", conn.read(new Uint8Array(8))),
        null,
      );
    } finally {
      conn.close();
    }
  } finally {
    target.close();
    await forwarder.stopListening();
  }
});
