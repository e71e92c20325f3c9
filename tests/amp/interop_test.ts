// Interop with Twisted's own AMP (Debian's python3-twisted 22.4), both
// ways: our client against a Twisted server, and a Twisted client against
// our server, with every argument type, declared and undeclared errors,
// values at the 65 535-byte limit and 100 pipelined calls. Skipped, with
// the reason printed, when /usr/bin/python3 cannot import twisted.
import assert from "node:assert/strict";
import * as amp from "@twisted-deno/core/amp";
import type { Failure } from "@twisted-deno/core/deferred";
import { Factory } from "@twisted-deno/core/protocols";
import {
  ConnectionLost,
  connectProtocol,
  negotiatedProtocol,
  reactor,
  TCP4ClientEndpoint,
} from "@twisted-deno/core/reactor";
import { captureLogs } from "@twisted-deno/core/testing";
import { PYTHON, pythonMissing, within } from "../_helpers.ts";
import { testCerts } from "../reactor/net/_tls_certs.ts";
import {
  Boom,
  Divide,
  Echo,
  Every,
  InteropServer,
  Nope,
  Sum,
  ZeroDivisionError,
} from "./_interop_commands.ts";

const WAIT = 20_000;

const missing = pythonMissing("twisted.protocols.amp");
if (missing !== undefined) {
  console.log(
    `amp interop_test.ts: skipping the Twisted AMP interop tests: ${missing}`,
  );
}

const here = new URL(".", import.meta.url).pathname;
/** Twisted's TLS (pyOpenSSL, service_identity) and openssl's certificates, if both exist. */
const tlsMissing = missing ??
  pythonMissing("twisted.internet.ssl, OpenSSL, service_identity");
if (missing === undefined && tlsMissing !== undefined) {
  console.log(
    `amp interop_test.ts: skipping the StartTLS interop: ${tlsMissing}`,
  );
}
const certs = tlsMissing === undefined ? await testCerts() : null;

/** Reads `stream` to its end as text. */
async function readText(stream: ReadableStream<Uint8Array>): Promise<string> {
  return await new Response(stream).text();
}

/** Reads the first line of `reader`. */
async function firstLine(
  reader: ReadableStreamDefaultReader<Uint8Array>,
): Promise<string> {
  let text = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) {
      throw new Error(
        `The child closed stdout before a line; it printed ${
          JSON.stringify(text)
        }`,
      );
    }
    text += new TextDecoder().decode(value);
    const nl = text.indexOf("\n");
    if (nl >= 0) return text.slice(0, nl);
  }
}

/** An AMP client that tells when its connection is lost. */
class Client extends amp.AMP {
  readonly lost = Promise.withResolvers<Failure>();
  override connectionLost(reason: Failure): void {
    super.connectionLost(reason);
    this.lost.resolve(reason);
  }
}

const when = new Date(Date.UTC(2012, 0, 23, 12, 34, 56, 54));
const everyArgs = {
  i: -(2 ** 53 - 1),
  big: -(10n ** 40n) + 1n,
  flt: -1.5e-7,
  nan: NaN,
  inf: -Infinity,
  yes: false,
  bytes: new Uint8Array(256).map((_, i) => i),
  text: "h\u00e9llo \u2603 \u{1f600}",
  when,
  dec: "-1.50",
  decinf: "Infinity",
  list: [1, 2, 3],
  texts: ["a", "", "\u00e9"],
  rows: [{ x: 1, y: "a" }, { x: 2 }],
  maybe: "here",
};

