// Jobs the thread-pool tests run in workers (each export is called by name).

import { threadId } from "node:worker_threads";
import {
  blockingCallFromThread,
  callFromThread,
} from "../../../reactor/threads/from_thread.ts";

/** Adds two numbers. */
export function add(a: number, b: number): number {
  return a + b;
}

/** Describes what arrived, to check structured cloning of the arguments. */
export function describe(
  map: Map<string, number>,
  bytes: Uint8Array,
  when: Date,
): { keys: string[]; sum: number; year: number; bytes: Uint8Array } {
  return {
    keys: [...map.keys()],
    sum: bytes.reduce((a, b) => a + b, 0),
    year: when.getUTCFullYear(),
    bytes: bytes.map((b) => b * 2),
  };
}

/** Doubles after an await: the pool must await a returned Promise. */
export async function asyncDouble(n: number): Promise<number> {
  await Promise.resolve();
  return n * 2;
}

/** A job's own error class. */
export class JobError extends Error {
  override readonly name = "JobError";
}

/** Throws a JobError. */
export function fail(message: string): never {
  throw new JobError(message);
}

/** Rejects with a RangeError. */
export function rejectRange(message: string): Promise<never> {
  return Promise.reject(new RangeError(message));
}

/** Throws a non-Error value. */
export function throwValue(): never {
  throw { code: 42 };
}

/** Returns what cannot be cloned. */
export function returnFunction(): () => void {
  return () => {};
}

/** Not a function. */
export const notAFunction = 7;

/** Crashes the worker from a timer, outside the job's own call. */
export function crashLater(message: string): Promise<never> {
  setTimeout(() => {
    throw new Error(message);
  }, 0);
  return new Promise(() => {});
}

/** Ends the worker. */
export function exitNow(code: number): never {
  Deno.exit(code);
}

/** Never finishes. */
export function forever(): Promise<never> {
  return new Promise(() => {});
}

/** Counts itself in `cells[0]`, wakes the main thread, never finishes. */
export function startForever(shared: SharedArrayBuffer): Promise<never> {
  const cells = new Int32Array(shared);
  Atomics.add(cells, 0, 1);
  Atomics.notify(cells, 0);
  return new Promise(() => {});
}

/** The worker's thread id. */
export function whoAmI(): number {
  return threadId;
}

/**
 * Counts itself in `cells[0]`, wakes the main thread, then blocks until
 * `cells[1]` is set: lets a test hold workers busy without timing anything.
 */
export function hold(shared: SharedArrayBuffer): number {
  const cells = new Int32Array(shared);
  Atomics.add(cells, 0, 1);
  Atomics.notify(cells, 0);
  Atomics.wait(cells, 1, 0);
  return threadId;
}

/** Calls `name` of `url` on the reactor's thread, without waiting. */
export function callBack(url: string, name: string, value: unknown): string {
  callFromThread(url, name, value, threadId);
  return "posted";
}

/** Calls `name` of `url` on the reactor's thread and returns its result. */
export function askMain(url: string, name: string, value: unknown): unknown {
  return blockingCallFromThread(url, name, value);
}

/** Like askMain, but reports the error the main thread's export threw. */
export function askMainError(url: string, name: string): string {
  try {
    blockingCallFromThread(url, name);
    return "no error";
  } catch (error) {
    return error instanceof Error
      ? `${error.name}: ${error.message}`
      : `value ${String(error)}`;
  }
}

let runs = 0;

/** This worker's thread id and how many `sequence` jobs it ran before. */
export function sequence(): [number, number] {
  return [threadId, runs++];
}

/** Counts a run in `cells[0]` (to see that a skipped job never ran). */
export function tally(shared: SharedArrayBuffer, value: number): number {
  Atomics.add(new Int32Array(shared), 0, 1);
  return value;
}
