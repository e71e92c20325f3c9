/**
 * DeferredList, gatherResults and race: waiting on several Deferreds.
 *
 * @module
 */

export {};
