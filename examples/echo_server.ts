/**
 * A TCP echo server (RFC 862): every byte goes back to its sender.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 examples/echo_server.ts 7007
 * # listening on 7007
 * deno run --allow-net=127.0.0.1 examples/echo_client.ts 7007 hello
 * ```
 *
 * Arguments: the port (`0`: any free one), then the interface
 * (`127.0.0.1`); `--timeout SECONDS` (default 300, `0`: never) drops a
 * peer that has sent nothing for that long. It prints `listening on PORT`
 * once it accepts and runs until SIGINT or SIGTERM, when the reactor
 * closes the port and every connection. A port already in use is one line
 * on stderr and exit status 1. This is the server `bench/run_echo.sh`
 * measures.
 *
 * @module
 */

import { Echo, Factory, TimeoutMixin } from "@twisted-deno/core/protocols";
import {
  type IAddress,
  type IListeningPort,
  reactor,
} from "@twisted-deno/core/reactor";
import { listenOrExit, takeTimeout } from "./_cli.ts";

/**
 * Echo that hangs up on an idle peer. A read only sets a flag (the echo
 * path stays as fast as plain `Echo`); when the countdown runs out, a peer
 * that read something since is given another period, one that did not is
 * dropped. So an idle peer goes after between one and two periods.
 */
export class IdleEcho extends TimeoutMixin(Echo) {
  #active = false;

  /** Seconds of silence allowed (0: none), set by {@linkcode IdleEchoFactory}. */
  idleTimeout = 0;

  /** Starts the countdown. */
  override connectionMade(): void {
    super.connectionMade();
    if (this.idleTimeout > 0) this.setTimeout(this.idleTimeout);
  }

  /** Notes the activity and echoes (transports without lent buffers). */
  override dataReceived(data: Uint8Array): void {
    this.#active = true;
    super.dataReceived(data);
  }

  /** Notes the activity and echoes from Echo's lent buffer (TCP, TLS). */
  override bufferUpdated(n: number): void {
    this.#active = true;
    super.bufferUpdated(n);
  }

  /** Another period for an active peer; the door for an idle one. */
  override timeoutConnection(): void {
    if (this.#active) {
      this.#active = false;
      this.setTimeout(this.idleTimeout);
    } else {
      super.timeoutConnection();
    }
  }
}

/** Builds {@linkcode IdleEcho}s that allow `timeout` seconds of silence. */
export class IdleEchoFactory extends Factory {
  override protocol = IdleEcho;
  override noisy = false;

  /** @param timeout Seconds a peer may stay silent (0: forever). */
  constructor(readonly timeout: number) {
    super();
  }

  /** An {@linkcode IdleEcho} with this factory's timeout. */
  override buildProtocol(_addr: IAddress): IdleEcho {
    const proto = new IdleEcho();
    proto.factory = this;
    proto.idleTimeout = this.timeout;
    return proto;
  }
}

/**
 * Starts an echo server on `port`.
 *
 * @param port The port (0: any free one).
 * @param iface The interface to bind.
 * @param timeout Seconds a peer may stay silent (0: forever).
 * @returns The listening port.
 *
 * @example Echo a few bytes over loopback
 * ```ts
 * import assert from "node:assert/strict";
 * import { serveEcho } from "./echo_server.ts";
 *
 * const port = serveEcho(0, "127.0.0.1");
 * const host = port.getHost();
 * assert.equal(host.type, "TCP");
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: host.type === "TCP" ? host.port : 0 });
 * await conn.write(new TextEncoder().encode("hi"));
 * await conn.closeWrite(); // the server echoes, then closes too
 * const echoed = await new Response(conn.readable).text();
 * assert.equal(echoed, "hi");
 * await port.stopListening();
 * ```
 */
export function serveEcho(
  port: number,
  iface: string,
  timeout = 0,
): IListeningPort {
  return reactor.listenTCP(port, new IdleEchoFactory(timeout), {
    interface: iface,
  });
}

if (import.meta.main) {
  const args = [...Deno.args];
  const timeout = takeTimeout(args, 300);
  if (typeof timeout === "string") {
    console.error(`echo_server: ${timeout}`);
    Deno.exit(2);
  }
  const port = listenOrExit(
    "echo_server",
    () => serveEcho(Number(args[0] ?? 7007), args[1] ?? "127.0.0.1", timeout),
  );
  const host = port.getHost();
  if (host.type === "TCP") console.log(`listening on ${host.port}`);
  await reactor.run();
}
