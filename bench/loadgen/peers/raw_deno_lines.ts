// raw_deno_lines.ts: hand-written Deno line echo server ("\r\n"-delimited).
// Per connection: read into a 64 KiB buffer; find each "\r\n" with
// Uint8Array.indexOf(LF) over the new bytes; hand each line to onLine() as a
// subarray view (no string decoding); onLine copies line + "\r\n" into an
// output buffer, written once per read with a write-all loop. An unfinished
// line is moved to the front of the buffer; the buffer doubles for long lines
// (up to 1 MiB, then the connection is closed).
//   deno run --allow-net=127.0.0.1 raw_deno_lines.ts PORT   (0 = any free port)

const CR = 13, LF = 10, MAX_LINE = 1 << 20;

const listener = Deno.listen({
  hostname: "127.0.0.1",
  port: Number(Deno.args[0] ?? 0),
});
console.log(`listening on ${listener.addr.port}`);

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  for (let off = 0; off < data.length;) {
    off += await conn.write(data.subarray(off));
  }
}

async function lineEcho(conn: Deno.Conn): Promise<void> {
  let buf = new Uint8Array(64 * 1024);
  let out = new Uint8Array(buf.length);
  let have = 0; // buf[0, have) holds an unfinished line
  let o = 0;
  const onLine = (line: Uint8Array) => { // the "sendLine": line + "\r\n"
    out.set(line, o);
    o += line.length;
    out[o++] = CR;
    out[o++] = LF;
  };
  try {
    for (;;) {
      if (have === buf.length) { // one line fills the buffer: grow it
        if (buf.length >= MAX_LINE) break;
        const bigger = new Uint8Array(buf.length * 2);
        bigger.set(buf);
        buf = bigger;
        out = new Uint8Array(buf.length);
      }
      const n = await conn.read(buf.subarray(have));
      if (n === null) break; // EOF
      const end = have + n;
      const data = buf.subarray(0, end);
      let start = 0; // first byte of the current line
      o = 0;
      for (
        let lf = data.indexOf(LF, have);
        lf !== -1;
        lf = data.indexOf(LF, lf + 1)
      ) {
        if (lf > start && buf[lf - 1] === CR) { // a bare LF stays part of the line
          onLine(buf.subarray(start, lf - 1));
          start = lf + 1;
        }
      }
      if (o > 0) await writeAll(conn, out.subarray(0, o));
      buf.copyWithin(0, start, end);
      have = end - start;
    }
  } catch {
    // reset by the peer: just drop the connection
  } finally {
    try {
      conn.close();
    } catch { /* already closed */ }
  }
}

for await (const conn of listener) lineEcho(conn);
