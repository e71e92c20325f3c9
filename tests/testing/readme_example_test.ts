// The README's "Testing your protocol" example: a complete test file.
import assert from "node:assert/strict";
import { LineReceiver } from "@twisted-deno/core/protocols";
import type { IDelayedCall, IReactorTime } from "@twisted-deno/core/reactor";
import { Clock, StringTransport } from "@twisted-deno/core/testing";

/** Answers PING with PONG; hangs up on a client idle for 30 seconds. */
class Pong extends LineReceiver {
  #idle?: IDelayedCall;

  constructor(readonly clock: IReactorTime) {
    super();
  }

  override connectionMade(): void {
    this.#idle = this.clock.callLater(
      30,
      () => this.transport.loseConnection(),
    );
  }

  override lineReceived(line: string): void {
    this.#idle!.reset(30);
    this.sendLine(line === "PING" ? "PONG" : `ERR unknown command: ${line}`);
  }

  override connectionLost(): void {
    if (this.#idle?.active()) this.#idle.cancel();
  }
}

Deno.test("Pong answers each PING, even one split across reads", () => {
  const transport = new StringTransport();
  const proto = new Pong(new Clock());
  proto.makeConnection(transport);
  proto.dataReceived(new TextEncoder().encode("PING\r\nPI"));
  proto.dataReceived(new TextEncoder().encode("NG\r\nHELLO\r\n"));
  assert.equal(
    new TextDecoder().decode(transport.value()),
    "PONG\r\nPONG\r\nERR unknown command: HELLO\r\n",
  );
});

Deno.test("Pong hangs up after 30 idle seconds; each line restarts the wait", () => {
  const clock = new Clock();
  const transport = new StringTransport();
  const proto = new Pong(clock);
  proto.makeConnection(transport);
  clock.advance(29);
  proto.dataReceived(new TextEncoder().encode("PING\r\n"));
  clock.advance(29);
  assert.equal(transport.disconnecting, false);
  clock.advance(1);
  assert.equal(transport.disconnecting, true);
});
