/**
 * StringTransport: an in-memory transport that records writes.
 *
 * @module
 */

export {};
