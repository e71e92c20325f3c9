/**
 * Small wire protocols: Echo, Discard, Chargen, Daytime, QOTD, Who, Time.
 *
 * @module
 */

export {};
