// Every example of examples/README.md, run as a user runs it: a child
// process with the permissions its header names, bounded in time, its
// output asserted. (examples/finger.ts has its own file.)
import assert from "node:assert/strict";
import { testCerts } from "../reactor/net/_tls_certs.ts";
import { decode, encode, readAll, within } from "../_helpers.ts";
import { ask, run, Server } from "./_run.ts";

const NET = "--allow-net=127.0.0.1";

/** Asserts a clean exit with exactly `stdout` and nothing on stderr. */
async function prints(args: string[], stdout: string): Promise<void> {
  const out = await run(args);
  assert.equal(out.stderr, "");
  assert.equal(out.code, 0);
  assert.equal(out.stdout, stdout);
}

Deno.test("examples/deferred_chain.ts: extra arguments, and fail/recover from the talk", async () => {
  await prints(
    ["run", "examples/deferred_chain.ts"],
    [
      "chain result: 42",
      "after callback(20)",
      "recovered: Error: failed on 1",
      "still failing: too far",
      "",
    ].join("\n"),
  );
});

Deno.test("examples/nested_x.ts: nested, chained, inlineCallbacks and async versions agree", async () => {
  const lines = [];
  for (const name of ["xNested", "xChained", "xInline", "xAsync"]) {
    lines.push(`${name}: moshez (#1): Happy and well`);
    lines.push(`${name}: failed: No such user: nobody`);
  }
  await prints(["run", "examples/nested_x.ts"], lines.join("\n") + "\n");
});

Deno.test("examples/reactor_api.ts: iterate, callWhenRunning, callLater (cancel, reset) and stop, in order", async () => {
  await prints(
    ["run", "examples/reactor_api.ts"],
    [
      "iterate: the early call ran: true",
      "callWhenRunning: the reactor is running",
      "callLater(0.02): cancelled the 0.05 s call",
      "callLater(10) moved to 0.04 s: ran within 1 s: true",
      "stop: asking the reactor to stop",
      "shutdown trigger: before",
      "run() resolved: the reactor has stopped",
      "",
    ].join("\n"),
  );
});

Deno.test("examples/coroutines.ts: inlineCallbacks waits and catches; cooperate interleaves", async () => {
  await prints(
    ["run", "examples/coroutines.ts"],
    [
      "inlineCallbacks: got 1",
      "inlineCallbacks: got 2 later",
      "inlineCallbacks: caught: lookup failed",
      "cooperate: a1 b1 a2 b2 a3 b3",
      "",
    ].join("\n"),
  );
});

Deno.test("examples/threads.ts: deferToThread computes in a worker while the reactor ticks", async () => {
  await prints(
    ["run", "--allow-read", "examples/threads.ts", "27"],
    [
      "fib(27) = 196418",
      "the reactor kept running: true",
      "",
    ].join("\n"),
  );
  const bad = await run(["run", "--allow-read", "examples/threads.ts", "x"]);
  assert.equal(bad.code, 2);
  assert.equal(bad.stderr, "threads: N must be an integer from 0 to 40\n");
});

Deno.test("examples/echo_server.ts and echo_client.ts: TCP echo between two processes", async () => {
  const server = new Server(["run", NET, "examples/echo_server.ts", "0"]);
  try {
    const [, port] = await server.waitFor(/listening on (\d+)/);
    const out = await run([
      "run",
      NET,
      "examples/echo_client.ts",
      port,
      "hello",
      "world",
    ]);
    assert.equal(out.stderr, "");
    assert.equal(out.stdout, "hello world\n");
    assert.equal(out.code, 0);
  } finally {
    const { code, other } = await server.stop();
    assert.equal(code, 0, other);
  }
});

Deno.test("examples/echo_server.ts --timeout drops a silent peer, keeps a talking one", async () => {
  const server = new Server([
    "run",
    NET,
    "examples/echo_server.ts",
    "0",
    "--timeout",
    "1",
  ]);
  try {
    const [, port] = await server.waitFor(/listening on (\d+)/);
    const silent = await Deno.connect({ hostname: "127.0.0.1", port: +port });
    const started = performance.now();
    const got = await within(10_000, "the hang-up", readAll(silent));
    const waited = performance.now() - started;
    silent.close();
    assert.equal(got.length, 0);
    assert.ok(waited >= 900, `dropped after ${waited} ms, before 1 s`);
    assert.ok(waited < 8_000, `dropped only after ${waited} ms`);
    // A peer that keeps talking (every 0.3 s, for well over two periods)
    // is never dropped. The interval only paces the writes.
    const talker = await Deno.connect({ hostname: "127.0.0.1", port: +port });
    try {
      for (let i = 0; i < 8; i++) {
        await talker.write(encode(`${i}`));
        const buf = new Uint8Array(1);
        assert.equal(await within(5_000, "the echo", talker.read(buf)), 1);
        assert.equal(decode(buf), `${i}`);
        await new Promise((resolve) => setTimeout(resolve, 300));
      }
    } finally {
      talker.close();
    }
  } finally {
    await server.stop();
  }
});

