import assert from "node:assert/strict";
import { Deferred } from "../../deferred/deferred.ts";
import { Failure } from "../../deferred/failure.ts";
import {
  SOCKS_GRANTED,
  SOCKS_REJECTED,
  type SOCKSReactor,
  SOCKSv4,
  SOCKSv4Factory,
} from "../../protocols/socks.ts";
import {
  ConnectionDone,
  ConnectionRefusedError,
} from "../../reactor/errors.ts";
import type { IAddress, IProtocol } from "../../reactor/interfaces.ts";
import { reactor } from "../../reactor/reactor.ts";
import { captureLogs } from "../../testing/logs.ts";
import { MemoryReactor } from "../../testing/memory_reactor.ts";
import { StringTransport } from "../../testing/string_transport.ts";
import {
  decode,
  encode,
  hasCommand,
  readAll,
  readExactly,
  within,
} from "../_helpers.ts";

const CLIENT: IAddress = { type: "TCP", host: "127.0.0.1", port: 40000 };

/** A SOCKS 4 request: CONNECT (1) or BIND (2) to ip:port as `user`. */
function request(
  code: number,
  ip: number[],
  port: number,
  user: string,
  host?: string,
): Uint8Array {
  return new Uint8Array([
    4,
    code,
    port >> 8,
    port & 0xff,
    ...ip,
    ...encode(user),
    0,
    ...(host === undefined ? [] : [...encode(host), 0]),
  ]);
}

function reply(code: number, port = 0, ip = [0, 0, 0, 0]): number[] {
  return [0, code, port >> 8, port & 0xff, ...ip];
}

function socks(): {
  proto: SOCKSv4;
  client: StringTransport;
  memory: MemoryReactor;
} {
  const memory = new MemoryReactor();
  const proto = new SOCKSv4Factory(null, memory).buildProtocol(CLIENT);
  const client = new StringTransport();
  proto.makeConnection(client);
  return { proto, client, memory };
}

function feed(proto: IProtocol, bytes: Uint8Array, size: number): void {
  for (let i = 0; i < bytes.length; i += size) {
    proto.dataReceived(bytes.subarray(i, i + size));
  }
}

/** Connects the recorded connectTCP: the destination answers. */
function destinationUp(
  memory: MemoryReactor,
  index = 0,
): StringTransport {
  const { host, port, factory } = memory.tcpClients[index];
  const dest = new StringTransport({
    peerAddress: { type: "TCP", host: "10.1.2.3", port },
  });
  factory.buildProtocol({ type: "TCP", host, port })!.makeConnection(dest);
  return dest;
}

// ------------------------------------------------- parsing and relay

Deno.test("SOCKSv4 parses a CONNECT split at every chunk size, replies once connected, and relays both ways", () => {
  using _logs = captureLogs();
  const wire = new Uint8Array([
    ...request(1, [10, 1, 2, 3], 8080, "alice"),
    ...encode("early bytes"),
  ]);
  for (let size = 1; size <= wire.length; size++) {
    const { proto, client, memory } = socks();
    feed(proto, wire, size);
    assert.equal(memory.tcpClients.length, 1, `size ${size}`);
    const { host, port } = memory.tcpClients[0];
    assert.deepEqual([host, port], ["10.1.2.3", 8080]);
    assert.equal(client.value().length, 0, "no reply before connecting");
    assert.equal(
      client.producerState,
      "paused",
      "reading waits for the destination",
    );
    const dest = destinationUp(memory);
    assert.deepEqual(
      [...client.value()],
      reply(SOCKS_GRANTED, 8080, [10, 1, 2, 3]),
    );
    assert.equal(decode(dest.value()), "early bytes", `size ${size}`);
    assert.equal(client.producerState, "producing");
    // Each side is the other's producer.
    assert.equal(dest.producer, client);
    assert.equal(client.producer, dest);
    proto.dataReceived(encode("more"));
    assert.equal(decode(dest.value()), "early bytesmore");
  }
});

