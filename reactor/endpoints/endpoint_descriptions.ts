/**
 * Endpoint description strings (Twisted's `serverFromString` and
 * `clientFromString`): a string such as `"tcp:1079:interface=127.0.0.1"`
 * picks an endpoint from configuration.
 *
 * Description strings: colon-separated arguments after a prefix naming the
 * kind of endpoint; `name=value` arguments are keywords, the others
 * positional; a backslash escapes the next character (`\:` is a colon in a
 * value, `\\` a backslash), and `=` needs no escape in a value. Built-in
 * server prefixes are lowercase (`tcp`, `unix`); client prefixes are
 * matched in any case. More prefixes (the TLS module's `ssl`/`tls`, the
 * PROXY protocol's `haproxy` in `@twisted-deno/core/protocols`) are added
 * with {@linkcode registerServerEndpointParser} and
 * {@linkcode registerClientEndpointParser}.
 *
 * | description | endpoint |
 * | --- | --- |
 * | `tcp:PORT[:interface=IP][:backlog=N]` | {@linkcode TCP4ServerEndpoint} |
 * | `unix:PATH[:mode=OCTAL][:backlog=N]` | {@linkcode UNIXServerEndpoint} |
 * | `tcp:HOST:PORT[:timeout=S][:bindAddress=IP]` (or `host=`, `port=`) | {@linkcode TCP4ClientEndpoint} |
 * | `unix:PATH[:timeout=S]` (or `path=`) | {@linkcode UNIXClientEndpoint} |
 *
 * Differences from Twisted: UNIX lock files (`lockfile=1`, `wantPID`,
 * `checkPID`) are not supported and are refused with an error (the
 * default is off); numbers in keywords may have decimals where a time is
 * meant.
 *
 * @module
 */

import { tlsEndpointParsers } from "./tls_endpoints.ts";
import type {
  IReactorSSL,
  IReactorTCP,
  IReactorUNIX,
  IStreamClientEndpoint,
  IStreamServerEndpoint,
} from "../interfaces.ts";
import {
  TCP4ClientEndpoint,
  TCP4ServerEndpoint,
  UNIXClientEndpoint,
  UNIXServerEndpoint,
} from "./endpoints.ts";

/** What {@linkcode serverFromString} and its parsers accept as a reactor. */
export type EndpointReactor = IReactorTCP & IReactorUNIX & IReactorSSL;

/**
 * Parses the arguments of one prefix of server descriptions (Twisted's
 * `IStreamServerEndpointStringParser` plugin).
 */
export interface IStreamServerEndpointStringParser {
  /** The prefix it handles, e.g. `"ssl"`. */
  readonly prefix: string;
  /**
   * Makes the endpoint.
   *
   * @param reactor The reactor given to `serverFromString`.
   * @param args The positional arguments after the prefix (unescaped).
   * @param kwargs The keyword arguments.
   * @returns The endpoint.
   */
  parseStreamServer(
    reactor: EndpointReactor,
    args: string[],
    kwargs: Record<string, string>,
  ): IStreamServerEndpoint;
}

/**
 * Parses the arguments of one prefix of client descriptions (Twisted's
 * `IStreamClientEndpointStringParserWithReactor` plugin).
 */
export interface IStreamClientEndpointStringParserWithReactor {
  /** The prefix it handles, e.g. `"ssl"`. */
  readonly prefix: string;
  /**
   * Makes the endpoint.
   *
   * @param reactor The reactor given to `clientFromString`.
   * @param args The positional arguments after the prefix (unescaped).
   * @param kwargs The keyword arguments.
   * @returns The endpoint.
   */
  parseStreamClient(
    reactor: EndpointReactor,
    args: string[],
    kwargs: Record<string, string>,
  ): IStreamClientEndpoint;
}

