// raw_deno_lines_text.ts: bench/loadgen/peers/raw_deno_lines.ts with strings:
// the same hand-written Deno line echo, except that each line is decoded
// from UTF-8 to a string (TextDecoder) and the reply encoded back into the
// output buffer (TextEncoder.encodeInto), as a protocol that receives lines
// as strings must. It is the like-for-like raw peer of LineReceiver, whose
// lineReceived gets strings; the bytes-only splitter is that of
// BytesLineReceiver.
//   deno run --allow-net=127.0.0.1 bench/raw_deno_lines_text.ts PORT   (0 = any free port)

const CR = 13, LF = 10, MAX_LINE = 1 << 20;
const decoder = new TextDecoder();
const encoder = new TextEncoder();

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
  let out = new Uint8Array(buf.length * 3); // U+FFFD: 1 invalid byte -> 3
  let have = 0; // buf[0, have) holds an unfinished line
  let o = 0;
  const onLine = (bytes: Uint8Array) => { // decode, then "sendLine": line + "\r\n"
    const line = decoder.decode(bytes);
    o += encoder.encodeInto(line, out.subarray(o)).written;
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
        out = new Uint8Array(buf.length * 3);
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