Deno.test("SOCKSv4 relays the destination's bytes to the client and closes each side with the other", () => {
  using _logs = captureLogs();
  const { proto, client, memory } = socks();
  proto.dataReceived(request(1, [10, 1, 2, 3], 80, ""));
  const { host, port, factory } = memory.tcpClients[0];
  const relay = factory.buildProtocol({ type: "TCP", host, port })!;
  const dest = new StringTransport();
  relay.makeConnection(dest);
  client.clear();
  relay.dataReceived(encode("HTTP/1.0 200 OK\r\n"));
  assert.equal(decode(client.value()), "HTTP/1.0 200 OK\r\n");
  relay.connectionLost(new Failure(new ConnectionDone()));
  assert.equal(client.disconnecting, true);
  assert.equal(client.producer, undefined, "producers detached");
  // And the other way round.
  const second = socks();
  second.proto.dataReceived(request(1, [10, 1, 2, 3], 80, ""));
  const dest2 = destinationUp(second.memory);
  second.proto.connectionLost(new Failure(new ConnectionDone()));
  assert.equal(dest2.disconnecting, true);
});

Deno.test("SOCKSv4 hands a v4a host name to connectTCP, at every chunk size", () => {
  using _logs = captureLogs();
  const wire = request(1, [0, 0, 0, 1], 443, "bob", "example.test");
  for (let size = 1; size <= wire.length; size++) {
    const { proto, memory } = socks();
    feed(proto, wire, size);
    assert.equal(memory.tcpClients.length, 1, `size ${size}`);
    assert.equal(memory.tcpClients[0].host, "example.test");
    assert.equal(memory.tcpClients[0].port, 443);
  }
});

Deno.test("SOCKSv4 closes without a reply on a version other than 4", () => {
  using logs = captureLogs();
  for (const first of [5, 0, 3]) {
    const { proto, client, memory } = socks();
    proto.dataReceived(new Uint8Array([first, 1, 0, 80]));
    assert.equal(client.disconnecting, true);
    assert.equal(client.value().length, 0);
    proto.dataReceived(request(1, [1, 2, 3, 4], 80, ""));
    assert.equal(memory.tcpClients.length, 0);
  }
  assert.match(logs.messages[0], /version 5 is not 4/);
});

Deno.test("SOCKSv4 rejects an overlong user id or host name with 0x5B, without waiting for the NUL", () => {
  using logs = captureLogs();
  for (const size of [1, 7, 300]) {
    const { proto, client, memory } = socks();
    const wire = request(1, [1, 2, 3, 4], 80, "u".repeat(400));
    feed(proto, wire.subarray(0, 8 + 256), size); // no NUL yet
    assert.deepEqual(
      [...client.value()],
      reply(SOCKS_REJECTED),
      `size ${size}`,
    );
    assert.equal(client.disconnecting, true);
    assert.equal(memory.tcpClients.length, 0);
  }
  {
    const { proto, memory } = socks();
    proto.dataReceived(request(1, [1, 2, 3, 4], 80, "u".repeat(255)));
    assert.equal(memory.tcpClients.length, 1, "255 bytes is allowed");
  }
  {
    const { proto, client } = socks();
    const wire = request(1, [0, 0, 0, 9], 80, "me", "h".repeat(300));
    feed(proto, wire, 1);
    assert.deepEqual([...client.value()], reply(SOCKS_REJECTED));
  }
  {
    const { proto, client } = socks();
    proto.dataReceived(request(1, [0, 0, 0, 9], 80, "me", ""));
    assert.deepEqual([...client.value()], reply(SOCKS_REJECTED));
  }
  assert.match(logs.messages.join("\n"), /the user id is over 255 bytes/);
  assert.match(logs.messages.join("\n"), /the host name is over 255 bytes/);
  assert.match(logs.messages.join("\n"), /the v4a host name is empty/);
});

Deno.test("SOCKSv4 rejects an unknown command, an unauthorized request, and a failed connect", () => {
  using logs = captureLogs();
  {
    const { proto, client, memory } = socks();
    proto.dataReceived(request(3, [1, 2, 3, 4], 80, ""));
    assert.deepEqual([...client.value()], reply(SOCKS_REJECTED));
    assert.equal(memory.tcpClients.length, 0);
  }
  {
    class Strict extends SOCKSv4 {
      seen: unknown[] = [];
      override authorize(
        code: number,
        server: string,
        port: number,
        user: string,
      ): boolean {
        this.seen.push([code, server, port, user]);
        return user === "root";
      }
    }
    const memory = new MemoryReactor();
    const proto = new Strict(null, memory);
    const client = new StringTransport();
    proto.makeConnection(client);
    proto.dataReceived(request(1, [0, 0, 0, 1], 22, "guest", "db.test"));
    assert.deepEqual(proto.seen, [[1, "db.test", 22, "guest"]]);
    assert.deepEqual([...client.value()], reply(SOCKS_REJECTED));
    assert.equal(memory.tcpClients.length, 0);
  }
  {
    const { proto, client, memory } = socks();
    proto.dataReceived(request(1, [127, 0, 0, 1], 1, ""));
    const { factory, connector } = memory.tcpClients[0];
    factory.clientConnectionFailed(
      connector,
      new Failure(new ConnectionRefusedError()),
    );
    assert.deepEqual([...client.value()], reply(SOCKS_REJECTED));
    assert.equal(client.disconnecting, true);
  }
  assert.match(logs.messages.join("\n"), /command 3 is neither CONNECT/);
  assert.match(logs.messages.join("\n"), /cannot connect: .*refused/i);
});

