/**
 * The talk's nested `x()` sample, written four ways. `x()` looks a user's
 * id up, then that id's status, then formats the two; each step is an
 * asynchronous call returning a Deferred (here fired by `reactor.callLater`,
 * as a network reply would be).
 *
 * 1. nested: a callback inside a callback inside a callback, as the talk
 *    shows it before cleaning up;
 * 2. chained: one flat chain, each callback returning the next Deferred;
 * 3. `inlineCallbacks(function* ...)`: Twisted's `@inlineCallbacks`;
 * 4. `async`/`await`: a Deferred is awaitable, and `ensureDeferred` turns
 *    the Promise back into a Deferred for Deferred-speaking callers.
 *
 * ```sh
 * deno run examples/nested_x.ts
 * ```
 *
 * All four print the same line; a missing user fails all four the same way.
 *
 * @module
 */

import {
  Deferred,
  ensureDeferred,
  type Failure,
  inlineCallbacks,
} from "@twisted-deno/core/deferred";
import { reactor } from "@twisted-deno/core/reactor";

const IDS: Record<string, number> = { moshez: 1, glyph: 2 };
const STATUS: Record<number, string> = { 1: "Happy and well", 2: "Busy" };

/** Answers "later", as a server would: fires on a reactor turn. */
function later<T>(compute: () => T): Deferred<T> {
  const d = new Deferred<T>();
  reactor.callLater(0.001, () => {
    try {
      d.callback(compute());
    } catch (error) {
      d.errback(error);
    }
  });
  return d;
}

/** Looks up a user's id; fails for an unknown user. */
export function getId(user: string): Deferred<number> {
  return later(() => {
    const id = IDS[user];
    if (id === undefined) throw new Error(`No such user: ${user}`);
    return id;
  });
}

/** Looks up the status of an id. */
export function getStatus(id: number): Deferred<string> {
  return later(() => STATUS[id] ?? "(no status)");
}

/** 1. Nested, as the talk first shows it. */
export function xNested(user: string): Deferred<string> {
  const result = new Deferred<string>();
  getId(user).addCallbacks(
    (id) => {
      getStatus(id).addCallbacks(
        (status) => {
          result.callback(`${user} (#${id}): ${status}`);
        },
        (failure: Failure) => {
          result.errback(failure);
        },
      );
    },
    (failure: Failure) => {
      result.errback(failure);
    },
  );
  return result;
}

/** 2. Chained: returning a Deferred from a callback pauses the chain. */
export function xChained(user: string): Deferred<string> {
  let id = 0;
  return getId(user)
    .addCallback((found) => {
      id = found;
      return getStatus(found);
    })
    .addCallback((status) => `${user} (#${id}): ${status}`);
}

/** 3. A generator: `yield` a Deferred to wait for it. */
export const xInline: (user: string) => Deferred<string> = inlineCallbacks(
  function* (user: string) {
    const id: number = yield getId(user);
    const status: string = yield getStatus(id);
    return `${user} (#${id}): ${status}`;
  },
);

/** 4. `async`/`await`, then back to a Deferred. */
export function xAsync(user: string): Deferred<string> {
  return ensureDeferred((async () => {
    const id = await getId(user);
    const status = await getStatus(id);
    return `${user} (#${id}): ${status}`;
  })());
}

/** Runs each version for a known and an unknown user, then stops. */
export async function main(): Promise<void> {
  const versions = { xNested, xChained, xInline, xAsync };
  for (const [name, x] of Object.entries(versions)) {
    console.log(`${name}: ${await x("moshez")}`);
    await x("nobody").addErrback((failure: Failure) => {
      console.log(`${name}: failed: ${failure.getErrorMessage()}`);
    });
  }
}

if (import.meta.main) await main();
