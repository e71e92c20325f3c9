// Raw Deno UDP echo: Deno.listenDatagram, one reused buffer, receive then
// send. The baseline of bench/run_udp_tls.sh. Usage: udp_raw_deno.ts PORT
const conn = Deno.listenDatagram({
  transport: "udp",
  hostname: "127.0.0.1",
  port: Number(Deno.args[0] ?? 0),
});
console.log(`listening on ${(conn.addr as Deno.NetAddr).port}`);
Deno.addSignalListener("SIGTERM", () => conn.close());
const buffer = new Uint8Array(8192);
try {
  for (;;) {
    const [data, from] = await conn.receive(buffer);
    await conn.send(data, from);
  }
} catch (e) {
  if (
    !(e instanceof Deno.errors.BadResource ||
      e instanceof Deno.errors.Interrupted)
  ) throw e;
}
Deno.exit(0);
