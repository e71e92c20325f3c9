// Fault: descriptor exhaustion. The server runs under `ulimit -n 64`;
// 100 clients exhaust it. Accepting backs off and says so once per
// episode; once clients close, new ones are served.
import assert from "node:assert/strict";
import { connect, echoes, type ServerChild, startServer } from "./_harness.ts";

const CLIENTS = 100;
const EMFILE_LOG = /could not accept a connection \([^)]*Too many open files/g;
const RECOVERED = /accepting connections again after (\d+) failed tries/g;

async function exhaust(server: ServerChild, episode: number): Promise<void> {
  const conns: Deno.Conn[] = [];
  try {
    for (let i = 0; i < CLIENTS; i++) {
      conns.push(await connect(server.ports.port));
    }
    await server.stderr.matchCount(EMFILE_LOG, episode, "the EMFILE log");
    // Stay exhausted long enough for several retries (they back off
    // from 50 ms), so "once per episode" means something.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  } finally {
    for (const c of conns) c.close();
  }
  // Descriptors free up: a new client is served, the recovery is logged.
  await echoes(server.ports.port, `after episode ${episode}`);
  await server.stderr.matchCount(RECOVERED, episode, "the recovery log");
}

Deno.test("descriptor exhaustion (EMFILE) is logged once per episode and the server recovers", async () => {
  const server = await startServer("echo", [], { ulimit: 64 });
  try {
    await echoes(server.ports.port, "before");
    await exhaust(server, 1);
    // An episode ends after 2 s without a failed accept.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    await exhaust(server, 2);
    assert.equal(server.stderr.count(EMFILE_LOG), 2, server.stderr.text);
    const tries = [...server.stderr.text.matchAll(RECOVERED)].map((m) =>
      Number(m[1])
    );
    assert.equal(tries.length, 2);
    for (const n of tries) {
      assert.ok(n >= 3, `${n} failed tries, logged once`);
    }
  } finally {
    await server.stop();
  }
});
