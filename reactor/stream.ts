/**
 * The stream transport shared by TCP, UNIX and TLS connections.
 *
 * @module
 */

export {};
