// Private: the thread pool of each reactor, made on first use. Kept out of
// reactor.ts so the reactor holds no thread state of its own.

import type { IReactorResources } from "../interfaces.ts";
import { ThreadPool } from "./threads.ts";

const pools = new WeakMap<IReactorResources, ThreadPool>();

/** The thread pool of `reactor` (the body of `getThreadPool`). */
export function threadPoolFor(reactor: IReactorResources): ThreadPool {
  let pool = pools.get(reactor);
  if (pool === undefined) {
    pool = new ThreadPool({ name: "reactor", reactor });
    pools.set(reactor, pool);
  }
  return pool;
}
