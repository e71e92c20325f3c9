/**
 * Child processes driven by a ProcessProtocol.
 *
 * @module
 */

export {};