/**
 * Splits a description into positional and keyword arguments, as
 * Twisted's `_parse`: `:` separates arguments, the first `=` in an
 * argument makes it a keyword (later ones are part of the value), and `\`
 * takes the next character literally.
 *
 * @param description A description string.
 * @returns `args` (including the prefix) and `kwargs`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseEndpointDescription } from "@twisted-deno/core/reactor";
 *
 * assert.deepEqual(parseEndpointDescription("a:b:d=1:c"), { args: ["a", "b", "c"], kwargs: { d: "1" } });
 * assert.deepEqual(parseEndpointDescription("unix:address=foo=bar"), { args: ["unix"], kwargs: { address: "foo=bar" } });
 * assert.deepEqual(parseEndpointDescription("unix:foo\\:bar\\=baz\\:qux\\\\"), { args: ["unix", "foo:bar=baz:qux\\"], kwargs: {} });
 * ```
 */
export function parseEndpointDescription(
  description: string,
): { args: string[]; kwargs: Record<string, string> } {
  if (typeof description !== "string") {
    throw new TypeError(
      `Cannot parse the endpoint description ${
        String(description)
      }: it must be a string`,
    );
  }
  const args: string[] = [];
  const kwargs: Record<string, string> = Object.create(null);
  let current = "";
  let parts: string[] = [];
  let equalsAllowed = true;
  const add = () => {
    parts.push(current);
    current = "";
    if (parts.length === 1) args.push(parts[0]);
    else kwargs[parts[0]] = parts[1];
    parts = [];
    equalsAllowed = true;
  };
  for (let i = 0; i < description.length; i++) {
    const c = description[i];
    if (c === ":") {
      add();
    } else if (c === "=" && equalsAllowed) {
      parts.push(current);
      current = "";
      equalsAllowed = false;
    } else if (c === "\\") {
      i++;
      if (i >= description.length) {
        throw new TypeError(
          `Cannot parse the endpoint description ${
            JSON.stringify(description)
          }: it ends in a lone backslash`,
        );
      }
      current += description[i];
    } else {
      current += c;
    }
  }
  add();
  return { args, kwargs: { ...kwargs } };
}

/**
 * Quotes `argument` for use in a description: backslashes and colons get a
 * backslash.
 *
 * @param argument A value to put in a description.
 * @returns The quoted value.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { quoteStringArgument } from "@twisted-deno/core/reactor";
 *
 * assert.equal(quoteStringArgument("some : stuff \\"), "some \\: stuff \\\\");
 * ```
 */
export function quoteStringArgument(argument: string): string {
  return argument.replaceAll("\\", "\\\\").replaceAll(":", "\\:");
}

/**
 * Binds positional and keyword arguments to parameter names, as a Python
 * call would, with a clear error for extra, unknown or doubled ones.
 */
function bind(
  description: string,
  names: string[],
  args: string[],
  kwargs: Record<string, string>,
): Record<string, string | undefined> {
  const where = `Cannot use the endpoint description ${
    JSON.stringify(description)
  }`;
  if (args.length > names.length) {
    throw new TypeError(
      `${where}: ${args.length} positional arguments, at most ${names.length} (${
        names.join(", ")
      })`,
    );
  }
  const out: Record<string, string | undefined> = {};
  args.forEach((value, i) => out[names[i]] = value);
  for (const [key, value] of Object.entries(kwargs)) {
    if (!names.includes(key)) {
      throw new TypeError(
        `${where}: unknown argument ${JSON.stringify(key)} (known: ${
          names.join(", ")
        })`,
      );
    }
    if (out[key] !== undefined) {
      throw new TypeError(`${where}: ${JSON.stringify(key)} is given twice`);
    }
    out[key] = value;
  }
  return out;
}

function required(
  description: string,
  name: string,
  value: string | undefined,
): string {
  if (value === undefined || value === "") {
    throw new TypeError(
      `Cannot use the endpoint description ${
        JSON.stringify(description)
      }: ${name} is required`,
    );
  }
  return value;
}

