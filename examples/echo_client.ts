/**
 * A TCP echo client: sends a message to an echo server, waits for all of
 * it to come back, prints it and exits.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 examples/echo_server.ts 7007 &
 * deno run --allow-net=127.0.0.1 examples/echo_client.ts 7007 hello world
 * # hello world
 * ```
 *
 * Arguments: the port, or an endpoint description (`tcp:HOST:PORT`,
 * `unix:/tmp/echo.sock`, which needs `--allow-net=unix:/tmp/echo.sock`),
 * then the words of the message (`hello` when none).
 *
 * @module
 */

import { Deferred, type Failure } from "@twisted-deno/core/deferred";
import { Protocol } from "@twisted-deno/core/protocols";
import {
  clientFromString,
  ConnectionDone,
  connectProtocol,
  type IStreamClientEndpoint,
  reactor,
} from "@twisted-deno/core/reactor";

/**
 * Sends `message`, reads the same number of bytes back, then closes;
 * `done` fires with what came back.
 */
export class EchoClient extends Protocol {
  /** Fires with the echoed bytes, or fails if the connection broke first. */
  readonly done: Deferred<Uint8Array> = new Deferred();
  #chunks: Uint8Array[] = [];
  #received = 0;

  /** @param message The bytes to send. */
  constructor(readonly message: Uint8Array) {
    super();
  }

  /** Sends the message. */
  override connectionMade(): void {
    this.transport!.write(this.message);
    if (this.message.length === 0) this.transport!.loseConnection();
  }

  /** Collects the echo; closes once it is all back. */
  override dataReceived(data: Uint8Array): void {
    this.#chunks.push(data);
    this.#received += data.length;
    if (this.#received >= this.message.length) {
      this.transport!.loseConnection();
    }
  }

  /** Fires `done`. */
  override connectionLost(reason: Failure): void {
    if (this.#received >= this.message.length && reason.check(ConnectionDone)) {
      const out = new Uint8Array(this.#received);
      let offset = 0;
      for (const c of this.#chunks) {
        out.set(c, offset);
        offset += c.length;
      }
      this.done.callback(out);
    } else {
      this.done.errback(reason);
    }
  }
}

/**
 * Echoes `message` through the server at `endpoint`.
 *
 * @param endpoint Where the echo server is.
 * @param message What to send.
 * @returns What came back.
 *
 * @example Against the example echo server
 * ```ts
 * import assert from "node:assert/strict";
 * import { reactor, TCP4ClientEndpoint } from "@twisted-deno/core/reactor";
 * import { serveEcho } from "./echo_server.ts";
 * import { echo } from "./echo_client.ts";
 *
 * const port = serveEcho(0, "127.0.0.1");
 * const host = port.getHost();
 * assert.ok(host.type === "TCP");
 * const back = await echo(new TCP4ClientEndpoint(reactor, "127.0.0.1", host.port), "ping");
 * assert.equal(new TextDecoder().decode(back), "ping");
 * await port.stopListening();
 * ```
 */
export async function echo(
  endpoint: IStreamClientEndpoint,
  message: string | Uint8Array,
): Promise<Uint8Array> {
  const bytes = typeof message === "string"
    ? new TextEncoder().encode(message)
    : message;
  const proto = await connectProtocol(endpoint, new EchoClient(bytes));
  return await proto.done;
}

if (import.meta.main) {
  const [where = "7007", ...words] = Deno.args;
  const description = where.includes(":") ? where : `tcp:127.0.0.1:${where}`;
  const back = await echo(
    clientFromString(reactor, description),
    words.length > 0 ? words.join(" ") : "hello",
  );
  console.log(new TextDecoder().decode(back));
}
