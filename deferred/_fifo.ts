// A first-in first-out list for the waiting lists of locks and queues: a
// plain array read from a moving head, so taking the first item is O(1)
// (an `Array.prototype.shift()` per item would make draining quadratic).
// Not part of the package's public API.

/** A FIFO with O(1) amortised `push`/`shift` and O(n) `remove`. */
export class Fifo<T> {
  #items: (T | undefined)[] = [];
  #head = 0;

  /** How many items are queued. */
  get length(): number {
    return this.#items.length - this.#head;
  }

  /** Appends an item. */
  push(item: T): void {
    this.#items.push(item);
  }

  /** Removes and returns the first item; check `length` first. */
  shift(): T {
    const items = this.#items;
    const item = items[this.#head] as T;
    items[this.#head++] = undefined; // release it for the collector
    if (this.#head === items.length) {
      items.length = 0;
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= items.length) {
      // Over half the array is consumed slots: dropping them costs fewer
      // moves than were shifts since the last time, so this stays O(1)
      // amortised.
      items.splice(0, this.#head);
      this.#head = 0;
    }
    return item;
  }

  /** Removes the first occurrence of `item`; whether it was there. */
  remove(item: T): boolean {
    const i = this.#items.indexOf(item, this.#head);
    if (i === -1) return false;
    this.#items.splice(i, 1);
    if (this.#head === this.#items.length) {
      this.#items.length = 0;
      this.#head = 0;
    }
    return true;
  }
}
