// Node dgram UDP echo, a peer of bench/run_udp_tls.sh. Usage: udp_node.mjs PORT
import dgram from "node:dgram";
const socket = dgram.createSocket("udp4");
socket.on(
  "message",
  (msg, rinfo) => socket.send(msg, rinfo.port, rinfo.address),
);
socket.bind(Number(process.argv[2] ?? 0), "127.0.0.1", () => {
  console.log(`listening on ${socket.address().port}`);
});
process.on("SIGTERM", () => socket.close(() => process.exit(0)));
