// Fault: clients that never read, and many idle clients. Memory is the
// server child's RSS (/proc/PID/status).
import assert from "node:assert/strict";
import {
  ClientsChild,
  connect,
  pythonMissing,
  readToEOF,
  startServer,
  within,
} from "./_harness.ts";

const MiB = 1024 * 1024;
const TOTAL = 50 * MiB;

/** The highest RSS (KiB) seen in `samples` reads `ms` apart. */
async function peakRss(
  rss: () => number,
  samples: number,
  ms: number,
): Promise<number> {
  let peak = rss();
  for (let i = 0; i < samples; i++) {
    await new Promise((resolve) => setTimeout(resolve, ms));
    peak = Math.max(peak, rss());
  }
  return peak;
}

Deno.test("a push producer writing 50 MB to a client that does not read keeps the server's RSS growth under 20 MB", async () => {
  const server = await startServer("push", [String(TOTAL)]);
  try {
    const before = server.rssKiB();
    const conn = await connect(server.ports.port);
    try {
      // The client reads nothing for 1.5 s: the producer must pause.
      const peak = await peakRss(() => server.rssKiB(), 6, 250);
      const growth = (peak - before) / 1024;
      assert.ok(growth < 20, `RSS grew by ${growth.toFixed(1)} MB`);
      // Then it reads: the producer resumes and runs to the end.
      const got = await readToEOF(conn, 30_000);
      assert.equal(got.length, TOTAL);
    } finally {
      conn.close();
    }
  } finally {
    await server.stop();
  }
});

Deno.test("plain write()s of 50 MB to a client that does not read are buffered in full, and bufferedAmount says so", async () => {
  // Twisted's write() never blocks and never drops: a protocol that writes
  // without a producer buffers what the peer does not take. This case
  // shows it is visible (bufferedAmount, RSS); the producer case above is
  // the fix.
  const server = await startServer("flood", [String(TOTAL)]);
  try {
    const before = server.rssKiB();
    const conn = await connect(server.ports.port);
    try {
      const m = await server.stdout.match(/BUFFERED (\d+)/, "bufferedAmount");
      assert.ok(
        Number(m[1]) >= TOTAL - MiB,
        `bufferedAmount ${m[1]} after writing ${TOTAL}`,
      );
      const grown = (server.rssKiB() - before) / 1024;
      assert.ok(grown > 30, `RSS grew by ${grown.toFixed(1)} MB`);
      const got = await readToEOF(conn, 30_000);
      assert.equal(got.length, TOTAL);
    } finally {
      conn.close();
    }
  } finally {
    await server.stop();
  }
});

const IDLE = 5000;
const hardLimit = Number(
  new TextDecoder().decode(
    new Deno.Command("sh", { args: ["-c", "ulimit -Hn"], stdout: "piped" })
      .outputSync().stdout,
  ).trim(),
);
const idleSkip = pythonMissing ??
  (hardLimit < IDLE + 200
    ? `the hard descriptor limit (${hardLimit}) is below ${IDLE + 200}`
    : null);
if (idleSkip) console.log(`skipping the ${IDLE} idle connections: ${idleSkip}`);

Deno.test({
  name:
    "5000 idle connections cost the server under 16 KiB of RSS each, and it keeps serving",
  ignore: idleSkip !== null,
  fn: async () => {
    const server = await startServer("count", [String(IDLE)], {
      ulimit: IDLE + 200,
    });
    let clients: ClientsChild | undefined;
    try {
      const before = server.rssKiB();
      clients = new ClientsChild("idle", IDLE, server.ports.port);
      await clients.stdout.match(/OPEN \d+/, "the clients to connect", 30_000);
      await server.stdout.match(
        new RegExp(`CONNS ${IDLE}`),
        "the server to accept them all",
        30_000,
      );
      const perConn = (server.rssKiB() - before) / IDLE;
      assert.ok(perConn < 16, `${perConn.toFixed(1)} KiB per connection`);
      const conn = await connect(server.ports.port);
      try {
        await conn.write(new TextEncoder().encode("hi"));
        const buf = new Uint8Array(2);
        assert.equal(await within(5_000, "the echo", conn.read(buf)), 2);
      } finally {
        conn.close();
      }
    } finally {
      const status = await clients?.finish();
      await server.stop();
      if (status) assert.ok(status.success, clients!.stderr.text);
    }
  },
});