Deno.test("SOCKSv4 abandons the connect when the client leaves first", () => {
  using _logs = captureLogs();
  const { proto, memory } = socks();
  proto.dataReceived(request(1, [10, 0, 0, 1], 80, ""));
  proto.connectionLost(new Failure(new ConnectionDone()));
  assert.equal(memory.tcpClients[0].connector.disconnected, true);
  // A connection that completes anyway is closed at once.
  const dest = destinationUp(memory);
  assert.equal(dest.disconnecting, true);
});

Deno.test("SOCKSv4 BIND listens, replies with the port, and relays the expected host's connection", () => {
  using _logs = captureLogs();
  const memory = new MemoryReactor();
  const proto = new SOCKSv4(null, memory);
  const client = new StringTransport({
    hostAddress: { type: "TCP", host: "127.0.0.1", port: 1080 },
  });
  proto.makeConnection(client);
  proto.dataReceived(request(2, [10, 9, 8, 7], 21, "ftp"));
  const server = memory.tcpServers[0];
  assert.equal(server.port, 0);
  assert.equal(server.options.interface, "127.0.0.1");
  const bound = server.listeningPort.getHost() as { port: number };
  assert.deepEqual(
    [...client.value()],
    reply(SOCKS_GRANTED, bound.port, [127, 0, 0, 1]),
  );
  client.clear();
  const from = { type: "TCP" as const, host: "10.9.8.7", port: 20 };
  const relay = server.factory.buildProtocol(from)!;
  const incoming = new StringTransport({ peerAddress: from });
  relay.makeConnection(incoming);
  assert.deepEqual(
    [...client.value()],
    reply(SOCKS_GRANTED, 20, [10, 9, 8, 7]),
  );
  assert.equal(server.listeningPort.listening, false);
  relay.dataReceived(encode("data"));
  assert.equal(decode(client.value()).slice(8), "data");
  proto.dataReceived(encode("ack"));
  assert.equal(decode(incoming.value()), "ack");
  assert.equal(server.factory.buildProtocol(from), null, "one connection only");
});

Deno.test("SOCKSv4 BIND rejects a connection from another host", () => {
  using _logs = captureLogs();
  const { proto, client, memory } = socks();
  proto.dataReceived(request(2, [10, 9, 8, 7], 21, ""));
  client.clear();
  const server = memory.tcpServers[0];
  const stranger = { type: "TCP" as const, host: "10.6.6.6", port: 20 };
  assert.equal(server.factory.buildProtocol(stranger), null);
  assert.deepEqual([...client.value()], reply(SOCKS_REJECTED));
  assert.equal(client.disconnecting, true);
  assert.equal(server.listeningPort.listening, false);
});

Deno.test("SOCKSv4 logging appends a hex dump of relayed bytes to its file", () => {
  using _logs = captureLogs();
  const file = Deno.makeTempFileSync({ suffix: ".log" });
  try {
    const memory = new MemoryReactor();
    const proto = new SOCKSv4Factory(file, memory).buildProtocol(CLIENT);
    proto.makeConnection(new StringTransport());
    proto.dataReceived(request(1, [10, 1, 2, 3], 80, ""));
    destinationUp(memory);
    proto.dataReceived(encode("GET / HTTP/1.0\r\n"));
    const text = Deno.readTextFileSync(file);
    assert.match(text, /127\.0\.0\.1:54321 > 10\.1\.2\.3:80\n/);
    assert.match(
      text,
      /47 45 54 20 2f 20 48 54 54 50 2f 31 2e 30 0d 0a +GET \/ HTTP\/1\.0\.\.\n/,
    );
  } finally {
    Deno.removeSync(file);
  }
});

