/**
 * Mutual exclusion without threads: {@linkcode DeferredLock} lets one user
 * at a time in, {@linkcode DeferredSemaphore} lets up to N. `acquire()`
 * returns a Deferred that fires when the caller's turn comes; waiters are
 * served first come, first served. `run(fn, ...args)` acquires, calls
 * `fn`, waits for the Deferred or Promise it returns, and releases.
 *
 * @module
 */

import { Fifo } from "./_fifo.ts";
import { Deferred } from "./deferred.ts";
import { maybeDeferred } from "./helpers.ts";

/**
 * Acquires, runs `fn(...args)`, waits for its result, releases, and
 * passes the result (or failure) on.
 */
function runLocked<L extends { acquire(): Deferred<L>; release(): void }, R>(
  lock: L,
  fn: (...args: unknown[]) => R,
  args: unknown[],
): Deferred<Awaited<R>> {
  if (typeof fn !== "function") {
    throw new TypeError(`Cannot run ${String(fn)}: it is not a function`);
  }
  return lock.acquire().addCallback(() =>
    maybeDeferred(fn, ...args).addBoth((result) => {
      lock.release();
      return result;
    })
  ) as Deferred<Awaited<R>>;
}

/**
 * A lock for event-driven code. `acquire()` gives a Deferred that fires
 * with the lock once it is free; `release()` hands it to the next waiter.
 * Cancelling a waiting `acquire()` takes it out of the line (it fails with
 * `CancelledError`); cancelling one that already fired does nothing.
 *
 * @example One at a time
 * ```ts
 * import assert from "node:assert/strict";
 * import { Deferred, DeferredLock } from "@twisted-deno/core/deferred";
 *
 * const lock = new DeferredLock();
 * const order: string[] = [];
 * const slow = new Deferred<void>();
 * lock.run(() => { order.push("first starts"); return slow; });
 * lock.run(() => { order.push("second starts"); });
 * assert.deepEqual(order, ["first starts"]);
 * slow.callback();
 * assert.deepEqual(order, ["first starts", "second starts"]);
 * assert.equal(lock.locked, false);
 * ```
 */
export class DeferredLock {
  #locked = false;
  #waiting = new Fifo<Deferred<DeferredLock>>();

  /** Whether someone holds the lock. */
  get locked(): boolean {
    return this.#locked;
  }

  /** How many `acquire()` calls are waiting. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /**
   * Asks for the lock.
   *
   * @returns A Deferred that fires with this lock when the caller has it:
   *   at once if it is free.
   */
  acquire(): Deferred<this> {
    const d = new Deferred<DeferredLock>((cancelled) => {
      // Only called while still waiting: release() fires what it takes out.
      this.#waiting.remove(cancelled);
    });
    if (this.#locked) {
      this.#waiting.push(d);
    } else {
      this.#locked = true;
      d.callback(this);
    }
    return d as Deferred<this>;
  }

  /**
   * Gives the lock up; the next waiter, if any, gets it now.
   *
   * @throws {Error} When the lock is not held.
   */
  release(): void {
    if (!this.#locked) {
      throw new Error("Cannot release DeferredLock: it is not locked");
    }
    this.#locked = false;
    if (this.#waiting.length > 0) {
      this.#locked = true;
      this.#waiting.shift().callback(this);
    }
  }

  /**
   * Runs `fn(...args)` while holding the lock, releasing it when `fn`'s
   * result (a Deferred or Promise is waited for) is there.
   *
   * @param fn The function.
   * @param args Its arguments.
   * @returns A Deferred of `fn`'s result.
   */
  run<R, A extends unknown[]>(
    fn: (...args: A) => R,
    ...args: A
  ): Deferred<Awaited<R>> {
    return runLocked(this, fn as unknown as (...args: unknown[]) => R, args);
  }
}

/**
 * A semaphore for event-driven code: up to `tokens` holders at once.
 * `acquire()` gives a Deferred that fires with the semaphore when a token
 * is free; `release()` returns one and serves the next waiter. Cancelling a
 * waiting `acquire()` takes it out of the line.
 *
 * @example At most two at a time
 * ```ts
 * import assert from "node:assert/strict";
 * import { Deferred, DeferredSemaphore } from "@twisted-deno/core/deferred";
 *
 * const sem = new DeferredSemaphore(2);
 * const jobs = [new Deferred<void>(), new Deferred<void>(), new Deferred<void>()];
 * let running = 0;
 * for (const job of jobs) {
 *   sem.run(() => { running++; return job.addCallback(() => { running--; }); });
 * }
 * assert.equal(running, 2);
 * jobs[0].callback();
 * assert.equal(running, 2); // the third one started
 * assert.equal(sem.tokens, 0);
 * ```
 */
export class DeferredSemaphore {
  /** The most holders at once. */
  readonly limit: number;
  #tokens: number;
  #waiting = new Fifo<Deferred<DeferredSemaphore>>();

  /**
   * Makes a semaphore with all its tokens free.
   *
   * @param tokens How many holders it allows at once (an integer >= 1).
   * @throws {RangeError} When `tokens` is not an integer of at least 1.
   */
  constructor(tokens: number) {
    if (!Number.isInteger(tokens) || tokens < 1) {
      throw new RangeError(
        `Cannot create DeferredSemaphore with ${tokens} tokens: it needs an integer of at least 1`,
      );
    }
    this.limit = tokens;
    this.#tokens = tokens;
  }

  /** How many tokens are free now. */
  get tokens(): number {
    return this.#tokens;
  }

  /** Whether every token is taken. */
  get locked(): boolean {
    return this.#tokens === 0;
  }

  /** How many `acquire()` calls are waiting. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /**
   * Asks for a token.
   *
   * @returns A Deferred that fires with this semaphore when the caller has
   *   a token: at once if one is free.
   */
  acquire(): Deferred<this> {
    const d = new Deferred<DeferredSemaphore>((cancelled) => {
      this.#waiting.remove(cancelled);
    });
    if (this.#tokens === 0) {
      this.#waiting.push(d);
    } else {
      this.#tokens--;
      d.callback(this);
    }
    return d as Deferred<this>;
  }

  /**
   * Returns a token; the next waiter, if any, gets it now.
   *
   * @throws {Error} When every token is already free.
   */
  release(): void {
    if (this.#tokens >= this.limit) {
      throw new Error(
        `Cannot release DeferredSemaphore: all ${this.limit} tokens are already free`,
      );
    }
    if (this.#waiting.length > 0) {
      this.#waiting.shift().callback(this);
    } else {
      this.#tokens++;
    }
  }

  /**
   * Runs `fn(...args)` while holding a token, releasing it when `fn`'s
   * result (a Deferred or Promise is waited for) is there.
   *
   * @param fn The function.
   * @param args Its arguments.
   * @returns A Deferred of `fn`'s result.
   */
  run<R, A extends unknown[]>(
    fn: (...args: A) => R,
    ...args: A
  ): Deferred<Awaited<R>> {
    return runLocked(this, fn as unknown as (...args: unknown[]) => R, args);
  }
}
