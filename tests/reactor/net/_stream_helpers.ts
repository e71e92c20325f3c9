// Shared helpers for the stream transport tests (tcp, unix, endpoints,
// interop). Not part of the package.

import {
  ClientFactory,
  Factory,
  Protocol,
} from "../../../protocols/protocol.ts";
import type { Failure } from "../../../deferred/failure.ts";
import type {
  IAddress,
  IConnector,
  IProtocol,
} from "../../../reactor/interfaces.ts";
import { reactor } from "../../../reactor/reactor.ts";
import { within } from "../../_helpers.ts";

/**
 * A protocol that records what happens to it: `events` in order, every
 * byte received, and Promises for "connected", "n bytes received" and
 * "lost".
 */
export class Recorder extends Protocol {
  events: string[] = [];
  chunks: Uint8Array[] = [];
  received = 0;
  reason: Failure | undefined = undefined;
  lostCount = 0;
  readonly made = Promise.withResolvers<void>();
  readonly lost = Promise.withResolvers<Failure>();
  #wantBytes = 0;
  #bytesWaiter: PromiseWithResolvers<void> | undefined;

  override connectionMade(): void {
    this.events.push("connectionMade");
    this.made.resolve();
  }

  override dataReceived(data: Uint8Array): void {
    if (this.events.at(-1) !== "dataReceived") this.events.push("dataReceived");
    this.chunks.push(data);
    this.received += data.length;
    if (this.#bytesWaiter && this.received >= this.#wantBytes) {
      this.#bytesWaiter.resolve();
      this.#bytesWaiter = undefined;
    }
  }

  override connectionLost(reason: Failure): void {
    this.events.push("connectionLost");
    this.lostCount++;
    this.reason = reason;
    this.lost.resolve(reason);
    if (this.#bytesWaiter) {
      this.#bytesWaiter.reject(
        new Error(
          `Connection lost after ${this.received} of ${this.#wantBytes} bytes: ${reason.getErrorMessage()}`,
        ),
      );
      this.#bytesWaiter = undefined;
    }
  }

  /** Resolves once `n` bytes in all have arrived. */
  bytes(n: number): Promise<void> {
    if (this.received >= n) return Promise.resolve();
    this.#wantBytes = n;
    this.#bytesWaiter = Promise.withResolvers<void>();
    return this.#bytesWaiter.promise;
  }

  /** Everything received, in one array. */
  data(): Uint8Array {
    return concat(this.chunks);
  }
}

/** A Recorder that echoes what it receives. */
export class EchoRecorder extends Recorder {
  override dataReceived(data: Uint8Array): void {
    super.dataReceived(data);
    this.transport!.write(data);
  }
}

/** Concatenates byte arrays. */
export function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

/** `n` bytes of a pattern that does not repeat every 256 bytes. */
export function pattern(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

/** Asserts two byte arrays are equal, naming the first difference. */
export function sameBytes(actual: Uint8Array, expected: Uint8Array): void {
  if (actual.length !== expected.length) {
    throw new Error(
      `Expected ${expected.length} bytes, got ${actual.length}`,
    );
  }
  for (let i = 0; i < actual.length; i++) {
    if (actual[i] !== expected[i]) {
      throw new Error(
        `Bytes differ at offset ${i}: ${actual[i]} !== ${expected[i]}`,
      );
    }
  }
}

/** The port of a TCP address. */
export function portOf(addr: IAddress): number {
  if (addr.type !== "TCP") throw new Error(`Not a TCP address: ${addr.type}`);
  return addr.port;
}

/** A free loopback port (bound, then released): nothing listens on it. */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l.addr.port;
  l.close();
  return port;
}

/** How long a stream test waits for any one event, in ms. */
export const WAIT = 10_000;