Deno.test("SOCKSv4 and SOCKSv4Factory use the global reactor by default and refuse one that cannot connect", () => {
  assert.equal(new SOCKSv4Factory().reactor, reactor);
  assert.equal(new SOCKSv4(null).reactor, reactor);
  const notAReactor = {} as SOCKSReactor;
  assert.throws(
    () => new SOCKSv4Factory(null, notAReactor),
    /Cannot make SOCKSv4Factory: the reactor given has no connectTCP\/listenTCP/,
  );
  assert.throws(
    () => new SOCKSv4(null, notAReactor),
    /Cannot make SOCKSv4: the reactor given/,
  );
});

// ------------------------------------------------- real peers

/** A python3 http.server on a free loopback port serving `dir`. */
async function startHttpServer(
  dir: string,
): Promise<{ port: number; stop(): Promise<void> }> {
  const child = new Deno.Command("python3", {
    args: [
      "-u",
      "-m",
      "http.server",
      "0",
      "--bind",
      "127.0.0.1",
      "--directory",
      dir,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const stop = async () => {
    try {
      child.kill("SIGTERM");
    } catch { /* exited already */ }
    await within(10_000, "http.server to exit", child.status);
  };
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let seen = "";
  const port = await within(
    20_000,
    "http.server to listen",
    (async () => {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`http.server exited: ${seen}`);
        seen += value;
        const m = seen.match(/port (\d+)/);
        if (m) return Number(m[1]);
      }
    })(),
  ).catch(async (error) => {
    await reader.cancel();
    await stop();
    throw error;
  });
  return {
    port,
    stop: async () => {
      await reader.cancel();
      await stop();
    },
  };
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function curl(args: string[]): Promise<Deno.CommandOutput> {
  return await within(
    20_000,
    `curl ${args.join(" ")}`,
    new Deno.Command("curl", {
      args: ["-sS", "--max-time", "10", ...args],
      env: { http_proxy: "", https_proxy: "", all_proxy: "", no_proxy: "" },
      stdout: "piped",
      stderr: "piped",
    }).output(),
  );
}

async function withProxy(
  body: (socksPort: number) => Promise<void>,
): Promise<void> {
  const port = reactor.listenTCP(0, new SOCKSv4Factory(null, reactor), {
    interface: "127.0.0.1",
  });
  try {
    await body((port.getHost() as { port: number }).port);
  } finally {
    await port.stopListening();
  }
}

/** Sends a raw SOCKS request and reads the 8-byte reply. */
async function rawRequest(
  socksPort: number,
  wire: Uint8Array,
): Promise<number[]> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: socksPort });
  try {
    await conn.write(wire);
    const answer = await within(
      10_000,
      "the SOCKS reply",
      readExactly(conn, 8),
    );
    // A rejection is followed by the close.
    assert.equal((await within(10_000, "the close", readAll(conn))).length, 0);
    return [...answer];
  } finally {
    conn.close();
  }
}

function skipReason(): string | undefined {
  if (!hasCommand("curl")) return "curl is not installed";
  if (!hasCommand("python3")) return "python3 is not installed";
  return undefined;
}

