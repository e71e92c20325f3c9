/**
 * A thread pool of Deno Workers behind deferToThread.
 *
 * @module
 */

export {};
