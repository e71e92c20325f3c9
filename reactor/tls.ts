/**
 * TLS ports and connectors on Deno.listenTls and Deno.connectTls.
 *
 * @module
 */

export {};
