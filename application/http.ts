/**
 * HTTP next to custom protocols: {@linkcode DenoServeService} runs Deno's
 * own HTTP server, `Deno.serve(handler)`, as a service of an
 * `Application`, so one process (and one runner, `twistd`) serves a web
 * front end beside finger, AMP or any `TCPServer`, started and stopped
 * with them.
 *
 * This does not reimplement HTTP (Twisted's `twisted.web`): Deno's server
 * is fast, standard (`Request` in, `Response` out) and already graceful.
 * The service adds the life cycle: it listens when the application starts,
 * and its `stopService()` returns a Deferred that fires once
 * `server.shutdown()` has let every in-flight request finish, so a SIGTERM
 * to the runner completes the requests under way before the process exits.
 *
 * @module
 */

import { Deferred } from "../deferred/deferred.ts";
import { succeed } from "../deferred/helpers.ts";
import { Logger } from "../log/mod.ts";
import type {
  IAddress,
  IListeningPort,
  IReactorTime,
} from "../reactor/interfaces.ts";
import { reactor as globalReactor } from "../reactor/mod.ts";
import { Service } from "./service.ts";
import type { RunnerOptions } from "./internet.ts";

const log = new Logger("application.http");

/** Options of {@linkcode DenoServeService}. */
export interface DenoServeServiceOptions {
  /** The port (0: any free port; see `getHost()`). Deno's default, 8000. */
  port?: number;
  /** The address to bind; all IPv4 interfaces (`0.0.0.0`) by default. */
  hostname?: string;
  /**
   * Share the port with other processes (Linux `SO_REUSEPORT`). On by
   * default under the runner's `--workers N`, as for `TCPServer`.
   */
  reusePort?: boolean;
  /** PEM certificate chain: serve HTTPS (with `key`). */
  cert?: string;
  /** PEM private key, with `cert`. */
  key?: string;
  /**
   * Seconds `stopService()` waits for in-flight requests before it fires
   * anyway, logging how many were cut short (10, the runner's own grace
   * period). Requests still running then end when the process exits.
   */
  shutdownTimeout?: number;
  /** Times `shutdownTimeout` (the global reactor by default). */
  clock?: IReactorTime;
  /**
   * Makes the response when the handler throws (by default: the error is
   * logged and the client gets a plain 500).
   */
  onError?: (error: unknown) => Response | Promise<Response>;
}

/** The running server's listening socket, in the reactor's terms. */
class ServedPort implements IListeningPort {
  constructor(readonly service: DenoServeService, readonly address: IAddress) {}
  startListening(): void {}
  stopListening(): Deferred<void> {
    return this.service.stopService();
  }
  getHost(): IAddress {
    return this.address;
  }
}

/**
 * Runs `Deno.serve(handler)` while the service runs (Twisted's idea of a
 * web server as one service among others, with Deno's server inside).
 *
 * - Starting listens (in `privilegedStartService`, as `TCPServer` does);
 *   a bind error is thrown from the start call. `getHost()` and
 *   `whenListening()` give the address (the runner logs it).
 * - `stopService()` closes the listener at once and returns a Deferred
 *   that fires once every in-flight request has been answered (Deno's
 *   graceful `server.shutdown()`), or after `shutdownTimeout` seconds.
 *
 * @example Serve, fetch, stop
 * ```ts
 * import assert from "node:assert/strict";
 * import { Application, DenoServeService } from "@twisted-deno/core/application";
 *
 * const app = new Application("web");
 * const web = new DenoServeService(() => new Response("hello"), {
 *   port: 0,
 *   hostname: "127.0.0.1",
 * });
 * web.setServiceParent(app);
 * app.startService();
 * const { host, port } = web.getHost() as { host: string; port: number };
 * const response = await fetch(`http://${host}:${port}/`);
 * assert.equal(await response.text(), "hello");
 * await app.stopService();
 * assert.equal(web.running, false);
 * ```
 */
export class DenoServeService extends Service {
  /** Answers each request. */
  readonly handler: Deno.ServeHandler;
  /** The options given to the constructor. */
  readonly options: DenoServeServiceOptions;
  #server: Deno.HttpServer<Deno.NetAddr> | undefined;
  #address: IAddress | undefined;
  #stopping: Deferred<void> | undefined;
  #inFlight = 0;
  #runner: RunnerOptions = { reusePort: false };

