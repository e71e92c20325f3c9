/**
 * UDP ports on Deno.listenDatagram.
 *
 * @module
 */

export {};
