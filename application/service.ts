/**
 * Service, MultiService and Application.
 *
 * @module
 */

export {};
