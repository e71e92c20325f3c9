/**
 * TLS both ways in one process: an echo server on `listenSSL`, and a
 * client that connects to it over an `SSL4ClientEndpoint` trusting only
 * the given CA, sends a message, prints the echo and stops. The protocols
 * are the plain TCP ones (`Echo`, the `EchoClient` of echo_client.ts): TLS
 * is the transport's business, not theirs.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 --allow-read examples/tls_echo.ts CERT.pem KEY.pem CA.pem [MESSAGE]
 * ```
 *
 * The certificate must name `localhost`, and CA.pem must have signed it
 * (Deno's TLS refuses a self-signed certificate that is its own CA). To
 * make a throwaway pair:
 *
 * ```sh
 * openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
 *   -keyout ca.key -out ca.pem -days 1 -subj /CN=demo-ca \
 *   -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign
 * openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
 *   -keyout key.pem -out leaf.csr -subj /CN=localhost
 * printf 'basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost\n' > leaf.ext
 * openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
 *   -out cert.pem -days 1 -extfile leaf.ext
 * ```
 *
 * @module
 */

import { Echo, Factory } from "@twisted-deno/core/protocols";
import { reactor, SSL4ClientEndpoint } from "@twisted-deno/core/reactor";
import { echo } from "./echo_client.ts";

/**
 * Serves echo over TLS on a free loopback port, echoes `message` through
 * it as a TLS client, and closes the port.
 *
 * @returns What came back.
 */
export async function tlsEcho(
  certPem: string,
  keyPem: string,
  caPem: string,
  message: string,
): Promise<string> {
  const factory = Factory.forProtocol(Echo);
  factory.noisy = false;
  const port = reactor.listenSSL(0, factory, { cert: certPem, key: keyPem }, {
    interface: "127.0.0.1",
  });
  try {
    const host = port.getHost();
    if (host.type !== "TCP") throw new Error("expected a TCP address");
    const endpoint = new SSL4ClientEndpoint(reactor, "127.0.0.1", host.port, {
      caCerts: [caPem],
      hostname: "localhost",
    });
    return new TextDecoder().decode(await echo(endpoint, message));
  } finally {
    await port.stopListening();
  }
}

if (import.meta.main) {
  const [cert, key, ca, ...words] = Deno.args;
  if (ca === undefined) {
    console.error(
      "usage: deno run --allow-net=127.0.0.1 --allow-read examples/tls_echo.ts CERT KEY CA [MESSAGE]",
    );
    Deno.exit(2);
  }
  const read = (path: string) => Deno.readTextFileSync(path);
  const message = words.length > 0 ? words.join(" ") : "hello over TLS";
  try {
    const back = await tlsEcho(read(cert), read(key), read(ca), message);
    console.log(`echoed over TLS: ${back}`);
  } catch (error) {
    console.error(`tls_echo: ${(error as Error).message}`);
    Deno.exit(1);
  }
}
