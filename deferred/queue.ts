/**
 * {@linkcode DeferredQueue}: a queue whose `get()` returns a Deferred, so a
 * consumer can wait for the next item without polling.
 *
 * @module
 */

import { Fifo } from "./_fifo.ts";
import { Deferred } from "./deferred.ts";
import { succeed } from "./helpers.ts";
import { QueueOverflow, QueueUnderflow } from "./errors.ts";

/**
 * An event-driven queue. `put(item)` hands the item to the oldest waiting
 * `get()`, or keeps it; `get()` returns a Deferred of the oldest kept item,
 * at once if there is one. Both limits are checked synchronously, as in
 * Twisted: `put()` throws {@linkcode QueueOverflow} when `size` items are
 * already kept, and `get()` throws {@linkcode QueueUnderflow} when `backlog`
 * gets are already waiting. Cancelling a waiting `get()` takes it out of
 * the line, so no item is lost to it.
 *
 * @typeParam T The items' type.
 *
 * @example A consumer waiting on a producer
 * ```ts
 * import assert from "node:assert/strict";
 * import { DeferredQueue } from "@twisted-deno/core/deferred";
 *
 * const q = new DeferredQueue<string>();
 * const got: string[] = [];
 * q.get().addCallback((item) => { got.push(item); });
 * assert.equal(got.length, 0);
 * q.put("first");
 * q.put("second");
 * q.get().addCallback((item) => { got.push(item); });
 * assert.deepEqual(got, ["first", "second"]);
 * ```
 */
export class DeferredQueue<T> {
  /** The most items kept at once (`Infinity`: no limit). */
  readonly size: number;
  /** The most gets waiting at once (`Infinity`: no limit). */
  readonly backlog: number;
  #pending = new Fifo<T>();
  #waiting = new Fifo<Deferred<T>>();

  /**
   * Makes an empty queue.
   *
   * @param size The most items kept at once; no limit by default.
   * @param backlog The most gets waiting at once; no limit by default.
   * @throws {RangeError} When a limit is negative or not a whole number.
   */
  constructor(size: number = Infinity, backlog: number = Infinity) {
    for (const [name, value] of [["size", size], ["backlog", backlog]]) {
      if (
        typeof value !== "number" || Number.isNaN(value) || value < 0 ||
        (value !== Infinity && !Number.isInteger(value))
      ) {
        throw new RangeError(
          `Cannot create DeferredQueue with ${name} ${
            String(value)
          }: it must be a whole number of at least 0, or Infinity`,
        );
      }
    }
    this.size = size;
    this.backlog = backlog;
  }

  /** How many items are kept, waiting for a `get()`. */
  get pending(): number {
    return this.#pending.length;
  }

  /** How many `get()` Deferreds are waiting for an item. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /**
   * Adds an item: to the oldest waiting `get()` if there is one, else to
   * the queue.
   *
   * @param item The item.
   * @throws {QueueOverflow} When `size` items are already kept (the item is
   *   not added).
   */
  put(item: T): void {
    if (this.#waiting.length > 0) {
      this.#waiting.shift().callback(item);
    } else if (this.#pending.length < this.size) {
      this.#pending.push(item);
    } else {
      throw new QueueOverflow(
        `Cannot put: the queue already holds its size of ${this.size} items`,
      );
    }
  }

  /**
   * Takes the oldest item.
   *
   * @returns A Deferred of it: already fired if an item was kept.
   * @throws {QueueUnderflow} When `backlog` gets are already waiting.
   */
  get(): Deferred<T> {
    if (this.#pending.length > 0) return succeed(this.#pending.shift());
    if (this.#waiting.length >= this.backlog) {
      throw new QueueUnderflow(
        `Cannot get: ${this.backlog} gets are already waiting, the queue's backlog`,
      );
    }
    const d = new Deferred<T>((cancelled) => {
      this.#waiting.remove(cancelled);
    });
    this.#waiting.push(d);
    return d;
  }
}
