// Fault: SIGTERM while 200 clients are connected to a server run by
// reactor.run(): every client gets EOF and the process exits with 0.
import assert from "node:assert/strict";
import { connect, readToEOF, startServer } from "./_harness.ts";

const CLIENTS = 200;

Deno.test("SIGTERM with 200 open connections: every client gets EOF, exit code 0", async () => {
  const server = await startServer("count", [String(CLIENTS)]);
  const conns: Deno.Conn[] = [];
  let stopped = false;
  try {
    for (let i = 0; i < CLIENTS; i++) {
      conns.push(await connect(server.ports.port));
    }
    await server.stdout.match(
      new RegExp(`CONNS ${CLIENTS}`),
      "the server to accept them all",
    );
    const eofs = conns.map((c) => readToEOF(c));
    const status = await server.stop();
    stopped = true;
    const got = await Promise.all(eofs);
    assert.equal(got.filter((b) => b.length === 0).length, CLIENTS);
    assert.equal(status.code, 0, server.stderr.text);
    assert.equal(status.signal, null);
  } finally {
    for (const c of conns) c.close();
    if (!stopped) await server.stop();
  }
});
