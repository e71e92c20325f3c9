/**
 * {@linkcode StreamServerPort}: the listening side shared by TCP, UNIX and
 * TLS ports. It accepts connections in one loop, asks the factory for a
 * protocol per connection and hands both to a
 * {@linkcode StreamTransport}. A subclass says how to open the
 * `Deno.Listener` and which transport class to use.
 *
 * @module
 */

import { acceptErrorKind, describeAcceptError } from "./_accept_errors.ts";
import { logFactoryError } from "./_factory_errors.ts";
import { Deferred } from "../../deferred/deferred.ts";
import { Failure } from "../../deferred/failure.ts";
import { Logger } from "../../log/mod.ts";
import type {
  IAddress,
  IDelayedCall,
  IListeningPort,
  IProtocolFactory,
  IReactorResources,
  IReactorTime,
  ReactorResource,
} from "../interfaces.ts";
import type { StreamTransport } from "./stream.ts";

const log = new Logger("reactor.port");

/** The first pause after a failed accept (EMFILE ...), in seconds. */
const ACCEPT_BACKOFF = 0.05;
/** The longest pause between failing accepts, in seconds. */
const MAX_ACCEPT_BACKOFF = 1;
/**
 * Seconds without an exhaustion failure (EMFILE ...) that end an episode:
 * the next failure is logged again. Above the longest backoff, so a
 * lasting shortage stays one episode.
 */
const EXHAUSTION_EPISODE_GAP = 2;
/** Unexpected accept errors in a row that make the port pause. */
const OTHER_ERRORS_BEFORE_PAUSE = 10;

/** The reactor services a port or connector uses. */
export type StreamReactor = IReactorTime & IReactorResources;

function describeAddress(addr: IAddress): string {
  return addr.type === "UNIX" ? addr.name : `${addr.host}:${addr.port}`;
}

function factoryName(factory: unknown): string {
  const logPrefix = (factory as { logPrefix?: () => string })?.logPrefix;
  return typeof logPrefix === "function"
    ? String(logPrefix.call(factory))
    : (factory as object)?.constructor?.name ?? "factory";
}

/**
 * A listening stream socket: accepts connections and serves them with
 * protocols from `factory`. The factory gets `doStart()` when the port
 * starts listening and `doStop()` once it has stopped. A factory whose
 * `buildProtocol` throws or returns null has that connection closed.
 *
 * Accept errors are sorted as Twisted does: a connection reset or aborted
 * while it was queued (ECONNABORTED, ECONNRESET, and the ENOTCONN Deno
 * reports for it) is skipped and the next one accepted at once; running
 * out of descriptors or memory (EMFILE, ENFILE, ENOBUFS, ENOMEM) is logged
 * once per episode (failures less than 2 s apart) and accepting is
 * retried after pauses growing to 1 s; any other error is logged and
 * accepting goes on.
 *
 * The port registers with the reactor, so reactor shutdown stops it.
 * Stopping a port does not close the connections it accepted. Starting and
 * stopping are logged at the info level, unless the factory's `noisy` is
 * false.
 *
 * Subclasses implement {@linkcode StreamServerPort._listen} and
 * {@linkcode StreamServerPort._makeTransport} (TLS: `Deno.listenTls` and a
 * transport over the `Deno.TlsConn`).
 *
 * @example A port that serves with a custom listener
 * ```ts
 * import assert from "node:assert/strict";
 * import { DenoReactor } from "@twisted-deno/core/reactor";
 * import { StreamServerPort, StreamTransport } from "@twisted-deno/core/reactor/net";
 * import { Factory, Protocol } from "@twisted-deno/core/protocols";
 *
 * class LoopbackPort extends StreamServerPort {
 *   protected _listen(): Deno.Listener {
 *     return Deno.listen({ hostname: "127.0.0.1", port: 0 });
 *   }
 *   protected _makeTransport(conn: Deno.Conn): StreamTransport {
 *     return new StreamTransport(conn, this.reactor);
 *   }
 * }
 * const port = new LoopbackPort(Factory.forProtocol(Protocol), new DenoReactor());
 * port.startListening();
 * assert.equal(port.getHost().type, "TCP");
 * await port.stopListening();
 * ```
 */
