/**
 * DeferredQueue: a queue whose get() returns a Deferred.
 *
 * @module
 */

export {};
