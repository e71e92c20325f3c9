import assert from "node:assert/strict";
import { Failure } from "../../../deferred/failure.ts";
import {
  type HAProxyProtocolWrapper,
  HAProxyWrappingFactory,
} from "../../../protocols/haproxy/mod.ts";
import { Factory, Protocol } from "../../../protocols/protocol.ts";
import type { IAddress } from "../../../reactor/interfaces.ts";
import { ConnectionDone } from "../../../reactor/errors.ts";
import { captureLogs } from "../../../testing/logs.ts";
import { Clock } from "../../../testing/clock.ts";
import { StringTransport } from "../../../testing/string_transport.ts";
import { dec, enc, inet, tlv, v2 } from "./_headers.ts";

/** Records what it sees, including the addresses at connectionMade. */
class Recorder extends Protocol {
  events: string[] = [];
  peerAtStart: IAddress | undefined;
  hostAtStart: IAddress | undefined;
  override connectionMade(): void {
    this.peerAtStart = this.transport!.getPeer();
    this.hostAtStart = this.transport!.getHost();
    this.events.push("made");
  }
  override dataReceived(data: Uint8Array): void {
    this.events.push(`data:${dec(data)}`);
  }
  override connectionLost(reason: Failure): void {
    this.events.push(`lost:${(reason.value as Error).name}`);
  }
}

const REAL_PEER: IAddress = { type: "TCP", host: "127.0.0.1", port: 40000 };
const REAL_HOST: IAddress = { type: "TCP", host: "127.0.0.1", port: 8080 };

function setup(timeout?: number) {
  const clock = new Clock();
  const factory = new HAProxyWrappingFactory(Factory.forProtocol(Recorder), {
    clock,
    headerTimeout: timeout,
  });
  const wrapper = factory.buildProtocol(REAL_PEER) as HAProxyProtocolWrapper;
  const transport = new StringTransport({
    peerAddress: REAL_PEER,
    hostAddress: REAL_HOST,
  });
  wrapper.makeConnection(transport);
  const inner = wrapper.wrappedProtocol as Recorder;
  return { clock, factory, wrapper, transport, inner };
}

Deno.test("HAProxyProtocolWrapper connects the wrapped protocol only after the header, with its addresses", async (t) => {
  const headers: [string, Uint8Array][] = [
    ["v1", enc("PROXY TCP4 198.51.100.9 192.0.2.80 4000 443\r\n")],
    ["v2", v2(0x21, 0x11, inet([198, 51, 100, 9], [192, 0, 2, 80], 4000, 443))],
  ];
  for (const [name, header] of headers) {
    await t.step(`${name}, one byte at a time`, () => {
      using _logs = captureLogs();
      const { factory, wrapper, transport, inner } = setup();
      const stream = new Uint8Array([...header, ...enc("hello")]);
      for (let i = 0; i < header.length; i++) {
        assert.deepEqual(inner.events, [], `after ${i} bytes`);
        wrapper.dataReceived(stream.slice(i, i + 1));
      }
      assert.deepEqual(inner.events, ["made"]);
      wrapper.dataReceived(stream.slice(header.length));
      assert.deepEqual(inner.events, ["made", "data:hello"]);
      const client = { type: "TCP", host: "198.51.100.9", port: 4000 };
      const destination = { type: "TCP", host: "192.0.2.80", port: 443 };
      assert.deepEqual(inner.peerAtStart, client);
      assert.deepEqual(inner.hostAtStart, destination);
      assert.deepEqual(inner.transport!.getPeer(), client);
      assert.deepEqual(inner.transport!.getHost(), destination);
      assert.ok(factory.protocols.has(wrapper));
      wrapper.connectionLost(new Failure(new ConnectionDone()));
      assert.deepEqual(inner.events, [
        "made",
        "data:hello",
        "lost:ConnectionDone",
      ]);
      assert.ok(!factory.protocols.has(wrapper));
      assert.equal(transport.disconnecting, false);
    });
    await t.step(`${name}, header and data in one chunk`, () => {
      const { wrapper, inner } = setup();
      wrapper.dataReceived(new Uint8Array([...header, ...enc("abc")]));
      assert.deepEqual(inner.events, ["made", "data:abc"]);
    });
  }
});

Deno.test("HAProxyProtocolWrapper uses the real addresses for v1 UNKNOWN and v2 LOCAL", async (t) => {
  const headers: [string, Uint8Array][] = [
    ["v1 UNKNOWN", enc("PROXY UNKNOWN\r\n")],
    ["v2 LOCAL", v2(0x20, 0x11, inet([1, 1, 1, 1], [2, 2, 2, 2], 1, 2))],
    ["v2 UNSPEC", v2(0x21, 0x00, [])],
  ];
  for (const [name, header] of headers) {
    await t.step(name, () => {
      const { wrapper, inner } = setup();
      wrapper.dataReceived(header);
      assert.deepEqual(inner.events, ["made"]);
      assert.deepEqual(inner.peerAtStart, REAL_PEER);
      assert.deepEqual(inner.hostAtStart, REAL_HOST);
    });
  }
});

Deno.test("HAProxyProtocolWrapper exposes the v2 TLVs as proxyInfo", () => {
  const { wrapper } = setup();
  wrapper.dataReceived(
    v2(0x21, 0x11, [
      ...inet([1, 2, 3, 4], [5, 6, 7, 8], 9, 10),
      ...tlv(0x02, [...enc("example.com")]),
    ]),
  );
  assert.deepEqual(wrapper.proxyInfo!.tlvs.map((t) => [t.type, dec(t.value)]), [
    [0x02, "example.com"],
  ]);
});