export abstract class StreamServerPort
  implements IListeningPort, ReactorResource {
  /** Builds a protocol per connection. */
  readonly factory: IProtocolFactory;
  /** Times backoffs; tracks the port for shutdown. */
  readonly reactor: StreamReactor;

  #listener: Deno.Listener | undefined = undefined;
  #host: IAddress | undefined = undefined;
  #stopping = false;
  #stopped = false;
  #waiters: Deferred<void>[] = [];
  #backoff = 0;
  #backoffCall: IDelayedCall | undefined = undefined;
  #wakeAccept: (() => void) | undefined = undefined;
  /** Failed accepts in the current exhaustion episode (EMFILE ...). */
  #exhaustedTries = 0;
  /** When the last accept failed for exhaustion (reactor seconds). */
  #lastExhausted = 0;
  /** The end of this episode's failures has been logged. */
  #recoveryLogged = false;
  /** Unexpected accept errors in a row. */
  #otherErrors = 0;

  /**
   * Makes a port that is not listening yet; `startListening()` binds it.
   *
   * @param factory Builds the protocols.
   * @param reactor The reactor (time for backoffs, shutdown tracking).
   */
  constructor(factory: IProtocolFactory, reactor: StreamReactor) {
    this.factory = factory;
    this.reactor = reactor;
  }

  /** Opens the listening socket. Errors here become `CannotListenError`. */
  protected abstract _listen(): Deno.Listener;

  /** Wraps an accepted conn in the transport its protocol will use. */
  protected abstract _makeTransport(conn: Deno.Conn): StreamTransport;

  /**
   * Describes a failure to listen (override to say which address).
   *
   * @param error What `_listen` threw.
   * @returns The error `startListening` throws.
   */
  protected _cannotListen(error: unknown): Error {
    return error instanceof Error ? error : new Error(String(error));
  }

  /** Called once the listener is closed (UNIX removes its socket file). */
  protected _closed(): void {}

  /**
   * Binds and starts accepting. `listenTCP` and friends call it for you.
   *
   * @throws {CannotListenError} When the address cannot be bound.
   * @throws {Error} When already listening or stopped.
   */
  startListening(): void {
    if (this.#listener !== undefined || this.#stopped) {
      throw new Error(
        `Cannot start listening: the port has already ${
          this.#stopped ? "stopped" : "started"
        }`,
      );
    }
    let listener: Deno.Listener;
    try {
      listener = this._listen();
    } catch (error) {
      throw this._cannotListen(error);
    }
    this.#listener = listener;
    this.#host = this._address(listener.addr);
    this.factory.doStart();
    if (this.#noisy()) {
      log.info("{factory} starting on {address}", {
        factory: factoryName(this.factory),
        address: describeAddress(this.#host),
      });
    }
    this.reactor.trackResource(this);
    this.#acceptLoop(listener);
  }

  /**
   * Converts the listener's address (override for other address types).
   *
   * @param addr The Deno address.
   * @returns The address `getHost()` reports.
   */
  protected _address(addr: Deno.Addr): IAddress {
    if (addr.transport === "unix") return { type: "UNIX", name: addr.path };
    if (addr.transport === "tcp") {
      return { type: "TCP", host: addr.hostname, port: addr.port };
    }
    throw new TypeError(`Cannot serve a ${addr.transport} listener`);
  }

  /**
   * The bound address, with the real port when 0 was asked for.
   *
   * @throws {Error} Before `startListening()`.
   */
  getHost(): IAddress {
    if (this.#host === undefined) {
      throw new Error("Cannot tell the address: the port is not listening");
    }
    return { ...this.#host };
  }

  /**
   * Stops accepting and closes the socket. Connections already accepted
   * stay open.
   *
   * @returns Fires once the socket is closed and the factory stopped.
   */
  stopListening(): Deferred<void> {
    const d = new Deferred<void>();
    if (this.#stopped || this.#listener === undefined) {
      this.#stopped = true;
      d.callback(undefined);
      return d;
    }
    this.#waiters.push(d);
    if (!this.#stopping) {
      this.#stopping = true;
      if (this.#backoffCall?.active()) this.#backoffCall.cancel();
      this.#backoffCall = undefined;
      try {
        this.#listener.close(); // the pending accept ends with BadResource
      } catch {
        // already closed
      }
      this.#wakeAccept?.();
    }
    return d;
  }

  /** Same as `stopListening()`, as a Promise (reactor shutdown). */
  shutdown(): Promise<void> {
    return this.stopListening().asPromise();
  }

  async #acceptLoop(listener: Deno.Listener): Promise<void> {
    while (!this.#stopping) {
      let conn: Deno.Conn;
      try {
        conn = await listener.accept();
      } catch (error) {
        if (this.#stopping) break;
        if (error instanceof Deno.errors.BadResource) {
          log.error("{factory}: the listening socket closed: {error}", {
            factory: factoryName(this.factory),
            error: String(error),
          });
          break;
        }
        const kind = acceptErrorKind(error);
        if (kind === "transient") {
          // A client reset or aborted while queued: nothing is wrong
          // with the listener, so take the next connection at once.
          this.#otherErrors = 0;
          continue;
        }
        if (kind === "other") {
          log.error(
            "{factory}: could not accept a connection ({error}); accepting again",
            {
              factory: factoryName(this.factory),
              error: describeAcceptError(error),
            },
          );
          // Go on at once, unless the error keeps coming: then pause as
          // for exhaustion rather than spin.
          if (++this.#otherErrors < OTHER_ERRORS_BEFORE_PAUSE) continue;
        } else {
          // EMFILE and friends: the listener is fine, we are out of
          // something until connections close. Logged once per episode,
          // not per try: an episode ends when no accept has failed so for
          // EXHAUSTION_EPISODE_GAP seconds (freed descriptors are often
          // taken again at once). Only the message is logged: formatting
          // a stack trace needs files (source maps), and with no
          // descriptor left Deno 2.9 panics trying.
          const now = this.reactor.seconds();
          if (
            this.#exhaustedTries === 0 ||
            now - this.#lastExhausted > EXHAUSTION_EPISODE_GAP
          ) {
            this.#exhaustedTries = 0;
            this.#recoveryLogged = false;
            log.error(
              "{factory}: could not accept a connection ({error}); retrying with pauses growing to {max} s (logged once while this lasts)",
              {
                factory: factoryName(this.factory),
                error: describeAcceptError(error),
                max: MAX_ACCEPT_BACKOFF,
              },
            );
          }
          this.#exhaustedTries++;
          this.#lastExhausted = now;
        }
        this.#backoff = this.#backoff === 0
          ? ACCEPT_BACKOFF
          : Math.min(MAX_ACCEPT_BACKOFF, this.#backoff * 2);
        await new Promise<void>((resolve) => {
          this.#wakeAccept = resolve;
          this.#backoffCall = this.reactor.callLater(this.#backoff, resolve);
        });
        this.#wakeAccept = undefined;
        this.#backoffCall = undefined;
        continue;
      }
      if (this.#exhaustedTries > 0 && !this.#recoveryLogged) {
        this.#recoveryLogged = true;
        log.info(
          "{factory}: accepting connections again after {tries} failed tries",
          { factory: factoryName(this.factory), tries: this.#exhaustedTries },
        );
      }
      this.#otherErrors = 0;
      this.#backoff = 0;
      if (this.#stopping) {
        conn.close();
        break;
      }
      this.#serve(conn);
    }
    try {
      listener.close();
    } catch {
      // closed by stopListening()
    }
    this.#finish();
  }

  /** Twisted logs starting and stopping; a factory's `noisy = false` hushes it. */
  #noisy(): boolean {
    return (this.factory as { noisy?: boolean }).noisy !== false;
  }

  #serve(conn: Deno.Conn): void {
    let transport: StreamTransport;
    let protocol;
    try {
      transport = this._makeTransport(conn);
      protocol = this.factory.buildProtocol(transport.getPeer());
    } catch (error) {
      logFactoryError(log, factoryName(this.factory), "buildProtocol", error);
      conn.close();
      return;
    }
    if (protocol === null || protocol === undefined) {
      conn.close(); // the factory refused this connection
      return;
    }
    transport.connectProtocol(protocol, "server");
  }

  #finish(): void {
    this.#stopping = true;
    this.#stopped = true;
    this.reactor.untrackResource(this);
    try {
      this._closed();
    } catch (error) {
      log.failure("Could not clean up after a port", new Failure(error));
    }
    try {
      this.factory.doStop();
    } catch (error) {
      logFactoryError(log, factoryName(this.factory), "doStop", error);
    }
    if (this.#noisy()) {
      log.info("({factory} on {address} closed)", {
        factory: factoryName(this.factory),
        address: this.#host ? describeAddress(this.#host) : "?",
      });
    }
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const d of waiters) d.callback(undefined);
  }
}