Deno.test("examples/udp_echo.ts: each datagram comes back to its sender", async () => {
  const server = new Server(["run", NET, "examples/udp_echo.ts", "0"]);
  const client = Deno.listenDatagram({
    transport: "udp",
    hostname: "127.0.0.1",
    port: 0,
  });
  try {
    const [, port] = await server.waitFor(/listening on (\d+)/);
    await client.send(encode("ping"), {
      transport: "udp",
      hostname: "127.0.0.1",
      port: +port,
    });
    const [data] = await within(10_000, "the echo", client.receive());
    assert.equal(decode(data), "ping");
  } finally {
    client.close();
    await server.stop();
  }
});

Deno.test("examples/udp_time.ts: serve and query RFC 868 time", async () => {
  const server = new Server(["run", NET, "examples/udp_time.ts", "serve", "0"]);
  try {
    const [, port] = await server.waitFor(/listening on (\d+)/);
    const before = Math.floor(Date.now() / 1000) * 1000;
    const out = await run([
      "run",
      NET,
      "examples/udp_time.ts",
      "query",
      "127.0.0.1",
      port,
    ]);
    assert.equal(out.code, 0, out.stderr);
    const when = Date.parse(out.stdout.trim());
    assert.match(out.stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z\n$/);
    assert.ok(when >= before && when <= Date.now(), out.stdout);
  } finally {
    await server.stop();
  }
});

Deno.test("examples/tls_echo.ts: echo over TLS with a throwaway certificate", async () => {
  const certs = await testCerts();
  if (certs === null) return; // testCerts printed why
  await prints([
    "run",
    NET,
    "--allow-read",
    "examples/tls_echo.ts",
    certs.certFile,
    certs.keyFile,
    certs.caFile,
  ], "echoed over TLS: hello over TLS\n");
  // Trusting the wrong CA: one line, exit 1.
  const bad = await run([
    "run",
    NET,
    "--allow-read",
    "examples/tls_echo.ts",
    certs.certFile,
    certs.keyFile,
    certs.otherCaFile,
  ]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /^tls_echo: .*UnknownIssuer.*\n$/);
});

Deno.test("examples/service_tree.ts under the runner: starts in order, serves, stops in reverse", async () => {
  const server = new Server([
    "run",
    NET,
    "--allow-read",
    "--allow-env",
    "application/twistd.ts",
    "examples/service_tree.ts",
    "--port",
    "0",
  ], { watch: "stderr" });
  let log = "";
  try {
    const [, tcp] = await server.waitFor(
      /TCPServer listening on 127\.0\.0\.1:(\d+)/,
    );
    await server.waitFor(/service_tree started/);
    assert.equal(
      await ask(+tcp, "over TCP", { closeWrite: true }),
      "over TCP",
    );
  } finally {
    const { code, watched } = await server.stop();
    log = watched;
    assert.equal(code, 0, watched);
  }
  const order = [
    "announcer: started",
    "TCPServer listening",
    "UDPServer listening",
    "service_tree started",
    "announcer: stopping",
    "announcer: stopped",
    "Stopped",
  ].map((what) => {
    const at = log.indexOf(what);
    assert.notEqual(at, -1, `${what} missing from:\n${log}`);
    return at;
  });
  assert.deepEqual(order, [...order].sort((a, b) => a - b), log);
});

Deno.test("the example servers on a port in use print one line and exit 1", async (t) => {
  const tcp = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const udp = Deno.listenDatagram({
    transport: "udp",
    hostname: "127.0.0.1",
    port: 0,
  });
  const udpPort = (udp.addr as Deno.NetAddr).port;
  try {
    const cases: [string, string[], number][] = [
      ["echo_server", ["examples/echo_server.ts"], tcp.addr.port],
      ["udp_echo", ["examples/udp_echo.ts"], udpPort],
      ["udp_time", ["examples/udp_time.ts", "serve"], udpPort],
    ];
    for (const [name, args, port] of cases) {
      await t.step(name, async () => {
        const out = await run(["run", NET, ...args, String(port)]);
        assert.equal(out.code, 1);
        assert.match(
          out.stderr,
          new RegExp(
            `^${name}: Cannot listen on 127\\.0\\.0\\.1:${port}: .*in use.*\\n$`,
          ),
        );
        assert.equal(out.stdout, "");
      });
    }
  } finally {
    tcp.close();
    udp.close();
  }
});

Deno.test("examples/README.md gives every example a line with a command to run it", async () => {
  const index = await Deno.readTextFile(
    new URL("../../examples/README.md", import.meta.url),
  );
  const lines = index.split("\n");
  const folder = new URL("../../examples/", import.meta.url);
  let seen = 0;
  for await (const entry of Deno.readDir(folder)) {
    if (!entry.name.endsWith(".ts") || entry.name.startsWith("_")) continue;
    // A linked name, or a plain code name (examples/README.md lists two
    // examples other branches add, by name until they arrive).
    const row = lines.find((l) =>
      l.includes(`[${entry.name}](${entry.name})`) ||
      l.startsWith(`| \`${entry.name}\``)
    );
    assert.ok(
      row !== undefined,
      `examples/README.md has no line for ${entry.name}`,
    );
    assert.match(row, /`deno (run|task) [^`]+`/, entry.name);
    seen++;
  }
  assert.ok(seen >= 13, `only ${seen} examples found`);
});
