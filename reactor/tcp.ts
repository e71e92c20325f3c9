/**
 * TCP ports and connectors on Deno.listen and Deno.connect.
 *
 * @module
 */

export {};
