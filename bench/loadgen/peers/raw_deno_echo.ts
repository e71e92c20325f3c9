// raw_deno_echo.ts: the plainest fast Deno echo server, our "physical limit".
// Deno.listen, then per connection: read into one reused 64 KiB buffer and
// write it all back before the next read.
//   deno run --allow-net=127.0.0.1 raw_deno_echo.ts PORT   (0 = any free port)

const listener = Deno.listen({
  hostname: "127.0.0.1",
  port: Number(Deno.args[0] ?? 0),
});
console.log(`listening on ${listener.addr.port}`);

async function echo(conn: Deno.Conn): Promise<void> {
  const buf = new Uint8Array(64 * 1024);
  try {
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break; // EOF
      for (let off = 0; off < n;) off += await conn.write(buf.subarray(off, n));
    }
  } catch {
    // reset by the peer: just drop the connection
  } finally {
    try {
      conn.close();
    } catch { /* already closed */ }
  }
}

for await (const conn of listener) echo(conn);
