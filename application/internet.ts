/**
 * Services over the reactor: servers, clients, timers.
 *
 * @module
 */

export {};
