/**
 * TLS endpoints: {@linkcode SSL4ServerEndpoint} and
 * {@linkcode SSL4ClientEndpoint}, and the description prefixes registered
 * with `serverFromString`/`clientFromString` when this module loads: `ssl:`
 * for servers (`ssl:443:privateKey=key.pem:certKey=cert.pem`), `tls:` and
 * `ssl:` for clients (`tls:host=example.com:port=443`). PEM files named in
 * a description are read when it is parsed.
 *
 * @module
 */

import type { Deferred } from "../../deferred/deferred.ts";
import { execute } from "../../deferred/helpers.ts";
import type {
  IStreamClientEndpointStringParserWithReactor,
  IStreamServerEndpointStringParser,
} from "./endpoint_descriptions.ts";
import { TCP4ClientEndpoint } from "./endpoints.ts";
import type {
  IListeningPort,
  IProtocol,
  IProtocolFactory,
  IReactorSSL,
  IReactorTCP,
  IStreamClientEndpoint,
  IStreamServerEndpoint,
  TLSClientOptions,
  TLSServerOptions,
} from "../interfaces.ts";

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Options of {@linkcode SSL4ServerEndpoint}. */
export interface SSL4ServerEndpointOptions {
  /** The listen queue length (50, as in Twisted). */
  backlog?: number;
  /** The interface to bind (`""`: all IPv4 interfaces). */
  interface?: string;
}

/**
 * Listens for TLS connections (`reactor.listenSSL`): the TLS twin of
 * `TCP4ServerEndpoint`. The description `ssl:PORT:privateKey=KEY.pem
 * [:certKey=CERT.pem][:extraCertChain=CHAIN.pem][:interface=IP]
 * [:backlog=N][:alpnProtocols=h2,http/1.1]` makes one with
 * `serverFromString`, reading the PEM files then (`certKey` defaults to
 * `privateKey`, for a file holding both).
 *
 * @example From a description (the files are read when it is parsed)
 * ```ts
 * import assert from "node:assert/strict";
 * import { reactor, serverFromString, SSL4ServerEndpoint } from "@twisted-deno/core/reactor";
 *
 * assert.throws(
 *   () => serverFromString(reactor, "ssl:8443:privateKey=/nonexistent/key.pem"),
 *   /cannot read privateKey \/nonexistent\/key\.pem/,
 * );
 * const endpoint = new SSL4ServerEndpoint(reactor, 8443, { cert: "...", key: "..." }, { interface: "127.0.0.1" });
 * assert.equal(endpoint.port, 8443);
 * assert.equal(endpoint.backlog, 50);
 * ```
 */
export class SSL4ServerEndpoint implements IStreamServerEndpoint {
  /** The port (0: any free one). */
  readonly port: number;
  /** The certificate chain, key and ALPN protocols. */
  readonly tls: TLSServerOptions;
  /** The listen queue length. */
  readonly backlog: number;
  /** The interface to bind. */
  readonly interface: string;

  /**
   * Describes where to listen; nothing happens until `listen()`.
   *
   * @param reactor The reactor to listen with.
   * @param port The port (0: any free one).
   * @param tls The PEM certificate chain and key, and ALPN protocols.
   * @param options Backlog and interface.
   */
  constructor(
    readonly reactor: IReactorSSL,
    port: number,
    tls: TLSServerOptions,
    options?: SSL4ServerEndpointOptions,
  ) {
    options ??= {};
    this.port = port;
    this.tls = tls;
    this.backlog = options.backlog ?? 50;
    this.interface = options.interface ?? "";
  }

  /**
   * Listens with `factory`.
   *
   * @param factory Builds a protocol per connection.
   * @returns Fires with the port, or fails with `CannotListenError`.
   */
  listen(factory: IProtocolFactory): Deferred<IListeningPort> {
    return execute(() =>
      this.reactor.listenSSL(this.port, factory, this.tls, {
        backlog: this.backlog,
        interface: this.interface,
      })
    );
  }
}

/** Options of {@linkcode SSL4ClientEndpoint}. */
export interface SSL4ClientEndpointOptions {
  /** Seconds before the attempt (connect and handshake) fails (30). */
  timeout?: number;
  /** Local `[host, port]` to bind (wildcard only, as `connectTCP`). */
  bindAddress?: [string, number];
}

