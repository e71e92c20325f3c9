/**
 * The PROXY protocol (HAProxy's, versions 1 and 2), as Twisted's
 * `twisted.protocols.haproxy`: serve connections that arrive through a
 * load balancer while seeing the original clients' addresses.
 *
 * - {@linkcode HAProxyWrappingFactory}: wraps a factory; each connection
 *   reads the header first, then `getPeer()`/`getHost()` are the client's
 *   and the address it connected to.
 * - {@linkcode proxyEndpoint} and the `haproxy:` prefix of
 *   `serverFromString` (registered when this module loads): the same for
 *   an endpoint.
 * - {@linkcode V1Parser}, {@linkcode V2Parser}: the header parsers, fed in
 *   chunks of any size.
 *
 * @module
 */
export * from "./endpoint.ts";
export * from "./info.ts";
export * from "./v1.ts";
export * from "./v2.ts";
export * from "./wrapper.ts";
