/**
 * UNIX-domain stream ports and connectors.
 *
 * @module
 */

export {};
