// twisted-deno TLS echo: an echo Protocol on reactor.listenSSL, the server
// under test in bench/run_udp_tls.sh. Usage: tls_echo_ours.ts CERT KEY PORT
import { Factory, Protocol } from "@twisted-deno/core/protocols";
import { reactor } from "@twisted-deno/core/reactor";

class Echo extends Protocol {
  override dataReceived(data: Uint8Array): void {
    this.transport!.write(data);
  }
}

// CERT KEY [--no-handshake-timeout] PORT: the flag serves with
// handshakeTimeout null, on Deno.listenTls (no timeout for a stalled
// handshake); without it, the default 30 s timeout, on Deno's node:tls.
const [certFile, keyFile, ...rest] = Deno.args;
const port = rest.at(-1);
const noTimeout = rest.includes("--no-handshake-timeout");
const factory = Factory.forProtocol(Echo);
factory.noisy = false;
const listening = reactor.listenSSL(Number(port ?? 0), factory, {
  cert: Deno.readTextFileSync(certFile),
  key: Deno.readTextFileSync(keyFile),
  ...(noTimeout ? { handshakeTimeout: null } : {}),
}, { interface: "127.0.0.1" });
const host = listening.getHost();
if (host.type === "TCP") console.log(`listening on ${host.port}`);
await reactor.run(); // stops on SIGTERM