function integer(
  description: string,
  name: string,
  value: string,
  radix = 10,
): number {
  const ok = radix === 8 ? /^[0-7]+$/ : /^[+-]?\d+$/;
  if (!ok.test(value.trim())) {
    throw new TypeError(
      `Cannot use the endpoint description ${
        JSON.stringify(description)
      }: ${name} ${JSON.stringify(value)} is not ${
        radix === 8 ? "an octal number" : "an integer"
      }`,
    );
  }
  return parseInt(value.trim(), radix);
}

function seconds(description: string, value: string): number {
  const n = Number(value);
  if (value.trim() === "" || !(n >= 0)) {
    throw new TypeError(
      `Cannot use the endpoint description ${
        JSON.stringify(description)
      }: timeout ${JSON.stringify(value)} is not a number of seconds >= 0`,
    );
  }
  return n;
}

function flag(description: string, name: string, value: string): boolean {
  return integer(description, name, value) !== 0;
}

/** A built-in parser: like the plugin interfaces, plus the description. */
type BuiltinParser<E> = (
  reactor: EndpointReactor,
  args: string[],
  kwargs: Record<string, string>,
  description: string,
) => E;

const tcpServer: BuiltinParser<IStreamServerEndpoint> = (r, args, kw, d) => {
  const a = bind(d, ["port", "interface", "backlog"], args, kw);
  return new TCP4ServerEndpoint(
    r,
    integer(d, "port", required(d, "port", a.port)),
    {
      interface: a.interface ?? "",
      backlog: a.backlog === undefined ? 50 : integer(d, "backlog", a.backlog),
    },
  );
};

const unixServer: BuiltinParser<IStreamServerEndpoint> = (r, args, kw, d) => {
  const a = bind(d, ["address", "mode", "backlog", "lockfile"], args, kw);
  if (a.lockfile !== undefined && flag(d, "lockfile", a.lockfile)) {
    throw new TypeError(
      `Cannot use the endpoint description ${
        JSON.stringify(d)
      }: lockfile=1 is not supported (UNIX lock files are not implemented)`,
    );
  }
  return new UNIXServerEndpoint(r, required(d, "address", a.address), {
    mode: a.mode === undefined ? undefined : integer(d, "mode", a.mode, 8),
    backlog: a.backlog === undefined ? 50 : integer(d, "backlog", a.backlog),
  });
};

const tcpClient: BuiltinParser<IStreamClientEndpoint> = (r, args, kw, d) => {
  // As Twisted: HOST:PORT positionally, or one of them positionally (the
  // port when host= is given) and the other as a keyword.
  const { host: hostKw, port: portKw, ...rest } = kw;
  let host = hostKw;
  let port = portKw;
  const twice = (name: string) =>
    new TypeError(
      `Cannot use the endpoint description ${JSON.stringify(d)}: ${
        JSON.stringify(name)
      } is given twice`,
    );
  if (args.length > 2) {
    throw new TypeError(
      `Cannot use the endpoint description ${
        JSON.stringify(d)
      }: ${args.length} positional arguments, at most 2 (host, port)`,
    );
  } else if (args.length === 2) {
    if (host !== undefined) throw twice("host");
    if (port !== undefined) throw twice("port");
    [host, port] = args;
  } else if (args.length === 1) {
    if (host !== undefined) {
      if (port !== undefined) throw twice("port");
      port = args[0];
    } else {
      host = args[0];
    }
  }
  const a = bind(d, ["timeout", "bindAddress"], [], rest);
  return new TCP4ClientEndpoint(
    r,
    required(d, "host", host),
    integer(d, "port", required(d, "port", port)),
    {
      timeout: a.timeout === undefined ? 30 : seconds(d, a.timeout),
      bindAddress: a.bindAddress === undefined ? undefined : [a.bindAddress, 0],
    },
  );
};