Deno.test({
  name:
    "AMP: our client calls a Twisted AMP server with every type, error and limit",
  ignore: missing !== undefined,
  async fn() {
    const child = new Deno.Command(PYTHON, {
      args: [`${here}_twisted_amp_server.py`],
      cwd: here,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stderr = readText(child.stderr);
    const reader = child.stdout.getReader();
    try {
      const port = Number(
        await within(WAIT, "the Twisted server's port", firstLine(reader)),
      );
      assert.ok(port > 0, "the server printed its port");
      const client = await within(
        WAIT,
        "connecting",
        connectProtocol(
          new TCP4ClientEndpoint(reactor, "127.0.0.1", port),
          new Client(),
        ),
      );

      assert.deepEqual(
        await within(WAIT, "Sum", client.callRemote(Sum, { a: 13, b: 81 })),
        { total: 94 },
      );

      const echoed = await within(
        WAIT,
        "Every",
        client.callRemote(Every, everyArgs),
      );
      assert.deepEqual(echoed, everyArgs, "every type comes back as sent");

      await assert.rejects(
        within(
          WAIT,
          "Divide",
          client.callRemote(Divide, { a: 1, b: 0 }).asPromise(),
        ),
        (e: unknown) =>
          e instanceof ZeroDivisionError && /division by zero/.test(e.message),
      );
      await assert.rejects(
        within(WAIT, "Nope", client.callRemote(Nope, {}).asPromise()),
        (e: unknown) =>
          e instanceof amp.UnhandledCommand && /Nope/.test(e.message),
      );

      const max = new Uint8Array(65_535).map((_, i) => i * 7);
      const back = await within(
        WAIT,
        "Echo",
        client.callRemote(Echo, { s: max }),
      );
      assert.deepEqual(back.s, max, "a 65 535-byte value makes the round trip");
      assert.throws(
        () => client.callRemote(Echo, { s: new Uint8Array(65_536) }),
        amp.TooLong,
      );

      const calls = Array.from(
        { length: 100 },
        (_, i) => client.callRemote(Sum, { a: i, b: 1000 }),
      );
      const totals = await within(
        WAIT,
        "100 pipelined calls",
        Promise.all(calls.map((d) => d.asPromise())),
      );
      assert.deepEqual(
        totals.map((t) => t.total),
        Array.from({ length: 100 }, (_, i) => i + 1000),
      );

      // Twisted answers an undeclared error UNKNOWN and closes the connection.
      await assert.rejects(
        within(WAIT, "Boom", client.callRemote(Boom, {}).asPromise()),
        amp.UnknownRemoteError,
      );
      await within(
        WAIT,
        "Twisted to close the connection",
        client.lost.promise,
      );
      await assert.rejects(
        client.callRemote(Sum, { a: 1, b: 1 }).asPromise(),
        ConnectionLost,
      );
    } finally {
      child.kill("SIGTERM");
      await reader.cancel();
      await within(WAIT, "the Twisted server to exit", child.status);
      const log = await stderr;
      assert.match(
        log,
        /ValueError: not declared by Boom/,
        "Twisted logged the undeclared error",
      );
    }
  },
});

Deno.test({
  name:
    "AMP: a Twisted AMP client calls our server with every type, error and limit",
  ignore: missing !== undefined,
  async fn() {
    using logs = captureLogs();
    const closed: Promise<Failure>[] = [];
    class Tracked extends InteropServer {
      readonly lost = Promise.withResolvers<Failure>();
      constructor() {
        super();
        closed.push(this.lost.promise);
        if (certs !== null) {
          this.responder(amp.StartTLS, () => ({
            tls_localCertificate: { cert: certs.certPem, key: certs.keyPem },
          }));
        }
      }
      override connectionLost(reason: Failure): void {
        super.connectionLost(reason);
        this.lost.resolve(reason);
      }
    }
    const listening = reactor.listenTCP(0, Factory.forProtocol(Tracked), {
      interface: "127.0.0.1",
    });
    const addr = listening.getHost();
    assert.ok(addr.type === "TCP");
    try {
      const result = await within(
        WAIT * 2,
        "the Twisted client",
        new Deno.Command(PYTHON, {
          args: [
            `${here}_twisted_amp_client.py`,
            `${addr.port}`,
            ...(certs === null ? [] : [certs.caFile]),
          ],
          cwd: here,
          stdout: "piped",
          stderr: "piped",
        }).output(),
      );
      const out = new TextDecoder().decode(result.stdout).trim();
      const err = new TextDecoder().decode(result.stderr);
      const checks = JSON.parse(out.split("\n").at(-1) ?? "{}");
      assert.deepEqual(checks, {
        closed_after_undeclared: "ok",
        declared: "ok",
        every: "ok",
        max_value: "ok",
        pipelined: "ok",
        ...(certs === null ? {} : { starttls: "ok" }),
        sum: "ok",
        too_long: "ok",
        undeclared: "ok",
        unhandled: "ok",
      }, err);
      assert.equal(result.code, 0);
      for (const d of closed) {
        await within(WAIT, "our server's connection to close", d);
      }
      const [boom] = logs.flushLoggedErrors(RangeError);
      assert.match(
        (boom.value as Error).message,
        /not declared by Boom/,
        "we logged the undeclared error",
      );
    } finally {
      await listening.stopListening();
    }
  },
});

Deno.test({
  name: "AMP: our client switches a Twisted AMP server to TLS with StartTLS",
  ignore: missing !== undefined || certs === null,
  async fn() {
    const child = new Deno.Command(PYTHON, {
      args: [`${here}_twisted_amp_server.py`, certs!.certFile, certs!.keyFile],
      cwd: here,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const stderr = readText(child.stderr);
    const reader = child.stdout.getReader();
    try {
      const port = Number(
        await within(WAIT, "the Twisted server's port", firstLine(reader)),
      );
      const client = await within(
        WAIT,
        "connecting",
        connectProtocol(
          new TCP4ClientEndpoint(reactor, "127.0.0.1", port),
          new Client(),
        ),
      );
      const started = client.callRemote(amp.StartTLS, {
        tls_verifyAuthorities: [certs!.caPem],
        tls_hostname: "localhost",
      });
      const held = client.callRemote(Sum, { a: 40, b: 2 });
      assert.deepEqual(await within(WAIT, "StartTLS", started), {});
      assert.deepEqual(await within(WAIT, "a call over TLS", held), {
        total: 42,
      });
      assert.equal(
        negotiatedProtocol(client.transport!),
        null,
        "the transport is TLS",
      );
      const max = new Uint8Array(65_535).map((_, i) => i);
      assert.deepEqual(
        (await within(
          WAIT,
          "Echo over TLS",
          client.callRemote(Echo, { s: max }),
        )).s,
        max,
      );
      client.transport!.loseConnection();
      await within(WAIT, "the connection to close", client.lost.promise);
    } finally {
      child.kill("SIGTERM");
      await reader.cancel();
      await within(WAIT, "the Twisted server to exit", child.status);
      await stderr;
    }
  },
});
