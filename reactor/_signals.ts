/**
 * The reactor's signal handling: while it runs (unless told not to), SIGINT
 * and SIGTERM stop it. A signal that cannot be listened for on this
 * platform (SIGTERM on Windows) is skipped with a debug message. Private to
 * the reactor (not exported from mod.ts).
 *
 * @module
 */

import type { Logger } from "../log/mod.ts";

/** The signal listeners one reactor has installed. */
export class SignalHandlers {
  #listeners: [Deno.Signal, () => void][] = [];

  /**
   * @param log Where skipped signals are reported.
   * @param onSignal Runs when a handled signal arrives.
   */
  constructor(
    readonly log: Logger,
    readonly onSignal: (signal: Deno.Signal) => void,
  ) {}

  /** Listens for SIGINT and SIGTERM. */
  install(): void {
    for (const signal of ["SIGINT", "SIGTERM"] as const) {
      const listener = (): void => this.onSignal(signal);
      try {
        Deno.addSignalListener(signal, listener);
      } catch (error) {
        // SIGTERM cannot be listened for on Windows: run without it.
        const fields = { signal, error: String(error) };
        this.log.debug("Not handling {signal}: {error}", fields);
        continue;
      }
      this.#listeners.push([signal, listener]);
    }
  }

  /** Removes every listener `install` added, so the process can exit. */
  remove(): void {
    for (const [signal, listener] of this.#listeners) {
      Deno.removeSignalListener(signal, listener);
    }
    this.#listeners = [];
  }
}
