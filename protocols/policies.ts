/**
 * Protocol policies: wrappers, throttling, connection limits, timeouts.
 *
 * @module
 */

export {};
