// Fault: a storm of clients that connect and reset (SO_LINGER 0) before
// the server accepts them. Deno's accept() fails with NotConnected for
// each; the port must take the next connection at once, not back off.
// (A UNIX client that closes while queued gives accept() no error on
// Linux: that case guards the shared port code, it did not fail before.)
import assert from "node:assert/strict";
import {
  ClientsChild,
  decode,
  echoes,
  encode,
  pythonMissing,
  readExactly,
  startServer,
  within,
} from "./_harness.ts";
import { testCerts } from "../reactor/net/_tls_certs.ts";

const STORM = 500;

if (pythonMissing) console.log(`skipping the reset storms: ${pythonMissing}`);

Deno.test({
  name:
    "after 500 connect-and-reset clients a TCP echo server answers within 0.5 s",
  ignore: pythonMissing !== null,
  fn: async () => {
    const server = await startServer("echo");
    try {
      const port = server.ports.port;
      await echoes(port, "warm-up"); // a server that has been serving
      const storm = new ClientsChild("reset", STORM, port);
      const status = await storm.finish();
      assert.ok(status.success, storm.stderr.text);
      assert.match(storm.stdout.text, new RegExp(`RESET ${STORM}`));
      await echoes(port, "honest", 500);
      assert.doesNotMatch(
        server.stderr.text,
        /could not accept/,
        "a reset while queued is not an accept failure",
      );
    } finally {
      await server.stop();
    }
  },
});

const certs = await testCerts();

/** Connects with TLS, sends `text`, checks the echo; returns the ms taken. */
async function tlsEcho(port: number, text: string): Promise<number> {
  const conn = await Deno.connectTls({
    hostname: "127.0.0.1",
    port,
    caCerts: [certs!.caPem],
  });
  try {
    const started = performance.now();
    await conn.write(encode(text));
    const got = await within(5_000, "the echo", readExactly(conn, text.length));
    const took = performance.now() - started;
    assert.equal(decode(got), text);
    return took;
  } finally {
    conn.close();
  }
}

Deno.test({
  name:
    "after 500 connect-and-reset clients a TLS echo server answers within 0.5 s",
  ignore: pythonMissing !== null || certs === null,
  fn: async () => {
    const server = await startServer("tls", [
      certs!.certFile,
      certs!.keyFile,
      "30",
    ]);
    try {
      const port = server.ports.port;
      await tlsEcho(port, "warm-up"); // a server that has been serving
      const storm = new ClientsChild("reset", STORM, port);
      const status = await storm.finish();
      assert.ok(status.success, storm.stderr.text);
      const took = await tlsEcho(port, "honest");
      assert.ok(took < 500, `answered after ${took.toFixed(0)} ms`);
      assert.doesNotMatch(server.stderr.text, /could not accept/);
    } finally {
      await server.stop();
    }
  },
});

Deno.test({
  name:
    "after 500 clients that connect and close before being accepted a UNIX echo server answers within 0.5 s",
  ignore: pythonMissing !== null,
  fn: async () => {
    const dir = Deno.makeTempDirSync({ prefix: "twisted-deno-faults-" });
    const path = `${dir}/echo.sock`;
    const server = await startServer("unix", [path]);
    try {
      // Deno grants UNIX sockets per path: the honest client is python's.
      const ask = async (): Promise<number> => {
        const honest = new ClientsChild("unixecho", 1, 0, path);
        const status = await honest.finish();
        assert.ok(status.success, honest.stderr.text);
        return Number(/ECHO ([\d.]+)/.exec(honest.stdout.text)?.[1]);
      };
      await ask(); // a server that has been serving
      const storm = new ClientsChild("unixclose", STORM, 0, path);
      const status = await storm.finish();
      assert.ok(status.success, storm.stderr.text);
      assert.match(storm.stdout.text, new RegExp(`CLOSED ${STORM}`));
      const took = await ask();
      assert.ok(took < 500, `answered after ${took.toFixed(0)} ms`);
      assert.doesNotMatch(server.stderr.text, /could not accept/);
    } finally {
      await server.stop();
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
