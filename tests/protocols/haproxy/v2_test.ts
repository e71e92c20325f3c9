import assert from "node:assert/strict";
import {
  InvalidNetworkProtocol,
  InvalidProxyHeader,
  MissingAddressData,
  V2Parser,
} from "../../../protocols/haproxy/mod.ts";
import { dec, enc, feedInPieces, inet, tlv, v2 } from "./_headers.ts";

const ipv6Block = [
  ...[0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 7],
  ...[0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1],
  0x13,
  0x88,
  0x00,
  0x50,
];

Deno.test("V2Parser.feed() parses TCP4 with TLVs at every chunk size", () => {
  const body = [
    ...inet([203, 0, 113, 7], [192, 0, 2, 1], 56324, 443),
    ...tlv(0x01, [...enc("h2")]),
    ...tlv(0x04, []),
  ];
  const stream = new Uint8Array([...v2(0x21, 0x11, body), ...enc("after")]);
  const headerLength = 16 + body.length;
  for (let size = 1; size <= stream.length; size++) {
    const parser = new V2Parser();
    const { result, fedUpTo } = feedInPieces(
      (b) => parser.feed(b),
      stream,
      size,
    );
    assert.ok(result, `size ${size}`);
    assert.deepEqual(result.info.source, {
      type: "TCP",
      host: "203.0.113.7",
      port: 56324,
    });
    assert.deepEqual(result.info.destination, {
      type: "TCP",
      host: "192.0.2.1",
      port: 443,
    });
    assert.deepEqual(result.info.tlvs.map((t) => [t.type, dec(t.value)]), [[
      0x01,
      "h2",
    ], [0x04, ""]]);
    assert.equal(result.info.header.length, headerLength);
    assert.equal(
      dec(result.rest),
      dec(stream.subarray(headerLength, fedUpTo)),
      `size ${size}`,
    );
  }
});

Deno.test("V2Parser.parse() reads TCP6, UDP and UNIX addresses", () => {
  const tcp6 = V2Parser.parse(v2(0x21, 0x21, ipv6Block));
  assert.deepEqual(tcp6.source, {
    type: "TCP",
    host: "2001:db8::7",
    port: 5000,
  });
  assert.deepEqual(tcp6.destination, { type: "TCP", host: "::1", port: 80 });

  const udp4 = V2Parser.parse(
    v2(0x21, 0x12, inet([10, 0, 0, 1], [10, 0, 0, 2], 53, 5353)),
  );
  assert.deepEqual(udp4.source, { type: "UDP", host: "10.0.0.1", port: 53 });
  assert.deepEqual(udp4.destination, {
    type: "UDP",
    host: "10.0.0.2",
    port: 5353,
  });

  const block = new Uint8Array(216);
  block.set(enc("/run/client.sock"), 0);
  block.set(enc("/run/server.sock"), 108);
  const unix = V2Parser.parse(v2(0x21, 0x31, block));
  assert.deepEqual(unix.source, { type: "UNIX", name: "/run/client.sock" });
  assert.deepEqual(unix.destination, {
    type: "UNIX",
    name: "/run/server.sock",
  });
});

Deno.test("V2Parser LOCAL and UNSPEC headers carry no addresses", () => {
  // LOCAL: the proxy's own connection (health check); the block is skipped
  // whatever its family says.
  const local = V2Parser.parse(
    v2(0x20, 0x11, inet([1, 2, 3, 4], [5, 6, 7, 8], 1, 2)),
  );
  assert.equal(local.source, null);
  assert.equal(local.destination, null);
  assert.equal(V2Parser.parse(v2(0x20, 0x00, [])).source, null);
  // PROXY with an unspecified family or transport.
  assert.equal(V2Parser.parse(v2(0x21, 0x00, [])).source, null);
  assert.equal(
    V2Parser.parse(v2(0x21, 0x10, inet([1, 2, 3, 4], [5, 6, 7, 8], 1, 2)))
      .destination,
    null,
  );
});

Deno.test("V2Parser refuses bad headers with the narrowest error", async (t) => {
  const addr = inet([1, 2, 3, 4], [5, 6, 7, 8], 1, 2);
  const cases: [string, Uint8Array, typeof InvalidProxyHeader, RegExp][] = [
    ["version 1", v2(0x11, 0x11, addr), InvalidProxyHeader, /version 1, not 2/],
    ["version 3", v2(0x31, 0x11, addr), InvalidProxyHeader, /version 3, not 2/],
    [
      "command 2",
      v2(0x22, 0x11, addr),
      InvalidProxyHeader,
      /command 2 is neither/,
    ],
    [
      "family 4",
      v2(0x21, 0x41, addr),
      InvalidNetworkProtocol,
      /address family 4/,
    ],
    [
      "transport 3",
      v2(0x21, 0x13, addr),
      InvalidNetworkProtocol,
      /transport 3/,
    ],
    [
      "short INET",
      v2(0x21, 0x11, addr.slice(0, 11)),
      MissingAddressData,
      /11 bytes of addresses, family 1 needs 12/,
    ],
    [
      "short INET6",
      v2(0x21, 0x21, addr),
      MissingAddressData,
      /family 2 needs 36/,
    ],
    [
      "short UNIX",
      v2(0x21, 0x31, new Uint8Array(200)),
      MissingAddressData,
      /family 3 needs 216/,
    ],
    [
      "TLV without length",
      v2(0x21, 0x11, [...addr, 0x01, 0x00]),
      InvalidProxyHeader,
      /no room for its type and length/,
    ],
    [
      "TLV overrun",
      v2(0x21, 0x11, [...addr, ...tlv(0x02, [1, 2, 3]).slice(0, 5)]),
      InvalidProxyHeader,
      /TLV 0x02 of 3 bytes overruns the header by 1/,
    ],
  ];
  for (const [name, header, type, message] of cases) {
    await t.step(name, () => {
      const check = (e: unknown) =>
        e instanceof type && (e as Error).name === type.name &&
        message.test((e as Error).message);
      assert.throws(() => V2Parser.parse(header), check);
      assert.throws(() => new V2Parser().feed(header), check);
    });
  }
});

Deno.test("V2Parser.feed() refuses a wrong signature at its first wrong byte", () => {
  const parser = new V2Parser();
  assert.equal(parser.feed(V2Parser.SIGNATURE.subarray(0, 5)), null);
  assert.throws(
    () => parser.feed(enc("X")),
    (e: unknown) =>
      e instanceof InvalidProxyHeader &&
      e.message ===
        "Cannot parse the PROXY header: byte 5 is 0x58, not 0x0d of the v2 signature",
  );
});

Deno.test("V2Parser.feed() waits for a long header's whole length", () => {
  const body = [
    ...inet([1, 2, 3, 4], [5, 6, 7, 8], 1, 2),
    ...tlv(0xe0, new Array(60000).fill(7)),
  ];
  const header = v2(0x21, 0x11, body);
  const parser = new V2Parser();
  assert.equal(parser.feed(header.subarray(0, header.length - 1)), null);
  const result = parser.feed(header.subarray(header.length - 1));
  assert.ok(result);
  assert.equal(result.info.tlvs[0].value.length, 60000);
  assert.equal(result.rest.length, 0);
});