Deno.test("curl --socks4 and --socks4a fetch a file from python3's http.server through SOCKSv4", async () => {
  const why = skipReason();
  if (why !== undefined) return console.log(`skipped: ${why}`);
  using _logs = captureLogs();
  const dir = Deno.makeTempDirSync();
  const body = "hello through SOCKS\n".repeat(5000); // 100 kB
  Deno.writeTextFileSync(`${dir}/hello.txt`, body);
  const http = await startHttpServer(dir);
  try {
    await withProxy(async (socksPort) => {
      const v4 = await curl([
        "--socks4",
        `127.0.0.1:${socksPort}`,
        `http://127.0.0.1:${http.port}/hello.txt`,
      ]);
      assert.equal(v4.code, 0, decode(v4.stderr));
      assert.equal(decode(v4.stdout), body);
      const v4a = await curl([
        "--socks4a",
        `127.0.0.1:${socksPort}`,
        `http://localhost:${http.port}/hello.txt`,
      ]);
      assert.equal(v4a.code, 0, decode(v4a.stderr));
      assert.equal(decode(v4a.stdout), body);
    });
  } finally {
    await http.stop();
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a refused port is answered with 0x5B, and curl reports the rejection", async () => {
  const why = skipReason();
  if (why !== undefined) return console.log(`skipped: ${why}`);
  using _logs = captureLogs();
  await withProxy(async (socksPort) => {
    const closed = freePort();
    assert.deepEqual(
      await rawRequest(socksPort, request(1, [127, 0, 0, 1], closed, "")),
      reply(SOCKS_REJECTED),
    );
    const refused = await curl([
      "--socks4",
      `127.0.0.1:${socksPort}`,
      `http://127.0.0.1:${closed}/`,
    ]);
    assert.notEqual(refused.code, 0);
    assert.match(decode(refused.stderr), /rejected|failed/i);
  });
});

Deno.test("an unresolvable v4a host name (a real DNS failure) is answered with 0x5B", async () => {
  const why = skipReason();
  if (why !== undefined) return console.log(`skipped: ${why}`);
  // The proxy runs in its own process with unrestricted --allow-net: here
  // the name would fail Deno's permission check before any lookup.
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      new URL("./_socks_server.ts", import.meta.url).pathname,
    ],
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stderr = new Response(child.stderr).text();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    let seen = "";
    const socksPort = await within(
      20_000,
      "the proxy to listen",
      (async () => {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) throw new Error(`the proxy exited: ${seen}`);
          seen += value;
          const m = seen.match(/listening on (\d+)/);
          if (m) return Number(m[1]);
        }
      })(),
    );
    assert.deepEqual(
      await rawRequest(
        socksPort,
        request(1, [0, 0, 0, 1], 80, "", "no-such-host.invalid"),
      ),
      reply(SOCKS_REJECTED),
    );
    const unresolvable = await curl([
      "--socks4a",
      `127.0.0.1:${socksPort}`,
      "http://no-such-host.invalid/",
    ]);
    assert.notEqual(unresolvable.code, 0);
    assert.match(decode(unresolvable.stderr), /rejected|failed/i);
  } finally {
    await reader.cancel();
    child.kill("SIGTERM");
    await within(10_000, "the proxy to exit", child.status);
    const log = await stderr;
    assert.match(log, /DNS lookup failed for no-such-host\.invalid/);
  }
});

Deno.test("SOCKSv4 BIND over loopback: the expected host connects back and bytes flow both ways", async () => {
  using _logs = captureLogs();
  await withProxy(async (socksPort) => {
    const control = await Deno.connect({
      hostname: "127.0.0.1",
      port: socksPort,
    });
    let back: Deno.Conn | undefined;
    try {
      await control.write(request(2, [127, 0, 0, 1], 0, "ftp"));
      const first = await within(
        10_000,
        "the BIND reply",
        readExactly(control, 8),
      );
      assert.equal(first[1], SOCKS_GRANTED);
      assert.deepEqual([...first.subarray(4)], [127, 0, 0, 1]);
      const port = (first[2] << 8) | first[3];
      back = await Deno.connect({ hostname: "127.0.0.1", port });
      const second = await within(
        10_000,
        "the second reply",
        readExactly(control, 8),
      );
      assert.equal(second[1], SOCKS_GRANTED);
      await back.write(encode("from the server"));
      assert.equal(
        decode(await within(10_000, "relayed data", readExactly(control, 15))),
        "from the server",
      );
      await control.write(encode("to it"));
      assert.equal(
        decode(await within(10_000, "relayed back", readExactly(back, 5))),
        "to it",
      );
      back.close();
      back = undefined;
      // The relay closes the client's side once the peer is gone.
      assert.equal(
        (await within(10_000, "the close", readAll(control))).length,
        0,
      );
    } finally {
      back?.close();
      control.close();
    }
  });
});

Deno.test("the relay keeps both directions when the destination closes first", async () => {
  // A destination that writes a greeting then closes: the client gets it all.
  using _logs = captureLogs();
  const closed = new Deferred<void>();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const served = (async () => {
    const conn = await listener.accept();
    await conn.write(encode("x".repeat(200_000)));
    conn.close();
    closed.callback();
  })();
  try {
    await withProxy(async (socksPort) => {
      const port = (listener.addr as Deno.NetAddr).port;
      const conn = await Deno.connect({
        hostname: "127.0.0.1",
        port: socksPort,
      });
      try {
        await conn.write(request(1, [127, 0, 0, 1], port, ""));
        const all = await within(10_000, "the relayed data", readAll(conn));
        assert.deepEqual([...all.subarray(0, 2)], [0, SOCKS_GRANTED]);
        assert.equal(all.length, 8 + 200_000);
      } finally {
        conn.close();
      }
    });
  } finally {
    await served;
    await closed;
    listener.close();
  }
});