  /**
   * Makes the service; nothing listens until it starts.
   *
   * @param handler Answers each request (may return a Promise).
   * @param options Where to listen, TLS, and the shutdown grace period.
   * @throws {RangeError} When `shutdownTimeout` is not a positive number.
   */
  constructor(
    handler: Deno.ServeHandler,
    options: DenoServeServiceOptions = {},
  ) {
    super();
    const grace = options.shutdownTimeout;
    if (grace !== undefined && !(grace > 0 && Number.isFinite(grace))) {
      throw new RangeError(
        `Cannot make DenoServeService with shutdownTimeout ${grace}: give a positive number of seconds`,
      );
    }
    this.handler = handler;
    this.options = options;
  }
  /**
   * Takes what the runner asks of the servers it runs: under
   * `twistd --workers N` it listens with `reusePort` unless the options
   * say otherwise.
   *
   * @param options The runner's options.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { DenoServeService } from "@twisted-deno/core/application";
   *
   * const web = new DenoServeService(() => new Response("ok"));
   * web.applyRunnerOptions({ reusePort: true });
   * assert.equal(web.running, false);
   * ```
   */
  applyRunnerOptions(options: RunnerOptions): void {
    this.#runner = { ...options };
  }

  /** The running server, while the service runs. */
  get server(): Deno.HttpServer<Deno.NetAddr> | undefined {
    return this.#server;
  }

  /**
   * The listening address.
   *
   * @throws {Error} When the service is not listening.
   */
  getHost(): IAddress {
    if (this.#address === undefined) {
      throw new Error(
        `Cannot get the address of service ${
          JSON.stringify(this.name ?? this.constructor.name)
        }: it is not listening`,
      );
    }
    return this.#address;
  }

  /** Fires with the listening port once listening (at once: Deno binds synchronously). */
  whenListening(): Deferred<IListeningPort> {
    const address = this.getHost();
    return succeed(new ServedPort(this, address));
  }

  /** Listens now (it may need privileges). */
  override privilegedStartService(): void {
    super.privilegedStartService();
    this.#listen();
  }

  /** Listens, unless `privilegedStartService` did already. */
  override startService(): void {
    this.#listen();
    super.startService();
  }

  #listen(): void {
    if (this.#server !== undefined) return;
    const { port, hostname, reusePort, cert, key, onError } = this.options;
    const handler = this.handler;
    const counted: Deno.ServeHandler = async (request, info) => {
      this.#inFlight++;
      try {
        return await handler(request, info);
      } finally {
        this.#inFlight--;
      }
    };
    const serveOptions = {
      port,
      hostname,
      reusePort: reusePort ?? (this.#runner.reusePort || undefined),
      onListen: () => {}, // the runner logs the address; no console line
      onError: onError ?? ((error: unknown) => {
        log.error("HTTP handler failed: {error}", { error: String(error) });
        return new Response("Internal Server Error", { status: 500 });
      }),
      handler: counted,
      ...(cert !== undefined || key !== undefined ? { cert, key } : {}),
    } as Deno.ServeTcpOptions & Deno.ServeInit<Deno.NetAddr>;
    const server = Deno.serve(serveOptions);
    this.#server = server;
    this.#stopping = undefined;
    const addr = server.addr;
    this.#address = { type: "TCP", host: addr.hostname, port: addr.port };
  }

  /**
   * Stops listening at once; fires once the in-flight requests are
   * answered (or `shutdownTimeout` seconds have passed).
   */
  override stopService(): Deferred<void> {
    super.stopService();
    const server = this.#server;
    if (server === undefined) return this.#stopping ?? succeed(undefined);
    this.#server = undefined;
    this.#address = undefined;
    const done = new Deferred<void>();
    this.#stopping = done;
    const clock = this.options.clock ?? globalReactor;
    const grace = this.options.shutdownTimeout ?? 10;
    const timer = clock.callLater(grace, () => {
      log.warn(
        "{count} HTTP request(s) still running after {grace} s; not waiting longer",
        { count: this.#inFlight, grace },
      );
      done.callback(undefined);
    });
    server.shutdown().then(
      () => {
        if (timer.active()) timer.cancel();
        if (!done.called) done.callback(undefined);
      },
      (error) => {
        if (timer.active()) timer.cancel();
        if (!done.called) done.errback(error);
      },
    );
    return done;
  }
}
