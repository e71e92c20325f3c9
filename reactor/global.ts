/**
 * The installed global reactor, after Twisted's `installReactor` model: the
 * concrete reactor module installs its instance here when it loads, and code
 * that needs "the reactor" by default (protocols' clocks, `task`, threads,
 * process helpers) asks this accessor instead of importing the concrete
 * reactor. So loading a protocol module never loads the TCP, TLS, UDP,
 * thread and process machinery, and there is no import circle through the
 * reactor module.
 *
 * @example The reactor module installs itself
 * ```ts
 * import assert from "node:assert/strict";
 * import { getGlobalReactor, reactor } from "@twisted-deno/core/reactor";
 *
 * assert.equal(getGlobalReactor(), reactor);
 * ```
 *
 * @module
 */
import type {
  IDelayedCall,
  IReactorCore,
  IReactorProcess,
  IReactorResources,
  IReactorSSL,
  IReactorTCP,
  IReactorThreads,
  IReactorTime,
  IReactorUDP,
  IReactorUNIX,
} from "./interfaces.ts";
import {
  NoReactorInstalledError,
  ReactorAlreadyInstalledError,
} from "./errors.ts";

/**
 * Every role a full reactor plays: what {@linkcode getGlobalReactor} returns.
 *
 * @example The global reactor plays every role
 * ```ts
 * import assert from "node:assert/strict";
 * import { getGlobalReactor, type IReactor } from "@twisted-deno/core/reactor";
 *
 * const r: IReactor = getGlobalReactor();
 * assert.equal(typeof r.listenTCP, "function");
 * ```
 */
export type IReactor =
  & IReactorCore
  & IReactorTime
  & IReactorTCP
  & IReactorSSL
  & IReactorUNIX
  & IReactorUDP
  & IReactorThreads
  & IReactorProcess
  & IReactorResources;

let installed: IReactor | undefined;

/**
 * Installs `reactor` as the process's global reactor. The reactor module
 * does this for its `reactor` when it loads; a program that wants another
 * implementation installs it before importing that module.
 *
 * @param reactor The reactor to install.
 * @throws {ReactorAlreadyInstalledError} When another reactor is installed.
 *
 * @example Installing the same reactor again is harmless
 * ```ts
 * import assert from "node:assert/strict";
 * import {
 *   DenoReactor,
 *   installReactor,
 *   reactor,
 *   ReactorAlreadyInstalledError,
 * } from "@twisted-deno/core/reactor";
 *
 * installReactor(reactor);
 * assert.throws(() => installReactor(new DenoReactor()), ReactorAlreadyInstalledError);
 * ```
 */
export function installReactor(reactor: IReactor): void {
  if (installed !== undefined && installed !== reactor) {
    throw new ReactorAlreadyInstalledError();
  }
  installed = reactor;
}

/**
 * The installed global reactor.
 *
 * @returns The reactor installed by {@linkcode installReactor}.
 * @throws {NoReactorInstalledError} When none is installed yet: import
 *   `reactor` from `@twisted-deno/core/reactor` (which installs the Deno
 *   reactor) or pass the object a clock or reactor of its own.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { getGlobalReactor, reactor } from "@twisted-deno/core/reactor";
 *
 * assert.equal(getGlobalReactor(), reactor);
 * ```
 */
export function getGlobalReactor(): IReactor {
  if (installed === undefined) throw new NoReactorInstalledError();
  return installed;
}

/**
 * An {@linkcode IReactorTime} that asks the installed global reactor at each
 * call: the default clock of protocols and tasks, so that building one needs
 * no reactor until it schedules something (tests pass a `Clock` instead).
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { globalClock, reactor } from "@twisted-deno/core/reactor";
 *
 * const call = globalClock.callLater(60, () => {});
 * assert.equal(reactor.getDelayedCalls().includes(call), true);
 * call.cancel();
 * ```
 */
export const globalClock: IReactorTime = {
  seconds: (): number => getGlobalReactor().seconds(),
  callLater: <A extends unknown[]>(
    delay: number,
    fn: (...args: A) => unknown,
    ...args: A
  ): IDelayedCall => getGlobalReactor().callLater(delay, fn, ...args),
  getDelayedCalls: (): IDelayedCall[] => getGlobalReactor().getDelayedCalls(),
};
