/**
 * PROXY protocol server endpoints: {@linkcode proxyEndpoint} wraps any
 * server endpoint, and the `haproxy:` prefix of `serverFromString` does
 * the same from a description, e.g. `haproxy:tcp:8080:interface=127.0.0.1`
 * (the rest of the description is the wrapped endpoint's).
 *
 * How `haproxy:` is registered: this module registers its parser with
 * `registerServerEndpointParser` when it is loaded, and it is loaded by
 * anything that imports `@twisted-deno/core/protocols` (which re-exports
 * it). `serverFromString` is synchronous, so the registry cannot load it
 * on demand; instead its "Unknown endpoint type: 'haproxy'" error names the
 * module to import.
 *
 * @module
 */

import type { Deferred } from "../../deferred/deferred.ts";
import type {
  IListeningPort,
  IProtocolFactory,
  IStreamServerEndpoint,
} from "../../reactor/interfaces.ts";
// The description-string registry (no reactor, no transports behind it).
import {
  type EndpointReactor,
  type IStreamServerEndpointStringParser,
  quoteStringArgument,
  registerServerEndpointParser,
  serverFromString,
} from "../../reactor/endpoints/endpoint_descriptions.ts";
import { type HAProxyOptions, HAProxyWrappingFactory } from "./wrapper.ts";

/**
 * A server endpoint whose connections begin with a PROXY header: it
 * listens with its wrapped endpoint, serving each factory wrapped in an
 * {@linkcode HAProxyWrappingFactory}. Made by {@linkcode proxyEndpoint}.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { HAProxyServerEndpoint } from "@twisted-deno/core/protocols";
 * import { reactor, TCP4ServerEndpoint } from "@twisted-deno/core/reactor";
 *
 * const inner = new TCP4ServerEndpoint(reactor, 0, { interface: "127.0.0.1" });
 * const endpoint = new HAProxyServerEndpoint(inner, { headerTimeout: 3 });
 * assert.equal(endpoint.wrappedEndpoint, inner);
 * assert.equal(endpoint.options.headerTimeout, 3);
 * ```
 */
export class HAProxyServerEndpoint implements IStreamServerEndpoint {
  /**
   * Wraps `wrappedEndpoint`.
   *
   * @param wrappedEndpoint Where to listen.
   * @param options The header timeout and its clock.
   */
  constructor(
    readonly wrappedEndpoint: IStreamServerEndpoint,
    readonly options: HAProxyOptions = {},
  ) {}

  /**
   * Listens with the wrapped endpoint, serving `factory` behind the PROXY
   * protocol.
   *
   * @param factory The factory to serve.
   * @returns Fires with the listening port.
   */
  listen(factory: IProtocolFactory): Deferred<IListeningPort> {
    return this.wrappedEndpoint.listen(
      new HAProxyWrappingFactory(factory, this.options),
    );
  }
}

/**
 * Wraps a server endpoint with PROXY protocol support (Twisted's
 * `proxyEndpoint`): transports' `getPeer()` and `getHost()` become the
 * proxied connection's.
 *
 * @param wrappedEndpoint The endpoint to listen with.
 * @param options The header timeout and its clock.
 * @returns The wrapping endpoint.
 *
 * @example Behind a proxy that sends a v1 header
 * ```ts
 * import assert from "node:assert/strict";
 * import { Factory, Protocol, proxyEndpoint } from "@twisted-deno/core/protocols";
 * import { reactor, TCP4ServerEndpoint, type TCPAddress } from "@twisted-deno/core/reactor";
 *
 * const peers: string[] = [];
 * class Who extends Protocol {
 *   override connectionMade(): void {
 *     peers.push((this.transport!.getPeer() as TCPAddress).host);
 *     this.transport!.loseConnection();
 *   }
 * }
 * const endpoint = proxyEndpoint(new TCP4ServerEndpoint(reactor, 0, { interface: "127.0.0.1" }));
 * const port = await endpoint.listen(Factory.forProtocol(Who));
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: (port.getHost() as TCPAddress).port });
 * await conn.write(new TextEncoder().encode("PROXY TCP4 192.0.2.44 192.0.2.1 5000 80\r\n"));
 * assert.equal(await conn.read(new Uint8Array(1)), null);
 * conn.close();
 * await port.stopListening();
 * assert.deepEqual(peers, ["192.0.2.44"]);
 * ```
 */
export function proxyEndpoint(
  wrappedEndpoint: IStreamServerEndpoint,
  options?: HAProxyOptions,
): HAProxyServerEndpoint {
  return new HAProxyServerEndpoint(wrappedEndpoint, options);
}

/** Writes parsed arguments back as a description. */
function unparse(args: string[], kwargs: Record<string, string>): string {
  const quote = (s: string) => quoteStringArgument(s).replaceAll("=", "\\=");
  return [
    ...args.map(quote),
    ...Object.entries(kwargs).map(([k, v]) =>
      `${quote(k)}=${quoteStringArgument(v)}`
    ),
  ].join(":");
}

/**
 * Parses `haproxy:` server descriptions: everything after the prefix is
 * the wrapped endpoint's description.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { HAProxyServerEndpoint } from "@twisted-deno/core/protocols";
 * import { reactor, serverFromString, TCP4ServerEndpoint } from "@twisted-deno/core/reactor";
 *
 * const endpoint = serverFromString(reactor, "haproxy:tcp:8080:interface=127.0.0.1");
 * assert.ok(endpoint instanceof HAProxyServerEndpoint);
 * const inner = endpoint.wrappedEndpoint as TCP4ServerEndpoint;
 * assert.equal(inner.port, 8080);
 * assert.equal(inner.interface, "127.0.0.1");
 * assert.throws(() => serverFromString(reactor, "haproxy:"), /haproxy: needs the description/);
 * ```
 */
export const haproxyServerParser: IStreamServerEndpointStringParser = {
  prefix: "haproxy",
  /**
   * Makes the endpoint.
   *
   * @param reactor The reactor given to `serverFromString`.
   * @param args The wrapped description's positional arguments.
   * @param kwargs The wrapped description's keyword arguments.
   * @returns The wrapping endpoint.
   */
  parseStreamServer(
    reactor: EndpointReactor,
    args: string[],
    kwargs: Record<string, string>,
  ): HAProxyServerEndpoint {
    if (args.length === 0 || args[0] === "") {
      throw new TypeError(
        `Cannot use the endpoint description ${
          JSON.stringify(`haproxy:${unparse(args, kwargs)}`)
        }: haproxy: needs the description of the endpoint to wrap, e.g. haproxy:tcp:8080`,
      );
    }
    return proxyEndpoint(serverFromString(reactor, unparse(args, kwargs)));
  },
};

registerServerEndpointParser(haproxyServerParser);
