/**
 * ReconnectingClientFactory and ClientCreator.
 *
 * @module
 */

export {};