const unixClient: BuiltinParser<IStreamClientEndpoint> = (r, args, kw, d) => {
  const a = bind(d, ["path", "timeout", "lockfile"], args, kw);
  return new UNIXClientEndpoint(r, required(d, "path", a.path), {
    timeout: a.timeout === undefined ? 30 : seconds(d, a.timeout),
    checkPID: a.lockfile === undefined
      ? false
      : flag(d, "lockfile", a.lockfile),
  });
};

/** Built-in server parsers: their prefixes match exactly (lowercase). */
const builtinServers = new Map<string, BuiltinParser<IStreamServerEndpoint>>(
  [["tcp", tcpServer], ["unix", unixServer]],
);
/** Built-in client parsers, by lowercase prefix. */
const builtinClients = new Map<string, BuiltinParser<IStreamClientEndpoint>>(
  [["tcp", tcpClient], ["unix", unixClient]],
);
/**
 * Prefixes the package's own modules register when loaded, and the module
 * to import for each: named in the "Unknown endpoint type" error.
 */
const registeredBy: Record<string, string> = {
  haproxy: "@twisted-deno/core/protocols",
};
/** Registered server parsers, by lowercase prefix (TLS's to start with). */
const serverParsers = new Map<string, IStreamServerEndpointStringParser>(
  tlsEndpointParsers.servers.map((p) => [p.prefix.toLowerCase(), p]),
);
/** Registered client parsers, by lowercase prefix (TLS's to start with). */
const clientParsers = new Map<
  string,
  IStreamClientEndpointStringParserWithReactor
>(tlsEndpointParsers.clients.map((p) => [p.prefix.toLowerCase(), p]));

function checkPrefix(prefix: unknown): string {
  if (typeof prefix !== "string" || !/^[A-Za-z][A-Za-z0-9+.-]*$/.test(prefix)) {
    throw new TypeError(
      `Cannot register an endpoint parser for prefix ${
        JSON.stringify(prefix)
      }: a prefix is a letter then letters, digits, "+", "." or "-"`,
    );
  }
  return prefix.toLowerCase();
}

/**
 * Adds a parser for server descriptions with its prefix (matched in any
 * case), as installing a Twisted plugin does; the last one registered for
 * a prefix wins. The built-in `tcp` and `unix` cannot be replaced.
 *
 * @param parser The parser.
 * @throws {TypeError} For an invalid prefix or a built-in one.
 *
 * @example A `loopback:PORT` server prefix
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   reactor,
 *   registerServerEndpointParser,
 *   serverFromString,
 *   TCP4ServerEndpoint,
 * } from "@twisted-deno/core/reactor";
 *
 * registerServerEndpointParser({
 *   prefix: "loopback",
 *   parseStreamServer: (r, [port]) => new TCP4ServerEndpoint(r, Number(port), { interface: "127.0.0.1" }),
 * });
 * const endpoint = serverFromString(reactor, "LOOPBACK:8080") as TCP4ServerEndpoint;
 * assert.equal(endpoint.interface, "127.0.0.1");
 * assert.equal(endpoint.port, 8080);
 * ```
 */
export function registerServerEndpointParser(
  parser: IStreamServerEndpointStringParser,
): void {
  const prefix = checkPrefix(parser?.prefix);
  if (builtinServers.has(prefix)) {
    throw new TypeError(
      `Cannot register an endpoint parser for prefix ${prefix}: it is built in`,
    );
  }
  serverParsers.set(prefix, parser);
}

/**
 * Adds a parser for client descriptions with its prefix (matched in any
 * case); the last one registered for a prefix wins. The built-in `tcp`
 * and `unix` cannot be replaced.
 *
 * @param parser The parser.
 * @throws {TypeError} For an invalid prefix or a built-in one.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   clientFromString,
 *   reactor,
 *   registerClientEndpointParser,
 *   TCP4ClientEndpoint,
 * } from "@twisted-deno/core/reactor";
 *
 * registerClientEndpointParser({
 *   prefix: "local",
 *   parseStreamClient: (r, [port]) => new TCP4ClientEndpoint(r, "127.0.0.1", Number(port)),
 * });
 * const endpoint = clientFromString(reactor, "local:7") as TCP4ClientEndpoint;
 * assert.equal(endpoint.host, "127.0.0.1");
 * ```
 */
