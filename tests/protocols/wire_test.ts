import assert from "node:assert/strict";
import { Deferred } from "../../deferred/deferred.ts";
import { Failure } from "../../deferred/failure.ts";
import { ConnectionDone } from "../../reactor/errors.ts";
import { Factory } from "../../protocols/protocol.ts";
import {
  Chargen,
  Daytime,
  Discard,
  Echo,
  QOTD,
  Time,
  Who,
} from "../../protocols/wire.ts";
import { reactor } from "../../reactor/reactor.ts";
import { Clock } from "../../testing/clock.ts";
import { StringTransport } from "../../testing/string_transport.ts";
import { decode, encode, readAll, readExactly, within } from "../_helpers.ts";

Deno.test("Echo writes back every chunk it receives", () => {
  const t = new StringTransport();
  const a = new Echo();
  a.makeConnection(t);
  for (const word of ["hello", "world", "how", "are", "you"]) {
    a.dataReceived(encode(word));
  }
  assert.equal(decode(t.value()), "helloworldhowareyou");
});

Deno.test("Discard writes nothing back", () => {
  const t = new StringTransport();
  const a = new Discard();
  a.makeConnection(t);
  for (const word of ["hello", "world"]) a.dataReceived(encode(word));
  assert.equal(t.value().length, 0);
  assert.equal(t.disconnecting, false);
});

Deno.test("Who sends the user list and hangs up", () => {
  const t = new StringTransport();
  new Who().makeConnection(t);
  assert.equal(decode(t.value()), "root\r\n");
  assert.equal(t.disconnecting, true);
});

Deno.test("QOTD sends the quote and hangs up", () => {
  const t = new StringTransport();
  new QOTD().makeConnection(t);
  assert.equal(decode(t.value()), "An apple a day keeps the doctor away.\r\n");
  assert.equal(t.disconnecting, true);
});

function timeAt(seconds: number): number {
  const clock = new Clock();
  clock.advance(seconds);
  const proto = new Time();
  proto.clock = clock;
  const t = new StringTransport();
  proto.makeConnection(t);
  assert.equal(t.disconnecting, true);
  const bytes = t.value();
  assert.equal(bytes.length, 4);
  return new DataView(bytes.buffer).getUint32(0);
}

Deno.test("Time sends seconds since 1900 as a big-endian 32-bit number (RFC 868)", () => {
  // RFC 868's own examples: 2,208,988,800 is 00:00 1 Jan 1970 GMT.
  assert.equal(timeAt(0), 2208988800);
  // 2,629,584,000 is 00:00 1 May 1983 GMT.
  assert.equal(timeAt(Date.UTC(1983, 4, 1) / 1000), 2629584000);
  assert.equal(timeAt(Date.UTC(2024, 0, 1) / 1000 + 0.9), 3913056000);
});

Deno.test("Time wraps modulo 2^32 after February 2036", () => {
  const wrap = Date.UTC(2036, 1, 7, 6, 28, 16) / 1000;
  assert.equal(timeAt(wrap - 1), 2 ** 32 - 1);
  assert.equal(timeAt(wrap), 0);
  assert.equal(timeAt(wrap + 10), 10);
});

Deno.test("Daytime sends the UTC date in asctime format and hangs up", () => {
  for (
    const [ms, text] of [
      [0, "Thu Jan  1 00:00:00 1970\r\n"],
      [Date.UTC(2024, 1, 29, 13, 5, 9), "Thu Feb 29 13:05:09 2024\r\n"],
      [Date.UTC(1999, 11, 31, 23, 59, 59, 999), "Fri Dec 31 23:59:59 1999\r\n"],
    ] as const
  ) {
    const clock = new Clock();
    clock.advance(ms / 1000);
    const proto = new Daytime();
    proto.clock = clock;
    const t = new StringTransport();
    proto.makeConnection(t);
    assert.equal(decode(t.value()), text);
    assert.equal(t.disconnecting, true);
  }
});

/** The RFC 864 line starting at printable character `n` (0-based from space). */
function chargenLine(n: number): string {
  let line = "";
  for (let i = 0; i < 72; i++) line += String.fromCharCode(0x20 + (n + i) % 95);
  return line + "\r\n";
}

