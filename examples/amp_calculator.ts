/**
 * An AMP calculator: a server that answers `Sum` and `Divide`, and a
 * client that calls it, in one process. It listens on a free loopback
 * port, makes a few calls (one of them dividing by zero, which comes back
 * as the declared `ZeroDivisionError`), prints the answers, closes and
 * exits by itself.
 *
 * ```sh
 * deno run --allow-net=127.0.0.1 examples/amp_calculator.ts
 * # 13 + 81 = 94
 * # 1 / 8 = 0.125
 * # 1 / 0 failed: ZeroDivisionError: division by zero
 * # 100 pipelined sums: 5050
 * ```
 *
 * The same commands talk to Twisted: a Python `amp.AMP` subclass that
 * declares `Sum` and `Divide` with the same names, argument types and
 * error code answers this client unchanged.
 *
 * @module
 */

import * as amp from "@twisted-deno/core/amp";
import { Factory } from "@twisted-deno/core/protocols";
import {
  connectProtocol,
  reactor,
  TCP4ClientEndpoint,
} from "@twisted-deno/core/reactor";

/** Raised by `Divide` for a zero divisor; travels as `ZERO_DIVISION`. */
export class ZeroDivisionError extends Error {
  /** The error's name. */
  override name = "ZeroDivisionError";
}

/** Adds two integers. */
export const Sum = new amp.Command("Sum", {
  arguments: { a: new amp.Integer(), b: new amp.Integer() },
  response: { total: new amp.Integer() },
});

/** Divides two integers. */
export const Divide = new amp.Command("Divide", {
  arguments: { numerator: new amp.Integer(), denominator: new amp.Integer() },
  response: { result: new amp.Float() },
  errors: { ZERO_DIVISION: ZeroDivisionError },
});

/**
 * The calculator's server side.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import * as amp from "@twisted-deno/core/amp";
 * import { connectedServerAndClient } from "@twisted-deno/core/testing";
 * import { Calculator, Sum } from "./amp_calculator.ts";
 *
 * const [client, , pump] = connectedServerAndClient(Calculator, amp.AMP);
 * const d = client.callRemote(Sum, { a: 2, b: 3 });
 * pump.flush();
 * assert.deepEqual(await d, { total: 5 });
 * ```
 */
export class Calculator extends amp.AMP {
  /** Registers the responders. */
  constructor() {
    super();
    this.responder(Sum, ({ a, b }) => ({ total: a + b }));
    this.responder(Divide, ({ numerator, denominator }) => {
      if (denominator === 0) throw new ZeroDivisionError("division by zero");
      return { result: numerator / denominator };
    });
  }
}

/** Serves on a free port, calls it, prints the answers, and closes. */
export async function main(): Promise<void> {
  const port = reactor.listenTCP(0, Factory.forProtocol(Calculator), {
    interface: "127.0.0.1",
  });
  const addr = port.getHost();
  if (addr.type !== "TCP") throw new Error("Expected a TCP port");
  const client = await connectProtocol(
    new TCP4ClientEndpoint(reactor, "127.0.0.1", addr.port),
    new amp.AMP(),
  );
  try {
    const { total } = await client.callRemote(Sum, { a: 13, b: 81 });
    console.log(`13 + 81 = ${total}`);
    const { result } = await client.callRemote(Divide, {
      numerator: 1,
      denominator: 8,
    });
    console.log(`1 / 8 = ${result}`);
    try {
      await client.callRemote(Divide, { numerator: 1, denominator: 0 });
    } catch (e) {
      if (!(e instanceof ZeroDivisionError)) throw e;
      console.log(`1 / 0 failed: ${e}`);
    }
    const sums = await Promise.all(
      Array.from(
        { length: 100 },
        (_, i) => client.callRemote(Sum, { a: i, b: 1 }),
      ),
    );
    console.log(`100 pipelined sums: ${sums.reduce((n, s) => n + s.total, 0)}`);
  } finally {
    client.transport!.loseConnection();
    await port.stopListening();
  }
}

if (import.meta.main) await main();
