// Fault: oversized and zero-length datagrams to a UDP server with the
// default maxPacketSize (8192). The oversized one is cut to 8192 bytes and
// that is logged once, naming maxPacketSize; the empty one is delivered
// empty; honest datagrams keep being answered.
import assert from "node:assert/strict";
import { decode, encode, startServer, within } from "./_harness.ts";

Deno.test("oversized and zero-length datagrams: cut and logged once, delivered empty, server keeps answering", async () => {
  const server = await startServer("udp");
  const client = Deno.listenDatagram({
    transport: "udp",
    hostname: "127.0.0.1",
    port: 0,
  });
  try {
    const to = {
      transport: "udp" as const,
      hostname: "127.0.0.1",
      port: server.ports.port,
    };
    const ask = async (data: Uint8Array): Promise<string> => {
      await client.send(data, to);
      const [reply] = await within(5_000, "a reply", client.receive());
      return decode(reply);
    };
    assert.equal(await ask(encode("hello")), "len=5");
    assert.equal(await ask(new Uint8Array(65507)), "len=8192");
    assert.equal(await ask(new Uint8Array(0)), "len=0");
    assert.equal(await ask(new Uint8Array(9000)), "len=8192");
    assert.equal(await ask(encode("still here")), "len=10");
    await server.stderr.match(/maxPacketSize/, "the warning");
    assert.equal(
      server.stderr.count(/was cut to maxPacketSize/g),
      1,
      server.stderr.text,
    );
    assert.match(
      server.stderr.text,
      /a datagram longer than 8192 bytes from 127\.0\.0\.1:\d+ was cut to maxPacketSize \(8192 bytes\)/,
    );
  } finally {
    client.close();
    await server.stop();
  }
});