Deno.test("HAProxyProtocolWrapper drops a connection without a valid header and logs why", async (t) => {
  const cases: [string, Uint8Array, RegExp][] = [
    [
      "no header",
      enc("GET / HTTP/1.1\r\n"),
      /first byte is 0x47, neither "P" \(v1\) nor 0x0d \(v2\)/,
    ],
    [
      "bad v1",
      enc("PROXY TCP4 1.2.3.4 nope 1 2\r\n"),
      /"nope" is not an IPv4 address/,
    ],
    [
      "v1 too long",
      enc(`PROXY UNKNOWN ${"x".repeat(120)}`),
      /no CRLF within 107 bytes/,
    ],
    [
      "bad v2 signature",
      enc("\r\n\r\nX"),
      /byte 4 is 0x58, not 0x00 of the v2 signature/,
    ],
    [
      "v2 unknown family",
      v2(0x21, 0x51, inet([1, 2, 3, 4], [5, 6, 7, 8], 1, 2)),
      /address family 5/,
    ],
  ];
  for (const [name, bytes, reason] of cases) {
    await t.step(name, () => {
      using logs = captureLogs();
      const { factory, clock, wrapper, transport, inner } = setup();
      wrapper.dataReceived(bytes);
      wrapper.dataReceived(enc("more bytes are ignored"));
      assert.equal(transport.disconnecting, true);
      assert.equal(transport.disconnected, false, "closed, not aborted");
      assert.equal(logs.events.length, 1);
      assert.equal(logs.events[0].log_level, "warn");
      assert.equal(logs.events[0].log_namespace, "protocols.haproxy");
      assert.match(
        logs.messages[0],
        /^Dropping the connection from 127\.0\.0\.1:40000: Cannot parse the PROXY header: /,
      );
      assert.match(logs.messages[0], reason);
      assert.equal(clock.getDelayedCalls().length, 0, "header timer cancelled");
      wrapper.connectionLost(new Failure(new ConnectionDone()));
      assert.deepEqual(
        inner.events,
        [],
        "the wrapped protocol never heard of it",
      );
      assert.equal(factory.protocols.size, 0);
    });
  }
});

Deno.test("HAProxyProtocolWrapper aborts a connection whose header is slow", () => {
  using logs = captureLogs();
  const { clock, wrapper, transport, inner } = setup(5);
  wrapper.dataReceived(enc("PROXY TCP4 1.2.3.4"));
  clock.advance(4.9);
  assert.equal(transport.disconnecting, false);
  clock.advance(0.1);
  assert.equal(transport.disconnected, true, "aborted");
  assert.deepEqual(logs.messages, [
    "Dropping the connection from 127.0.0.1:40000: no complete PROXY header within 5 s",
  ]);
  wrapper.dataReceived(enc(" 5.6.7.8 1 2\r\n"));
  assert.deepEqual(inner.events, []);
});

Deno.test("HAProxyProtocolWrapper's header timer stops once the header is in, and can be turned off", () => {
  const fast = setup(5);
  fast.wrapper.dataReceived(enc("PROXY UNKNOWN\r\n"));
  assert.equal(fast.clock.getDelayedCalls().length, 0);
  fast.clock.advance(10);
  assert.equal(fast.transport.disconnecting, false);

  const never = setup(0);
  assert.equal(never.clock.getDelayedCalls().length, 0);

  const lost = setup(5);
  lost.wrapper.connectionLost(new Failure(new ConnectionDone()));
  assert.equal(lost.clock.getDelayedCalls().length, 0);
});

Deno.test("HAProxyProtocolWrapper drops a half-closed connection before the header", () => {
  class HalfCloser extends Recorder {
    readConnectionLost(): void {
      this.events.push("readLost");
    }
    writeConnectionLost(): void {}
  }
  using logs = captureLogs();
  const factory = new HAProxyWrappingFactory(Factory.forProtocol(HalfCloser), {
    clock: new Clock(),
  });
  const early = factory.buildProtocol(REAL_PEER) as HAProxyProtocolWrapper & {
    readConnectionLost(): void;
  };
  const transport = new StringTransport({ peerAddress: REAL_PEER });
  early.makeConnection(transport);
  early.dataReceived(enc("PROXY"));
  early.readConnectionLost();
  assert.equal(transport.disconnecting, true);
  assert.deepEqual((early.wrappedProtocol as HalfCloser).events, []);
  assert.match(logs.messages[0], /closed before the whole PROXY header/);

  const later = factory.buildProtocol(REAL_PEER) as HAProxyProtocolWrapper & {
    readConnectionLost(): void;
  };
  later.makeConnection(new StringTransport());
  later.dataReceived(enc("PROXY UNKNOWN\r\n"));
  later.readConnectionLost();
  assert.deepEqual((later.wrappedProtocol as HalfCloser).events, [
    "made",
    "readLost",
  ]);
});

Deno.test("HAProxyWrappingFactory refuses a bad header timeout", () => {
  for (const bad of [-1, Number.NaN, "5" as unknown as number]) {
    assert.throws(
      () =>
        new HAProxyWrappingFactory(Factory.forProtocol(Recorder), {
          headerTimeout: bad,
        }),
      (e: unknown) =>
        e instanceof RangeError &&
        /headerTimeout .* is not a number of seconds >= 0/.test(e.message),
    );
  }
});
