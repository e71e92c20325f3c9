// StartTLS over loopback TCP, both ends ours: the answer goes in clear,
// then both ends switch to TLS and later calls travel encrypted. Needs
// openssl for the test certificates (skipped, reason printed, without it).
import assert from "node:assert/strict";
import * as amp from "@twisted-deno/core/amp";
import type { Failure } from "@twisted-deno/core/deferred";
import { Factory } from "@twisted-deno/core/protocols";
import {
  connectProtocol,
  negotiatedProtocol,
  reactor,
  TCP4ClientEndpoint,
} from "@twisted-deno/core/reactor";
import { captureLogs } from "@twisted-deno/core/testing";
import { within } from "../_helpers.ts";
import { testCerts } from "../reactor/net/_tls_certs.ts";
import { Sum } from "./_interop_commands.ts";

const certs = await testCerts();
const WAIT = 10_000;

class Tracked extends amp.AMP {
  readonly lost = Promise.withResolvers<Failure>();
  override connectionLost(reason: Failure): void {
    super.connectionLost(reason);
    this.lost.resolve(reason);
  }
}

function serve() {
  const servers: Tracked[] = [];
  class TLSServer extends Tracked {
    constructor() {
      super();
      servers.push(this);
      this.responder(Sum, ({ a, b }) => ({ total: a + b }));
      this.responder(amp.StartTLS, () => ({
        tls_localCertificate: { cert: certs!.certPem, key: certs!.keyPem },
      }));
    }
  }
  const port = reactor.listenTCP(0, Factory.forProtocol(TLSServer), {
    interface: "127.0.0.1",
  });
  const addr = port.getHost();
  assert.ok(addr.type === "TCP");
  return { port, servers, portNumber: addr.port };
}

Deno.test({
  name: "AMP StartTLS switches both ends to TLS and later calls go through it",
  ignore: certs === null,
  async fn() {
    using _logs = captureLogs();
    const { port, servers, portNumber } = serve();
    try {
      const client = await within(
        WAIT,
        "connecting",
        connectProtocol(
          new TCP4ClientEndpoint(reactor, "127.0.0.1", portNumber),
          new Tracked(),
        ),
      );
      assert.deepEqual(
        await within(
          WAIT,
          "a clear call",
          client.callRemote(Sum, { a: 1, b: 2 }),
        ),
        { total: 3 },
      );
      assert.equal(
        negotiatedProtocol(client.transport!),
        undefined,
        "not TLS yet",
      );
      const started = client.callRemote(amp.StartTLS, {
        tls_verifyAuthorities: [certs!.caPem],
        tls_hostname: "localhost",
      });
      // Sent before the answer: held, then sent once TLS has started.
      const held = client.callRemote(Sum, { a: 20, b: 22 });
      assert.deepEqual(await within(WAIT, "StartTLS", started), {});
      assert.deepEqual(await within(WAIT, "the held call", held), {
        total: 42,
      });
      assert.equal(negotiatedProtocol(client.transport!), null, "TLS, no ALPN");
      assert.equal(
        negotiatedProtocol(servers[0].transport!),
        null,
        "TLS on the server too",
      );
      assert.throws(() => client.callRemote(amp.StartTLS, {}), amp.OnlyOneTLS);
      client.transport!.loseConnection();
      await within(WAIT, "the client to close", client.lost.promise);
      await within(WAIT, "the server to close", servers[0].lost.promise);
    } finally {
      await port.stopListening();
    }
  },
});

Deno.test({
  name:
    "AMP StartTLS against a server the caller does not trust fails the pending calls",
  ignore: certs === null,
  async fn() {
    using _logs = captureLogs();
    const { port, servers, portNumber } = serve();
    try {
      const client = await within(
        WAIT,
        "connecting",
        connectProtocol(
          new TCP4ClientEndpoint(reactor, "127.0.0.1", portNumber),
          new Tracked(),
        ),
      );
      const started = client.callRemote(amp.StartTLS, {
        tls_verifyAuthorities: [certs!.otherCaPem],
        tls_hostname: "localhost",
      });
      const held = client.callRemote(Sum, { a: 1, b: 1 });
      await within(WAIT, "StartTLS's answer, in clear", started);
      await assert.rejects(
        within(WAIT, "the held call to fail", held.asPromise()),
      );
      await within(WAIT, "the client to close", client.lost.promise);
      await within(WAIT, "the server to close", servers[0].lost.promise);
    } finally {
      await port.stopListening();
    }
  },
});
