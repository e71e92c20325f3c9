// Raw Deno TLS echo with reading and writing overlapped: Deno.listenTls, a
// read loop that reads into a fresh 64 KiB buffer each time (the chunk is
// then queued, so it cannot be reused) and a write loop that sends queued
// chunks with write-all. It is what an event-driven transport does, so it
// is the like-for-like raw peer of a plain dataReceived echo; the
// sequential bench/tls_raw_deno.ts is the raw peer of a lent-buffer echo.
// Usage: tls_raw_deno_pipelined.ts CERT KEY PORT
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
  const queue: Uint8Array[] = [];
  let wake: (() => void) | undefined;
  let done = false;
  const writer = (async () => {
    for (;;) {
      const chunk = queue.shift();
      if (chunk === undefined) {
        if (done) return;
        await new Promise<void>((resolve) => wake = resolve);
        wake = undefined;
        continue;
      }
      let off = 0;
      while (off < chunk.length) off += await conn.write(chunk.subarray(off));
    }
  })().catch(() => {
    done = true; // the client went away: the read loop ends too
    queue.length = 0;
  });
  try {
    for (;;) {
      const buffer = new Uint8Array(65536);
      const n = await conn.read(buffer);
      if (n === null || done) break;
      queue.push(buffer.subarray(0, n));
      wake?.();
    }
    done = true;
    wake?.();
    await writer;
  } catch {
    // the client went away
  } finally {
    done = true;
    wake?.();
    try {
      conn.close();
    } catch {
      // already closed
    }
  }
}

for await (const conn of listener) echo(conn);
