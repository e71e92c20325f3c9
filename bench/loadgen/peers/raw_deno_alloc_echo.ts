// raw_deno_alloc_echo.ts: raw Deno echo that reads into a FRESH 64 KiB buffer each time,
// as a transport must when each chunk becomes the protocol's to keep (Twisted's and
// Node's contract). It is the limit for a plain dataReceived echo; raw_deno_echo.ts,
// which reuses one buffer, is the limit for a zero-copy path.
//   deno run --allow-net=127.0.0.1 raw_deno_alloc_echo.ts PORT   (0 = any free port)

const listener = Deno.listen({
  hostname: "127.0.0.1",
  port: Number(Deno.args[0] ?? 0),
});
console.log(`listening on ${listener.addr.port}`);

async function echo(conn: Deno.Conn): Promise<void> {
  try {
    for (;;) {
      const buf = new Uint8Array(64 * 1024);
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
