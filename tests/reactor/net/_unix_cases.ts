// UNIX-domain stream ports and connectors, on sockets in a temporary
// directory. Run by unix_test.ts in a child `deno test` whose --allow-net
// names these exact socket paths (`unix:<path>` grants are per path, and the
// project's test flags only allow loopback TCP).

import assert from "node:assert/strict";
import { ClientFactory, Factory } from "../../../protocols/protocol.ts";
import type { Failure } from "../../../deferred/failure.ts";
import { reactor } from "../../../reactor/reactor.ts";
import {
  clientFromString,
  serverFromString,
} from "../../../reactor/endpoints/endpoint_descriptions.ts";
import { connectProtocol } from "../../../reactor/endpoints/endpoints.ts";
import {
  CannotListenError,
  ConnectError,
  ConnectionDone,
  ConnectionRefusedError,
} from "../../../reactor/errors.ts";
import type { IAddress, IProtocol } from "../../../reactor/interfaces.ts";
import { captureLogs } from "../../../testing/logs.ts";
import { decode, encode, readAll, within } from "../../_helpers.ts";
import {
  EchoRecorder,
  Keeping,
  lostOf,
  pattern,
  Recorder,
  sameBytes,
  WAIT,
} from "./_stream_helpers.ts";

class Client<P extends IProtocol> extends ClientFactory {
  built = Promise.withResolvers<P>();
  failed = Promise.withResolvers<Failure>();
  constructor(readonly make: () => P) {
    super();
  }
  override buildProtocol(_addr: IAddress): IProtocol | null {
    const p = this.make();
    this.built.resolve(p);
    return p;
  }
  override clientConnectionFailed(_c: unknown, reason: Failure): void {
    this.failed.resolve(reason);
  }
}

/** A fresh directory under TD_UNIX_DIR, where the parent allowed paths. */
function tempDir(name: string): { dir: string } & Disposable {
  const root = Deno.env.get("TD_UNIX_DIR");
  if (root === undefined) throw new Error("Run me through unix_test.ts");
  const dir = `${root}/${name}`;
  Deno.mkdirSync(dir);
  return {
    dir,
    [Symbol.dispose]() {
      Deno.removeSync(dir, { recursive: true });
    },
  };
}

Deno.test("UNIX sockets carry bytes intact both ways and report UNIX addresses", async () => {
  using _logs = captureLogs();
  using tmp = tempDir("echo");
  const path = `${tmp.dir}/echo.sock`;
  const factory = new Keeping(() => new EchoRecorder());
  const port = reactor.listenUNIX(path, factory);
  assert.deepEqual(port.getHost(), { type: "UNIX", name: path });
  const client = new Client(() => new Recorder());
  const connector = reactor.connectUNIX(path, client);
  try {
    assert.deepEqual(connector.getDestination(), { type: "UNIX", name: path });
    const proto = await within(
      WAIT,
      "the client protocol",
      client.built.promise,
    );
    await within(WAIT, "connectionMade", proto.made.promise);
    const server = await within(WAIT, "the server protocol", factory.nth(0));
    assert.equal(proto.transport!.getPeer().type, "UNIX");
    assert.deepEqual(server.transport!.getHost(), { type: "UNIX", name: path });
    proto.transport!.setTcpNoDelay(true); // a no-op on UNIX sockets
    const payload = pattern(2 * 1024 * 1024, 21);
    proto.transport!.write(payload);
    await within(WAIT, "the echo", proto.bytes(payload.length));
    sameBytes(proto.data(), payload);
    sameBytes(server.data(), payload);
    proto.transport!.loseConnection();
    const [c, s] = await within(
      WAIT,
      "both sides to close",
      Promise.all([proto.lost.promise, server.lost.promise]),
    );
    assert.ok(c.check(ConnectionDone));
    assert.ok(s.check(ConnectionDone));
  } finally {
    await port.stopListening();
  }
  assert.throws(
    () => Deno.statSync(path),
    Deno.errors.NotFound,
    "the socket file is removed",
  );
});

