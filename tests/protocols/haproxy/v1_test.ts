import assert from "node:assert/strict";
import {
  InvalidNetworkProtocol,
  InvalidProxyHeader,
  MissingAddressData,
  V1Parser,
} from "../../../protocols/haproxy/mod.ts";
import { dec, enc, feedInPieces } from "./_headers.ts";

Deno.test("V1Parser.feed() parses TCP4 and TCP6 lines at every chunk size", async (t) => {
  const cases = [
    {
      line: "PROXY TCP4 203.0.113.7 192.0.2.1 56324 443",
      source: { type: "TCP", host: "203.0.113.7", port: 56324 },
      destination: { type: "TCP", host: "192.0.2.1", port: 443 },
    },
    {
      line: "PROXY TCP6 2001:DB8:0:0::7 ::ffff:192.0.2.1 0 65535",
      source: { type: "TCP", host: "2001:db8::7", port: 0 },
      destination: { type: "TCP", host: "::ffff:c000:201", port: 65535 },
    },
  ];
  for (const c of cases) {
    await t.step(c.line, () => {
      const stream = enc(`${c.line}\r\nafter\r\n`);
      for (let size = 1; size <= stream.length; size++) {
        const parser = new V1Parser();
        const { result, fedUpTo } = feedInPieces(
          (b) => parser.feed(b),
          stream,
          size,
        );
        assert.ok(result, `size ${size}`);
        assert.deepEqual(result.info.source, c.source);
        assert.deepEqual(result.info.destination, c.destination);
        assert.equal(dec(result.info.header), c.line);
        const headerEnd = c.line.length + 2;
        assert.equal(
          dec(result.rest),
          dec(stream.subarray(headerEnd, fedUpTo)),
          `size ${size}`,
        );
      }
    });
  }
});

Deno.test("V1Parser.feed() accepts a CRLF split across chunks", () => {
  const parser = new V1Parser();
  assert.equal(parser.feed(enc("PROXY UNKNOWN\r")), null);
  const result = parser.feed(enc("\nxyz"));
  assert.ok(result);
  assert.equal(result.info.source, null);
  assert.equal(result.info.destination, null);
  assert.equal(dec(result.rest), "xyz");
});

Deno.test("V1Parser UNKNOWN ignores the rest of the line", () => {
  const info = V1Parser.parse(enc("PROXY UNKNOWN ffff::1 ffff::2 1 2"));
  assert.equal(info.source, null);
  assert.equal(info.destination, null);
});

Deno.test("V1Parser accepts a 107-byte line and refuses 107 bytes without a CRLF", () => {
  // The longest real line: TCP6 with two full-length addresses and ports.
  const longest =
    "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535";
  assert.equal(longest.length + 2, 104);
  const ok = new V1Parser().feed(enc(`${longest}\r\n`));
  assert.ok(ok);
  assert.equal((ok.info.source as { port: number }).port, 65535);
  const edge = `PROXY UNKNOWN ${"z".repeat(91)}\r\n`;
  assert.equal(edge.length, 107);
  const atLimit = new V1Parser().feed(enc(edge + "!"));
  assert.ok(atLimit);
  assert.equal(dec(atLimit.rest), "!");

  const parser = new V1Parser();
  const padded = `PROXY UNKNOWN ${"x".repeat(93)}`; // 107 bytes, no CRLF yet
  assert.equal(padded.length, 107);
  assert.throws(() => parser.feed(enc(padded)), /no CRLF within 107 bytes/);

  const bytewise = new V1Parser();
  const long = enc(`PROXY UNKNOWN ${"y".repeat(200)}\r\n`);
  let thrown: unknown;
  let fed = 0;
  try {
    for (; fed < long.length; fed++) bytewise.feed(long.subarray(fed, fed + 1));
  } catch (e) {
    thrown = e;
  }
  assert.ok(thrown instanceof InvalidProxyHeader);
  assert.equal(fed, 106, "refused on the 107th byte, without buffering more");
});

Deno.test("V1Parser refuses a stream that is not a PROXY line at its first wrong byte", () => {
  const parser = new V1Parser();
  assert.equal(parser.feed(enc("PRO")), null);
  assert.throws(
    () => parser.feed(enc("XX")),
    (e: unknown) =>
      e instanceof InvalidProxyHeader &&
      e.message ===
        'Cannot parse the PROXY header: "PROXX" is not the start of "PROXY "',
  );
  assert.throws(
    () => new V1Parser().feed(enc("GET / HTTP/1.1\r\n")),
    InvalidProxyHeader,
  );
});

Deno.test("V1Parser.parse() refuses malformed lines with the narrowest error", async (t) => {
  const cases: [string, typeof InvalidProxyHeader, RegExp][] = [
    ["PROXY", InvalidNetworkProtocol, /protocol "" is not TCP4/],
    ["PROXY UDP4 1.2.3.4 1.2.3.4 1 2", InvalidNetworkProtocol, /"UDP4"/],
    ["PROXY tcp4 1.2.3.4 1.2.3.4 1 2", InvalidNetworkProtocol, /"tcp4"/],
    ["PROXY TCP4 1.2.3.4 1.2.3.4 1", MissingAddressData, /5 fields, not 6/],
    ["PROXY TCP4 1.2.3.4 1.2.3.4 1 2 3", MissingAddressData, /7 fields/],
    ["PROXY TCP4  1.2.3.4 1.2.3.4 1 2", MissingAddressData, /7 fields/],
    [
      "PROXY TCP4 1.2.3 1.2.3.4 1 2",
      MissingAddressData,
      /"1.2.3" is not an IPv4/,
    ],
    ["PROXY TCP4 1.2.3.256 1.2.3.4 1 2", MissingAddressData, /"1.2.3.256"/],
    ["PROXY TCP4 ::1 1.2.3.4 1 2", MissingAddressData, /"::1" is not an IPv4/],
    [
      "PROXY TCP6 1.2.3.4 ::1 1 2",
      MissingAddressData,
      /"1.2.3.4" is not an IPv6/,
    ],
    ["PROXY TCP6 ::1 ::g 1 2", MissingAddressData, /"::g"/],
    ["PROXY TCP4 1.2.3.4 1.2.3.4 65536 2", MissingAddressData, /port "65536"/],
    ["PROXY TCP4 1.2.3.4 1.2.3.4 01 2", MissingAddressData, /port "01"/],
    ["PROXY TCP4 1.2.3.4 1.2.3.4 1 -2", MissingAddressData, /port "-2"/],
    [
      "PROXY TCP4 1.2.3.4 1.2.3.4 1 2\x00",
      InvalidProxyHeader,
      /not printable ASCII/,
    ],
    [
      "NOPE TCP4 1.2.3.4 1.2.3.4 1 2",
      InvalidProxyHeader,
      /does not start with "PROXY "/,
    ],
  ];
  for (const [line, type, message] of cases) {
    await t.step(JSON.stringify(line), () => {
      assert.throws(
        () => V1Parser.parse(enc(line)),
        (e: unknown) =>
          e instanceof type && (e as Error).name === type.name &&
          message.test((e as Error).message),
      );
    });
  }
});
