/**
 * The reactor's endpoints wing: server and client endpoints for TCP, UNIX
 * and TLS, `connectProtocol`, and the description strings
 * (`serverFromString(reactor, "tcp:1079:interface=127.0.0.1")`) with their
 * parser registry. Everything here is re-exported by
 * `@twisted-deno/core/reactor`.
 *
 * @example Parse a description string without listening
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseEndpointDescription } from "@twisted-deno/core/reactor";
 *
 * assert.deepEqual(parseEndpointDescription("tcp:1079:interface=127.0.0.1"), {
 *   args: ["tcp", "1079"],
 *   kwargs: { interface: "127.0.0.1" },
 * });
 * ```
 *
 * @module
 */
export * from "./endpoint_descriptions.ts";
export * from "./endpoints.ts";
export {
  SSL4ClientEndpoint,
  type SSL4ClientEndpointOptions,
  SSL4ServerEndpoint,
  type SSL4ServerEndpointOptions,
} from "./tls_endpoints.ts";
