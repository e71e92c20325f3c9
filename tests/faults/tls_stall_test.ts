// Fault: clients that open a TCP connection to a TLS port and send
// nothing. With handshakeTimeout 1 each is closed after about a second,
// logged once as a handshake timeout, and an honest client is served.
import assert from "node:assert/strict";
import {
  ClientsChild,
  decode,
  encode,
  pythonMissing,
  readExactly,
  startServer,
  within,
} from "./_harness.ts";
import { testCerts } from "../reactor/net/_tls_certs.ts";

const STALLED = 51;
const certs = await testCerts();

Deno.test({
  name:
    "stalled TLS handshakes are closed after handshakeTimeout, logged once each, and an honest client is served",
  ignore: pythonMissing !== null || certs === null,
  fn: async () => {
    const server = await startServer("tls", [
      certs!.certFile,
      certs!.keyFile,
      "1",
    ]);
    try {
      const port = server.ports.port;
      const stall = new ClientsChild("stall", STALLED, port);
      // While they stall, an honest client completes its handshake.
      const conn = await Deno.connectTls({
        hostname: "127.0.0.1",
        port,
        caCerts: [certs!.caPem],
      });
      try {
        await conn.write(encode("honest"));
        assert.equal(
          decode(await within(2_000, "the echo", readExactly(conn, 6))),
          "honest",
        );
      } finally {
        conn.close();
      }
      const status = await stall.finish();
      assert.ok(status.success, stall.stderr.text);
      // Every stalled client saw EOF; the last after about 1 s (the
      // clients give up at 15 s and print how many were still open).
      const m = /EOF (\d+) ([\d.]+)/.exec(stall.stdout.text);
      assert.ok(m, `all were closed: ${stall.stdout.text}`);
      assert.equal(Number(m[1]), STALLED);
      const latest = Number(m[2]);
      assert.ok(latest >= 0.9 && latest < 5, `closed after ${latest} s`);
      const timeoutLine =
        /TLS handshake with 127\.0\.0\.1:\d+ failed: timed out: no handshake within 1 s \(handshakeTimeout\)/g;
      await server.stderr.matchCount(timeoutLine, STALLED, "the timeout lines");
      assert.equal(
        server.stderr.count(timeoutLine),
        STALLED,
        "one line per stalled client",
      );
      assert.doesNotMatch(
        server.stderr.text,
        /An error occurred while connecting/,
      );
    } finally {
      await server.stop();
    }
  },
});
