/**
 * DeferredLock and DeferredSemaphore: mutual exclusion without threads.
 *
 * @module
 */

export {};
