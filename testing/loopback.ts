/**
 * Loopback connections between two protocols, in memory.
 *
 * @module
 */

export {};
