/**
 * The finger protocol of the talk.
 *
 * @module
 */

export {};