/**
 * Connects over TLS (`reactor.connectSSL`); `connect(factory)` fires with
 * the protocol once its `connectionMade` has run (after the handshake),
 * and fails with a `TLSHandshakeError` when the certificate is refused.
 * Cancelling that Deferred abandons the attempt. Descriptions:
 * `tls:HOST:PORT` or `tls:host=H:port=P`, with `[:timeout=S]
 * [:trustRoots=PATH][:hostname=NAME][:alpnProtocols=a,b]`, and Twisted's
 * older `ssl:host=H:port=P[:caCertsDir=PATH][:hostname=NAME]`; `PATH` is a
 * PEM file or a directory of `.pem` files, read when parsed. Unlike
 * Twisted's `ssl:`, certificates are always verified (against the system
 * store without `trustRoots`/`caCertsDir`). Client certificates
 * (`certificate`, `privateKey`, `certKey`) are not supported:
 * `Deno.startTls` cannot present one.
 *
 * @example From a description
 * ```ts
 * import assert from "node:assert/strict";
 * import { clientFromString, reactor, SSL4ClientEndpoint } from "@twisted-deno/core/reactor";
 *
 * const endpoint = clientFromString(reactor, "tls:example.com:443:timeout=5:alpnProtocols=h2,http/1.1");
 * assert.ok(endpoint instanceof SSL4ClientEndpoint);
 * assert.equal(endpoint.host, "example.com");
 * assert.equal(endpoint.port, 443);
 * assert.equal(endpoint.timeout, 5);
 * assert.deepEqual(endpoint.tls.alpnProtocols, ["h2", "http/1.1"]);
 * assert.throws(
 *   () => clientFromString(reactor, "tls:example.com:443:certificate=me.pem"),
 *   /client certificates are not supported/,
 * );
 * ```
 */
export class SSL4ClientEndpoint implements IStreamClientEndpoint {
  /** The host to connect to. */
  readonly host: string;
  /** The port to connect to. */
  readonly port: number;
  /** CA certificates, the name to verify, ALPN protocols. */
  readonly tls: TLSClientOptions;
  /** Seconds before an attempt fails. */
  readonly timeout: number;
  /** The local address to bind, if any. */
  readonly bindAddress: [string, number] | undefined;

  /**
   * Describes where to connect; nothing happens until `connect()`.
   *
   * @param reactor The reactor to connect with.
   * @param host A host name or address.
   * @param port The port.
   * @param tls `caCerts`, `hostname` (default: `host`), `alpnProtocols`.
   * @param options Timeout and bind address.
   */
  constructor(
    readonly reactor: IReactorSSL,
    host: string,
    port: number,
    tls?: TLSClientOptions,
    options?: SSL4ClientEndpointOptions,
  ) {
    tls ??= {};
    options ??= {};
    this.host = host;
    this.port = port;
    this.tls = tls;
    this.timeout = options.timeout ?? 30;
    this.bindAddress = options.bindAddress;
  }

  /**
   * Connects, building the protocol with `factory`.
   *
   * @param factory Builds the protocol (any protocol factory).
   * @returns Fires with the protocol once connected, or fails with why.
   */
  connect(factory: IProtocolFactory): Deferred<IProtocol> {
    // The TCP endpoint's factory wrapping and cancellation, over a reactor
    // whose connectTCP is this endpoint's connectSSL.
    const reactor = this.reactor;
    const tls = this.tls;
    const overTLS: IReactorTCP = {
      listenTCP(): never {
        throw new TypeError("Cannot listen through a client endpoint");
      },
      connectTCP(host, port, wrapping, options) {
        return reactor.connectSSL(host, port, wrapping, tls, options);
      },
    };
    return new TCP4ClientEndpoint(overTLS, this.host, this.port, {
      timeout: this.timeout,
      bindAddress: this.bindAddress,
    }).connect(factory);
  }
}

// ------------------------------------------------------------ descriptions

function badDescription(prefix: string, detail: string): TypeError {
  return new TypeError(
    `Cannot use the ${prefix}: endpoint description: ${detail}`,
  );
}

function readPEM(prefix: string, what: string, path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (e) {
    throw badDescription(
      prefix,
      `cannot read ${what} ${path}: ${messageOf(e)}`,
    );
  }
}

/** A PEM file, or every `.pem` file of a directory (Twisted's trust roots). */
function readTrustRoots(prefix: string, what: string, path: string): string[] {
  let isDirectory: boolean;
  try {
    isDirectory = Deno.statSync(path).isDirectory;
  } catch (e) {
    throw badDescription(
      prefix,
      `cannot read ${what} ${path}: ${messageOf(e)}`,
    );
  }
  if (!isDirectory) return [readPEM(prefix, what, path)];
  const found = [...Deno.readDirSync(path)]
    .filter((e) => e.isFile && e.name.endsWith(".pem"))
    .map((e) => e.name)
    .sort()
    .map((name) => readPEM(prefix, what, `${path}/${name}`));
  if (found.length === 0) {
    throw badDescription(prefix, `${what} ${path} holds no .pem file`);
  }
  return found;
}

function takeKeywords(
  prefix: string,
  kwargs: Record<string, string>,
  known: string[],
): Record<string, string | undefined> {
  for (const key of Object.keys(kwargs)) {
    if (!known.includes(key)) {
      throw badDescription(
        prefix,
        `unknown argument ${JSON.stringify(key)} (known: ${known.join(", ")})`,
      );
    }
  }
  return kwargs;
}

function intArg(prefix: string, name: string, value: string): number {
  if (!/^\d+$/.test(value.trim())) {
    throw badDescription(
      prefix,
      `${name} ${JSON.stringify(value)} is not an integer`,
    );
  }
  return Number(value.trim());
}

