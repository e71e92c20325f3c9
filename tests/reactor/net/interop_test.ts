// Interop with the original: our TCP client against a Twisted echo server,
// and a Twisted client against our echo server, byte for byte. Needs
// /usr/bin/python3 with Twisted (Debian's python3-twisted); skipped, with
// the reason printed, when it is not there.

import assert from "node:assert/strict";
import { ClientFactory, Factory } from "../../../protocols/protocol.ts";
import { reactor } from "../../../reactor/reactor.ts";
import { ConnectionDone } from "../../../reactor/errors.ts";
import type { IAddress, IProtocol } from "../../../reactor/interfaces.ts";
import { captureLogs } from "../../../testing/logs.ts";
import { encode, PYTHON, pythonMissing, within } from "../../_helpers.ts";
import {
  concat,
  EchoRecorder,
  pattern,
  portOf,
  Recorder,
  sameBytes,
} from "./_stream_helpers.ts";

const WAIT = 20_000;

const missing = pythonMissing("twisted");
if (missing !== undefined) {
  console.log(
    `interop_test.ts: skipping the Twisted interop tests: ${missing}`,
  );
}

const fixture = (name: string) =>
  new URL(`./${name}`, import.meta.url).pathname;

/** Reads the child's stdout up to its first line. */
async function firstLine(
  reader: ReadableStreamDefaultReader<Uint8Array>,
): Promise<string> {
  const chunks: Uint8Array[] = [];
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    chunks.push(value);
    const text = new TextDecoder().decode(concat(chunks));
    const nl = text.indexOf("\n");
    if (nl >= 0) return text.slice(0, nl);
  }
  throw new Error("The child closed its stdout before printing a line");
}

// Text with multi-byte UTF-8, then a few MB of a pattern: every byte value,
// in no 256-byte period.
const PAYLOAD = concat([
  encode("héllo, wörld ✓ — Twisted interop\r\n"),
  pattern(3 * 1024 * 1024 + 17, 4242),
]);

Deno.test({
  name: "our TCP client gets its bytes back exactly from a Twisted echo server",
  ignore: missing !== undefined,
  async fn() {
    using _logs = captureLogs();
    const child = new Deno.Command(PYTHON, {
      args: [fixture("_interop_echo_server.py"), "0"],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    const reader = child.stdout.getReader();
    try {
      const line = await within(WAIT, "the Twisted server", firstLine(reader));
      const match = /^listening on (\d+)$/.exec(line);
      assert.ok(match, `unexpected first line: ${line}`);
      const built = Promise.withResolvers<Recorder>();
      class Client extends ClientFactory {
        override buildProtocol(_addr: IAddress): IProtocol {
          const p = new Recorder();
          built.resolve(p);
          return p;
        }
      }
      reactor.connectTCP("127.0.0.1", Number(match[1]), new Client());
      const proto = await within(WAIT, "connecting", built.promise);
      await within(WAIT, "connectionMade", proto.made.promise);
      for (let i = 0; i < PAYLOAD.length; i += 65_521) {
        proto.transport!.write(PAYLOAD.subarray(i, i + 65_521));
      }
      await within(WAIT, "the echo", proto.bytes(PAYLOAD.length));
      sameBytes(proto.data(), PAYLOAD);
      proto.transport!.loseConnection();
      const reason = await within(WAIT, "connectionLost", proto.lost.promise);
      assert.ok(reason.check(ConnectionDone), reason.getErrorMessage());
    } finally {
      await child.stdin.close(); // the server stops when its stdin closes
      await reader.cancel();
      const status = await within(
        WAIT,
        "the Twisted server to exit",
        child.status,
      );
      assert.equal(status.code, 0);
    }
  },
});

Deno.test({
  name: "a Twisted client gets its bytes back exactly from our echo server",
  ignore: missing !== undefined,
  async fn() {
    using _logs = captureLogs();
    const built = Promise.withResolvers<EchoRecorder>();
    const factory = new Factory();
    factory.noisy = false;
    factory.buildProtocol = () => {
      const p = new EchoRecorder();
      built.resolve(p);
      return p;
    };
    const port = reactor.listenTCP(0, factory, { interface: "127.0.0.1" });
    try {
      const child = new Deno.Command(PYTHON, {
        args: [
          fixture("_interop_echo_client.py"),
          String(portOf(port.getHost())),
        ],
        stdin: "piped",
        stdout: "piped",
        stderr: "piped",
      }).spawn();
      const writer = child.stdin.getWriter();
      await writer.write(PAYLOAD);
      await writer.close();
      const out = await within(WAIT, "the Twisted client", child.output());
      assert.equal(
        out.code,
        0,
        `the Twisted client failed: ${new TextDecoder().decode(out.stderr)}`,
      );
      sameBytes(out.stdout, PAYLOAD);
      const server = await within(WAIT, "our protocol", built.promise);
      sameBytes(server.data(), PAYLOAD);
      const reason = await within(WAIT, "connectionLost", server.lost.promise);
      assert.ok(reason.check(ConnectionDone), reason.getErrorMessage());
    } finally {
      await port.stopListening();
    }
  },
});
