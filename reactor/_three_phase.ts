// System event triggers: one ThreePhaseEvent per event name ("startup",
// "shutdown", or any custom name). Firing runs the 'before' triggers, waits
// for every Deferred or Promise they returned, then runs 'during' and 'after'.
// Semantics follow Twisted's _ThreePhaseEvent: each trigger runs once (it is
// consumed by the firing), an error a trigger throws is logged and the others
// still run, and a trigger removed before its turn (even while its event is
// firing) does not run. Private to the reactor (not exported from mod.ts).

import { Deferred } from "../deferred/deferred.ts";
import { Failure } from "../deferred/failure.ts";
import type { Logger } from "../log/mod.ts";
import type { TriggerId, TriggerPhase } from "./interfaces.ts";
import { isThenable } from "../deferred/_thenable.ts";

const PHASES: readonly TriggerPhase[] = ["before", "during", "after"];

/** Whether `phase` names one of the three phases. */
export function isPhase(phase: unknown): phase is TriggerPhase {
  return PHASES.includes(phase as TriggerPhase);
}

/** A registered trigger: the handle `addSystemEventTrigger` returns. */
export class Trigger implements TriggerId {
  /** "pending" until it runs ("done") or is removed ("removed"). */
  state: "pending" | "done" | "removed" = "pending";

  constructor(
    readonly owner: ThreePhaseEvent,
    readonly phase: TriggerPhase,
    readonly event: string,
    readonly fn: (...args: never[]) => unknown,
    readonly args: readonly unknown[],
  ) {}

  /** A description for log messages. */
  toString(): string {
    return `${this.phase} ${this.event} trigger ${this.fn.name || "anonymous"}`;
  }
}

/** Hooks the reactor runs at fixed points of a firing. */
export interface FireHooks {
  /** Runs just before the 'during' triggers. */
  beforeDuring?: () => void;
  /**
   * Runs after the 'during' triggers; 'after' waits for its Promise, which
   * must not reject.
   */
  afterDuring?: () => Promise<void> | void;
  /** Runs once the 'after' triggers have run. */
  done?: () => void;
}

/** The triggers of one event, by phase. */
export class ThreePhaseEvent {
  #pending: Record<TriggerPhase, Trigger[]> = {
    before: [],
    during: [],
    after: [],
  };

  constructor(readonly log: Logger) {}

  /** Whether no trigger is waiting to run. */
  get empty(): boolean {
    return PHASES.every((p) => this.#pending[p].length === 0);
  }

  /** Adds `trigger` to the end of its phase. */
  add(trigger: Trigger): void {
    this.#pending[trigger.phase].push(trigger);
  }

  /**
   * Removes a trigger that has not run yet.
   * @throws {RangeError} When it was already removed or has already run.
   */
  remove(trigger: Trigger): void {
    if (trigger.state === "removed") {
      throw new RangeError(
        `Cannot remove the ${trigger}: it has already been removed`,
      );
    }
    if (trigger.state === "done") {
      throw new RangeError(`Cannot remove the ${trigger}: it has already run`);
    }
    trigger.state = "removed";
    // A phase being run is walked from a detached array (see #runPhase), so
    // the trigger may be absent here: its state alone then stops it.
    const list = this.#pending[trigger.phase];
    const i = list.indexOf(trigger);
    if (i !== -1) list.splice(i, 1);
  }

  /**
   * Runs the triggers: 'before', then (once every Deferred or Promise a
   * 'before' trigger returned has settled) 'during' and 'after'.
   */
  fire(hooks: FireHooks = {}): void {
    // One count for the 'before' loop itself, so a Deferred fired by a later
    // 'before' trigger cannot start 'during' before the loop has finished.
    let waiting = 1;
    const settled = (): void => {
      if (--waiting === 0) this.#continue(hooks);
    };
    this.#runPhase("before", (result, trigger) => {
      if (result instanceof Deferred) {
        waiting++;
        result.addBoth((outcome: unknown) => {
          if (outcome instanceof Failure) {
            this.#failed(trigger, outcome);
            outcome = undefined; // reported here, not again at collection
          }
          settled();
          return outcome;
        });
      } else if (isThenable(result)) {
        waiting++;
        Promise.resolve(result).then(settled, (error) => {
          this.#failed(trigger, new Failure(error));
          settled();
        });
      }
    });
    settled();
  }

  #continue(hooks: FireHooks): void {
    hooks.beforeDuring?.();
    this.#runPhase("during");
    const finish = (): void => {
      this.#runPhase("after");
      hooks.done?.();
    };
    const between = hooks.afterDuring?.();
    if (between === undefined) finish();
    else between.then(finish);
  }

  /**
   * Runs the pending triggers of `phase` in order, including any added to
   * the same phase while it runs (as Twisted does).
   */
  #runPhase(
    phase: TriggerPhase,
    onResult?: (result: unknown, trigger: Trigger) => void,
  ): void {
    for (;;) {
      const list = this.#pending[phase];
      if (list.length === 0) return;
      // Detach the list: triggers added meanwhile go to a fresh one, picked
      // up by the next round; removals mark the trigger's state.
      this.#pending[phase] = [];
      for (const trigger of list) {
        if (trigger.state !== "pending") continue;
        trigger.state = "done";
        let result: unknown;
        try {
          result = (trigger.fn as (...args: unknown[]) => unknown)(
            ...trigger.args,
          );
        } catch (error) {
          this.#failed(trigger, new Failure(error));
          continue;
        }
        onResult?.(result, trigger);
      }
    }
  }

  #failed(trigger: Trigger, failure: Failure): void {
    this.log.failure("Error in {trigger}", failure, "critical", {
      trigger: String(trigger),
    });
  }
}