export function registerClientEndpointParser(
  parser: IStreamClientEndpointStringParserWithReactor,
): void {
  const prefix = checkPrefix(parser?.prefix);
  if (builtinClients.has(prefix)) {
    throw new TypeError(
      `Cannot register an endpoint parser for prefix ${prefix}: it is built in`,
    );
  }
  clientParsers.set(prefix, parser);
}

/**
 * Makes a server endpoint from a description (see the module doc), as
 * Twisted's `serverFromString`.
 *
 * @param reactor The reactor the endpoint will listen with.
 * @param description E.g. `"tcp:1079:interface=127.0.0.1"`.
 * @returns The endpoint (not listening yet).
 * @throws {TypeError} For an unknown prefix (`Unknown endpoint type:
 *   'ftl'`) or bad arguments.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { reactor, serverFromString, TCP4ServerEndpoint } from "@twisted-deno/core/reactor";
 *
 * const endpoint = serverFromString(reactor, "tcp:1079:interface=127.0.0.1");
 * assert.ok(endpoint instanceof TCP4ServerEndpoint);
 * assert.equal(endpoint.port, 1079);
 * assert.equal(endpoint.interface, "127.0.0.1");
 * assert.throws(() => serverFromString(reactor, "ftl:andromeda"), /Unknown endpoint type: 'ftl'/);
 * ```
 */
export function serverFromString(
  reactor: EndpointReactor,
  description: string,
): IStreamServerEndpoint {
  const { args, kwargs } = parseEndpointDescription(description);
  const name = args[0];
  const builtin = builtinServers.get(name);
  if (builtin !== undefined) {
    return builtin(reactor, args.slice(1), kwargs, description);
  }
  const parser = serverParsers.get(name.toLowerCase());
  if (parser === undefined) {
    const module = registeredBy[name.toLowerCase()];
    throw new TypeError(
      `Unknown endpoint type: '${name.toLowerCase()}'${
        module ? ` (import "${module}" to register it)` : ""
      }`,
    );
  }
  return parser.parseStreamServer(reactor, args.slice(1), kwargs);
}

/**
 * Makes a client endpoint from a description (see the module doc), as
 * Twisted's `clientFromString`.
 *
 * @param reactor The reactor the endpoint will connect with.
 * @param description E.g. `"tcp:host=127.0.0.1:port=1079"`.
 * @returns The endpoint (not connecting yet).
 * @throws {TypeError} For an unknown prefix or bad arguments.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { clientFromString, reactor, TCP4ClientEndpoint } from "@twisted-deno/core/reactor";
 *
 * const endpoint = clientFromString(reactor, "TCP:example.com:79:timeout=7");
 * assert.ok(endpoint instanceof TCP4ClientEndpoint);
 * assert.equal(endpoint.host, "example.com");
 * assert.equal(endpoint.port, 79);
 * assert.equal(endpoint.timeout, 7);
 * ```
 */
export function clientFromString(
  reactor: EndpointReactor,
  description: string,
): IStreamClientEndpoint {
  const { args, kwargs } = parseEndpointDescription(description);
  const name = args[0].toLowerCase();
  const builtin = builtinClients.get(name);
  if (builtin !== undefined) {
    return builtin(reactor, args.slice(1), kwargs, description);
  }
  const parser = clientParsers.get(name);
  if (parser === undefined) {
    throw new TypeError(`Unknown endpoint type: '${name}'`);
  }
  return parser.parseStreamClient(reactor, args.slice(1), kwargs);
}