Deno.test("Chargen registers itself as a pull producer and writes only when pulled", () => {
  const t = new StringTransport();
  const proto = new Chargen();
  proto.makeConnection(t);
  assert.equal(t.producer, proto);
  assert.equal(t.streaming, false);
  assert.equal(t.value().length, 0, "nothing until the transport pulls");
  proto.resumeProducing();
  const first = t.value().length;
  assert.ok(first >= proto.BURST, "one burst per pull");
  assert.equal(first % 7030, 0, "whole 95-line periods");
  proto.resumeProducing();
  assert.equal(t.value().length, 2 * first);
  // The lines run on unbroken across pulls.
  const lines = decode(t.value()).split("\r\n");
  for (let i = 0; i < lines.length - 1; i++) {
    assert.equal(lines[i] + "\r\n", chargenLine(i % 95), `line ${i}`);
  }
});

Deno.test("Chargen writes a smaller BURST as one period, and nothing after stopProducing", () => {
  const t = new StringTransport();
  const proto = new Chargen();
  proto.BURST = 1;
  proto.makeConnection(t);
  proto.resumeProducing();
  assert.equal(t.value().length, 7030);
  proto.dataReceived(encode("ignored"));
  proto.stopProducing();
  proto.resumeProducing();
  assert.equal(t.value().length, 7030);
});

Deno.test("Chargen writes nothing once the transport is disconnecting or the connection is lost", () => {
  const t = new StringTransport();
  const proto = new Chargen();
  proto.makeConnection(t);
  t.loseConnection();
  proto.resumeProducing();
  assert.equal(t.value().length, 0);
  const t2 = new StringTransport();
  const other = new Chargen();
  other.makeConnection(t2);
  other.connectionLost(new Failure(new ConnectionDone()));
  other.resumeProducing();
  assert.equal(t2.value().length, 0);
});

Deno.test("Chargen over TCP is pulled again each time the transport drains", async () => {
  let pulls = 0;
  const closed = new Deferred<void>();
  class Watched extends Chargen {
    override resumeProducing(): void {
      pulls++;
      super.resumeProducing();
    }
    override connectionLost(reason: Failure): void {
      super.connectionLost(reason);
      closed.callback(undefined);
    }
  }
  const port = reactor.listenTCP(0, Factory.forProtocol(Watched), {
    interface: "127.0.0.1",
  });
  const at = port.getHost();
  assert(at.type === "TCP");
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: at.port });
  try {
    const data = await within(
      10_000,
      "4 MB of chargen",
      readExactly(conn, 4 * 1024 * 1024),
    );
    // 4 MiB at ~70 KB per pull: the transport asked dozens of times.
    assert.ok(pulls >= 50, `${pulls} pulls`);
    const text = decode(data.subarray(0, 74 * 200));
    const lines = text.split("\r\n");
    for (let i = 0; i < 199; i++) {
      assert.equal(lines[i] + "\r\n", chargenLine(i % 95), `line ${i}`);
    }
  } finally {
    conn.close();
    await within(5_000, "the server side to close", closed);
    await port.stopListening();
  }
});

Deno.test("Time over TCP answers with the current time since 1900 and closes", async () => {
  const closed = new Deferred<void>();
  class Tracked extends Time {
    override connectionLost(): void {
      closed.callback(undefined);
    }
  }
  const port = reactor.listenTCP(0, Factory.forProtocol(Tracked), {
    interface: "127.0.0.1",
  });
  const at = port.getHost();
  assert(at.type === "TCP");
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: at.port });
  try {
    const bytes = await within(5_000, "the time", readAll(conn));
    assert.equal(bytes.length, 4);
    const since1900 = new DataView(bytes.buffer).getUint32(0);
    const now = Math.floor(Date.now() / 1000) + 2208988800;
    assert.ok(Math.abs(since1900 - now) <= 5, `${since1900} vs ${now}`);
  } finally {
    conn.close();
    await within(5_000, "the server side to close", closed);
    await port.stopListening();
  }
});
