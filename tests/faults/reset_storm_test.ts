// Fault: a storm of clients that connect and reset (SO_LINGER 0) before
// the server accepts them. Deno's accept() fails with NotConnected for
// each; the port must take the next connection at once, not back off.
import assert from "node:assert/strict";
import {
  ClientsChild,
  echoes,
  pythonMissing,
  startServer,
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
      const storm = new ClientsChild("reset", STORM, port);
      const status = await storm.finish();
      assert.ok(status.success, storm.stderr.text);
      const conn = await Deno.connectTls({
        hostname: "127.0.0.1",
        port,
        caCerts: [certs!.caPem],
      });
      try {
        const started = performance.now();
        await conn.write(new TextEncoder().encode("honest"));
        const buf = new Uint8Array(6);
        let got = 0;
        while (got < 6) {
          const n = await conn.read(buf.subarray(got));
          if (n === null) break;
          got += n;
        }
        const took = performance.now() - started;
        assert.equal(new TextDecoder().decode(buf), "honest");
        assert.ok(took < 500, `answered after ${took.toFixed(0)} ms`);
      } finally {
        conn.close();
      }
      assert.doesNotMatch(server.stderr.text, /could not accept/);
    } finally {
      await server.stop();
    }
  },
});
