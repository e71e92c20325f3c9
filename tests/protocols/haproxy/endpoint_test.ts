import assert from "node:assert/strict";
import {
  HAProxyServerEndpoint,
  HAProxyWrappingFactory,
} from "../../../protocols/haproxy/mod.ts";
import { Factory, Protocol } from "../../../protocols/protocol.ts";
import {
  reactor,
  serverFromString,
  TCP4ServerEndpoint,
  type TCPAddress,
  UNIXServerEndpoint,
} from "../../../reactor/mod.ts";
import { formatEvent } from "../../../log/mod.ts";
import { captureLogs } from "../../../testing/logs.ts";
import { readAll, within } from "../../_helpers.ts";
import { dec, enc, inet, v2 } from "./_headers.ts";

/** Answers "peer host" and closes. */
class WhoAmI extends Protocol {
  override connectionMade(): void {
    const peer = this.transport!.getPeer() as TCPAddress;
    const host = this.transport!.getHost() as TCPAddress;
    this.transport!.write(
      `${peer.host}:${peer.port} ${host.host}:${host.port}\n`,
    );
    this.transport!.loseConnection();
  }
}

Deno.test("serverFromString('haproxy:...') wraps the rest of the description", () => {
  const tcp = serverFromString(reactor, "HAProxy:tcp:8080:interface=127.0.0.1");
  assert.ok(tcp instanceof HAProxyServerEndpoint);
  assert.ok(tcp.wrappedEndpoint instanceof TCP4ServerEndpoint);
  assert.equal(tcp.wrappedEndpoint.port, 8080);
  assert.equal(tcp.wrappedEndpoint.interface, "127.0.0.1");
  const unix = serverFromString(
    reactor,
    "haproxy:unix:/tmp/a\\:b\\=c:mode=600",
  );
  assert.ok(unix instanceof HAProxyServerEndpoint);
  assert.ok(unix.wrappedEndpoint instanceof UNIXServerEndpoint);
  assert.equal(unix.wrappedEndpoint.address, "/tmp/a:b=c");
  assert.throws(
    () => serverFromString(reactor, "haproxy"),
    /Cannot use the endpoint description "haproxy:": haproxy: needs the description of the endpoint to wrap/,
  );
  assert.throws(
    () => serverFromString(reactor, "haproxy:ftl:1"),
    /Unknown endpoint type: 'ftl'/,
  );
});

Deno.test("without @twisted-deno/core/protocols loaded, 'haproxy:' says which module registers it", async () => {
  const code = `
    import { reactor, serverFromString } from "${new URL(
    "../../../reactor/mod.ts",
    import.meta.url,
  )}";
    try { serverFromString(reactor, "haproxy:tcp:0"); } catch (e) { console.log(e.message); }`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-check", code],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  assert.equal(
    dec(out.stdout).trim(),
    `Unknown endpoint type: 'haproxy' (import "@twisted-deno/core/protocols" to register it)`,
  );
});

Deno.test("a haproxy: endpoint serves the proxied addresses over a real socket", async () => {
  using logs = captureLogs();
  const endpoint = serverFromString(
    reactor,
    "haproxy:tcp:0:interface=127.0.0.1",
  );
  const port = await endpoint.listen(Factory.forProtocol(WhoAmI));
  const portNumber = (port.getHost() as TCPAddress).port;
  try {
    const ask = async (bytes: Uint8Array) => {
      const conn = await Deno.connect({
        hostname: "127.0.0.1",
        port: portNumber,
      });
      try {
        await conn.write(bytes);
        return dec(await within(5000, "the reply", readAll(conn)));
      } finally {
        conn.close();
      }
    };
    assert.equal(
      await ask(enc("PROXY TCP6 2001:db8::5 2001:db8::1 6000 443\r\n")),
      "2001:db8::5:6000 2001:db8::1:443\n",
    );
    assert.equal(
      await ask(v2(0x21, 0x11, inet([192, 0, 2, 9], [192, 0, 2, 1], 7000, 80))),
      "192.0.2.9:7000 192.0.2.1:80\n",
    );
    const local = await ask(v2(0x20, 0x00, []));
    assert.match(
      local,
      new RegExp(`^127\\.0\\.0\\.1:\\d+ 127\\.0\\.0\\.1:${portNumber}\\n$`),
    );
    assert.equal(await ask(enc("HELLO\r\n")), "", "dropped without a reply");
    const drops = logs.events.filter((e) =>
      e.log_namespace === "protocols.haproxy"
    );
    assert.equal(drops.length, 1);
    assert.match(
      formatEvent(drops[0]),
      /^Dropping the connection from 127\.0\.0\.1:\d+: .*first byte is 0x48/,
    );
  } finally {
    await port.stopListening();
  }
});

Deno.test("HAProxyWrappingFactory's header timeout drops a silent client on a real socket", async () => {
  using logs = captureLogs();
  const port = reactor.listenTCP(
    0,
    new HAProxyWrappingFactory(Factory.forProtocol(WhoAmI), {
      headerTimeout: 0.2,
    }),
    { interface: "127.0.0.1" },
  );
  try {
    const conn = await Deno.connect({
      hostname: "127.0.0.1",
      port: (port.getHost() as TCPAddress).port,
    });
    try {
      await conn.write(enc("PROXY TCP4"));
      const got = await within(
        5000,
        "the drop",
        readAll(conn).catch(() => new Uint8Array(0)),
      );
      assert.equal(got.length, 0);
    } finally {
      conn.close();
    }
    assert.match(
      logs.messages.join("\n"),
      /no complete PROXY header within 0\.2 s/,
    );
  } finally {
    await port.stopListening();
  }
});