/**
 * The argument checks of `addSystemEventTrigger`, shared by the reactor and
 * `MemoryReactor` so both refuse the same input with the same errors.
 *
 * @throws {RangeError} When `phase` is not a phase.
 * @throws {TypeError} When `fn` is not a function.
 */
export function checkTrigger(phase: unknown, fn: unknown): void {
  if (!isPhase(phase)) {
    throw new RangeError(
      `Cannot add a trigger for phase ${
        JSON.stringify(phase)
      }: use "before", "during" or "after"`,
    );
  }
  if (typeof fn !== "function") {
    throw new TypeError(
      `Cannot add a trigger: ${String(fn)} is not a function`,
    );
  }
}

/**
 * The system events of one reactor, by name: the checks and bookkeeping
 * behind `addSystemEventTrigger`, `removeSystemEventTrigger` and
 * `fireSystemEvent`.
 */
export class SystemEvents {
  #events = new Map<string, ThreePhaseEvent>();

  constructor(readonly log: Logger) {}

  /**
   * Adds a trigger for `phase` of `event`.
   * @throws {RangeError} When `phase` is not a phase.
   * @throws {TypeError} When `fn` is not a function.
   */
  addTrigger(
    phase: TriggerPhase,
    event: string,
    fn: (...args: never[]) => unknown,
    args: readonly unknown[],
  ): Trigger {
    checkTrigger(phase, fn);
    const owner = this.event(String(event));
    const trigger = new Trigger(owner, phase, String(event), fn, args);
    owner.add(trigger);
    return trigger;
  }

  /**
   * Removes a trigger `addTrigger` returned that has not run yet.
   * @throws {TypeError} When `id` is not one of these events' triggers.
   * @throws {RangeError} When it was already removed or has already run.
   */
  removeTrigger(id: TriggerId): void {
    if (
      !(id instanceof Trigger) || this.#events.get(id.event) !== id.owner
    ) {
      throw new TypeError(
        `Cannot remove the trigger: ${
          String(id)
        } was not returned by this reactor's addSystemEventTrigger`,
      );
    }
    id.owner.remove(id);
  }

  /** The event named `name`, made on first use. */
  event(name: string): ThreePhaseEvent {
    let event = this.#events.get(name);
    if (event === undefined) {
      event = new ThreePhaseEvent(this.log);
      this.#events.set(name, event);
    }
    return event;
  }

  /** Fires `name` if anything was ever registered for it. */
  fire(name: string): void {
    this.#events.get(String(name))?.fire();
  }
}
