// Node tls echo, a peer of bench/run_udp_tls.sh: data -> write, pausing on
// back-pressure. Usage: tls_node.mjs CERT KEY PORT
import fs from "node:fs";
import tls from "node:tls";
const [certFile, keyFile, port] = process.argv.slice(2);
const server = tls.createServer({
  cert: fs.readFileSync(certFile),
  key: fs.readFileSync(keyFile),
}, (socket) => {
  socket.on("data", (d) => {
    if (!socket.write(d)) {
      socket.pause();
      socket.once("drain", () => socket.resume());
    }
  });
  socket.on("error", () => socket.destroy());
});
server.listen(Number(port ?? 0), "127.0.0.1", () => {
  console.log(`listening on ${server.address().port}`);
});
process.on("SIGTERM", () => process.exit(0));
