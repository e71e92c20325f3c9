/**
 * Bridges between Deferreds and co-routines: ensureDeferred and inlineCallbacks.
 *
 * @module
 */

export {};