Deno.test("listenUNIX on a path that exists raises CannotListenError naming it", async () => {
  using _logs = captureLogs();
  using tmp = tempDir("taken");
  const path = `${tmp.dir}/taken`;
  const port = reactor.listenUNIX(path, new Factory());
  try {
    assert.throws(
      () => reactor.listenUNIX(path, new Factory()),
      (e: unknown) =>
        e instanceof CannotListenError &&
        e.message.startsWith(`Cannot listen on ${path}:`),
    );
    assert.throws(() => reactor.listenUNIX("", new Factory()), TypeError);
  } finally {
    await port.stopListening();
  }
});

Deno.test("connectUNIX fails with ConnectError for a missing file and ConnectionRefusedError for a dead socket", async () => {
  using _logs = captureLogs();
  using tmp = tempDir("missing");
  const missing = new Client(() => new Recorder());
  reactor.connectUNIX(`${tmp.dir}/none`, missing);
  const reason = await within(
    WAIT,
    "clientConnectionFailed",
    missing.failed.promise,
  );
  assert.ok(reason.check(ConnectError));
  assert.match(reason.getErrorMessage(), /none/);

  // A socket file left behind with nobody listening (Deno removes its own
  // socket file on close, so move it away first).
  const path = `${tmp.dir}/dead.sock`;
  const listener = Deno.listen({
    transport: "unix",
    path: `${tmp.dir}/live.sock`,
  });
  Deno.renameSync(`${tmp.dir}/live.sock`, path);
  listener.close();
  const dead = new Client(() => new Recorder());
  reactor.connectUNIX(path, dead);
  const refused = await within(
    WAIT,
    "clientConnectionFailed",
    dead.failed.promise,
  );
  assert.ok(refused.check(ConnectionRefusedError), refused.getErrorMessage());
  assert.deepEqual(reactor.getDelayedCalls(), []);
});

Deno.test("UNIX connections half-close: the peer reads EOF and answers", async () => {
  using _logs = captureLogs();
  using tmp = tempDir("half");
  const path = `${tmp.dir}/half.sock`;
  class Counter extends Recorder {
    readConnectionLost(): void {
      this.transport!.write(`${this.received}`);
      this.transport!.loseConnection();
    }
    writeConnectionLost(): void {}
  }
  const factory = new Keeping(() => new Counter());
  const port = reactor.listenUNIX(path, factory);
  const conn = await Deno.connect({ transport: "unix", path });
  try {
    await conn.write(encode("twelve bytes"));
    await conn.closeWrite();
    assert.equal(decode(await within(WAIT, "the answer", readAll(conn))), "12");
    const server = await factory.nth(0);
    const reason = await within(WAIT, "connectionLost", server.lost.promise);
    assert.ok(reason.check(ConnectionDone));
  } finally {
    conn.close();
    await port.stopListening();
  }
});

Deno.test("UNIX endpoints from strings listen (with a mode) and connect", async () => {
  using _logs = captureLogs();
  using tmp = tempDir("endpoint");
  const path = `${tmp.dir}/e:sock`; // a colon, escaped in the descriptions
  const quoted = path.replaceAll(":", "\\:");
  const factory = new Keeping(() => new EchoRecorder());
  const port = await serverFromString(reactor, `unix:${quoted}:mode=600`)
    .listen(factory);
  try {
    assert.equal(Deno.statSync(path).mode! & 0o777, 0o600);
    const proto = new Recorder();
    await within(
      WAIT,
      "connected",
      connectProtocol(clientFromString(reactor, `unix:path=${quoted}`), proto)
        .asPromise(),
    );
    proto.transport!.write("over unix");
    await within(WAIT, "the echo", proto.bytes(9));
    assert.equal(decode(proto.data()), "over unix");
    proto.transport!.loseConnection();
    await within(WAIT, "connectionLost", proto.lost.promise);
    await lostOf(factory, 0, "server connectionLost");
  } finally {
    await port.stopListening();
  }
});
