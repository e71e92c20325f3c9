// Exports the thread-pool tests run on the main (reactor) thread when a
// worker calls callFromThread / blockingCallFromThread.

import { Deferred } from "../../../deferred/deferred.ts";
import { reactor } from "../../../reactor/reactor.ts";

type Hook = (value: unknown, threadId?: number) => void;

/** Hands the value to the hook the test installed. */
export function record(value: unknown, threadId?: number): void {
  const hook = (globalThis as { threadTestHook?: Hook }).threadTestHook;
  if (hook === undefined) throw new Error("no threadTestHook installed");
  hook(value, threadId);
}

/** Answers later, through a Deferred fired by the reactor. */
export function slowTriple(n: number): Deferred<number> {
  const d = new Deferred<number>();
  reactor.callLater(0, () => d.callback(n * 3));
  return d;
}

/** Answers through a Promise. */
export async function promisedNegate(n: number): Promise<number> {
  await Promise.resolve();
  return -n;
}

/** Fails. */
export function refuse(): never {
  throw new TypeError("the reactor says no");
}
