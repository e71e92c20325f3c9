// Fault: malformed input to the framing protocols. Each bad client is
// dropped (or, for invalid UTF-8, answered with U+FFFD), alone: the server
// keeps serving everyone else.
import assert from "node:assert/strict";
import {
  connect,
  decode,
  encode,
  readExactly,
  readToEOF,
  type ServerChild,
  startServer,
  within,
} from "./_harness.ts";

async function dropped(port: number, bytes: Uint8Array): Promise<Uint8Array> {
  const conn = await connect(port);
  try {
    await conn.write(bytes);
    return await readToEOF(conn, 5_000);
  } finally {
    conn.close();
  }
}

async function exchange(
  port: number,
  bytes: Uint8Array,
  reply: Uint8Array,
): Promise<void> {
  const conn = await connect(port);
  try {
    await conn.write(bytes);
    assert.deepEqual(
      await within(5_000, "the reply", readExactly(conn, reply.length)),
      reply,
    );
  } finally {
    conn.close();
  }
}

function int32(n: number, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const out = new Uint8Array(4 + payload.length);
  new DataView(out.buffer).setUint32(0, n);
  out.set(payload, 4);
  return out;
}

let server: ServerChild | undefined;

Deno.test("malformed framing drops only the bad connection", async (t) => {
  server = await startServer("parse");
  // One honest client per protocol stays connected throughout.
  const ports = server.ports;
  const honest = {
    line: await connect(ports.line),
    netstring: await connect(ports.netstring),
    int32: await connect(ports.int32),
  };
  const stillServed = async () => {
    const expected = 'line:"hello"\r\n';
    await honest.line.write(encode("hello\r\n"));
    assert.equal(
      decode(
        await within(
          5_000,
          "a line",
          readExactly(honest.line, expected.length),
        ),
      ),
      expected,
    );
    await honest.netstring.write(encode("5:hello,"));
    assert.equal(
      decode(
        await within(5_000, "a netstring", readExactly(honest.netstring, 8)),
      ),
      "5:hello,",
    );
    await honest.int32.write(int32(5, encode("hello")));
    assert.deepEqual(
      await within(5_000, "an Int32 string", readExactly(honest.int32, 9)),
      int32(5, encode("hello")),
    );
  };
  try {
    await stillServed();

    await t.step("an overlong line (MAX_LENGTH 1024) is dropped", async () => {
      const got = await dropped(ports.line, new Uint8Array(4096).fill(0x41));
      assert.equal(got.length, 0);
      await stillServed();
    });

    await t.step("invalid UTF-8 in a line arrives as U+FFFD", async () => {
      await exchange(
        ports.line,
        new Uint8Array([0xff, 0xfe, 0x41, 0x0d, 0x0a]),
        encode('line:"\ufffd\ufffdA"\r\n'),
      );
      await stillServed();
    });

    await t.step("a netstring length of 999999999999 is dropped", async () => {
      const got = await dropped(ports.netstring, encode("999999999999:"));
      assert.equal(got.length, 0);
      await stillServed();
    });

    await t.step("a netstring that is not one is dropped", async () => {
      const got = await dropped(ports.netstring, encode("5:hello;"));
      assert.equal(got.length, 0);
      await stillServed();
    });

    for (const prefix of [0x7fffffff, 0xffffffff]) {
      await t.step(
        `an Int32 prefix of 0x${prefix.toString(16)} is dropped`,
        async () => {
          const got = await dropped(ports.int32, int32(prefix, encode("abc")));
          assert.equal(got.length, 0);
          await stillServed();
        },
      );
    }
  } finally {
    for (const c of Object.values(honest)) c.close();
    await server.stop();
  }
});
