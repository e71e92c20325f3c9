/**
 * LoopingCall, deferLater, react, Cooperator: scheduling helpers.
 *
 * @module
 */

export {};