/** Protocols in the order they were built; each can be awaited before it is. */
class Built<P> {
  readonly list: P[] = [];
  #waiting = new Map<number, PromiseWithResolvers<P>>();
  add(p: P): void {
    this.list.push(p);
    this.#waiting.get(this.list.length - 1)?.resolve(p);
  }
  nth(i: number): Promise<P> {
    if (i < this.list.length) return Promise.resolve(this.list[i]);
    let w = this.#waiting.get(i);
    if (w === undefined) this.#waiting.set(i, w = Promise.withResolvers<P>());
    return w.promise;
  }
}

/** A server factory that remembers the protocols it built, in order. */
export class Keeping<P extends IProtocol> extends Factory {
  #built = new Built<P>();
  constructor(public make: () => P) {
    super();
  }
  /** The protocols built so far, in order. */
  get built(): P[] {
    return this.#built.list;
  }
  override buildProtocol(_addr: IAddress): IProtocol | null {
    const p = this.make();
    this.#built.add(p);
    return p;
  }
  /** The `i`-th protocol built (from 0), once it is. */
  nth(i: number): Promise<P> {
    return this.#built.nth(i);
  }
}

/**
 * The `connectionLost` of the `i`-th protocol `factory` built, waited for
 * up to {@linkcode WAIT} (the usual last step before stopping the port).
 */
export function lostOf(
  factory: { nth(i: number): Promise<{ lost: { promise: Promise<Failure> } }> },
  i: number,
  what = "connectionLost",
): Promise<Failure> {
  return within(WAIT, what, factory.nth(i).then((p) => p.lost.promise));
}

/** A client factory that records its calls and builds one protocol. */
export class ClientRecorder<P extends IProtocol> extends ClientFactory {
  calls: string[] = [];
  connectors: IConnector[] = [];
  failed = Promise.withResolvers<Failure>();
  lostReason = Promise.withResolvers<Failure>();
  #built = new Built<P>();
  constructor(readonly make: () => P) {
    super();
  }
  /** The protocols built so far, in order. */
  get protocols(): P[] {
    return this.#built.list;
  }
  override startFactory(): void {
    this.calls.push("startFactory");
  }
  override stopFactory(): void {
    this.calls.push("stopFactory");
  }
  override startedConnecting(c: IConnector): void {
    this.calls.push("startedConnecting");
    this.connectors.push(c);
  }
  override buildProtocol(_addr: IAddress): IProtocol | null {
    this.calls.push("buildProtocol");
    const p = this.make();
    this.#built.add(p);
    return p;
  }
  /** The `i`-th protocol built (from 0), once it is. */
  nth(i: number): Promise<P> {
    return this.#built.nth(i);
  }
  override clientConnectionFailed(c: IConnector, reason: Failure): void {
    this.calls.push("clientConnectionFailed");
    this.connectors.push(c);
    this.failed.resolve(reason);
  }
  override clientConnectionLost(c: IConnector, reason: Failure): void {
    this.calls.push("clientConnectionLost");
    this.connectors.push(c);
    this.lostReason.resolve(reason);
  }
}

/** A TCP port on loopback whose factory keeps what it builds. */
export function listenEcho<P extends IProtocol>(make: () => P) {
  const factory = new Keeping(make);
  const port = reactor.listenTCP(0, factory, { interface: "127.0.0.1" });
  return { factory, port, portNumber: portOf(port.getHost()) };
}

/**
 * A listener that never accepts, with its accept queue full: the kernel
 * drops the SYNs of further connections, so connecting to it hangs.
 */
export async function fullListener() {
  const listener = Deno.listen({
    hostname: "127.0.0.1",
    port: 0,
    tcpBacklog: 0,
  });
  const fillers: Deno.Conn[] = [];
  for (let i = 0; i < 3; i++) {
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), 300);
    try {
      fillers.push(
        await Deno.connect({
          hostname: "127.0.0.1",
          port: listener.addr.port,
          signal: ac.signal,
        }),
      );
    } catch {
      break; // the queue is full
    } finally {
      clearTimeout(timer);
    }
  }
  return { listener, fillers };
}
