// node_lines.mjs: hand-written Node line echo server ("\r\n"-delimited).
// Per 'data' chunk (joined to any unfinished line from before): find each
// "\r\n" with Buffer.indexOf(LF); hand each line to onLine() as a Buffer view
// (no string decoding); onLine copies line + "\r\n" into one output Buffer,
// written once per chunk. Lines over 1 MiB close the connection.
//   node node_lines.mjs PORT   (0 = any free port)
import net from "node:net";

const CR = 13, LF = 10, MAX_LINE = 1 << 20;
const port = Number(process.argv[2] ?? 0);

const server = net.createServer((sock) => {
  sock.on("error", () => {}); // resets by the peer: the socket just closes
  let rest = null; // unfinished line from earlier chunks
  sock.on("data", (chunk) => {
    const data = rest ? Buffer.concat([rest, chunk]) : chunk;
    const out = Buffer.allocUnsafe(data.length);
    let o = 0;
    const onLine = (line) => { // the "sendLine": line + "\r\n"
      o += line.copy(out, o);
      out[o++] = CR;
      out[o++] = LF;
    };
    let start = 0; // first byte of the current line
    const from = rest ? rest.length : 0; // earlier bytes hold no "\r\n"
    for (
      let lf = data.indexOf(LF, from);
      lf !== -1;
      lf = data.indexOf(LF, lf + 1)
    ) {
      if (lf > start && data[lf - 1] === CR) { // a bare LF stays part of the line
        onLine(data.subarray(start, lf - 1));
        start = lf + 1;
      }
    }
    rest = start < data.length ? data.subarray(start) : null;
    if (rest && rest.length > MAX_LINE) {
      sock.destroy();
      return;
    }
    if (o > 0 && !sock.write(out.subarray(0, o))) {
      sock.pause();
      sock.once("drain", () => sock.resume());
    }
  });
});
server.listen(
  port,
  "127.0.0.1",
  () => console.log(`listening on ${server.address().port}`),
);