function secondsArg(prefix: string, value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !(n >= 0)) {
    throw badDescription(
      prefix,
      `timeout ${JSON.stringify(value)} is not a number of seconds >= 0`,
    );
  }
  return n;
}

function alpnArg(value: string | undefined): string[] | undefined {
  return value === undefined
    ? undefined
    : value.split(",").map((p) => p.trim()).filter((p) => p !== "");
}

/** `ssl:PORT:privateKey=...:certKey=...` (Twisted's `_parseSSL`). */
const sslServerParser: IStreamServerEndpointStringParser = {
  prefix: "ssl",
  parseStreamServer(reactor, args, kwargs) {
    const p = "ssl";
    if (args.length > 1) {
      throw badDescription(
        p,
        `${args.length} positional arguments, at most 1 (port)`,
      );
    }
    const kw = takeKeywords(p, kwargs, [
      "port",
      "privateKey",
      "certKey",
      "extraCertChain",
      "interface",
      "backlog",
      "alpnProtocols",
      "sslmethod",
      "dhParameters",
    ]);
    if (args.length === 1 && kw.port !== undefined) {
      throw badDescription(p, `"port" is given twice`);
    }
    const port = args[0] ?? kw.port;
    if (port === undefined) throw badDescription(p, "port is required");
    if (kw.sslmethod !== undefined || kw.dhParameters !== undefined) {
      throw badDescription(
        p,
        "sslmethod and dhParameters are OpenSSL settings; Deno's rustls picks TLS 1.2/1.3 and ECDHE itself",
      );
    }
    const keyFile = kw.privateKey ?? "server.pem";
    const key = readPEM(p, "privateKey", keyFile);
    let cert = kw.certKey === undefined
      ? key
      : readPEM(p, "certKey", kw.certKey);
    if (kw.extraCertChain !== undefined) {
      const chain = readPEM(p, "extraCertChain", kw.extraCertChain);
      if (!chain.includes("-----BEGIN CERTIFICATE-----")) {
        throw badDescription(
          p,
          `extraCertChain ${kw.extraCertChain} holds no PEM certificate`,
        );
      }
      cert = `${cert.trimEnd()}\n${chain}`;
    }
    return new SSL4ServerEndpoint(reactor, intArg(p, "port", port), {
      cert,
      key,
      alpnProtocols: alpnArg(kw.alpnProtocols),
    }, {
      interface: kw.interface ?? "",
      backlog: kw.backlog === undefined ? 50 : intArg(p, "backlog", kw.backlog),
    });
  },
};

/** `tls:HOST:PORT` and `ssl:host=...:port=...` for clients. */
function clientParser(
  prefix: "tls" | "ssl",
): IStreamClientEndpointStringParserWithReactor {
  const roots = prefix === "tls" ? "trustRoots" : "caCertsDir";
  const clientCerts = prefix === "tls"
    ? ["certificate", "privateKey"]
    : ["certKey", "privateKey"];
  return {
    prefix,
    parseStreamClient(reactor, args, kwargs) {
      const kw = takeKeywords(prefix, kwargs, [
        "host",
        "port",
        "timeout",
        "bindAddress",
        roots,
        "hostname",
        "alpnProtocols",
        ...clientCerts,
      ]);
      for (const name of clientCerts) {
        if (kw[name] !== undefined) {
          throw badDescription(
            prefix,
            `${name}: client certificates are not supported (Deno.startTls cannot present one)`,
          );
        }
      }
      let host = kw.host;
      let port = kw.port;
      if (args.length > 2) {
        throw badDescription(
          prefix,
          `${args.length} positional arguments, at most 2 (host, port)`,
        );
      }
      for (const value of args) {
        if (host === undefined) host = value;
        else if (port === undefined) port = value;
        else throw badDescription(prefix, "host and port are given twice");
      }
      if (host === undefined || host === "") {
        throw badDescription(prefix, "host is required");
      }
      if (port === undefined) throw badDescription(prefix, "port is required");
      const path = kw[roots];
      return new SSL4ClientEndpoint(
        reactor,
        host,
        intArg(prefix, "port", port),
        {
          caCerts: path === undefined
            ? undefined
            : readTrustRoots(prefix, roots, path),
          hostname: kw.hostname,
          alpnProtocols: alpnArg(kw.alpnProtocols),
        },
        {
          timeout: kw.timeout === undefined
            ? 30
            : secondsArg(prefix, kw.timeout),
          bindAddress: kw.bindAddress === undefined
            ? undefined
            : [kw.bindAddress, 0],
        },
      );
    },
  };
}

/**
 * The `ssl:` server and `tls:`/`ssl:` client description parsers, which the
 * registry in `endpoint_descriptions.ts` starts with (no module has to be
 * imported for its side effect to make them known).
 */
export const tlsEndpointParsers: {
  servers: IStreamServerEndpointStringParser[];
  clients: IStreamClientEndpointStringParserWithReactor[];
} = {
  servers: [sslServerParser],
  clients: [clientParser("tls"), clientParser("ssl")],
};
