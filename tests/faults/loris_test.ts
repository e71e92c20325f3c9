// Fault: slow-loris clients against a TimeoutFactory server. 200 clients
// each send a byte, then go quiet for longer than the 1 s timeout: each is
// dropped after its idle second, while an honest client is served.
import assert from "node:assert/strict";
import {
  connect,
  decode,
  echoes,
  encode,
  readExactly,
  readToEOF,
  startServer,
  within,
} from "./_harness.ts";

const LORIS = 200;

Deno.test("200 slow-loris clients are timed out by TimeoutFactory while an honest client is served", async () => {
  const server = await startServer("loris", ["1"]);
  const conns: Deno.Conn[] = [];
  try {
    const port = server.ports.port;
    for (let i = 0; i < LORIS; i++) conns.push(await connect(port));
    const started = performance.now();
    // Each sends one byte (echoed: they are served, just slow) ...
    await Promise.all(conns.map(async (c) => {
      await c.write(encode("x"));
      assert.equal(
        decode(await within(5_000, "a byte", readExactly(c, 1))),
        "x",
      );
    }));
    // ... an honest client meanwhile gets its answer at once ...
    await echoes(port, "honest request", 1_000);
    // ... and every loris is dropped once idle for the 1 s timeout.
    await Promise.all(conns.map(async (c) => {
      const rest = await readToEOF(c, 5_000);
      assert.equal(rest.length, 0);
    }));
    const took = (performance.now() - started) / 1000;
    assert.ok(
      took >= 0.9,
      `dropped after ${took.toFixed(2)} s, not before the timeout`,
    );
    await echoes(port, "still serving", 1_000);
  } finally {
    for (const c of conns) c.close();
    await server.stop();
  }
});
