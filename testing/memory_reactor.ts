/**
 * MemoryReactor: a reactor that records listen and connect calls.
 *
 * @module
 */

export {};
