// Raw Deno TLS echo: Deno.listenTls, a 64 KiB buffer per connection, read
// then write-all. The baseline of bench/run_udp_tls.sh.
// Usage: tls_raw_deno.ts CERT KEY PORT
const [certFile, keyFile, port] = Deno.args;
const listener = Deno.listenTls({
  hostname: "127.0.0.1",
  port: Number(port ?? 0),
  cert: Deno.readTextFileSync(certFile),
  key: Deno.readTextFileSync(keyFile),
});
console.log(`listening on ${(listener.addr as Deno.NetAddr).port}`);
Deno.addSignalListener("SIGTERM", () => Deno.exit(0));

async function echo(conn: Deno.TlsConn): Promise<void> {
  const buffer = new Uint8Array(65536);
  try {
    for (;;) {
      const n = await conn.read(buffer);
      if (n === null) break;
      let off = 0;
      while (off < n) off += await conn.write(buffer.subarray(off, n));
    }
  } catch {
    // the client went away
  } finally {
    try {
      conn.close();
    } catch {
      // already closed
    }
  }
}

for await (const conn of listener) echo(conn);
