/**
 * Endpoints and their string descriptions.
 *
 * @module
 */

export {};
